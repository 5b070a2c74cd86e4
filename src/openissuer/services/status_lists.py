"""Status-list index allocation for every kind of status list (CWT revocation lists; IETF Token Status Lists next).

``allocate(tenant, kind, count)`` reserves ``count`` positions on the tenant's newest list of that kind in one
statement (``ports.status_lists.StatusListStore``) and maps each position to its index through the list's keyed
permutation, so indexes are drawn at random among the free ones: every index once, neighbours unrelated, and the
next one not guessable from those before (``crypto/index_permutation.py``). A full list is followed by a new one
in the same call. Positions reserved for credentials that are then not issued (the request failed after the
reservation) stay unused: their entries keep the default status and no credential points at them.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable

from openissuer.crypto.index_permutation import IndexPermutation
from openissuer.domain.ids import new_id
from openissuer.domain.status_lists import StatusAllocation, StatusListKind
from openissuer.ports.clock import Clock
from openissuer.ports.status_lists import NewStatusList, StatusListStore

PERMUTATION_KEY_LENGTH = 32
_CACHED_PERMUTATIONS = 256


class StatusListAllocator:
    """Hand out status-list entries to new credentials."""

    def __init__(
        self,
        store: StatusListStore,
        clock: Clock,
        *,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        make_id: Callable[[], str] = new_id,
    ) -> None:
        self._store = store
        self._clock = clock
        self._random_bytes = random_bytes
        self._make_id = make_id
        self._permutations: OrderedDict[str, IndexPermutation] = OrderedDict()

    async def allocate(self, tenant_id: str, kind: StatusListKind, count: int) -> list[StatusAllocation]:
        """Return ``count`` entries of one list of ``kind`` for new credentials of the tenant."""
        candidate = NewStatusList(self._make_id(), self._random_bytes(PERMUTATION_KEY_LENGTH), self._clock.now())
        reserved = await self._store.reserve(tenant_id, kind.name, kind.size, count, candidate)
        permutation = self._permutation(reserved.list_id, reserved.permutation_key, reserved.size)
        return [
            StatusAllocation(reserved.list_id, permutation.index_at(position))
            for position in range(reserved.first, reserved.first + reserved.count)
        ]

    def _permutation(self, list_id: str, key: bytes, size: int) -> IndexPermutation:
        permutation = self._permutations.get(list_id)
        if permutation is None:
            permutation = IndexPermutation(key, size)
            self._permutations[list_id] = permutation
            if len(self._permutations) > _CACHED_PERMUTATIONS:
                self._permutations.popitem(last=False)
        return permutation
