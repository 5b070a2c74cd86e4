"""In-memory claims sources; same contract as the SQL repository."""

from __future__ import annotations

from collections.abc import Sequence

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.claim_sources import ClaimSource
from openissuer.domain.pages import Page, PageKey


class InMemoryClaimSourceRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._rows = state.claim_sources

    async def add(self, source: ClaimSource) -> None:
        """Store a claims source."""
        self._rows[source.id] = source
        self._state.bump_config_version(source.tenant_id)

    async def get(self, tenant_id: str, id: str) -> ClaimSource | None:
        """Return the tenant's claims source."""
        row = self._rows.get(id)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[ClaimSource]:
        """Return one page of the tenant's claims sources."""
        rows = (s for s in self._rows.values() if s.tenant_id == tenant_id)
        return page_of(rows, lambda s: (s.created_at, s.id), limit=limit, after=after)

    async def list_all(self, tenant_id: str) -> Sequence[ClaimSource]:
        """Return every claims source of the tenant."""
        return sorted((s for s in self._rows.values() if s.tenant_id == tenant_id), key=lambda s: (s.created_at, s.id))

    async def update(self, source: ClaimSource) -> bool:
        """Replace a claims source."""
        if await self.get(source.tenant_id, source.id) is None:
            return False
        self._rows[source.id] = source
        self._state.bump_config_version(source.tenant_id)
        return True

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a claims source."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._rows[id]
        self._state.bump_config_version(tenant_id)
        return True

    async def lock(self, tenant_id: str, id: str, *, exclusive: bool) -> bool:
        """Tell whether it exists (units of work that write are serialised by the store's lock)."""
        return await self.get(tenant_id, id) is not None

    async def referencing_configurations(self, tenant_id: str, id: str) -> Sequence[str]:
        """Return the configurations that name this source."""
        configurations = sorted(self._state.credential_configurations.values(), key=lambda c: (c.created_at, c.id))
        return [c.id for c in configurations if c.tenant_id == tenant_id and c.claim_source_id == id]
