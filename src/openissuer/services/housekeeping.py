"""Retention: old audit events, old webhook deliveries, expired portal sessions and the finished state of the
Authorization Code flow are deleted in bounded batches.

Each batch is one short transaction deleting at most ``batch_size`` of the oldest rows, and the rounds pause
between batches, so pruning never holds locks for long or starves the requests sharing the database. One worker
at a time prunes: the holder of the ``housekeeping`` lease.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.services.portal_sessions import purge_expired_sessions

log = logging.getLogger("openissuer.housekeeping")

LEASE = "housekeeping"


@dataclass(frozen=True)
class Pruned:
    """How many rows one round deleted."""

    events: int = 0
    deliveries: int = 0
    portal_sessions: int = 0
    pushed_requests: int = 0
    authorization_sessions: int = 0
    authorization_codes: int = 0
    hook_sessions: int = 0


class Housekeeping:
    """Delete events older than ``event_retention`` (None keeps them), deliveries older than
    ``delivery_retention``, portal sessions expired under ``portal_session_ttls`` (idle, absolute; None: not
    purged here), and the Authorization Code flow's sign-in state once it can no longer be used: pushed requests
    used or expired, sign-in sessions expired, interaction hook visits used or expired, and authorization codes
    ``code_replay_window`` after they expired.

    A used code is what lets a replay revoke the tokens issued from it (RFC 6749 §4.1.2: "If an authorization code
    is used more than once, the authorization server MUST deny the request and SHOULD revoke (when possible) all
    tokens previously issued based on that authorization code"). Those tokens are issued before the code expires
    and live the access token lifetime, so ``code_replay_window`` is that lifetime: after it there is nothing left
    to revoke, and a replay of a deleted code is refused as an unknown one."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        *,
        event_retention: timedelta | None,
        delivery_retention: timedelta,
        holder: str,
        lease: timedelta,
        portal_session_ttls: tuple[timedelta, timedelta] | None = None,
        code_replay_window: timedelta = timedelta(hours=1),
        batch_size: int = 1000,
        max_batches: int = 50,
        pause: float = 0.05,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._event_retention = event_retention
        self._delivery_retention = delivery_retention
        self._holder = holder
        self._lease = lease
        self._session_ttls = portal_session_ttls
        self._code_replay_window = code_replay_window
        self._batch_size = batch_size
        self._max_batches = max_batches
        self._pause = pause

    async def run_once(self) -> Pruned:
        """Prune what is past retention, in batches (at most ``max_batches`` of each kind this round)."""
        now = self._clock.now()
        async with self._uow() as uow:
            held = await uow.outbox.acquire_lease(LEASE, self._holder, now, now + self._lease)
            await uow.commit()
        if not held:
            return Pruned()
        events = 0
        if self._event_retention is not None:
            old_events = now - self._event_retention
            events = await self._prune(lambda uow: uow.events.prune(old_events, limit=self._batch_size))
        old_deliveries = now - self._delivery_retention
        deliveries = await self._prune(lambda uow: uow.outbox.prune(old_deliveries, limit=self._batch_size))
        sessions = 0
        if self._session_ttls is not None:
            idle, absolute = self._session_ttls
            sessions = await self._prune(
                lambda uow: purge_expired_sessions(
                    uow, now, idle_ttl=idle, absolute_ttl=absolute, limit=self._batch_size
                )
            )
        sign_ins = await self._prune_sign_ins(now)
        if events or deliveries or sessions or any(sign_ins.values()):
            counts = {"events": events, "deliveries": deliveries, "portal_sessions": sessions, **sign_ins}
            log.info("pruned", extra=counts)
        return Pruned(events, deliveries, sessions, **sign_ins)

    async def _prune_sign_ins(self, now: datetime) -> dict[str, int]:
        """The Authorization Code flow's rows nobody can use any more (they hold ID token claims: no longer kept)."""
        limit, codes_before = self._batch_size, now - self._code_replay_window
        return {
            "pushed_requests": await self._prune(lambda uow: uow.authorization.prune_pushed_requests(now, limit=limit)),
            "authorization_sessions": await self._prune(lambda uow: uow.authorization.prune_sessions(now, limit=limit)),
            "authorization_codes": await self._prune(
                lambda uow: uow.authorization.prune_codes(codes_before, limit=limit)
            ),
            "hook_sessions": await self._prune(lambda uow: uow.interaction_hooks.prune_sessions(now, limit=limit)),
        }

    async def _prune(self, batch: Callable[[UnitOfWork], Awaitable[int]]) -> int:
        """Run ``batch`` (one bounded delete) in its own transaction until it deletes less than a full batch."""
        total = 0
        for _ in range(self._max_batches):
            async with self._uow() as uow:
                deleted = await batch(uow)
                await uow.commit()
            total += deleted
            if deleted < self._batch_size:
                break
            await asyncio.sleep(self._pause)
        return total
