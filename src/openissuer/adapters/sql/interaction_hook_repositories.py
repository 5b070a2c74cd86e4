"""The interaction hook and holders' visits to it, in SQL; a visit is taken once by a conditional UPDATE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.authorization_repositories import (
    authorization_request_body,
    authorization_request_from_body,
)
from openissuer.adapters.sql.rows import as_utc, insert_unless_taken, to_db_time
from openissuer.adapters.sql.tables import interaction_hook_sessions, interaction_hooks
from openissuer.domain.interaction_hooks import HookSession, InteractionHook


def _hook_body(hook: InteractionHook) -> dict[str, Any]:
    return {
        "url": hook.url,
        "claims": list(hook.claims),
        "sessionTimeoutInSec": hook.session_timeout,
        "disabled": hook.disabled,
    }


class SqlInteractionHookRepository:
    """The tenant's hook (keyed by tenant) and the visits to it."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def get(self, tenant_id: str) -> InteractionHook | None:
        """Return the tenant's hook."""
        t = interaction_hooks
        row = (await self._conn.execute(select(t).where(t.c.tenant_id == tenant_id))).first()
        if row is None:
            return None
        body = row.body
        return InteractionHook(
            tenant_id=row.tenant_id,
            url=body["url"],
            claims=tuple(body["claims"]),
            session_timeout=int(body["sessionTimeoutInSec"]),
            disabled=bool(body["disabled"]),
            sealed_secret=bytes(row.sealed_secret),
            created_at=as_utc(row.created_at),
            updated_at=as_utc(row.updated_at),
        )

    async def put(self, hook: InteractionHook) -> None:
        """Insert the tenant's hook, or replace it (an update first, so no unique-key error is ever caught)."""
        t = interaction_hooks
        values = {
            "body": _hook_body(hook),
            "sealed_secret": hook.sealed_secret,
            "updated_at": to_db_time(hook.updated_at),
        }
        if (await self._conn.execute(update(t).where(t.c.tenant_id == hook.tenant_id).values(values))).rowcount:
            return
        inserted = await insert_unless_taken(
            self._conn, t, {**values, "tenant_id": hook.tenant_id, "created_at": to_db_time(hook.created_at)}
        )
        if not inserted:  # another writer inserted it meanwhile: this one's values win, as a later PUT would
            await self._conn.execute(update(t).where(t.c.tenant_id == hook.tenant_id).values(values))

    async def delete(self, tenant_id: str) -> bool:
        """Remove the tenant's hook."""
        t = interaction_hooks
        return bool((await self._conn.execute(delete(t).where(t.c.tenant_id == tenant_id))).rowcount)

    async def add_session(self, session: HookSession) -> None:
        """Insert a visit."""
        body = {
            "request": authorization_request_body(session.request),
            "providerId": session.provider_id,
            "providerUrl": session.provider_url,
            "subjectId": session.subject_id,
            "claims": session.claims,
        }
        await self._conn.execute(
            insert(interaction_hook_sessions).values(
                state_hash=session.state_hash,
                tenant_id=session.tenant_id,
                session_id=session.session_id,
                body=body,
                expires_at=to_db_time(session.expires_at),
                created_at=to_db_time(session.created_at),
            )
        )

    async def find_session(self, tenant_id: str, state_hash: bytes) -> HookSession | None:
        """Return the visit of a ``state``."""
        t = interaction_hook_sessions
        query = select(t).where(t.c.tenant_id == tenant_id, t.c.state_hash == state_hash)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        body = row.body
        return HookSession(
            state_hash=bytes(row.state_hash),
            tenant_id=row.tenant_id,
            session_id=row.session_id,
            request=authorization_request_from_body(body["request"]),
            provider_id=body["providerId"],
            provider_url=body["providerUrl"],
            subject_id=body["subjectId"],
            claims=body["claims"],
            expires_at=as_utc(row.expires_at),
            created_at=as_utc(row.created_at),
            consumed_at=None if row.consumed_at is None else as_utc(row.consumed_at),
        )

    async def take_session(self, tenant_id: str, state_hash: bytes, now: datetime) -> bool:
        """Use the visit up if unused and unexpired: one conditional UPDATE … RETURNING."""
        t = interaction_hook_sessions
        query = (
            update(t)
            .where(
                t.c.tenant_id == tenant_id,
                t.c.state_hash == state_hash,
                t.c.consumed_at.is_(None),
                t.c.expires_at > to_db_time(now),
            )
            .values(consumed_at=to_db_time(now))
            .returning(t.c.state_hash)
        )
        return (await self._conn.execute(query)).first() is not None

    async def prune_sessions(self, now: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` used or expired visits."""
        t = interaction_hook_sessions
        condition = or_(t.c.consumed_at.is_not(None), t.c.expires_at <= to_db_time(now))
        done = select(t.c.state_hash).where(condition).limit(limit)
        return int((await self._conn.execute(delete(t).where(t.c.state_hash.in_(done)))).rowcount or 0)
