"""SQL repositories of status lists (management and publication; allocation is ``*_status_lists.py``): the lists,
the statuses of their entries, and the status list configurations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.rows import as_utc, insert_unless_taken, page_query, split_page, to_db_time, upsert
from openissuer.adapters.sql.tables import status_list_configurations, status_list_entries, status_lists
from openissuer.domain.durations import Duration
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.status_list_configurations import StatusListConfiguration
from openissuer.domain.status_lists import VALID, StatusList
from openissuer.errors import ConflictError, ErrorDetail


def status_list_from_row(row: Any) -> StatusList:
    """The domain object of a ``status_lists`` row."""
    return StatusList(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=row.kind,
        sequence=int(row.sequence),
        size=int(row.size),
        allocated=int(row.allocated),
        revision=int(row.revision),
        permutation_key=bytes(row.permutation_key),
        created_at=as_utc(row.created_at),
        credential_type=row.credential_type,
        authority_id=row.authority_id,
    )


class SqlStatusListRepository:
    """Status lists and their entries in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def get(self, tenant_id: str, id: str) -> StatusList | None:
        """Return the tenant's list or None."""
        t = status_lists
        row = (await self._conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.id == id))).first()
        return None if row is None else status_list_from_row(row)

    async def list(self, tenant_id: str, kind: str, *, limit: int, after: PageKey | None) -> Page[StatusList]:
        """Return one page of the tenant's lists of a kind."""
        t = status_lists
        query = select(t).where(t.c.tenant_id == tenant_id, t.c.kind == kind)
        rows, next_key = split_page(
            (await self._conn.execute(page_query(query, t, limit=limit, after=after))).all(), limit
        )
        return Page(items=[status_list_from_row(row) for row in rows], next_key=next_key)

    async def indexes_with_status(self, tenant_id: str, list_id: str, status: str) -> Sequence[int]:
        """Return the indexes of the list's entries with ``status``."""
        t = status_list_entries
        query = select(t.c.idx).where(t.c.list_id == list_id, t.c.tenant_id == tenant_id, t.c.status == status)
        return [int(index) for index in (await self._conn.execute(query)).scalars()]

    async def entries(self, tenant_id: str, list_id: str) -> Mapping[int, str]:
        """Return the list's entries that are not valid."""
        t = status_list_entries
        query = select(t.c.idx, t.c.status).where(t.c.list_id == list_id, t.c.tenant_id == tenant_id)
        return {int(row.idx): row.status for row in await self._conn.execute(query)}

    async def entry_status(self, tenant_id: str, list_id: str, index: int) -> str:
        """Return one entry's status."""
        t = status_list_entries
        query = select(t.c.status).where(t.c.list_id == list_id, t.c.idx == index, t.c.tenant_id == tenant_id)
        found = (await self._conn.execute(query)).scalar()
        return VALID if found is None else str(found)

    async def set_entry(self, tenant_id: str, list_id: str, index: int, status: str) -> None:
        """Set one entry's status: an upsert (a valid entry is no row)."""
        t = status_list_entries
        if status == VALID:
            await self._conn.execute(delete(t).where(t.c.list_id == list_id, t.c.idx == index))
            return
        values = {"list_id": list_id, "idx": index, "tenant_id": tenant_id, "status": status}
        await upsert(self._conn, t, values, {"status": status})

    async def bump_revision(self, tenant_id: str, id: str) -> None:
        """Raise the list's revision."""
        t = status_lists
        await self._conn.execute(
            update(t).where(t.c.tenant_id == tenant_id, t.c.id == id).values(revision=t.c.revision + 1)
        )


def _configuration_from_row(row: Any) -> StatusListConfiguration:
    return StatusListConfiguration(
        id=row.id,
        tenant_id=row.tenant_id,
        profile=row.profile,
        credential_type=row.credential_type,
        time_to_live=Duration(**row.time_to_live),
        expiry=Duration(**row.expiry),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def type_taken(credential_type: str) -> ConflictError:
    """The conflict of a second configuration for one credential type (the service names the wire field)."""
    detail = ErrorDetail("body", "type", "already has a status list configuration", credential_type)
    return ConflictError("A status list configuration for this credential type already exists", details=[detail])


class SqlStatusListConfigurationRepository:
    """Status list configurations in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, configuration: StatusListConfiguration) -> None:
        """Insert a configuration; ConflictError when its credential type has one."""
        c = configuration
        values = {
            "id": c.id,
            "tenant_id": c.tenant_id,
            "profile": c.profile,
            "credential_type": c.credential_type,
            "time_to_live": c.time_to_live.to_dict(),
            "expiry": c.expiry.to_dict(),
            "created_at": to_db_time(c.created_at),
            "updated_at": to_db_time(c.updated_at),
        }
        if not await insert_unless_taken(self._conn, status_list_configurations, values):
            raise type_taken(c.credential_type)

    async def get(self, tenant_id: str, id: str) -> StatusListConfiguration | None:
        """Return the tenant's configuration or None."""
        t = status_list_configurations
        row = (await self._conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.id == id))).first()
        return None if row is None else _configuration_from_row(row)

    async def find(self, tenant_id: str, profile: str, credential_type: str) -> StatusListConfiguration | None:
        """Return the configuration of a credential type or None."""
        t = status_list_configurations
        query = select(t).where(
            t.c.tenant_id == tenant_id, t.c.profile == profile, t.c.credential_type == credential_type
        )
        row = (await self._conn.execute(query)).first()
        return None if row is None else _configuration_from_row(row)

    async def list(
        self, tenant_id: str, profile: str, *, limit: int, after: PageKey | None
    ) -> Page[StatusListConfiguration]:
        """Return one page of a profile's configurations."""
        t = status_list_configurations
        query = select(t).where(t.c.tenant_id == tenant_id, t.c.profile == profile)
        rows, next_key = split_page(
            (await self._conn.execute(page_query(query, t, limit=limit, after=after))).all(), limit
        )
        return Page(items=[_configuration_from_row(row) for row in rows], next_key=next_key)

    async def update(self, configuration: StatusListConfiguration) -> bool:
        """Replace the durations."""
        t, c = status_list_configurations, configuration
        statement = (
            update(t)
            .where(t.c.tenant_id == c.tenant_id, t.c.id == c.id)
            .values(
                time_to_live=c.time_to_live.to_dict(),
                expiry=c.expiry.to_dict(),
                updated_at=to_db_time(c.updated_at),
            )
        )
        return bool((await self._conn.execute(statement)).rowcount)

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a configuration."""
        t = status_list_configurations
        result = await self._conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.id == id))
        return bool(result.rowcount)
