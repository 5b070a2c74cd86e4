"""SQL storage of portal sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.rows import as_utc, to_db_time
from openissuer.adapters.sql.tables import portal_sessions
from openissuer.domain.portal_sessions import PortalSession


class SqlPortalSessionRepository:
    """``portal_sessions`` rows, keyed by the hash of the session id."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, session: PortalSession) -> None:
        """Insert the session."""
        await self._conn.execute(
            insert(portal_sessions).values(
                id_hash=session.id_hash,
                tenant_id=session.tenant_id,
                api_client_id=session.api_client_id,
                client_id=session.client_id,
                csrf_token=session.csrf_token,
                created_at=to_db_time(session.created_at),
                last_seen_at=to_db_time(session.last_seen_at),
            )
        )

    async def get(self, id_hash: bytes) -> PortalSession | None:
        """Return the session, or None."""
        t = portal_sessions
        row = (await self._conn.execute(select(t).where(t.c.id_hash == id_hash))).first()
        if row is None:
            return None
        return PortalSession(
            id_hash=bytes(row.id_hash),
            tenant_id=row.tenant_id,
            api_client_id=row.api_client_id,
            client_id=row.client_id,
            csrf_token=row.csrf_token,
            created_at=as_utc(row.created_at),
            last_seen_at=as_utc(row.last_seen_at),
        )

    async def touch(self, id_hash: bytes, at: datetime) -> None:
        """Set the session's last use."""
        t = portal_sessions
        await self._conn.execute(update(t).where(t.c.id_hash == id_hash).values(last_seen_at=to_db_time(at)))

    async def delete(self, id_hash: bytes) -> bool:
        """Delete the session."""
        t = portal_sessions
        result = await self._conn.execute(delete(t).where(t.c.id_hash == id_hash))
        return bool(result.rowcount)

    async def purge(self, *, idle_before: datetime, created_before: datetime, limit: int) -> int:
        """Delete at most ``limit`` idle or too old sessions (one bounded statement)."""
        t = portal_sessions
        condition = or_(t.c.last_seen_at < to_db_time(idle_before), t.c.created_at < to_db_time(created_before))
        expired = select(t.c.id_hash).where(condition).limit(limit)
        result = await self._conn.execute(delete(t).where(t.c.id_hash.in_(expired)))
        return int(result.rowcount or 0)
