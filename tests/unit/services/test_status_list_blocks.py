"""Status-list positions handed out from blocks reserved per process (``services/status_lists.py``): one statement
per block, no position twice across allocators (processes) sharing a store, a roll-over inside a block refill,
lists per scope, and the unpartitioned kinds ignoring the scope."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from oi_testing import FakeClock
from openissuer.adapters.memory.status_lists import InMemoryStatusListStore
from openissuer.adapters.memory.store import InMemoryStore
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.domain.status_lists import StatusListKind, StatusListReservation, StatusListScope
from openissuer.services.status_lists import StatusListAllocator

KIND = StatusListKind("k", 50, "/lists/", partitioned=True)
FLAT = StatusListKind("flat", 50, "/flat/")


class CountingStore:
    """The memory store, counting its statements."""

    def __init__(self, store: InMemoryStore) -> None:
        self.inner = InMemoryStatusListStore(store)
        self.reservations = 0

    async def reserve(self, *args: Any, **kwargs: Any) -> StatusListReservation:
        self.reservations += 1
        await asyncio.sleep(0)  # let other requests run while the statement is under way
        return await self.inner.reserve(*args, **kwargs)

    async def head(self, tenant_id: str, list_id: str) -> Any:
        return await self.inner.head(tenant_id, list_id)


async def test_blocks_cost_one_statement_each_and_no_position_is_handed_out_twice() -> None:
    shared = InMemoryStore()
    stores = [CountingStore(shared), CountingStore(shared)]
    clock = FakeClock(datetime(2026, 12, 1, tzinfo=UTC))
    processes = [StatusListAllocator(store, clock, block_size=8) for store in stores]
    scope = StatusListScope("org.iso.18013.5.1.mDL", "iaca")
    batches = await asyncio.gather(
        *(processes[n % 2].allocate(DEFAULT_TENANT_ID, KIND, 1 + n % 3, scope) for n in range(60))
    )
    entries = [entry for batch in batches for entry in batch]
    assert len(entries) == sum(1 + n % 3 for n in range(60)) == 120
    assert len(set(entries)) == 120  # (list, index) pairs: never twice
    assert all(len({e.list_id for e in batch}) == 1 for batch in batches)  # a request's entries share a list
    lists = {e.list_id for e in entries}
    assert len(lists) >= 3  # lists of 50 rolled over inside refills
    # One statement per block of 8 (or what was left of a list), not one per request: at most a block's worth of
    # positions is left unused in each process per list.
    assert sum(s.reservations for s in stores) < 60 // 2
    reserved = sum(s.allocated for s in shared.state.status_lists.values())
    assert 120 <= reserved <= 120 + 2 * 8 * len(lists)


async def test_scopes_get_their_own_lists_unless_the_kind_is_not_partitioned() -> None:
    store = InMemoryStore()
    allocator = StatusListAllocator(InMemoryStatusListStore(store), FakeClock(), block_size=4)
    (a,) = await allocator.allocate(DEFAULT_TENANT_ID, KIND, 1, StatusListScope("a", "i"))
    (b,) = await allocator.allocate(DEFAULT_TENANT_ID, KIND, 1, StatusListScope("b", "i"))
    (c,) = await allocator.allocate(DEFAULT_TENANT_ID, FLAT, 1, StatusListScope("a", "i"))
    (d,) = await allocator.allocate(DEFAULT_TENANT_ID, FLAT, 1, StatusListScope("b", "j"))
    assert a.list_id != b.list_id and c.list_id == d.list_id
    assert {(s.credential_type, s.authority_id) for s in store.state.status_lists.values()} == {
        ("a", "i"),
        ("b", "i"),
        ("", ""),
    }


async def test_a_request_larger_than_what_is_left_of_the_block_gets_a_new_block() -> None:
    store = CountingStore(InMemoryStore())
    allocator = StatusListAllocator(store, FakeClock(), block_size=4)
    first = await allocator.allocate(DEFAULT_TENANT_ID, FLAT, 3)
    second = await allocator.allocate(DEFAULT_TENANT_ID, FLAT, 3)  # one left in the block: too few
    big = await allocator.allocate(DEFAULT_TENANT_ID, FLAT, 10)  # more than a block: reserved as one
    assert store.reservations == 3 and len(set(first + second + big)) == 16
