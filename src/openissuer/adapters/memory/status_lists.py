"""Status lists in memory: the repository of a unit of work, and the allocation store (one call, one lock)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import InMemoryStore, MemoryState
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.status_lists import StatusList, StatusListReservation
from openissuer.ports.status_lists import NewStatusList


class InMemoryStatusListRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def get(self, tenant_id: str, id: str) -> StatusList | None:
        """Return the tenant's list or None."""
        found = self._state.status_lists.get(id)
        return found if found is not None and found.tenant_id == tenant_id else None

    async def list(self, tenant_id: str, kind: str, *, limit: int, after: PageKey | None) -> Page[StatusList]:
        """Return one page of the tenant's lists of a kind."""
        rows = (s for s in self._state.status_lists.values() if s.tenant_id == tenant_id and s.kind == kind)
        return page_of(rows, lambda s: (s.created_at, s.id), limit=limit, after=after)

    async def indexes_with_status(self, tenant_id: str, list_id: str, status: str) -> Sequence[int]:
        """Return the indexes of the list's credentials with ``status``."""
        return [
            r.status_reference.index
            for r in self._state.issued_credentials.values()
            if r.tenant_id == tenant_id
            and r.status == status
            and r.status_reference is not None
            and r.status_reference.list_id == list_id
        ]

    async def bump_revision(self, tenant_id: str, id: str) -> None:
        """Raise the list's revision."""
        found = await self.get(tenant_id, id)
        if found is not None:
            self._state.status_lists[id] = dataclasses.replace(found, revision=found.revision + 1)


class InMemoryStatusListStore:
    """Implements ``ports.status_lists.StatusListStore`` for ``memory://``."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def reserve(
        self, tenant_id: str, kind: str, size: int, count: int, candidate: NewStatusList
    ) -> StatusListReservation:
        """Reserve positions on the newest list, or start the next one."""
        if not 1 <= count <= size:
            raise ValueError("count must be between 1 and the list size")
        async with self._store.lock:
            lists = self._store.state.status_lists
            mine = [s for s in lists.values() if s.tenant_id == tenant_id and s.kind == kind]
            newest = max(mine, key=lambda s: s.sequence, default=None)
            if newest is not None and newest.allocated + count <= newest.size:
                lists[newest.id] = dataclasses.replace(newest, allocated=newest.allocated + count)
                return StatusListReservation(newest.id, newest.size, newest.allocated, count, newest.permutation_key)
            lists[candidate.id] = StatusList(
                id=candidate.id,
                tenant_id=tenant_id,
                kind=kind,
                sequence=0 if newest is None else newest.sequence + 1,
                size=size,
                allocated=count,
                revision=0,
                permutation_key=candidate.permutation_key,
                created_at=candidate.created_at,
            )
            return StatusListReservation(candidate.id, size, 0, count, candidate.permutation_key)
