"""Build the mdoc ``IssuerSigned`` structure: signed items, the MobileSecurityObject and its COSE_Sign1.

ISO/IEC 18013-5 §8.3.2.1.2.2 and §9.1.2.4:

    IssuerSigned = {"nameSpaces": {NameSpace => [+ IssuerSignedItemBytes]}, "issuerAuth": COSE_Sign1}
    IssuerSignedItemBytes = #6.24(bstr .cbor {digestID, random, elementIdentifier, elementValue})
    MobileSecurityObjectBytes = #6.24(bstr .cbor MobileSecurityObject)   ; the COSE_Sign1 payload

§9.1.2.5: the value digest is the digest "over the IssuerSignedItemBytes", i.e. over the tag-24-wrapped
encoding; the same bytes are what ``nameSpaces`` carries. ``random`` is a fresh salt per item and digest IDs
are random, unique and unordered, so neither leaks which or how many elements a holder left undisclosed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cbor2

from openissuer.crypto.cose import CoseSign1
from openissuer.errors import ClaimMappingError
from openissuer.formats.base import MappedClaims, RandomBytes, StatusListReference
from openissuer.formats.mso_mdoc.element_values import ElementValueError, encode_element_value, encode_tdate

MSO_VERSION = "1.0"
DIGEST_ALGORITHM = "SHA-256"
SALT_SIZE = 32  # §9.1.2.5: "random ... shall be at least 16 bytes"
TAG_ENCODED_CBOR = 24
_DIGEST_ID_MASK = 0x7FFF_FFFF  # 31-bit: a uint every verifier's integer type holds


@dataclass(frozen=True)
class ElementDigest:
    """The digest the MSO holds for one element; the element value itself is never recorded."""

    digest_id: int
    digest: bytes


@dataclass(frozen=True)
class SignedElement:
    """One IssuerSignedItem: where it belongs, its digest ID, the exact encoded item and its digest.

    ``digest`` is the SHA-256 over the tag-24-wrapped item, as §9.1.2.5 specifies, computed once when the element
    is made: the MSO and the issuance record both read it.
    """

    namespace: str
    identifier: str
    digest_id: int
    item_bytes: bytes
    digest: bytes

    def tagged(self) -> cbor2.CBORTag:
        """Return ``#6.24(bstr .cbor IssuerSignedItem)``."""
        return cbor2.CBORTag(TAG_ENCODED_CBOR, self.item_bytes)


def create_signed_elements(claims: MappedClaims, random_bytes: RandomBytes) -> list[SignedElement]:
    """Encode every claim as an IssuerSignedItem with a fresh salt and a random unique digest ID.

    Raises ClaimMappingError (naming namespace and claim, never the value) for a value without mdoc encoding.
    """
    names = [(namespace, claim) for namespace, values in claims.items() for claim in values]
    digest_ids = generate_digest_ids(len(names), random_bytes)
    elements = []
    for (namespace, claim), digest_id in zip(names, digest_ids, strict=True):
        try:
            value = encode_element_value(claims[namespace][claim])
        except ElementValueError as exc:
            raise ClaimMappingError(
                f"Claim '{claim}' in namespace '{namespace}' cannot be issued: {exc}", namespace=namespace, claim=claim
            ) from exc
        salt = random_bytes(SALT_SIZE)
        if len(salt) != SALT_SIZE:
            raise ValueError(f"random_bytes must return {SALT_SIZE} bytes")
        item = {"digestID": digest_id, "random": salt, "elementIdentifier": claim, "elementValue": value}
        item_bytes = cbor2.dumps(item)
        digest = hashlib.sha256(cbor2.dumps(cbor2.CBORTag(TAG_ENCODED_CBOR, item_bytes))).digest()
        elements.append(SignedElement(namespace, claim, digest_id, item_bytes, digest))
    return elements


def generate_digest_ids(count: int, random_bytes: RandomBytes) -> list[int]:
    """Return ``count`` distinct random non-negative 31-bit integers, in random order."""
    chosen: list[int] = []
    seen: set[int] = set()
    while len(chosen) < count:
        candidate = int.from_bytes(random_bytes(4), "big") & _DIGEST_ID_MASK
        if candidate not in seen:
            seen.add(candidate)
            chosen.append(candidate)
    return chosen


def create_mobile_security_object(
    elements: Sequence[SignedElement],
    *,
    device_key: Mapping[int, Any],
    doc_type: str,
    signed: datetime,
    valid_from: datetime,
    valid_until: datetime,
    status: StatusListReference | None = None,
) -> dict[str, Any]:
    """Return the MobileSecurityObject (§9.1.2.4) committing to ``elements`` and binding ``device_key``."""
    value_digests: dict[str, dict[int, bytes]] = {}
    for element in elements:
        value_digests.setdefault(element.namespace, {})[element.digest_id] = element.digest
    mso: dict[str, Any] = {
        "version": MSO_VERSION,
        "digestAlgorithm": DIGEST_ALGORITHM,
        "valueDigests": value_digests,
        "deviceKeyInfo": {"deviceKey": dict(device_key)},
        "docType": doc_type,
        "validityInfo": {
            "signed": encode_tdate(signed),
            "validFrom": encode_tdate(valid_from),
            "validUntil": encode_tdate(valid_until),
        },
    }
    if status is not None:
        # ISO 18013-5 2nd edition / reference §8.5: {"status_list": {"idx", "uri"}} (IETF Token Status List).
        mso["status"] = {"status_list": {"idx": status.idx, "uri": status.uri}}
    return mso


def collect_element_digests(elements: Sequence[SignedElement]) -> dict[str, dict[str, ElementDigest]]:
    """Return ``{namespace: {elementIdentifier: ElementDigest}}``: what the issuance record keeps per claim."""
    digests: dict[str, dict[str, ElementDigest]] = {}
    for element in elements:
        digests.setdefault(element.namespace, {})[element.identifier] = ElementDigest(element.digest_id, element.digest)
    return digests


def encode_mobile_security_object(mso: Mapping[str, Any]) -> bytes:
    """Return ``MobileSecurityObjectBytes`` = ``#6.24(bstr .cbor MobileSecurityObject)``, the COSE payload."""
    return cbor2.dumps(cbor2.CBORTag(TAG_ENCODED_CBOR, cbor2.dumps(dict(mso))))


def encode_issuer_signed(elements: Sequence[SignedElement], issuer_auth: CoseSign1) -> bytes:
    """Return the CBOR ``IssuerSigned`` map carrying the tag-24 items and the untagged COSE_Sign1."""
    name_spaces: dict[str, list[cbor2.CBORTag]] = {}
    for element in elements:
        name_spaces.setdefault(element.namespace, []).append(element.tagged())
    return cbor2.dumps({"nameSpaces": name_spaces, "issuerAuth": issuer_auth.to_array()})
