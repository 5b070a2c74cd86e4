"""Portal sessions: sign in with a management API client's id and secret, resume, sign out, purge.

The session id is 32 random bytes in the cookie; only its SHA-256 is stored, so reading the database signs nobody
in. Each request re-reads the client, as bearer tokens do (``management_auth``): deleting the client ends its
sessions at once, and the session carries the client's current roles and tenant. A session ends after
``idle_ttl`` without a request and ``absolute_ttl`` after sign-in, whichever comes first (OWASP Session
Management: "both idle and absolute timeouts"). Signing in always makes a new session id and ends the session the
browser came with (session fixation).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.portal_sessions import PortalSession
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.services.management_auth import ManagementAuthService

log = logging.getLogger("openissuer.portal")

# A session is written back at most this often while in use, so reading pages is not a write per request.
TOUCH_INTERVAL = timedelta(seconds=60)
# Each sign-in deletes at most this many expired sessions (bounded work on the sign-in's request); the housekeeping
# worker purges the rest in batches.
SIGN_IN_PURGE_LIMIT = 100


def hash_session_id(session_id: str) -> bytes:
    """Return the stored form of a session id."""
    return hashlib.sha256(session_id.encode()).digest()


@dataclass(frozen=True)
class StartedSession:
    """A new session: its id (for the cookie only, never logged or stored) and who signed in."""

    session_id: str
    csrf_token: str
    principal: ManagementPrincipal


@dataclass(frozen=True)
class ActiveSession:
    """A resumed session: who is signed in and the session's CSRF token."""

    principal: ManagementPrincipal
    csrf_token: str

    def csrf_matches(self, token: str | None) -> bool:
        """Compare a submitted CSRF token with the session's in constant time."""
        return token is not None and hmac.compare_digest(token.encode(), self.csrf_token.encode())


class PortalSessionService:
    """Start, resume and end portal sessions."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        auth: ManagementAuthService,
        *,
        idle_ttl: timedelta,
        absolute_ttl: timedelta,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._auth = auth
        self._idle = idle_ttl
        self._absolute = absolute_ttl

    async def sign_in(self, client_id: str, client_secret: str, *, replacing: str | None = None) -> StartedSession:
        """Authenticate with the client's credentials and start a session; end ``replacing`` (the browser's
        previous session, if any) and purge expired sessions in the same transaction.

        Raises InvalidClientCredentialsError, the same for an unknown client as for a wrong secret.
        """
        client = await self._auth.verify_client(client_id, client_secret)
        now = self._clock.now()
        session_id = secrets.token_urlsafe(32)
        session = PortalSession(
            id_hash=hash_session_id(session_id),
            tenant_id=client.tenant_id,
            api_client_id=client.id,
            client_id=client.client_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
        async with self._uow() as uow:
            if replacing:
                await uow.portal_sessions.delete(hash_session_id(replacing))
            await purge_expired_sessions(
                uow, now, idle_ttl=self._idle, absolute_ttl=self._absolute, limit=SIGN_IN_PURGE_LIMIT
            )
            await uow.portal_sessions.add(session)
            await uow.commit()
        log.info("portal sign-in", extra={"client_id": client.client_id, "tenant_id": client.tenant_id})
        principal = ManagementPrincipal(
            tenant_id=client.tenant_id, client_id=client.client_id, roles=frozenset(client.roles)
        )
        return StartedSession(session_id=session_id, csrf_token=session.csrf_token, principal=principal)

    async def resume(self, session_id: str | None) -> ActiveSession | None:
        """Return the live session with this id, or None (unknown, expired, or its client deleted or replaced)."""
        if not session_id or len(session_id) > 128:
            return None
        id_hash = hash_session_id(session_id)
        now = self._clock.now()
        async with self._uow(read_only=True) as uow:
            session = await uow.portal_sessions.get(id_hash)
            client = None if session is None else await uow.api_clients.get(session.tenant_id, session.api_client_id)
        if session is None or client is None or client.client_id != session.client_id:
            return None
        if now - session.last_seen_at >= self._idle or now - session.created_at >= self._absolute:
            async with self._uow() as uow:
                await uow.portal_sessions.delete(id_hash)
                await uow.commit()
            return None
        if now - session.last_seen_at >= TOUCH_INTERVAL:
            async with self._uow() as uow:
                await uow.portal_sessions.touch(id_hash, now)
                await uow.commit()
        principal = ManagementPrincipal(
            tenant_id=client.tenant_id, client_id=client.client_id, roles=frozenset(client.roles)
        )
        return ActiveSession(principal=principal, csrf_token=session.csrf_token)

    async def sign_out(self, session_id: str | None) -> None:
        """End the session (nothing happens for an unknown id)."""
        if not session_id:
            return
        async with self._uow() as uow:
            await uow.portal_sessions.delete(hash_session_id(session_id))
            await uow.commit()

    async def purge(self, *, limit: int = 1000) -> int:
        """Delete at most ``limit`` expired sessions in one transaction; return how many (the housekeeping worker
        purges the rest in bounded batches)."""
        async with self._uow() as uow:
            count = await purge_expired_sessions(
                uow, self._clock.now(), idle_ttl=self._idle, absolute_ttl=self._absolute, limit=limit
            )
            await uow.commit()
        return count


async def purge_expired_sessions(
    uow: UnitOfWork, now: datetime, *, idle_ttl: timedelta, absolute_ttl: timedelta, limit: int
) -> int:
    """Delete at most ``limit`` sessions unused for more than ``idle_ttl`` or started more than ``absolute_ttl``
    ago, in ``uow`` (the caller commits); return how many. The one definition of an expired session's purge."""
    return await uow.portal_sessions.purge(idle_before=now - idle_ttl, created_before=now - absolute_ttl, limit=limit)
