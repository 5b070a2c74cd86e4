"""The ``mapFrom`` path language: parse a path once into typed segments, then resolve it against a context.

Grammar (MATTR VII reference §4.5, a strict subset of lodash ``get``)::

    path     := head tail*
    head     := name | bracket
    tail     := "." name | bracket
    bracket  := "[" ( index | quoted ) "]"
    name     := one or more characters other than  . [ ] ' " \\  and whitespace
    index    := "0" | [1-9][0-9]*                    (an array position)
    quoted   := "'" chars "'" | '"' chars '"'        (a key; backslash escapes \\ \\' \\" only)

So ``claims.address.street``, ``claims['given name']``, ``claims["x.y"]`` and ``claims.emails[0]`` are paths.
A quoted key may be empty (``claims['']``: JSON allows an empty key); a bare name may not.
An index only reads a list and a key only reads an object: ``claims.emails.0`` looks up the key ``"0"``.

The same grammar names where a claim goes in a credential whose claims nest (``parse_claim_pointer``: SD-JWT VC
claim names such as ``address.locality`` or ``nationalities[0]``), plus one more bracket, ``[*]``, "every element
of the array", written ``None`` in the result as in an OID4VCI claims path pointer (Appendix C).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence

from openissuer.errors import ErrorDetail, ValidationError

ClaimPathSegment = str | int
"""A key into an object (``str``) or a position in an array (``int``)."""

ClaimPath = tuple[ClaimPathSegment, ...]
"""A parsed ``mapFrom`` path: never empty, the first segment is always a key."""

ClaimPointer = tuple[str | int | None, ...]
"""Where a claim sits in a credential: keys, array positions and ``None`` ("every element"), as in an OID4VCI
claims path pointer; never empty, the first segment is always a key."""

_NAME = re.compile(r"[^.\[\]'\"\\\s]+")
_INDEX = re.compile(r"0|[1-9][0-9]*")
MAX_INDEX = 999
"""The largest array position a path may name (a claim name that is a position builds an array that long)."""
_ESCAPABLE = frozenset("\\'\"")


class Missing(enum.Enum):
    """The type of ``MISSING``: a path that leads nowhere, distinct from every JSON value."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing.MISSING
"""What ``resolve_claim_path`` returns when the path does not exist (or ends on ``null``)."""


class ClaimPathSyntaxError(ValidationError):
    """A ``mapFrom`` path is malformed; ``position`` is the 0-based offset of the offending character.

    The path is configuration, never personal data, so it is safe to echo in ``details``.
    """

    def __init__(self, path: str, position: int, reason: str) -> None:
        msg = f"Invalid mapFrom path at position {position}: {reason}"
        super().__init__(msg, details=[ErrorDetail(location="body", param="mapFrom", msg=msg, value=path)])
        self.path = path
        self.position = position
        self.reason = reason


def parse_claim_path(text: str) -> ClaimPath:
    """Parse a ``mapFrom`` path into its segments; raise ``ClaimPathSyntaxError`` on any malformation.

    Enforces reference §4.5: dot paths plus bracket notation (``['…']`` keys and ``[n]`` indexes).
    """
    return tuple(segment for segment in _parse(text, every=False) if segment is not None)


def parse_claim_pointer(text: str) -> ClaimPointer:
    """Parse a claim name that says where the claim goes (``address.locality``, ``degrees[0].type``,
    ``nationalities[*]``) into its segments, ``[*]`` as ``None``; raise ``ClaimPathSyntaxError`` when malformed."""
    return _parse(text, every=True)


def _parse(text: str, *, every: bool) -> ClaimPointer:
    if not text:
        raise ClaimPathSyntaxError(text, 0, "the path is empty")
    segments: list[str | int | None] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        segment: str | int | None
        if char == "[":
            segment, pos = _parse_bracket(text, pos, every=every)
        elif char == "." and segments:
            segment, pos = _parse_name(text, pos + 1)
        elif not segments:
            segment, pos = _parse_name(text, pos)
        else:
            raise ClaimPathSyntaxError(text, pos, f"expected '.' or '[' but found {char!r}")
        if not segments and not isinstance(segment, str):
            raise ClaimPathSyntaxError(text, 0, "a path must start with a key, not an index")
        segments.append(segment)
    return tuple(segments)


