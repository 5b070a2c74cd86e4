"""The parsed ``claimMappings`` model and ``parse_claim_mappings``, which validates the wire shape.

Wire shapes (reference §4.3 mDoc, §4.6 CWT): namespaced ``{namespace: {claimName: mapping}}`` or flat
``{claimName: mapping}`` (namespace ``None``), where a mapping is one of

- mapped: ``{"mapFrom": path, "type"?: T, "required"?: bool, "defaultValue"?: value of T}``;
- static: ``{"defaultValue": value of T, "type"?: T, "required"?: bool}`` (no ``mapFrom``).

``type`` is optional here (CWT mappings have none; an untyped value passes through). A format that needs it
(mDoc: "type is required when mapFrom is used") checks that in its own ``validate_configuration``.

Every mapping may also carry ``display``: ``[{"name": text, "locale"?: BCP 47 tag}]``, how wallets label the claim
(OID4VCI claims description ``display``).

Two general extensions a format switches on (``ConfigurationSchema``):

- ``claim_paths``: claim names are positions in a nested credential, in the ``mapFrom`` grammar plus ``[*]``
  (``address.locality``, ``degrees[0].type``, ``nationalities[*]``; see ``path.parse_claim_pointer``). Rules: no
  two entries name the same position; an entry with a value (mapFrom or defaultValue) is not inside another entry
  with a value; one array is addressed either by positions or by ``[*]``, never both, and a container is never
  both an object and an array; array positions are numbered from 0 without gaps; ``[*]`` only in flag entries.
- ``flags``: boolean fields the format reads per claim (SD-JWT VC: ``selectivelyDisclosable``). An entry that
  sets only flags (no mapFrom, defaultValue, type or required) is a *flag entry*: it carries no value and
  describes a container that other entries fill, or every element of an array (``[*]``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from openissuer.claims.claim_type import ClaimType, ClaimTypeError
from openissuer.claims.coercion import coerce_claim_value
from openissuer.claims.context import CONTEXT_ROOTS
from openissuer.claims.path import (
    MISSING,
    ClaimPath,
    ClaimPathSyntaxError,
    ClaimPointer,
    format_claim_path,
    parse_claim_path,
    parse_claim_pointer,
)
from openissuer.errors import ErrorDetail, ValidationError

_FIELDS = frozenset({"mapFrom", "type", "required", "defaultValue", "display"})
_MAX_DISPLAY_NAME = 200
_MAX_LOCALE = 35
_TYPE_VALUES = frozenset(member.value for member in ClaimType)
_TYPE_NAMES = ", ".join(member.value for member in ClaimType)
_ROOT_NAMES = ", ".join(sorted(CONTEXT_ROOTS))


@dataclass(frozen=True)
class ClaimLabel:
    """One localised display name of a claim (``display[]`` of a mapping)."""

    name: str
    locale: str | None = None


@dataclass(frozen=True)
class ClaimMapping:
    """One claim's rule: where its value comes from, its type, whether it is required, and its default.

    ``default_value`` is ``MISSING`` when none is configured, else already coerced to ``claim_type``.
    A mapping without ``map_from`` is static: its default is its value in every credential; one without either
    is a flag entry (``is_flag_entry``). ``position`` is the parsed claim name when claim names are paths (empty
    otherwise: see ``pointer``); ``flags`` the format's boolean fields that were set, in configuration order.
    """

    namespace: str | None
    claim: str
    map_from: ClaimPath | None
    claim_type: ClaimType | None = None
    required: bool = False
    default_value: object = MISSING
    display: tuple[ClaimLabel, ...] = ()
    flags: tuple[tuple[str, bool], ...] = ()
    position: ClaimPointer = ()

    @property
    def pointer(self) -> ClaimPointer:
        """Where the claim sits in the mapped claims: ``(namespace, claim)``, ``(claim,)`` or the parsed name."""
        if self.position:
            return self.position
        return (self.claim,) if self.namespace is None else (self.namespace, self.claim)

    @property
    def is_flag_entry(self) -> bool:
        """True for an entry that carries no value, only flags (of a container, or of ``[*]`` elements)."""
        return self.map_from is None and self.default_value is MISSING

    def flag(self, name: str) -> bool | None:
        """Return the flag's configured value, or None when the entry does not set it."""
        return next((value for key, value in self.flags if key == name), None)


