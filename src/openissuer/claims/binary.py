"""Coerce claim values to ``bytes``: base64, base64url or a ``data:<mime>;base64,`` URI (e.g. a portrait).

Padding is optional; ASCII whitespace inside the encoded text (line-wrapped MIME base64) is ignored. A string
mixing the two alphabets (``+``/``/`` with ``-``/``_``) and a ``data:`` URI that is not base64 are rejected.
"""

from __future__ import annotations

import base64
import binascii
import re

from openissuer.claims.claim_type import ClaimType, ClaimTypeError, describe_json_type

_STANDARD = re.compile(r"[A-Za-z0-9+/]*")
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]*")
_WHITESPACE = re.compile(r"[ \t\r\n]+")


def coerce_bytes(value: object) -> bytes:
    """Return ``value`` decoded to bytes; raise ``ClaimTypeError`` if it is not base64 text or bytes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if not isinstance(value, str):
        raise ClaimTypeError(ClaimType.BYTES, f"expected a base64 string, got {describe_json_type(value)}")
    if value[:5].lower() == "data:":
        return _decode_base64(_data_uri_payload(value))
    return _decode_base64(value)


def _data_uri_payload(uri: str) -> str:
    header, comma, payload = uri.partition(",")
    if not comma:
        raise ClaimTypeError(ClaimType.BYTES, "the data: URI has no ',' before its data")
    if not header.lower().endswith(";base64"):
        raise ClaimTypeError(ClaimType.BYTES, "the data: URI is not base64-encoded (';base64' is missing)")
    return payload


def _decode_base64(text: str) -> bytes:
    compact = _WHITESPACE.sub("", text)
    data = compact.rstrip("=")
    padding = len(compact) - len(data)
    if not data:
        raise ClaimTypeError(ClaimType.BYTES, "the base64 text is empty")
    if padding > 2 or len(data) % 4 == 1 or (padding and (len(data) + padding) % 4):
        raise ClaimTypeError(ClaimType.BYTES, "the base64 text has an invalid length or padding")
    if _STANDARD.fullmatch(data):
        alphabet = b"+/"
    elif _URL_SAFE.fullmatch(data):
        alphabet = b"-_"
    else:
        raise ClaimTypeError(ClaimType.BYTES, "the text is neither base64 nor base64url")
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4), altchars=alphabet, validate=True)
    except binascii.Error:
        raise ClaimTypeError(ClaimType.BYTES, "the text is neither base64 nor base64url") from None
