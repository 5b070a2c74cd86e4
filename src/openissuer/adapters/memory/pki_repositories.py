"""In-memory repositories of the mDoc trust chain; same contract as ``adapters/sql/pki_repositories.py``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.pki import DocumentSigner, Iaca


class InMemoryIacaRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._rows = state.iacas
        self._signers = state.document_signers

    async def add(self, iaca: Iaca) -> None:
        """Store an IACA."""
        self._rows[iaca.id] = iaca
        self._state.bump_config_version(iaca.tenant_id)

    async def get(self, tenant_id: str, id: str) -> Iaca | None:
        """Return the tenant's IACA or None."""
        row = self._rows.get(id)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[Iaca]:
        """Return one page of the tenant's IACAs."""
        rows = (i for i in self._rows.values() if i.tenant_id == tenant_id)
        return page_of(rows, lambda i: (i.created_at, i.id), limit=limit, after=after)

    async def list_active(self, tenant_id: str) -> Sequence[Iaca]:
        """Return the tenant's active IACAs, newest first."""
        rows = [i for i in self._rows.values() if i.tenant_id == tenant_id and i.active]
        return sorted(rows, key=lambda i: (i.created_at, i.id), reverse=True)

    async def count(self, tenant_id: str) -> int:
        """Return how many IACAs the tenant has."""
        return sum(1 for i in self._rows.values() if i.tenant_id == tenant_id)

    async def set_active(self, tenant_id: str, id: str, active: bool) -> Iaca | None:
        """Set the ``active`` flag; return the updated IACA or None."""
        existing = await self.get(tenant_id, id)
        if existing is None:
            return None
        self._rows[id] = dataclasses.replace(existing, active=active)
        self._state.bump_config_version(tenant_id)
        return self._rows[id]

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the IACA and its signers; tell whether it existed."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._rows[id]
        for signer_id in [s.id for s in self._signers.values() if s.iaca_id == id]:
            del self._signers[signer_id]
        for request_id in [r.id for r in self._state.signer_requests.values() if r.iaca_id == id]:
            del self._state.signer_requests[request_id]
        self._state.bump_config_version(tenant_id)
        return True


class InMemoryDocumentSignerRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._rows = state.document_signers

    async def add(self, signer: DocumentSigner) -> None:
        """Store a signer."""
        self._rows[signer.id] = signer
        self._state.bump_config_version(signer.tenant_id)

    async def list_for_iaca(self, tenant_id: str, iaca_id: str) -> Sequence[DocumentSigner]:
        """Return the IACA's signers, newest first."""
        rows = [s for s in self._rows.values() if s.tenant_id == tenant_id and s.iaca_id == iaca_id]
        return sorted(rows, key=lambda s: (s.created_at, s.id), reverse=True)
