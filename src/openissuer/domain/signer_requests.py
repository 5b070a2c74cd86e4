"""Signers of an unmanaged IACA waiting for their certificates (reference §8.3 document signers, §8.4 status list
signers): openissuer holds the key and a certificate request; the IACA's holder signs the request offline and
uploads the certificate, which makes the request a ``DocumentSigner`` (same id, ``csr_der`` kept)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from openissuer.domain.pki import DocumentSigner, SignerKind


@dataclass(frozen=True)
class SignerRequest:
    """A signer key and its PKCS#10 request; ``active`` is whether it signs once its certificate is uploaded."""

    id: str
    tenant_id: str
    iaca_id: str
    kind: SignerKind
    active: bool
    csr_der: bytes
    sealed_private_key: bytes
    created_at: datetime


SignerEntry = SignerRequest | DocumentSigner
"""One row of the signer management API: a request still waiting for its certificate, or a certified signer."""
