"""Coerce claim values to ``bytes``: base64, base64url or a ``data:<mime>;base64,`` URI (e.g. a portrait).

Padding is optional; ASCII whitespace inside the encoded text (line-wrapped MIME base64) is ignored. A string
mixing the two alphabets (``+``/``/`` with ``-``/``_``) and a ``data:`` URI that is not base64 are rejected.

A portrait is tens of kilobytes of text on every issuance, so the text is checked by a strict decoder and a few
substring searches, never by a regular expression (a character-class regex costs ~4 ns per character). The decoder
is pybase64's (SIMD): about 1 µs for a 10 KB portrait against about 55 µs for ``binascii.a2b_base64``, with the
same refusals as ``binascii``'s ``strict_mode`` (``bench/results/mdoc-build-pybase64.md``).
"""

from __future__ import annotations

import binascii

import pybase64

from openissuer.claims.claim_type import ClaimType, ClaimTypeError, describe_json_type

_WHITESPACE = " \t\r\n"
_WITHOUT_WHITESPACE = str.maketrans("", "", _WHITESPACE)
_URL_SAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


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
    if any(char in text for char in _WHITESPACE):
        text = text.translate(_WITHOUT_WHITESPACE)
    data = text.rstrip("=")
    padding = len(text) - len(data)
    if not data:
        raise ClaimTypeError(ClaimType.BYTES, "the base64 text is empty")
    if padding > 2 or len(data) % 4 == 1 or (padding and (len(data) + padding) % 4):
        raise ClaimTypeError(ClaimType.BYTES, "the base64 text has an invalid length or padding")
    if not data.isascii():
        raise _neither()
    encoded = data.encode("ascii")
    if b"-" in encoded or b"_" in encoded:
        if b"+" in encoded or b"/" in encoded:
            raise _neither()  # one alphabet or the other, never both
        encoded = encoded.translate(_URL_SAFE_TO_STANDARD)
    try:
        # validate refuses every character outside A-Za-z0-9+/ and any '=' left inside the data.
        return pybase64.b64decode(encoded + b"=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise _neither() from None


def _neither() -> ClaimTypeError:
    return ClaimTypeError(ClaimType.BYTES, "the text is neither base64 nor base64url")
