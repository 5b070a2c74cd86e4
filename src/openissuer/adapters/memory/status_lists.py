"""Status lists in memory: the repository of a unit of work, and the allocation store (one call, one lock)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import InMemoryStore, MemoryState
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.status_list_configurations import StatusListConfiguration
from openissuer.domain.status_lists import (
    UNSCOPED,
    VALID,
    StatusList,
    StatusListHead,
    StatusListReservation,
    StatusListScope,
)
from openissuer.errors import ConflictError, ErrorDetail
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
        """Return the indexes of the list's entries with ``status``."""
        return [index for index, found in (await self.entries(tenant_id, list_id)).items() if found == status]

    async def entries(self, tenant_id: str, list_id: str) -> Mapping[int, str]:
        """Return the list's entries that are not valid."""
        return {
            index: status
            for (entry_list, index), (owner, status) in self._state.status_list_entries.items()
            if entry_list == list_id and owner == tenant_id
        }

    async def entry_status(self, tenant_id: str, list_id: str, index: int) -> str:
        """Return one entry's status."""
        found = self._state.status_list_entries.get((list_id, index))
        return VALID if found is None or found[0] != tenant_id else found[1]

    async def set_entry(self, tenant_id: str, list_id: str, index: int, status: str) -> None:
        """Set one entry's status."""
        if status == VALID:
            self._state.status_list_entries.pop((list_id, index), None)
        else:
            self._state.status_list_entries[(list_id, index)] = (tenant_id, status)

    async def bump_revision(self, tenant_id: str, id: str) -> None:
        """Raise the list's revision."""
        found = await self.get(tenant_id, id)
        if found is not None:
            self._state.status_lists[id] = dataclasses.replace(found, revision=found.revision + 1)


class InMemoryStatusListConfigurationRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.status_list_configurations

    async def add(self, configuration: StatusListConfiguration) -> None:
        """Store a configuration; ConflictError when its credential type has one."""
        c = configuration
        if await self.find(c.tenant_id, c.profile, c.credential_type) is not None:
            detail = ErrorDetail("body", "type", "already has a status list configuration", c.credential_type)
            raise ConflictError("A status list configuration for this credential type already exists", details=[detail])
        self._rows[c.id] = c

    async def get(self, tenant_id: str, id: str) -> StatusListConfiguration | None:
        """Return the tenant's configuration or None."""
        row = self._rows.get(id)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def find(self, tenant_id: str, profile: str, credential_type: str) -> StatusListConfiguration | None:
        """Return the configuration of a credential type or None."""
        return next(
            (
                r
                for r in self._rows.values()
                if (r.tenant_id, r.profile, r.credential_type) == (tenant_id, profile, credential_type)
            ),
            None,
        )

    async def list(
        self, tenant_id: str, profile: str, *, limit: int, after: PageKey | None
    ) -> Page[StatusListConfiguration]:
        """Return one page of a profile's configurations."""
        rows = (r for r in self._rows.values() if r.tenant_id == tenant_id and r.profile == profile)
        return page_of(rows, lambda r: (r.created_at, r.id), limit=limit, after=after)

    async def update(self, configuration: StatusListConfiguration) -> bool:
        """Replace the durations."""
        found = await self.get(configuration.tenant_id, configuration.id)
        if found is None:
            return False
        self._rows[found.id] = dataclasses.replace(
            found,
            time_to_live=configuration.time_to_live,
            expiry=configuration.expiry,
            updated_at=configuration.updated_at,
        )
        return True

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a configuration."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._rows[id]
        return True


class InMemoryStatusListStore:
    """Implements ``ports.status_lists.StatusListStore`` for ``memory://``."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def reserve(
        self,
        tenant_id: str,
        kind: str,
        size: int,
        count: int,
        candidate: NewStatusList,
        *,
        scope: StatusListScope = UNSCOPED,
        up_to: int | None = None,
    ) -> StatusListReservation:
        """Reserve positions on the newest list, or start the next one."""
        if not 1 <= count <= size:
            raise ValueError("count must be between 1 and the list size")
        block = min(size, max(count, up_to or count))
        async with self._store.lock:
            lists = self._store.state.status_lists
            mine = [s for s in lists.values() if (s.tenant_id, s.kind, s.scope) == (tenant_id, kind, scope)]
            newest = max(mine, key=lambda s: s.sequence, default=None)
            if newest is not None and newest.allocated + count <= newest.size:
                taken = min(newest.size, newest.allocated + block) - newest.allocated
                lists[newest.id] = dataclasses.replace(newest, allocated=newest.allocated + taken)
                return StatusListReservation(newest.id, newest.size, newest.allocated, taken, newest.permutation_key)
            lists[candidate.id] = StatusList(
                id=candidate.id,
                tenant_id=tenant_id,
                kind=kind,
                sequence=0 if newest is None else newest.sequence + 1,
                size=size,
                allocated=block,
                revision=0,
                permutation_key=candidate.permutation_key,
                created_at=candidate.created_at,
                credential_type=scope.credential_type,
                authority_id=scope.authority_id,
            )
            return StatusListReservation(candidate.id, size, 0, block, candidate.permutation_key)

    async def head(self, tenant_id: str, list_id: str) -> StatusListHead | None:
        """Return the list's kind, scope and revision."""
        found = self._store.state.status_lists.get(list_id)
        if found is None or found.tenant_id != tenant_id:
            return None
        tenant = self._store.state.tenants.get(tenant_id)
        return StatusListHead(
            found.id,
            found.kind,
            found.size,
            found.revision,
            found.credential_type,
            found.authority_id,
            0 if tenant is None else tenant.config_version,
        )
