"""Build the signed items of an mdoc and the ``IssuerSigned`` structure that carries them.

ISO/IEC 18013-5 §8.3.2.1.2.2 and §9.1.2.4:

    IssuerSigned = {"nameSpaces": {NameSpace => [+ IssuerSignedItemBytes]}, "issuerAuth": COSE_Sign1}
    IssuerSignedItemBytes = #6.24(bstr .cbor {digestID, random, elementIdentifier, elementValue})

§9.1.2.5: the value digest is the digest "over the IssuerSignedItemBytes", i.e. over the tag-24-wrapped
encoding; the same bytes are what ``nameSpaces`` carries. Each item is therefore encoded once, and its digest
computed once, when it is made; the MSO, ``nameSpaces`` and the issuance record all use those. ``random`` is a
fresh salt per item and digest IDs are random, unique and unordered, so neither leaks which or how many elements a
holder left undisclosed.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import NamedTuple

from openissuer.crypto.cose import CoseSign1
from openissuer.errors import ClaimMappingError
from openissuer.formats.base import MappedClaims, RandomBytes
from openissuer.formats.mso_mdoc.element_values import ElementValueError, encode_element_value
from openissuer.formats.mso_mdoc.encoded_cbor import (
    MAJOR_ARRAY,
    MAJOR_BYTES,
    MAJOR_MAP,
    MAJOR_UNSIGNED,
    TAG_ENCODED_CBOR_HEAD,
    encode_head,
    encode_name,
    encode_text,
    encode_unsigned,
    new_cbor_encoder,
)

SALT_SIZE = 32  # §9.1.2.5: "random ... shall be at least 16 bytes"
_DIGEST_ID_SIZE = 4
_DIGEST_ID_MASK = 0x7FFF_FFFF  # 31-bit: a uint every verifier's integer type holds

# The constant parts of an IssuerSignedItem {digestID, random, elementIdentifier, elementValue} and of IssuerSigned.
_ITEM_START = encode_head(MAJOR_MAP, 4) + encode_text("digestID")
_RANDOM = encode_text("random") + encode_head(MAJOR_BYTES, SALT_SIZE)
_ELEMENT_IDENTIFIER = encode_text("elementIdentifier")
_VALUE = encode_text("elementValue")
_ISSUER_SIGNED_START = encode_head(MAJOR_MAP, 2) + encode_text("nameSpaces")
_ISSUER_AUTH = encode_text("issuerAuth")
_ITEM_FIXED_SIZE = len(_ITEM_START) + len(_RANDOM) + SALT_SIZE + len(_ELEMENT_IDENTIFIER) + len(_VALUE)
_UINT32 = struct.Struct(">BI").pack
_UINT32_HEAD = encode_head(MAJOR_UNSIGNED, 0x1_0000)[0]  # 0x1A: an unsigned integer in the next four bytes
_UINT16_MAX = 0xFFFF


class SignedElement(NamedTuple):
    """One IssuerSignedItem: where it belongs, its digest ID, its ``IssuerSignedItemBytes`` and their SHA-256.

    A named tuple: an mDL makes one per element on every issuance, and a tuple is made several times faster than
    a frozen dataclass."""

    namespace: str
    identifier: str
    digest_id: int
    item_bytes: bytes
    digest: bytes


def create_signed_elements(claims: MappedClaims, random_bytes: RandomBytes) -> list[SignedElement]:
    """Encode every claim as an IssuerSignedItem with a fresh salt and a random unique digest ID.

    Each item is assembled once, already wrapped as ``#6.24(bstr .cbor item)`` (its length is known before it is
    joined), and hashed once. Raises ClaimMappingError (naming namespace and claim, never the value) for a value
    without mdoc encoding.
    """
    entries = [(namespace, claim, value) for namespace, values in claims.items() for claim, value in values.items()]
    digest_ids = generate_digest_ids(len(entries), random_bytes)
    salts = random_bytes(SALT_SIZE * len(entries))  # one draw, cut into one salt per item
    if len(salts) != SALT_SIZE * len(entries):
        raise ValueError(f"random_bytes must return the {SALT_SIZE * len(entries)} bytes asked for")
    encode = new_cbor_encoder()
    elements: list[SignedElement] = []
    offset = 0
    for (namespace, claim, value), digest_id in zip(entries, digest_ids, strict=True):
        try:
            encoded_value = encode(encode_element_value(value))
        except ElementValueError as exc:
            raise ClaimMappingError(
                f"Claim '{claim}' in namespace '{namespace}' cannot be issued: {exc}", namespace=namespace, claim=claim
            ) from exc
        name = encode_name(claim)
        # A random 31-bit ID (_DIGEST_ID_MASK keeps it below 2**32, which ">BI" needs) is almost always above
        # 0xFFFF: its head is then 0x1A and four bytes.
        encoded_id = _UINT32(_UINT32_HEAD, digest_id) if digest_id > _UINT16_MAX else encode_unsigned(digest_id)
        size = _ITEM_FIXED_SIZE + len(encoded_id) + len(name) + len(encoded_value)
        item_bytes = b"".join(
            (
                TAG_ENCODED_CBOR_HEAD,
                encode_head(MAJOR_BYTES, size),
                _ITEM_START,
                encoded_id,
                _RANDOM,
                salts[offset : offset + SALT_SIZE],
                _ELEMENT_IDENTIFIER,
                name,
                _VALUE,
                encoded_value,
            )
        )
        offset += SALT_SIZE
        elements.append(SignedElement(namespace, claim, digest_id, item_bytes, hashlib.sha256(item_bytes).digest()))
    return elements


def generate_digest_ids(count: int, random_bytes: RandomBytes) -> list[int]:
    """Return ``count`` distinct random non-negative 31-bit integers, in random order."""
    chosen: list[int] = []
    seen: set[int] = set()
    while len(chosen) < count:
        wanted = count - len(chosen)
        drawn = random_bytes(_DIGEST_ID_SIZE * wanted)  # one draw for all; a collision costs another
        if len(drawn) != _DIGEST_ID_SIZE * wanted:
            raise ValueError(f"random_bytes must return the {_DIGEST_ID_SIZE * wanted} bytes asked for")
        for candidate in struct.unpack(f">{wanted}I", drawn):
            candidate &= _DIGEST_ID_MASK
            if candidate not in seen:
                seen.add(candidate)
                chosen.append(candidate)
    return chosen


def encode_issuer_signed(elements: Sequence[SignedElement], issuer_auth: CoseSign1) -> bytes:
    """Return the CBOR ``IssuerSigned`` map carrying the items' bytes as they are and the untagged COSE_Sign1."""
    name_spaces: dict[str, list[bytes]] = {}
    for element in elements:
        name_spaces.setdefault(element.namespace, []).append(element.item_bytes)
    parts = [_ISSUER_SIGNED_START, encode_head(MAJOR_MAP, len(name_spaces))]
    for namespace, items in name_spaces.items():
        parts += (encode_name(namespace), encode_head(MAJOR_ARRAY, len(items)), *items)
    parts += (_ISSUER_AUTH, issuer_auth.encode())
    return b"".join(parts)
