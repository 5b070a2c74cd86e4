"""Storage of a tenant's own defaults (``domain/tenant_settings.py``)."""

from __future__ import annotations

from typing import Protocol

from openissuer.domain.tenant_settings import TenantSettings


class TenantSettingsRepository(Protocol):
    async def get(self, tenant_id: str) -> TenantSettings:
        """Return the tenant's settings (all defaults when none were stored)."""

    async def put(self, settings: TenantSettings) -> None:
        """Store the tenant's settings, replacing any."""
