"""The parameters a claims source is called with (reference §6.1 ``requestParameters``): parse once, resolve per call.

Wire shape: ``{name: {"mapFrom": path} | {"mapFrom": path, "defaultValue": v} | {"defaultValue": v}}``. ``mapFrom``
reads the claims merged so far (``claims.*``) and the credential configuration (``credentialConfiguration.id`` /
``.type``) with the ``mapFrom`` path language of claim mappings. A parameter whose path resolves to nothing and
has no default is left out: a call never carries more than the declared parameters, and never an empty value the
source did not ask for.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openissuer.claims.path import (
    MISSING,
    ClaimPath,
    ClaimPathSyntaxError,
    parse_claim_path,
    resolve_claim_path,
)
from openissuer.errors import ErrorDetail, ValidationError

PARAMETER_ROOTS = frozenset({"claims", "credentialConfiguration"})
MAX_PARAMETERS = 100
MAX_NAME_LENGTH = 256
_FIELDS = frozenset({"mapFrom", "defaultValue"})


@dataclass(frozen=True)
class RequestParameter:
    """One parameter: its name, where its value comes from, and its default (``MISSING`` when none)."""

    name: str
    map_from: ClaimPath | None
    default_value: object = MISSING


@dataclass(frozen=True)
class RequestParameters:
    """Every parameter of one claims source, in declaration order."""

    parameters: tuple[RequestParameter, ...]


def parse_request_parameters(raw: object, *, param: str = "requestParameters") -> RequestParameters:
    """Validate a ``requestParameters`` object; raise ``ValidationError`` listing every problem."""
    details: list[ErrorDetail] = []
    parameters: list[RequestParameter] = []
    if not isinstance(raw, Mapping):
        raise ValidationError("Validation Error", details=[ErrorDetail("body", param, "must be an object", None)])
    if len(raw) > MAX_PARAMETERS:
        details.append(ErrorDetail("body", param, f"at most {MAX_PARAMETERS} parameters"))
    for name, entry in raw.items():
        parsed = _parse_entry(name, entry, f"{param}.{name}", details)
        if parsed is not None:
            parameters.append(parsed)
    if details:
        raise ValidationError("Validation Error", details=details)
    return RequestParameters(tuple(parameters))


def _parse_entry(name: object, entry: object, param: str, details: list[ErrorDetail]) -> RequestParameter | None:
    found = len(details)
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        details.append(ErrorDetail("body", param, f"a name must be 1-{MAX_NAME_LENGTH} characters", name))
    if not isinstance(entry, Mapping):
        details.append(ErrorDetail("body", param, "must be an object with mapFrom, defaultValue or both", None))
        return None
    for key in entry:
        if key not in _FIELDS:
            details.append(ErrorDetail("body", f"{param}.{key}", "unknown field; expected mapFrom or defaultValue"))
    if "mapFrom" not in entry and "defaultValue" not in entry:
        details.append(ErrorDetail("body", param, "needs mapFrom, defaultValue or both"))
    map_from = _parse_map_from(entry, param, details)
    default: object = MISSING
    if "defaultValue" in entry:
        default = entry["defaultValue"]
        if default is None:
            details.append(ErrorDetail("body", f"{param}.defaultValue", "must not be null; omit it instead"))
    if len(details) > found or not isinstance(name, str):
        return None
    return RequestParameter(name, map_from, default)


def _parse_map_from(entry: Mapping[str, object], param: str, details: list[ErrorDetail]) -> ClaimPath | None:
    if "mapFrom" not in entry:
        return None
    text = entry["mapFrom"]
    if not isinstance(text, str):
        details.append(ErrorDetail("body", f"{param}.mapFrom", "must be a string", text))
        return None
    try:
        path = parse_claim_path(text)
    except ClaimPathSyntaxError as error:
        details.append(ErrorDetail("body", f"{param}.mapFrom", error.description, text))
        return None
    if path[0] not in PARAMETER_ROOTS:
        roots = ", ".join(sorted(PARAMETER_ROOTS))
        details.append(ErrorDetail("body", f"{param}.mapFrom", f"must start with one of {roots}", text))
        return None
    return path


def resolve_request_parameters(parameters: RequestParameters, context: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``{name: value}`` of the parameters that have a value in ``context`` (``{claims,
    credentialConfiguration}``) or a default; the others are left out."""
    values: dict[str, Any] = {}
    for parameter in parameters.parameters:
        value = resolve_claim_path(parameter.map_from, context) if parameter.map_from is not None else MISSING
        if value is MISSING:
            value = parameter.default_value
        if value is not MISSING:
            values[parameter.name] = copy.deepcopy(value)
    return values
