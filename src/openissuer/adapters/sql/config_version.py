"""The tenant's configuration version (``tenants.config_version``), raised in the transaction of every change to
what issuance caches: configurations, IACAs, document signers, the authentication provider."""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.tables import tenants

_BUMP = update(tenants).where(tenants.c.id == bindparam("tenant")).values(config_version=tenants.c.config_version + 1)


async def bump_config_version(connection: AsyncConnection, tenant_id: str) -> None:
    """Raise the tenant's configuration version by one, in the caller's transaction."""
    await connection.execute(_BUMP, {"tenant": tenant_id})
