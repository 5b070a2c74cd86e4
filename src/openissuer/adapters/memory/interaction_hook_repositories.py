"""The in-memory interaction hook and visits to it; same contract as the SQL repository."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.interaction_hooks import HookSession, InteractionHook


class InMemoryInteractionHookRepository:
    def __init__(self, state: MemoryState) -> None:
        self._hooks = state.interaction_hooks
        self._sessions = state.hook_sessions

    async def get(self, tenant_id: str) -> InteractionHook | None:
        """Return the tenant's hook."""
        return self._hooks.get(tenant_id)

    async def put(self, hook: InteractionHook) -> None:
        """Store the tenant's hook (keeping its creation time when it had one)."""
        existing = self._hooks.get(hook.tenant_id)
        created_at = hook.created_at if existing is None else existing.created_at
        self._hooks[hook.tenant_id] = dataclasses.replace(hook, created_at=created_at)

    async def delete(self, tenant_id: str) -> bool:
        """Remove the tenant's hook."""
        return self._hooks.pop(tenant_id, None) is not None

    async def add_session(self, session: HookSession) -> None:
        """Store a visit."""
        self._sessions[session.state_hash] = session

    async def find_session(self, tenant_id: str, state_hash: bytes) -> HookSession | None:
        """Return the visit of a ``state``."""
        session = self._sessions.get(state_hash)
        return session if session is not None and session.tenant_id == tenant_id else None

    async def take_session(self, tenant_id: str, state_hash: bytes, now: datetime) -> bool:
        """Use the visit up if unused and unexpired."""
        session = await self.find_session(tenant_id, state_hash)
        if session is None or session.consumed_at is not None or now >= session.expires_at:
            return False
        self._sessions[state_hash] = dataclasses.replace(session, consumed_at=now)
        return True

    async def prune_sessions(self, now: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` used or expired visits."""
        done = [k for k, s in self._sessions.items() if s.consumed_at is not None or now >= s.expires_at][:limit]
        for key in done:
            del self._sessions[key]
        return len(done)
