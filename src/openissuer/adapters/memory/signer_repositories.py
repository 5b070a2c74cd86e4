"""In-memory storage of the signer management API; same contract as ``adapters/sql/signer_repositories.py``."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.pki import DocumentSigner, SignerKind
from openissuer.domain.signer_requests import SignerEntry, SignerRequest


class InMemorySignerRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._requests = state.signer_requests
        self._signers = state.document_signers

    async def add_request(self, request: SignerRequest) -> None:
        """Store a certificate request."""
        self._requests[request.id] = request

    async def find(self, tenant_id: str, kind: SignerKind, id: str) -> SignerEntry | None:
        """Return the request or signer of this kind with this id."""
        entry: SignerEntry | None = self._requests.get(id) or self._signers.get(id)
        return entry if entry is not None and entry.tenant_id == tenant_id and entry.kind is kind else None

    async def list(self, tenant_id: str, kind: SignerKind, *, limit: int, after: PageKey | None) -> Page[SignerEntry]:
        """One page over requests and signers."""
        entries: list[SignerEntry] = [*self._requests.values(), *self._signers.values()]
        mine = (e for e in entries if e.tenant_id == tenant_id and e.kind is kind)
        return page_of(mine, lambda e: (e.created_at, e.id), limit=limit, after=after)

    async def count_requested(self, tenant_id: str, kind: SignerKind) -> int:
        """Pending requests plus unrevoked signers certified through one."""
        pending = sum(1 for r in self._requests.values() if r.tenant_id == tenant_id and r.kind is kind)
        certified = sum(
            1
            for s in self._signers.values()
            if s.tenant_id == tenant_id and s.kind is kind and s.csr_der is not None and s.revoked_at is None
        )
        return pending + certified

    async def certify(self, request: SignerRequest, signer: DocumentSigner) -> bool:
        """Replace the request by its signer."""
        if self._requests.pop(request.id, None) is None:
            return False
        self._signers[signer.id] = signer
        self._state.bump_config_version(signer.tenant_id)
        return True

    async def set_active(self, tenant_id: str, id: str, active: bool) -> bool:
        """Set the flag on the request or the signer."""
        request = self._requests.get(id)
        if request is not None and request.tenant_id == tenant_id:
            self._requests[id] = dataclasses.replace(request, active=active)
            return True
        signer = self._signers.get(id)
        if signer is None or signer.tenant_id != tenant_id:
            return False
        self._signers[id] = dataclasses.replace(signer, active=active)
        self._state.bump_config_version(tenant_id)
        return True

    async def revoke(self, tenant_id: str, id: str, now: datetime) -> DocumentSigner | None:
        """Set ``revoked_at`` (once) and clear ``active``."""
        signer = self._signers.get(id)
        if signer is None or signer.tenant_id != tenant_id:
            return None
        revoked = dataclasses.replace(signer, active=False, revoked_at=signer.revoked_at or now)
        self._signers[id] = revoked
        self._state.bump_config_version(tenant_id)
        return revoked

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the request or the signer."""
        request = self._requests.get(id)
        if request is not None and request.tenant_id == tenant_id:
            del self._requests[id]
            return True
        signer = self._signers.get(id)
        if signer is None or signer.tenant_id != tenant_id:
            return False
        del self._signers[id]
        self._state.bump_config_version(tenant_id)
        return True