def _parse_name(text: str, pos: int) -> tuple[str, int]:
    match = _NAME.match(text, pos)
    if match is None:
        if pos >= len(text) or text[pos] in ".[":
            raise ClaimPathSyntaxError(text, pos, "empty segment (a name is required here)")
        raise ClaimPathSyntaxError(
            text, pos, f"unexpected character {text[pos]!r} in a name; use ['...'] for such keys"
        )
    return match.group(), match.end()


def _parse_bracket(text: str, pos: int, *, every: bool) -> tuple[str | int | None, int]:
    start = pos + 1
    if start < len(text) and text[start] in "'\"":
        key, end = _parse_quoted(text, start)
    else:
        close = text.find("]", start)
        if close == -1:
            raise ClaimPathSyntaxError(text, pos, "unterminated '[' (missing ']')")
        raw = text[start:close]
        if every and raw == "*":
            return None, close + 1
        if _INDEX.fullmatch(raw) is None:
            found = "empty brackets '[]'" if not raw else f"bad index {raw[:20]!r}"
            raise ClaimPathSyntaxError(text, start, f"{found}; expected a non-negative integer or a quoted key")
        if len(raw) > len(str(MAX_INDEX)) or int(raw) > MAX_INDEX:
            # A claim name that is a position builds an array that long; no credential needs more elements.
            raise ClaimPathSyntaxError(text, start, f"index {raw[:20]} is larger than {MAX_INDEX}")
        return int(raw), close + 1
    if end >= len(text) or text[end] != "]":
        raise ClaimPathSyntaxError(text, end, "expected ']' after the quoted key")
    return key, end + 1


def _parse_quoted(text: str, pos: int) -> tuple[str, int]:
    quote = text[pos]
    chars: list[str] = []
    i = pos + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return "".join(chars), i + 1
        if char == "\\":
            if i + 1 >= len(text):
                break
            if text[i + 1] not in _ESCAPABLE:
                raise ClaimPathSyntaxError(text, i, f"unsupported escape '\\{text[i + 1]}'; only \\\\ \\' \\\" exist")
            char = text[i + 1]
            i += 1
        chars.append(char)
        i += 1
    raise ClaimPathSyntaxError(text, pos, f"unterminated quoted key (missing closing {quote!r})")


def format_claim_path(path: ClaimPointer) -> str:
    """Render segments back into canonical path text that ``parse_claim_path`` (``parse_claim_pointer`` when it
    holds ``None``) reads to the same segments."""
    parts: list[str] = []
    for segment in path:
        if segment is None:
            parts.append("[*]")
        elif isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif _NAME.fullmatch(segment):
            parts.append(f".{segment}" if parts else segment)
        else:
            escaped = segment.replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"['{escaped}']")
    return "".join(parts)


def resolve_claim_path(path: ClaimPath, data: Mapping[str, object]) -> object:
    """Follow ``path`` through ``data``; return ``MISSING`` if a step does not exist or the value is ``null``.

    Keys read only mappings and indexes read only lists/tuples (never strings or bytes), so a path never
    raises; ``null`` anywhere on the way counts as missing (see ``claims`` package docstring).
    """
    current: object = data
    for segment in path:
        if isinstance(segment, int):
            if not isinstance(current, Sequence) or isinstance(current, str | bytes | bytearray):
                return MISSING
            if segment >= len(current):
                return MISSING
            current = current[segment]
        else:
            if not isinstance(current, Mapping) or segment not in current:
                return MISSING
            current = current[segment]
        if current is None:
            return MISSING
    return current
