"""A per-process cache of one value per tenant, valid for one tenant configuration version.

What issuance reads on every request but changes rarely (configurations, signer certificates, metadata) is cached
here. Every change to it raises the tenant's ``config_version`` in the same transaction, and the hot path reads
the version together with the grant; a cached value of another version is loaded again. So a change made by any
process is seen by every process at its next request, and nothing only one process knows is ever needed.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_TENANTS = 1024


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """A value and the configuration version it was loaded at."""

    version: int
    value: T


class VersionedCache(Generic[T]):
    """``get(tenant, version)`` returns a value loaded at that version or later, loading it at most once at a time.

    ``load(tenant_id)`` must read the tenant's version *before* the data it returns, so the data is never older
    than the version it is stored under.
    """

    def __init__(self, load: Callable[[str], Awaitable[Versioned[T]]], *, max_tenants: int = MAX_TENANTS) -> None:
        self._load = load
        self._max_tenants = max_tenants
        self._entries: OrderedDict[str, Versioned[T]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    def peek(self, tenant_id: str, version: int) -> T | None:
        """Return the cached value when it is at least at ``version``, without loading."""
        entry = self._entries.get(tenant_id)
        return entry.value if entry is not None and entry.version >= version else None

    async def get(self, tenant_id: str, version: int) -> T:
        """Return a value loaded at ``version`` or later."""
        cached = self.peek(tenant_id, version)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock:
            cached = self.peek(tenant_id, version)
            if cached is not None:
                return cached
            loaded = await self._load(tenant_id)
            self.put(tenant_id, loaded)
            return loaded.value

    def put(self, tenant_id: str, entry: Versioned[T]) -> None:
        """Store a value (unless a newer one is cached), evicting the least recently stored tenant past the bound."""
        current = self._entries.get(tenant_id)
        if current is not None and current.version > entry.version:
            return
        self._entries[tenant_id] = entry
        self._entries.move_to_end(tenant_id)
        while len(self._entries) > self._max_tenants:
            evicted, _ = self._entries.popitem(last=False)
            self._locks.pop(evicted, None)