@dataclass(frozen=True)
class ClaimMappings:
    """All mappings of one credential configuration, in configuration order."""

    mappings: tuple[ClaimMapping, ...]


@dataclass(frozen=True)
class _Options:
    claim_paths: bool
    flags: frozenset[str]


def parse_claim_mappings(
    raw: object, *, namespaced: bool = True, claim_paths: bool = False, flags: Collection[str] = ()
) -> ClaimMappings:
    """Validate a ``claimMappings`` object into ``ClaimMappings``; raise ``ValidationError`` listing every problem.

    Each ``details`` entry names its field as ``claimMappings.<namespace>.<claim>.<field>`` (flat form:
    ``claimMappings.<claim>.<field>``). Configuration values are not personal data, so they are echoed.
    ``claim_paths`` (flat form only) reads claim names as positions; ``flags`` are the boolean fields the format
    accepts per claim (see the module docstring).
    """
    options = _Options(claim_paths=claim_paths and not namespaced, flags=frozenset(flags))
    details: list[ErrorDetail] = []
    mappings: list[ClaimMapping] = []
    if not isinstance(raw, Mapping):
        details.append(ErrorDetail("body", "claimMappings", "must be an object", raw))
    elif namespaced:
        for namespace, entries in raw.items():
            mappings.extend(_parse_namespace(namespace, entries, details, options))
    else:
        for claim, entry in raw.items():
            mappings.extend(_parse_entry(None, claim, entry, details, options))
        if options.claim_paths and not details:
            details += _find_position_conflicts(mappings)
    if details:
        raise ValidationError("Invalid claimMappings", details=details)
    return ClaimMappings(tuple(mappings))


def _parse_namespace(
    namespace: object, entries: object, details: list[ErrorDetail], options: _Options
) -> list[ClaimMapping]:
    param = f"claimMappings.{namespace}"
    if not isinstance(namespace, str) or not namespace:
        details.append(ErrorDetail("body", param, "namespace must be a non-empty string", namespace))
        return []
    if not isinstance(entries, Mapping) or not entries:
        details.append(ErrorDetail("body", param, "must be an object mapping at least one claim", entries))
        return []
    mappings: list[ClaimMapping] = []
    for claim, entry in entries.items():
        mappings.extend(_parse_entry(namespace, claim, entry, details, options))
    return mappings


def _parse_entry(
    namespace: str | None, claim: object, entry: object, details: list[ErrorDetail], options: _Options
) -> list[ClaimMapping]:
    """Return the entry's mapping in a one-element list, or an empty list after recording its problems."""
    param = "claimMappings." + (f"{namespace}." if namespace is not None else "") + str(claim)
    found = len(details)
    if not isinstance(claim, str) or not claim:
        details.append(ErrorDetail("body", param, "claim name must be a non-empty string", claim))
    position = _parse_position(claim, param, details) if options.claim_paths and isinstance(claim, str) else ()
    if not isinstance(entry, Mapping):
        details.append(ErrorDetail("body", param, "must be an object", entry))
        return []
    for key in entry:
        if key not in _FIELDS and key not in options.flags:
            details.append(ErrorDetail("body", f"{param}.{key}", _unknown_field_message(key, options), entry[key]))
    map_from = _parse_map_from(entry, param, details)
    claim_type = _parse_type(entry, param, details)
    required = _parse_required(entry, param, details)
    default = _parse_default(entry, claim_type, param, details)
    display = _parse_display(entry, param, details)
    flags = _parse_flags(entry, options, param, details)
    if "mapFrom" not in entry and "defaultValue" not in entry:
        if not flags or "type" in entry or "required" in entry:
            details.append(ErrorDetail("body", param, _no_value_message(options), dict(entry)))
    elif None in position:
        details.append(ErrorDetail("body", param, "[*] names every element: only flags may be set there", claim))
    if len(details) > found or not isinstance(claim, str):
        return []
    return [ClaimMapping(namespace, claim, map_from, claim_type, required, default, display, flags, position)]


def _unknown_field_message(key: object, options: _Options) -> str:
    if key == "value":
        return "unknown field; a static claim is written as {defaultValue} without mapFrom"
    names = ["mapFrom", "type", "required", "defaultValue", "display", *sorted(options.flags)]
    return f"unknown field; expected {', '.join(names[:-1])} or {names[-1]}"


