"""Build ``MobileSecurityObjectBytes``, the COSE_Sign1 payload that commits to an mdoc's items and binds its key.

ISO/IEC 18013-5 §9.1.2.4:

    MobileSecurityObjectBytes = #6.24(bstr .cbor MobileSecurityObject)
    MobileSecurityObject = {"version": "1.0", "digestAlgorithm": "SHA-256", "valueDigests": {NameSpace =>
        {DigestID => Digest}}, "deviceKeyInfo": {"deviceKey": COSE_Key}, "docType": tstr,
        "validityInfo": {"signed": tdate, "validFrom": tdate, "validUntil": tdate}}

The digests are the ones computed when the items were made (``SignedElement.digest``); the constant keys are
encoded once, at import.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import cbor2

from openissuer.formats.base import HolderKey, StatusListReference
from openissuer.formats.mso_mdoc.element_values import TAG_TDATE, format_tdate
from openissuer.formats.mso_mdoc.encoded_cbor import (
    MAJOR_BYTES,
    MAJOR_MAP,
    MAJOR_TAG,
    encode_embedded_cbor,
    encode_head,
    encode_name,
    encode_text,
    encode_unsigned,
)
from openissuer.formats.mso_mdoc.issuer_signed import SignedElement

MSO_VERSION = "1.0"
DIGEST_ALGORITHM = "SHA-256"
_DIGEST_SIZE = 32

_HEADER = (
    encode_text("version") + encode_text(MSO_VERSION) + encode_text("digestAlgorithm") + encode_text(DIGEST_ALGORITHM)
)
_VALUE_DIGESTS = encode_text("valueDigests")
_DIGEST_HEAD = encode_head(MAJOR_BYTES, _DIGEST_SIZE)
_DEVICE_KEY_INFO = encode_text("deviceKeyInfo") + encode_head(MAJOR_MAP, 1) + encode_text("deviceKey")
_DOC_TYPE = encode_text("docType")
_VALIDITY_INFO = encode_text("validityInfo") + encode_head(MAJOR_MAP, 3)
_TDATE = encode_head(MAJOR_TAG, TAG_TDATE)
_SIGNED, _VALID_FROM, _VALID_UNTIL = (encode_text(name) for name in ("signed", "validFrom", "validUntil"))
_STATUS = encode_text("status")


def encode_mobile_security_object(
    elements: Sequence[SignedElement],
    *,
    device_key: HolderKey,
    doc_type: str,
    signed: datetime,
    valid_from: datetime,
    valid_until: datetime,
    status: StatusListReference | None = None,
) -> bytes:
    """Return ``MobileSecurityObjectBytes`` committing to ``elements`` and binding ``device_key`` (§9.1.2.4)."""
    by_namespace: dict[str, list[SignedElement]] = {}
    for element in elements:
        by_namespace.setdefault(element.namespace, []).append(element)
    parts = [encode_head(MAJOR_MAP, 6 if status is None else 7), _HEADER, _VALUE_DIGESTS]
    parts.append(encode_head(MAJOR_MAP, len(by_namespace)))
    for namespace, members in by_namespace.items():
        parts += (encode_name(namespace), encode_head(MAJOR_MAP, len(members)))
        for element in members:
            parts += (encode_unsigned(element.digest_id), _DIGEST_HEAD, element.digest)
    parts += (_DEVICE_KEY_INFO, device_key.cose_key_bytes, _DOC_TYPE, encode_text(doc_type), _VALIDITY_INFO)
    for name, moment in ((_SIGNED, signed), (_VALID_FROM, valid_from), (_VALID_UNTIL, valid_until)):
        parts += (name, _TDATE, encode_text(format_tdate(moment)))
    if status is not None:
        # ISO 18013-5 2nd edition / reference §8.5: {"status_list": {"idx", "uri"}} (IETF Token Status List).
        parts += (_STATUS, cbor2.dumps({"status_list": {"idx": status.idx, "uri": status.uri}}))
    return encode_embedded_cbor(b"".join(parts))
