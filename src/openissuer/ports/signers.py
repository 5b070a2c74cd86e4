"""Storage of the signer management API (reference §8.3, §8.4): certificate requests and certified signers of one
kind, listed together; every change that can alter what signs raises the tenant's configuration version."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from openissuer.domain.pages import Page, PageKey
from openissuer.domain.pki import DocumentSigner, SignerKind
from openissuer.domain.signer_requests import SignerEntry, SignerRequest


class SignerRepository(Protocol):
    async def add_request(self, request: SignerRequest) -> None:
        """Store a certificate request."""

    async def find(self, tenant_id: str, kind: SignerKind, id: str) -> SignerEntry | None:
        """Return the tenant's request or signer of this kind with this id, or None."""

    async def list(self, tenant_id: str, kind: SignerKind, *, limit: int, after: PageKey | None) -> Page[SignerEntry]:
        """Return one page of the tenant's requests and signers of this kind, in ``(created_at, id)`` order."""

    async def count_requested(self, tenant_id: str, kind: SignerKind) -> int:
        """Return how many signers of this kind exist through requests (pending or certified, not revoked)."""

    async def certify(self, request: SignerRequest, signer: DocumentSigner) -> bool:
        """Replace the request by its certified signer (same id); False when the request is gone."""

    async def set_active(self, tenant_id: str, id: str, active: bool) -> bool:
        """Set whether the request's future signer, or the signer, may sign; False when neither exists."""

    async def revoke(self, tenant_id: str, id: str, now: datetime) -> DocumentSigner | None:
        """Mark the signer revoked at ``now`` (kept if already revoked) and inactive; return it, None if absent."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the request or signer; tell whether it existed."""
