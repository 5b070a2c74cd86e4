"""In-memory storage of portal sessions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.portal_sessions import PortalSession


class InMemoryPortalSessionRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.portal_sessions
        self._clients = state.api_clients

    async def add(self, session: PortalSession) -> None:
        """Store the session."""
        self._rows[session.id_hash] = session

    async def get(self, id_hash: bytes) -> PortalSession | None:
        """Return the session, or None (also when its client was deleted: SQL cascades the delete)."""
        session = self._rows.get(id_hash)
        if session is None or session.api_client_id not in self._clients:
            return None
        return session

    async def touch(self, id_hash: bytes, at: datetime) -> None:
        """Set the session's last use."""
        session = self._rows.get(id_hash)
        if session is not None:
            self._rows[id_hash] = replace(session, last_seen_at=at)

    async def delete(self, id_hash: bytes) -> bool:
        """Delete the session."""
        return self._rows.pop(id_hash, None) is not None

    async def purge(self, *, idle_before: datetime, created_before: datetime, limit: int) -> int:
        """Delete at most ``limit`` idle or too old sessions."""
        stale = [
            key
            for key, session in self._rows.items()
            if session.last_seen_at < idle_before or session.created_at < created_before
        ][:limit]
        for key in stale:
            del self._rows[key]
        return len(stale)
