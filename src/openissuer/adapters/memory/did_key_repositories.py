"""In-memory repository of the keys of tenants' DID documents."""

from __future__ import annotations

from collections.abc import Sequence

from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.dids import DidKey


class InMemoryDidKeyRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, key: DidKey) -> bool:
        """Store a key unless its kid is taken in the tenant."""
        keys = self._state.did_keys
        if any(k.tenant_id == key.tenant_id and k.kid == key.kid for k in keys.values()):
            return False
        keys[key.id] = key
        self._state.bump_config_version(key.tenant_id)
        return True

    async def list(self, tenant_id: str) -> Sequence[DidKey]:
        """Return the tenant's keys, newest first."""
        keys = [k for k in self._state.did_keys.values() if k.tenant_id == tenant_id]
        return sorted(keys, key=lambda k: (k.created_at, k.id), reverse=True)
