"""SQL repository of status lists for management and publication (allocation is ``*_status_lists.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.rows import as_utc, page_query, split_page
from openissuer.adapters.sql.tables import issued_credentials, status_lists
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.status_lists import StatusList


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
    )


class SqlStatusListRepository:
    """Status lists in SQL."""

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
        """Return the indexes of the list's credentials with ``status``."""
        t = issued_credentials
        query = select(t.c.status_index).where(
            t.c.status_list_id == list_id, t.c.tenant_id == tenant_id, t.c.status == status
        )
        return [int(index) for index in (await self._conn.execute(query)).scalars()]

    async def bump_revision(self, tenant_id: str, id: str) -> None:
        """Raise the list's revision."""
        t = status_lists
        await self._conn.execute(
            update(t).where(t.c.tenant_id == tenant_id, t.c.id == id).values(revision=t.c.revision + 1)
        )
