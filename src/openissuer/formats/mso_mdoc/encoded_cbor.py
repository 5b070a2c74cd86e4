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

from openissuer.crypto.cbor_heads import (
    MAJOR_ARRAY,
    MAJOR_BYTES,
    MAJOR_MAP,
    MAJOR_TAG,
    MAJOR_TEXT,
    MAJOR_UNSIGNED,
    encode_head,
)

__all__ = [
    "MAJOR_ARRAY",
    "MAJOR_BYTES",
    "MAJOR_MAP",
    "MAJOR_TAG",
    "MAJOR_TEXT",
    "MAJOR_UNSIGNED",
    "TAG_ENCODED_CBOR",
    "TAG_ENCODED_CBOR_HEAD",
    "encode_byte_string",
    "encode_embedded_cbor",
    "encode_head",
    "encode_name",
    "encode_text",
    "encode_unsigned",
    "new_cbor_encoder",
]

TAG_ENCODED_CBOR = 24  # RFC 8949 §3.4.5.1: "Encoded CBOR data item"


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