def _no_value_message(options: _Options) -> str:
    if not options.flags:
        return "a mapping needs mapFrom, defaultValue or both"
    flags = " or ".join(sorted(options.flags))
    return f"a mapping needs mapFrom, defaultValue or both; an entry without them sets only {flags}"


def _parse_position(claim: str, param: str, details: list[ErrorDetail]) -> ClaimPointer:
    try:
        return parse_claim_pointer(claim)
    except ClaimPathSyntaxError as error:
        details.append(ErrorDetail("body", param, error.description.replace("mapFrom path", "claim name"), claim))
        return ()


def _parse_display(entry: Mapping[str, object], param: str, details: list[ErrorDetail]) -> tuple[ClaimLabel, ...]:
    if "display" not in entry:
        return ()
    raw = entry["display"]
    problem = "must be a list of {name, locale} objects with a non-empty name"
    if not isinstance(raw, list) or not raw:
        details.append(ErrorDetail("body", f"{param}.display", problem, raw))
        return ()
    labels: list[ClaimLabel] = []
    for item in raw:
        name = item.get("name") if isinstance(item, Mapping) else None
        locale = item.get("locale") if isinstance(item, Mapping) else None
        if (
            not isinstance(item, Mapping)
            or set(item) - {"name", "locale"}
            or not isinstance(name, str)
            or not name.strip()
            or len(name) > _MAX_DISPLAY_NAME
            or (locale is not None and (not isinstance(locale, str) or not 0 < len(locale) <= _MAX_LOCALE))
        ):
            details.append(ErrorDetail("body", f"{param}.display", problem, raw))
            return ()
        labels.append(ClaimLabel(name, locale))
    if len({label.locale for label in labels}) != len(labels):
        details.append(ErrorDetail("body", f"{param}.display", "has more than one name for a locale", raw))
    return tuple(labels)


def _parse_flags(
    entry: Mapping[str, object], options: _Options, param: str, details: list[ErrorDetail]
) -> tuple[tuple[str, bool], ...]:
    flags: list[tuple[str, bool]] = []
    for key, value in entry.items():
        if key not in options.flags:
            continue
        if isinstance(value, bool):
            flags.append((key, value))
        else:
            details.append(ErrorDetail("body", f"{param}.{key}", "must be a boolean", value))
    return tuple(flags)


def _find_position_conflicts(mappings: list[ClaimMapping]) -> list[ErrorDetail]:
    """The structural rules of claim names that are positions (module docstring)."""
    details: list[ErrorDetail] = []
    seen: dict[ClaimPointer, ClaimMapping] = {}
    for mapping in mappings:
        param = f"claimMappings.{mapping.claim}"
        if mapping.position in seen:
            details.append(ErrorDetail("body", param, "names the same claim as another entry", mapping.claim))
            continue
        seen[mapping.position] = mapping
        for other in mappings:
            if other is mapping or other.is_flag_entry or mapping.is_flag_entry:
                continue
            if (
                len(other.position) < len(mapping.position)
                and mapping.position[: len(other.position)] == other.position
            ):
                msg = f"is inside {format_claim_path(other.position)}, which is mapped as a whole"
                details.append(ErrorDetail("body", param, msg, mapping.claim))
                break
    # What follows each container: keys (an object), positions (an array), or [*] (every element of an array).
    kinds: dict[ClaimPointer, set[str]] = {}
    positions: dict[ClaimPointer, set[int]] = {}
    for mapping in mappings:
        for depth in range(1, len(mapping.position)):
            container, segment = mapping.position[:depth], mapping.position[depth]
            kind = "key" if isinstance(segment, str) else "every" if segment is None else "index"
            kinds.setdefault(container, set()).add(kind)
            if isinstance(segment, int):
                positions.setdefault(container, set()).add(segment)
    for container, found in kinds.items():
        name = format_claim_path(container)
        if len(found) > 1:
            msg = "is used as an object and as an array" if "key" in found else "mixes [*] with array positions"
            details.append(ErrorDetail("body", f"claimMappings.{name}", msg, name))
        indexes = positions.get(container)
        if indexes is not None and indexes != set(range(len(indexes))):
            msg = "array positions must be numbered from 0 without gaps"
            details.append(ErrorDetail("body", f"claimMappings.{name}", msg, sorted(indexes)))
    return details


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
