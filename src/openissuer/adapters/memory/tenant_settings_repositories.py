"""In-memory storage of tenants' own defaults."""

from __future__ import annotations

from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.tenant_settings import TenantSettings


class InMemoryTenantSettingsRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.tenant_settings

    async def get(self, tenant_id: str) -> TenantSettings:
        """Return the stored settings, or the defaults."""
        return self._rows.get(tenant_id) or TenantSettings(tenant_id=tenant_id)

    async def put(self, settings: TenantSettings) -> None:
        """Store the tenant's settings."""
        self._rows[settings.tenant_id] = settings
