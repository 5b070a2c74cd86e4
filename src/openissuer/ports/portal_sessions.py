"""Storage of portal sessions (``domain/portal_sessions.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from openissuer.domain.portal_sessions import PortalSession


class PortalSessionRepository(Protocol):
    async def add(self, session: PortalSession) -> None:
        """Store a new session."""

    async def get(self, id_hash: bytes) -> PortalSession | None:
        """Return the session with this id hash, or None."""

    async def touch(self, id_hash: bytes, at: datetime) -> None:
        """Record that the session was used at ``at``."""

    async def delete(self, id_hash: bytes) -> bool:
        """Delete the session; tell whether there was one."""

    async def purge(self, *, idle_before: datetime, created_before: datetime, limit: int) -> int:
        """Delete at most ``limit`` of the sessions last used before ``idle_before`` or created before
        ``created_before`` (one bounded statement); return how many."""
