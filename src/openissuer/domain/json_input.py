"""Strict JSON for everything a wallet or an administrator sends (issue 14: strict inputs at the edge).

Every JSON body, and the header and payload of every JWS a wallet sends, is parsed by ``parse_json_input``, which
refuses what a lenient parser would let through and a later layer would trip over:

- duplicate member names (RFC 8259 §4: names "SHOULD be unique"; RFC 7515 §5.2 / RFC 7519 §4: a JOSE parser MUST
  reject them or use a parser that returns only the last one, which hides the ambiguity);
- ``NaN``, ``Infinity`` and numbers that overflow (not JSON, and not storable);
- integers or floats beyond ±(2^63 − 1), which some parsers read as floats and lose digits of (orjson turns a
  larger integer into a float without a word) and which do not fit a database integer;
- lone UTF-16 surrogates (``"\\ud800"``) and invalid UTF-8: such a string cannot be encoded back, so it would be
  stored and then break every later read of it;
- NUL characters (``"\\u0000"``): PostgreSQL refuses them in text and JSON;
- nesting deeper than ``MAX_DEPTH``.

Cost (bench: ``tests`` do not time; figures in docs/security.md): orjson does the parsing and refuses non-finite
numbers, bad UTF-8 and surrogates; one walk over the parsed value counts object members, checks depth and number
ranges; duplicates are then ruled out by comparing that count with the number of ``:`` in the text (every member
has one, so equal counts mean no member was dropped). Only a text with ``:`` inside strings (URLs, URNs) is parsed
a second time by the standard library with a duplicate-refusing hook. A typical credential request costs about
1 µs against 0.35 µs for a bare ``orjson.loads``.

``JsonInputError`` messages are fixed texts that never quote the input, so callers may show them.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

MAX_DEPTH = 32
MAX_MAGNITUDE = 2**63 - 1


class JsonInputError(ValueError):
    """The text is not JSON this issuer accepts; the message never quotes the input."""


def parse_json_input(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Return the JSON value of ``raw`` after the checks above; raise JsonInputError otherwise."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson's messages are fixed texts ("unexpected end of data", "no matched low surrogate in string",
        # "number is infinity when parsed as double", "str is not valid UTF-8: ...") plus a position, never the input.
        raise JsonInputError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from exc
    members = _count_members(value, max_depth)
    text = raw.encode() if isinstance(raw, str) else raw
    if b"\\u0000" in text:
        _refuse_nul(value)
    if members and text.count(b":") != members:
        _refuse_duplicates(text)  # some ":" are inside strings: only a careful parse can tell
    return value


def _count_members(value: Any, depth_left: int) -> int:
    """Return the number of object members in ``value``; check depth and number ranges on the way."""
    kind = type(value)
    if kind is dict:
        if depth_left <= 0:
            raise JsonInputError("nested too deeply")
        count = len(value)
        for item in value.values():
            if type(item) in _CONTAINERS_AND_NUMBERS:
                count += _count_members(item, depth_left - 1)
        return count
    if kind is list:
        if depth_left <= 0:
            raise JsonInputError("nested too deeply")
        count = 0
        for item in value:
            if type(item) in _CONTAINERS_AND_NUMBERS:
                count += _count_members(item, depth_left - 1)
        return count
    if (kind is int or kind is float) and not -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        raise JsonInputError("a number is out of range")
    return 0


_CONTAINERS_AND_NUMBERS = frozenset({dict, list, int, float})


def _refuse_nul(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise JsonInputError("a string contains a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key)
            _refuse_nul(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_nul(item)


def _refuse_duplicates(text: bytes) -> None:
    try:
        json.loads(text, object_pairs_hook=_unique_members)
    except _DuplicateMemberError as exc:
        raise JsonInputError("an object has a duplicate member name") from exc


class _DuplicateMemberError(ValueError):
    pass


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateMemberError
    return result
