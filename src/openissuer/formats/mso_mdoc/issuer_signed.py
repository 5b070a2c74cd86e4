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
from dataclasses import dataclass

from openissuer.crypto.cose import CoseSign1
from openissuer.errors import ClaimMappingError
from openissuer.formats.base import MappedClaims, RandomBytes
from openissuer.formats.mso_mdoc.element_values import ElementValueError, encode_element_value
from openissuer.formats.mso_mdoc.encoded_cbor import (
    MAJOR_ARRAY,
    MAJOR_BYTES,
    MAJOR_MAP,
    encode_embedded_cbor,
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


@dataclass(frozen=True)
class SignedElement:
    """One IssuerSignedItem: where it belongs, its digest ID, its ``IssuerSignedItemBytes`` and their SHA-256."""

    namespace: str
    identifier: str
    digest_id: int
    item_bytes: bytes
    digest: bytes


def create_signed_elements(claims: MappedClaims, random_bytes: RandomBytes) -> list[SignedElement]:
    """Encode every claim as an IssuerSignedItem with a fresh salt and a random unique digest ID.

    Raises ClaimMappingError (naming namespace and claim, never the value) for a value without mdoc encoding.
    """
    names = [(namespace, claim) for namespace, values in claims.items() for claim in values]
    digest_ids = generate_digest_ids(len(names), random_bytes)
    salts = random_bytes(SALT_SIZE * len(names))  # one draw, cut into one salt per item
    if len(salts) != SALT_SIZE * len(names):
        raise ValueError(f"random_bytes must return the {SALT_SIZE * len(names)} bytes asked for")
    encode = new_cbor_encoder()
    elements = []
    for index, ((namespace, claim), digest_id) in enumerate(zip(names, digest_ids, strict=True)):
        try:
            value = encode(encode_element_value(claims[namespace][claim]))
        except ElementValueError as exc:
            raise ClaimMappingError(
                f"Claim '{claim}' in namespace '{namespace}' cannot be issued: {exc}", namespace=namespace, claim=claim
            ) from exc
        salt = salts[index * SALT_SIZE : (index + 1) * SALT_SIZE]
        item = b"".join(
            (
                _ITEM_START,
                encode_unsigned(digest_id),
                _RANDOM,
                salt,
                _ELEMENT_IDENTIFIER,
                encode_name(claim),
                _VALUE,
                value,
            )
        )
        item_bytes = encode_embedded_cbor(item)
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
