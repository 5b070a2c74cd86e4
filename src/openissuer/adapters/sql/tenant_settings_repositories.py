"""SQL storage of tenants' own defaults (one JSON row per tenant)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.rows import as_utc, to_db_time
from openissuer.adapters.sql.tables import tenant_settings
from openissuer.domain.tenant_settings import TenantSettings

_DIALECTS = {"postgresql": postgresql, "sqlite": sqlite}


class SqlTenantSettingsRepository:
    """``tenant_settings`` rows: ``{defaultCountry, credentialOfferEndpoint}``."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def get(self, tenant_id: str) -> TenantSettings:
        """Return the stored settings, or the defaults."""
        t = tenant_settings
        row = (await self._conn.execute(select(t).where(t.c.tenant_id == tenant_id))).first()
        if row is None:
            return TenantSettings(tenant_id=tenant_id)
        body = row.body
        return TenantSettings(
            tenant_id=tenant_id,
            default_country=body.get("defaultCountry"),
            credential_offer_endpoint=body.get("credentialOfferEndpoint"),
            updated_at=as_utc(row.updated_at),
        )

    async def put(self, settings: TenantSettings) -> None:
        """Insert or replace the tenant's row (one statement)."""
        assert settings.updated_at is not None
        body = {
            "defaultCountry": settings.default_country,
            "credentialOfferEndpoint": settings.credential_offer_endpoint,
        }
        values = {"tenant_id": settings.tenant_id, "body": body, "updated_at": to_db_time(settings.updated_at)}
        statement = _DIALECTS[self._conn.dialect.name].insert(tenant_settings).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[tenant_settings.c.tenant_id],
            set_={"body": statement.excluded.body, "updated_at": statement.excluded.updated_at},
        )
        await self._conn.execute(statement)
