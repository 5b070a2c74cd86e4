"""A tenant's wallet security policy in memory."""

from __future__ import annotations

from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.wallet_security import WalletSecurityPolicy


class InMemoryWalletSecurityRepository:
    """Implements ``ports.repositories.WalletSecurityRepository`` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def get(self, tenant_id: str) -> WalletSecurityPolicy | None:
        """Return the tenant's policy (None: never set)."""
        return self._state.wallet_security.get(tenant_id)

    async def put(self, tenant_id: str, policy: WalletSecurityPolicy) -> None:
        """Store the tenant's policy and raise its configuration version."""
        self._state.wallet_security[tenant_id] = policy
        self._state.bump_config_version(tenant_id)
