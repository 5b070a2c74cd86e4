"""Assemble CBOR from pre-encoded parts: data item heads (RFC 8949 §3) and ``#6.24(bstr .cbor ...)``.

The mdoc structures have fixed shapes (the four IssuerSignedItem keys, the MSO's keys, the IssuerSigned map), so
their constant parts are encoded once, at import, and each credential only encodes what varies and concatenates.
Every head is the shortest form (RFC 8949 §4.2.1 preferred serialization), exactly what ``cbor2`` writes, so an
assembled structure is byte for byte ``cbor2.dumps`` of the same structure (the unit tests compare them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from io import BytesIO

import cbor2

MAJOR_UNSIGNED = 0
MAJOR_BYTES = 2
MAJOR_TEXT = 3
MAJOR_ARRAY = 4
MAJOR_MAP = 5
MAJOR_TAG = 6
TAG_ENCODED_CBOR = 24  # RFC 8949 §3.4.5.1: "Encoded CBOR data item"

_ONE_BYTE, _TWO_BYTES, _FOUR_BYTES, _EIGHT_BYTES = 24, 25, 26, 27


def encode_head(major_type: int, argument: int) -> bytes:
    """Return the head of a data item: the initial byte and the argument in the fewest bytes (RFC 8949 §3)."""
    initial = major_type << 5
    if argument < 0:
        raise ValueError("a CBOR head's argument is an unsigned integer")
    if argument < _ONE_BYTE:
        return bytes((initial | argument,))
    if argument < 0x100:
        return bytes((initial | _ONE_BYTE, argument))
    if argument < 0x1_0000:
        return bytes((initial | _TWO_BYTES,)) + argument.to_bytes(2, "big")
    if argument < 0x1_0000_0000:
        return bytes((initial | _FOUR_BYTES,)) + argument.to_bytes(4, "big")
    if argument < 0x1_0000_0000_0000_0000:
        return bytes((initial | _EIGHT_BYTES,)) + argument.to_bytes(8, "big")
    raise ValueError("a CBOR head's argument must fit in 64 bits")


def encode_unsigned(value: int) -> bytes:
    """Return the unsigned integer ``value`` (major type 0)."""
    return encode_head(MAJOR_UNSIGNED, value)


def encode_byte_string(data: bytes) -> bytes:
    """Return ``data`` as a byte string (major type 2)."""
    return encode_head(MAJOR_BYTES, len(data)) + data


def encode_text(text: str) -> bytes:
    """Return ``text`` as a UTF-8 text string (major type 3)."""
    encoded = text.encode("utf-8")
    return encode_head(MAJOR_TEXT, len(encoded)) + encoded


@functools.lru_cache(maxsize=4096)
def encode_name(name: str) -> bytes:
    """Return ``encode_text(name)`` for a name from configuration (a namespace, an element identifier): a bounded
    set, each encoded once."""
    return encode_text(name)


def encode_embedded_cbor(encoded: bytes) -> bytes:
    """Return ``#6.24(bstr .cbor item)`` for the data item whose encoding is ``encoded``."""
    return TAG_ENCODED_CBOR_HEAD + encode_head(MAJOR_BYTES, len(encoded)) + encoded


def new_cbor_encoder() -> Callable[[object], bytes]:
    """Return a function that encodes any value ``cbor2`` can, for the parts that vary (element values, keys).

    One ``cbor2`` encoder for the whole credential: ``cbor2.dumps`` builds an encoder and a buffer per call (~2 µs),
    ``encode_to_bytes`` on an existing one costs only the value. Not shared between calls, so it is thread-safe.
    """
    encode: Callable[[object], bytes] = cbor2.CBOREncoder(BytesIO()).encode_to_bytes
    return encode


TAG_ENCODED_CBOR_HEAD = encode_head(MAJOR_TAG, TAG_ENCODED_CBOR)
"""The head of tag 24, the first byte of every ``#6.24(bstr .cbor ...)``."""
