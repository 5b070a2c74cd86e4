"""The parsed ``claimMappings`` model and ``parse_claim_mappings``, which validates the wire shape.

Wire shapes (reference §4.3 mDoc, §4.6 CWT): namespaced ``{namespace: {claimName: mapping}}`` or flat
``{claimName: mapping}`` (namespace ``None``), where a mapping is one of

- mapped: ``{"mapFrom": path, "type"?: T, "required"?: bool, "defaultValue"?: value of T}``;
- static: ``{"defaultValue": value of T, "type"?: T, "required"?: bool}`` (no ``mapFrom``).

``type`` is optional here (CWT mappings have none; an untyped value passes through). A format that needs it
(mDoc: "type is required when mapFrom is used") checks that in its own ``validate_configuration``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from openissuer.claims.claim_type import ClaimType, ClaimTypeError
from openissuer.claims.coercion import coerce_claim_value
from openissuer.claims.context import CONTEXT_ROOTS
from openissuer.claims.path import MISSING, ClaimPath, ClaimPathSyntaxError, parse_claim_path
from openissuer.errors import ErrorDetail, ValidationError

_FIELDS = frozenset({"mapFrom", "type", "required", "defaultValue"})
_TYPE_VALUES = frozenset(member.value for member in ClaimType)
_TYPE_NAMES = ", ".join(member.value for member in ClaimType)
_ROOT_NAMES = ", ".join(sorted(CONTEXT_ROOTS))


@dataclass(frozen=True)
class ClaimMapping:
    """One claim's rule: where its value comes from, its type, whether it is required, and its default.

    ``default_value`` is ``MISSING`` when none is configured, else already coerced to ``claim_type``.
    A mapping without ``map_from`` is static: its default is its value in every credential.
    """

    namespace: str | None
    claim: str
    map_from: ClaimPath | None
    claim_type: ClaimType | None = None
    required: bool = False
    default_value: object = MISSING


@dataclass(frozen=True)
class ClaimMappings:
    """All mappings of one credential configuration, in configuration order."""

    mappings: tuple[ClaimMapping, ...]


def parse_claim_mappings(raw: object, *, namespaced: bool = True) -> ClaimMappings:
    """Validate a ``claimMappings`` object into ``ClaimMappings``; raise ``ValidationError`` listing every problem.

    Each ``details`` entry names its field as ``claimMappings.<namespace>.<claim>.<field>`` (flat form:
    ``claimMappings.<claim>.<field>``). Configuration values are not personal data, so they are echoed.
    """
    details: list[ErrorDetail] = []
    mappings: list[ClaimMapping] = []
    if not isinstance(raw, Mapping):
        details.append(ErrorDetail("body", "claimMappings", "must be an object", raw))
    elif namespaced:
        for namespace, entries in raw.items():
            mappings.extend(_parse_namespace(namespace, entries, details))
    else:
        for claim, entry in raw.items():
            mappings.extend(_parse_entry(None, claim, entry, details))
    if details:
        raise ValidationError("Invalid claimMappings", details=details)
    return ClaimMappings(tuple(mappings))


def _parse_namespace(namespace: object, entries: object, details: list[ErrorDetail]) -> list[ClaimMapping]:
    param = f"claimMappings.{namespace}"
    if not isinstance(namespace, str) or not namespace:
        details.append(ErrorDetail("body", param, "namespace must be a non-empty string", namespace))
        return []
    if not isinstance(entries, Mapping) or not entries:
        details.append(ErrorDetail("body", param, "must be an object mapping at least one claim", entries))
        return []
    mappings: list[ClaimMapping] = []
    for claim, entry in entries.items():
        mappings.extend(_parse_entry(namespace, claim, entry, details))
    return mappings


def _parse_entry(namespace: str | None, claim: object, entry: object, details: list[ErrorDetail]) -> list[ClaimMapping]:
    """Return the entry's mapping in a one-element list, or an empty list after recording its problems."""
    param = "claimMappings." + (f"{namespace}." if namespace is not None else "") + str(claim)
    found = len(details)
    if not isinstance(claim, str) or not claim:
        details.append(ErrorDetail("body", param, "claim name must be a non-empty string", claim))
    if not isinstance(entry, Mapping):
        details.append(ErrorDetail("body", param, "must be an object", entry))
        return []
    for key in entry:
        if key not in _FIELDS:
            details.append(ErrorDetail("body", f"{param}.{key}", _unknown_field_message(key), entry[key]))
    map_from = _parse_map_from(entry, param, details)
    claim_type = _parse_type(entry, param, details)
    required = _parse_required(entry, param, details)
    default = _parse_default(entry, claim_type, param, details)
    if "mapFrom" not in entry and "defaultValue" not in entry:
        details.append(ErrorDetail("body", param, "a mapping needs mapFrom, defaultValue or both", dict(entry)))
    if len(details) > found or not isinstance(claim, str):
        return []
    return [ClaimMapping(namespace, claim, map_from, claim_type, required, default)]


def _unknown_field_message(key: object) -> str:
    if key == "value":
        return "unknown field; a static claim is written as {defaultValue} without mapFrom"
    return "unknown field; expected mapFrom, type, required or defaultValue"


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
    if path[0] not in CONTEXT_ROOTS:
        details.append(ErrorDetail("body", f"{param}.mapFrom", f"must start with one of {_ROOT_NAMES}", text))
        return None
    return path


def _parse_type(entry: Mapping[str, object], param: str, details: list[ErrorDetail]) -> ClaimType | None:
    if "type" not in entry:
        return None
    value = entry["type"]
    if isinstance(value, str) and value in _TYPE_VALUES:
        return ClaimType(value)
    details.append(ErrorDetail("body", f"{param}.type", f"must be one of {_TYPE_NAMES}", value))
    return None


def _parse_required(entry: Mapping[str, object], param: str, details: list[ErrorDetail]) -> bool:
    value = entry.get("required", False)
    if isinstance(value, bool):
        return value
    details.append(ErrorDetail("body", f"{param}.required", "must be a boolean", value))
    return False


def _parse_default(
    entry: Mapping[str, object], claim_type: ClaimType | None, param: str, details: list[ErrorDetail]
) -> object:
    if "defaultValue" not in entry:
        return MISSING
    value = entry["defaultValue"]
    if value is None:
        details.append(ErrorDetail("body", f"{param}.defaultValue", "must not be null; omit it instead", value))
        return MISSING
    try:
        return coerce_claim_value(value, claim_type)
    except ClaimTypeError as error:
        details.append(ErrorDetail("body", f"{param}.defaultValue", str(error), value))
        return MISSING
