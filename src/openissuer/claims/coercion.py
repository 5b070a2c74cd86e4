"""Coerce a resolved claim value to its mapping's ``type`` (reference §4.3 types, §4.4 "coerce(v, m.type)").

Rules per type (anything else raises ``ClaimTypeError``):

- ``string``: a string; an integer becomes its decimal text (IdPs send numeric ids). Floats, booleans, arrays
  and objects are rejected rather than given an arbitrary text form.
- ``number``: an integer stays ``int`` and a float stays ``float`` (must be finite); a string written as a JSON
  number is coerced (``"42"`` -> 42, ``"4.5"``/``"1e3"`` -> float). A boolean is **not** a number.
- ``boolean``: ``true``/``false`` or exactly the strings ``"true"``/``"false"`` (no ``0``/``1``, no ``"True"``).
- ``date`` / ``dateTime``: see ``temporal``; ``bytes``: see ``binary``.
- ``array``: a JSON array (list or tuple) -> ``list``; ``object``: a JSON object (mapping) -> ``dict``.
- no ``type``: the value passes through unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

from openissuer.claims.binary import coerce_bytes
from openissuer.claims.claim_type import ClaimType, ClaimTypeError, describe_json_type
from openissuer.claims.temporal import coerce_date, coerce_date_time

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?P<fraction>\.[0-9]+)?(?P<exponent>[eE][+-]?[0-9]+)?")
_MAX_NUMBER_TEXT = 400  # longer numeric strings are not plausible claims, and int() of huge text is quadratic


def coerce_claim_value(value: object, claim_type: ClaimType | None) -> object:
    """Return ``value`` as ``claim_type`` (unchanged when untyped); raise ``ClaimTypeError`` if it cannot be.

    Trust: ``value`` is never ``None`` here; ``null`` was already treated as missing by the resolver.
    """
    if claim_type is None:
        return value
    return _COERCERS[claim_type](value)


def coerce_string(value: object) -> str:
    """Return ``value`` as a string; integers become decimal text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ClaimTypeError(ClaimType.STRING, f"expected a string, got {describe_json_type(value)}")


def coerce_number(value: object) -> int | float:
    """Return ``value`` as an ``int`` or finite ``float``; numeric strings are parsed, booleans rejected."""
    if isinstance(value, bool):
        raise ClaimTypeError(ClaimType.NUMBER, "expected a number, got boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ClaimTypeError(ClaimType.NUMBER, "the number is not finite")
        return value
    if not isinstance(value, str):
        raise ClaimTypeError(ClaimType.NUMBER, f"expected a number, got {describe_json_type(value)}")
    match = _JSON_NUMBER.fullmatch(value) if len(value) <= _MAX_NUMBER_TEXT else None
    if match is None:
        raise ClaimTypeError(ClaimType.NUMBER, "the string is not a JSON number")
    if match.group("fraction") is None and match.group("exponent") is None:
        return int(value)
    number = float(value)
    if not math.isfinite(number):
        raise ClaimTypeError(ClaimType.NUMBER, "the number is out of the floating-point range")
    return number


def coerce_boolean(value: object) -> bool:
    """Return ``value`` as a boolean; accepts ``true``/``false`` and the strings ``"true"``/``"false"``."""
    if isinstance(value, bool):
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    if isinstance(value, str):
        raise ClaimTypeError(ClaimType.BOOLEAN, 'the string is neither "true" nor "false"')
    raise ClaimTypeError(ClaimType.BOOLEAN, f"expected a boolean, got {describe_json_type(value)}")


def coerce_array(value: object) -> list[object]:
    """Return ``value`` as a list; only JSON arrays (lists, tuples) qualify, never strings."""
    if isinstance(value, list | tuple):
        return list(value)
    raise ClaimTypeError(ClaimType.ARRAY, f"expected an array, got {describe_json_type(value)}")


def coerce_object(value: object) -> dict[str, object]:
    """Return ``value`` as a dict; only JSON objects (mappings) qualify."""
    if isinstance(value, Mapping):
        return dict(value)
    raise ClaimTypeError(ClaimType.OBJECT, f"expected an object, got {describe_json_type(value)}")


_COERCERS: dict[ClaimType, Callable[[object], object]] = {
    ClaimType.STRING: coerce_string,
    ClaimType.NUMBER: coerce_number,
    ClaimType.BOOLEAN: coerce_boolean,
    ClaimType.DATE: coerce_date,
    ClaimType.DATE_TIME: coerce_date_time,
    ClaimType.BYTES: coerce_bytes,
    ClaimType.ARRAY: coerce_array,
    ClaimType.OBJECT: coerce_object,
}
