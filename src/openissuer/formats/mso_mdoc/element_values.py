"""CBOR encoding of mapped claim values as mdoc ``elementValue``s (ISO/IEC 18013-5 §7.2.1, RFC 8943).

- ``datetime`` (timezone-aware) -> tag 0 ``tdate`` in UTC, no fractional seconds, ``Z`` suffix;
- ``date`` -> tag 1004 ``full-date`` (``YYYY-MM-DD``, RFC 8943);
- ``str``, ``int``, ``float``, ``bool``, ``bytes`` -> their CBOR major types; lists and string-keyed maps recurse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import cbor2

TAG_TDATE = 0
TAG_FULL_DATE = 1004


class ElementValueError(TypeError):
    """A claim value has no mdoc encoding; the message names the type only, never the value (personal data)."""


def encode_tdate(moment: datetime) -> cbor2.CBORTag:
    """Return ``moment`` as tag 0 ``tdate``: "fractional seconds shall not be used", UTC with ``Z`` (§7.2.1)."""
    return cbor2.CBORTag(TAG_TDATE, format_tdate(moment))


def format_tdate(moment: datetime) -> str:
    """Return the text of a ``tdate``: ``YYYY-MM-DDTHH:MM:SSZ`` in UTC, whole seconds (§7.2.1)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ElementValueError("a date-time value must be timezone-aware")
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    # % formatting: isoformat formats through PyUnicode_FromFormat at twice the cost
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)  # noqa: UP031


def encode_element_value(value: object) -> object:
    """Return the cbor2-encodable form of one claim value (see the module docstring for the mapping)."""
    if type(value) in _AS_IS:  # the common cases first, without walking the ABCs below
        return value
    if isinstance(value, dict):
        return _encode_map(value)
    if isinstance(value, list):
        return [encode_element_value(item) for item in value]
    if value is None:
        raise ElementValueError("null claim values are not issued")
    if isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, datetime):  # before date: datetime is a date subclass
        return encode_tdate(value)
    if isinstance(value, date):
        return cbor2.CBORTag(TAG_FULL_DATE, value.isoformat())
    if isinstance(value, Mapping):
        return _encode_map(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [encode_element_value(item) for item in value]
    raise ElementValueError(f"values of type {type(value).__name__} cannot be encoded in an mdoc")


def _encode_map(value: Mapping[object, object]) -> dict[str, object]:
    encoded: dict[str, object] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ElementValueError("map claim values must have string keys")
        encoded[key] = encode_element_value(item)
    return encoded


_AS_IS = frozenset({str, int, float, bool, bytes})
