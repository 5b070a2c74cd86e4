"""Status-list index allocation for every kind of status list (CWT revocation lists, IETF Token Status Lists).

``allocate(tenant, kind, count, scope)`` hands out ``count`` entries of one list of the tenant's newest list of that
kind and scope, and maps each position to its index through the list's keyed permutation, so indexes are drawn at
random among the free ones: every index once, neighbours unrelated, and the next one not guessable from those
before (``crypto/index_permutation.py``). A full list is followed by a new one in the same call.

**Blocks.** Positions are reserved ``block_size`` at a time by one statement (``ports.status_lists``) and handed
out from this process's memory, so most revocable credentials cost no database round trip at all: with a block of
100, one request in a hundred pays the statement. The store never gives a position twice, whatever the number of
processes; a block is this process's alone. Positions of a block that are not handed out (the process stops, the
request that reserved them failed, a request needed more than the block had left, or the block was reserved for a
list that then stopped being the newest) are simply never used: their entries keep the default status (valid) and
no credential points at them, which a verifier cannot tell from an entry of a valid credential. So a list's
``allocated`` counts reserved positions, not issued credentials. One refill at a time per list scope in a process;
other requests of that scope wait for it rather than reserving blocks of their own.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from openissuer.crypto.index_permutation import IndexPermutation
from openissuer.domain.ids import new_id
from openissuer.domain.status_lists import (
    UNSCOPED,
    StatusAllocation,
    StatusListKind,
    StatusListReservation,
    StatusListScope,
)
from openissuer.ports.clock import Clock
from openissuer.ports.status_lists import NewStatusList, StatusListStore

PERMUTATION_KEY_LENGTH = 32
_CACHED_PERMUTATIONS = 256
_BlockKey = tuple[str, str, StatusListScope]


@dataclass
class _Block:
    """Reserved positions ``[next, end)`` of one list, not yet handed out."""

    list_id: str
    next: int
    end: int
    permutation: IndexPermutation

    def take(self, count: int) -> list[StatusAllocation] | None:
        if self.end - self.next < count:
            return None
        first, self.next = self.next, self.next + count
        return [StatusAllocation(self.list_id, self.permutation.index_at(p)) for p in range(first, first + count)]


class StatusListAllocator:
    """Hand out status-list entries to new credentials, from blocks of positions reserved per process."""

    def __init__(
        self,
        store: StatusListStore,
        clock: Clock,
        *,
        block_size: int = 1,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        make_id: Callable[[], str] = new_id,
    ) -> None:
        if block_size < 1:
            raise ValueError("the block size must be positive")
        self._store = store
        self._clock = clock
        self._block_size = block_size
        self._random_bytes = random_bytes
        self._make_id = make_id
        self._permutations: OrderedDict[str, IndexPermutation] = OrderedDict()
        self._blocks: dict[_BlockKey, _Block] = {}
        self._refilling: dict[_BlockKey, asyncio.Lock] = {}

    async def allocate(
        self, tenant_id: str, kind: StatusListKind, count: int, scope: StatusListScope = UNSCOPED
    ) -> list[StatusAllocation]:
        """Return ``count`` entries of one list of ``kind`` (and ``scope``) for new credentials of the tenant."""
        if not kind.partitioned:
            scope = StatusListScope()
        key = (tenant_id, kind.name, scope)
        taken = self._take(key, count)
        if taken is not None:
            return taken
        async with self._refilling.setdefault(key, asyncio.Lock()):
            taken = self._take(key, count)  # a refill that finished while this request waited
            if taken is not None:
                return taken
            candidate = NewStatusList(self._make_id(), self._random_bytes(PERMUTATION_KEY_LENGTH), self._clock.now())
            reserved = await self._store.reserve(
                tenant_id, kind.name, kind.size, count, candidate, scope=scope, up_to=self._block_size
            )
            block = self._block(reserved)
            self._blocks[key] = block
            allocated = block.take(count)
            assert allocated is not None  # the store reserved at least ``count``
            return allocated

    def _take(self, key: _BlockKey, count: int) -> list[StatusAllocation] | None:
        block = self._blocks.get(key)
        return None if block is None else block.take(count)

    def _block(self, reserved: StatusListReservation) -> _Block:
        permutation = self._permutations.get(reserved.list_id)
        if permutation is None:
            permutation = IndexPermutation(reserved.permutation_key, reserved.size)
            self._permutations[reserved.list_id] = permutation
            if len(self._permutations) > _CACHED_PERMUTATIONS:
                self._permutations.popitem(last=False)
        return _Block(reserved.list_id, reserved.first, reserved.first + reserved.count, permutation)
