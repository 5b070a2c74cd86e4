"""CBOR data item heads (RFC 8949 §3): the initial byte and the argument in its shortest form (§4.2.1).

Structures whose shape is fixed (COSE's Sig_structure and COSE_Key, the mdoc's items and MSO) are assembled from
pre-encoded parts and these heads; every head is what ``cbor2`` writes, so an assembled structure is byte for byte
``cbor2.dumps`` of the same structure (the unit tests compare them).
"""

from __future__ import annotations

MAJOR_UNSIGNED = 0
MAJOR_BYTES = 2
MAJOR_TEXT = 3
MAJOR_ARRAY = 4
MAJOR_MAP = 5
MAJOR_TAG = 6

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
