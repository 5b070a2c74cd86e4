"""The tenant's X.509 trust chain (reference platform §8): IACAs and the signing certificates they certify (mDoc
document signers; SD-JWT VC issuer certificates)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

PUBLIC_IACAS_PATH = "/v1/openid/iacas"
"""Where a tenant lists its active IACAs for wallets (the issuer metadata's ``mdoc_iacas_uri``, reference §8.2)."""


class SignerKind(enum.StrEnum):
    """Which kind of key signs a format's credentials; each kind has one service that selects (and rotates) it."""

    DOCUMENT_SIGNER = "document-signer"
    """An X.509 document signer certified by the tenant's active IACA (ISO/IEC 18013-5 Annex B)."""

    SD_JWT_ISSUER = "sd-jwt-issuer"
    """An X.509 SD-JWT VC issuer certificate certified by the tenant's active IACA, naming the credential issuer
    identifier in its subjectAlternativeName (docs/sd-jwt-vc.md)."""

    DID_WEB = "did-web"
    """A P-256 key in the tenant's ``did:web`` DID document; the Signer's ``kid`` is the DID URL ``<did>#<kid>``."""

    STATUS_LIST_SIGNER = "status-list-signer"
    """An X.509 status list signer certificate (reference §8.4) certified by the tenant's IACA: what signs status
    list tokens, under the IACA that certified the signers of the credentials on the list. Unmanaged IACAs certify
    it through a certificate request (docs/compatibility.md)."""


@dataclass(frozen=True)
class CertificateData:
    """The subject and validity of a certificate, as the API shows them."""

    common_name: str
    country: str
    not_before: datetime
    not_after: datetime
    state_or_province_name: str | None = None


@dataclass(frozen=True)
class Iaca:
    """An Issuing Authority Certificate Authority (ISO/IEC 18013-5 Annex B): the root wallets trust.

    ``sealed_private_key`` is the private key encrypted with the master key; it never leaves the key store in clear.
    An unmanaged IACA (reference §8.1: uploaded, its key kept by its holder) has none: its signers are certified
    through certificate requests, and its CRL is published by its holder.
    """

    id: str
    tenant_id: str
    active: bool
    certificate_der: bytes
    fingerprint: str
    data: CertificateData
    sealed_private_key: bytes | None
    created_at: datetime
    is_managed: bool = True


@dataclass(frozen=True)
class DocumentSigner:
    """A signing certificate under an IACA, with its sealed key. Managed: created and rotated automatically.

    ``kind`` says what it signs: MSOs (``DOCUMENT_SIGNER``), SD-JWT VCs (``SD_JWT_ISSUER``) or status lists
    (``STATUS_LIST_SIGNER``). One table holds them all, so the IACA's CRL lists every revoked certificate it
    issued and deleting the IACA deletes them all. ``csr_der`` is the certificate request it was certified
    through (an unmanaged IACA's signer, reference §8.3); ``active`` False keeps it from signing.
    """

    id: str
    tenant_id: str
    iaca_id: str
    certificate_der: bytes
    serial_number: int
    not_before: datetime
    not_after: datetime
    sealed_private_key: bytes
    created_at: datetime
    revoked_at: datetime | None = None
    kind: SignerKind = SignerKind.DOCUMENT_SIGNER
    active: bool = True
    csr_der: bytes | None = None
