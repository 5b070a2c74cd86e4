"""Rate limits on the token, PAR and credential endpoints: per source address, per client and per offer (a
pre-authorized or authorization code at the token endpoint, an access token at the credential endpoint), shared by
every worker through the database, answered with 429 and ``Retry-After``.

Counting costs no round trip per request: each process counts locally, in fixed windows, and flushes its counts
to the database at most every ``flush_interval`` (one statement adds every key's increment and returns every key's
total across processes, ``WalletStore.count_requests``). A request is refused when the last known total plus the
process's own unflushed count reaches the limit. So a key is held to its limit within what the other processes
accepted since their last flush: with ``P`` processes each flushing every 0.25 s, at most ``P`` x 0.25 s of
traffic over the limit. The flush is awaited by the request that finds it due, so the counters are exact to the
flush interval without a background task; expired windows are deleted in the same statement.

Keys seen once are held back: on the wallet path almost every per-offer key (a code redeemed once, an access token
used once) is counted exactly once, and writing it would cost an upsert per issuance that nobody reads back. So a
key this process has counted only once in the window and whose shared total it has never learnt is kept in a local
map instead of being flushed; its second request moves it back to the pending counts (with the held one), and from
then on it is flushed and shared as above. The process's own decision still counts its held requests, so one
process alone is held to the limit exactly. The price is bounded: each process hides at most one request per key
from the others, so with ``P`` processes a key can pass its limit by at most ``P - 1`` requests per window, on top
of the flush-interval slack above. A held key's window is over once the next begins (a later request counts in
the new window), so held keys of past windows are dropped at the first flush of a new window; were more than
``MAX_KEYS`` keys held within one window, the oldest are flushed, at most ``MAX_KEYS`` plus one batch of
``HELD_FLUSH_BATCH`` at a time (bounded memory, no count lost, no flush of unbounded size).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from openissuer.errors import TooManyRequestsError
from openissuer.ports.clock import Clock
from openissuer.ports.wallet_store import WalletStore
from openissuer.services.wallet_secrets import digest_secret

ADDRESS = "address"
CLIENT = "client"
OFFER = "offer"
MAX_KEYS = 100_000
HELD_FLUSH_BATCH = 1_000


@dataclass(frozen=True)
class RateLimits:
    """Requests allowed per window, per kind of key (0: no limit of that kind)."""

    window: int = 60
    per_address: int = 0
    per_client: int = 0
    per_offer: int = 60

    def limit(self, kind: str) -> int:
        return {ADDRESS: self.per_address, CLIENT: self.per_client, OFFER: self.per_offer}[kind]


class RateLimiter:
    """Count requests per key and refuse those over the limit."""

    def __init__(
        self,
        store: WalletStore,
        clock: Clock,
        limits: RateLimits,
        *,
        flush_interval: float = 0.25,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._clock = clock
        self._limits = limits
        self._flush_interval = flush_interval
        self._monotonic = monotonic
        self._pending: dict[tuple[bytes, int], int] = {}
        self._totals: dict[tuple[bytes, int], int] = {}
        self._held: dict[tuple[bytes, int], int] = {}  # counted once here, total never learnt: not flushed
        self._flushed_at = monotonic()
        self._flushing = asyncio.Lock()
        self._pruned_window = 0

    @property
    def enabled(self) -> bool:
        """Whether any limit is set."""
        return bool(self._limits.per_address or self._limits.per_client or self._limits.per_offer)

    async def check(self, tenant_id: str, keys: Iterable[tuple[str, str | None]]) -> None:
        """Count one request for each ``(kind, value)`` key (None values skipped); 429 when one is over its limit."""
        window_size = self._limits.window
        now = self._clock.now().timestamp()
        window = int(now // window_size)
        counted: list[tuple[tuple[bytes, int], int]] = []
        for kind, value in keys:
            limit = self._limits.limit(kind)
            if not limit or not value:
                continue
            key = (digest_secret(f"{kind}\x00{tenant_id}\x00{value}"), window)
            self._pending[key] = self._pending.get(key, 0) + self._held.pop(key, 0) + 1
            counted.append((key, limit))
        if self._monotonic() - self._flushed_at >= self._flush_interval:
            await self.flush()
        if any(self._count(key) > limit for key, limit in counted):
            retry = max(1, int((window + 1) * window_size - now))
            raise TooManyRequestsError("Too many requests; try again later", headers={"Retry-After": str(retry)})

    def _count(self, key: tuple[bytes, int]) -> int:
        """The key's count as this process knows it: the last learnt total, the unflushed and the held counts."""
        return self._totals.get(key, 0) + self._pending.get(key, 0) + self._held.get(key, 0)

    async def flush(self) -> None:
        """Add this process's counts to the shared counters and learn every key's total (one statement); keys
        counted once here and never learnt are held back instead."""
        async with self._flushing:
            self._flushed_at = self._monotonic()
            pending, self._pending = self._pending, {}
            increments: list[tuple[bytes, int, int]] = []
            for (key, window), count in pending.items():  # only what is new since the last flush
                if count == 1 and (key, window) not in self._totals:
                    self._held[(key, window)] = 1
                else:
                    increments.append((key, window, count))
            if len(self._held) > MAX_KEYS:  # bounded memory: flush the oldest rather than lose them
                oldest = list(itertools.islice(self._held, len(self._held) - MAX_KEYS + HELD_FLUSH_BATCH))
                increments.extend((key, window, self._held.pop((key, window))) for key, window in oldest)
            now = self._clock.now()
            if increments:
                expire_at = now + timedelta(seconds=2 * self._limits.window)
                self._totals.update(await self._store.count_requests(increments, expire_at, now))
            current = int(now.timestamp() // self._limits.window)
            if current != self._pruned_window:  # once per window, not on every flush: the maps hold two windows
                self._totals = {key: total for key, total in self._totals.items() if key[1] >= current - 1}
                self._held = {key: count for key, count in self._held.items() if key[1] >= current}
                self._pruned_window = current
            if len(self._totals) > MAX_KEYS:
                self._totals.clear()
