"""SQL implementations of the repository ports, on SQLAlchemy Core over one async connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.rows import as_utc, insert_unless_taken, page_query, split_page, to_db_time
from openissuer.adapters.sql.tables import access_grants, api_clients, grant_issuances, tenants
from openissuer.domain.api_clients import ApiClient, Role
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.tenants import Tenant
from openissuer.domain.urls import host_of_url
from openissuer.errors import ConflictError, ErrorDetail


class SqlTenantRepository:
    """Tenants in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, tenant: Tenant) -> None:
        """Insert a tenant; a duplicate id, or a host key another tenant has (``uq_tenants_host``, which decides
        between concurrent creations), is a ConflictError."""
        values = {
            "id": tenant.id,
            "name": tenant.name,
            "public_url": tenant.public_url,
            "host": None if tenant.public_url is None else host_of_url(tenant.public_url),
            "created_at": to_db_time(tenant.created_at),
        }
        if await insert_unless_taken(self._conn, tenants, values):
            return
        if await self.get(tenant.id) is not None:
            raise ConflictError(
                "Tenant already exists", details=[ErrorDetail("body", "id", "already exists", tenant.id)]
            )
        raise ConflictError(
            "Another tenant has this host",
            details=[ErrorDetail("body", "publicUrl", "its host is another tenant's", tenant.public_url)],
        )

    async def get(self, tenant_id: str) -> Tenant | None:
        """Return the tenant with this id, or None."""
        row = (await self._conn.execute(select(tenants).where(tenants.c.id == tenant_id))).first()
        return None if row is None else _tenant_from_row(row)

    async def list(self, *, limit: int, after: PageKey | None) -> Page[Tenant]:
        """Return one page of every tenant."""
        rows, next_key = split_page(
            (await self._conn.execute(page_query(select(tenants), tenants, limit=limit, after=after))).all(), limit
        )
        return Page(items=[_tenant_from_row(row) for row in rows], next_key=next_key)

    async def delete(self, tenant_id: str) -> bool:
        """Delete the tenant; its rows go with it (foreign keys ``ON DELETE CASCADE``, and the per-grant counts,
        which have no foreign key). Used nonces belong to no tenant and expire by themselves."""
        grants = select(access_grants.c.token_hash).where(access_grants.c.tenant_id == tenant_id)
        await self._conn.execute(delete(grant_issuances).where(grant_issuances.c.token_hash.in_(grants)))
        return bool((await self._conn.execute(delete(tenants).where(tenants.c.id == tenant_id))).rowcount)

    async def get_config_version(self, tenant_id: str) -> int | None:
        """Return the tenant's configuration version."""
        return (await self._conn.execute(_CONFIG_VERSION, {"tenant": tenant_id})).scalar_one_or_none()


_CONFIG_VERSION = select(tenants.c.config_version).where(tenants.c.id == bindparam("tenant"))


def _tenant_from_row(row: Any) -> Tenant:
    return Tenant(
        id=row.id,
        name=row.name,
        public_url=row.public_url,
        created_at=as_utc(row.created_at),
        config_version=int(row.config_version),
    )


def _api_client_from_row(row: Any) -> ApiClient:
    return ApiClient(
        id=row.id,
        tenant_id=row.tenant_id,
        client_id=row.client_id,
        name=row.name,
        secret_hash=row.secret_hash,
        roles=tuple(Role(role) for role in row.roles.split(",") if role),
        created_at=as_utc(row.created_at),
    )


class SqlApiClientRepository:
    """Management API clients in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, client: ApiClient) -> None:
        """Insert a client; a taken ``client_id`` is a ConflictError."""
        values = {
            "id": client.id,
            "tenant_id": client.tenant_id,
            "client_id": client.client_id,
            "name": client.name,
            "secret_hash": client.secret_hash,
            "roles": ",".join(role.value for role in client.roles),
            "created_at": to_db_time(client.created_at),
        }
        if not await insert_unless_taken(self._conn, api_clients, values):
            raise ConflictError(
                "An API client with this clientId already exists",
                details=[ErrorDetail("body", "clientId", "already exists", client.client_id)],
            )

    async def get_by_client_id(self, client_id: str) -> ApiClient | None:
        """Return the client with this ``client_id`` in any tenant."""
        query = select(api_clients).where(api_clients.c.client_id == client_id)
        row = (await self._conn.execute(query)).first()
        return None if row is None else _api_client_from_row(row)

    async def get(self, tenant_id: str, id: str) -> ApiClient | None:
        """Return the tenant's client, or None (also for another tenant's client)."""
        query = select(api_clients).where(api_clients.c.tenant_id == tenant_id, api_clients.c.id == id)
        row = (await self._conn.execute(query)).first()
        return None if row is None else _api_client_from_row(row)

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[ApiClient]:
        """Return one page of the tenant's clients."""
        query = page_query(
            select(api_clients).where(api_clients.c.tenant_id == tenant_id), api_clients, limit=limit, after=after
        )
        rows, next_key = split_page((await self._conn.execute(query)).all(), limit)
        return Page(items=[_api_client_from_row(row) for row in rows], next_key=next_key)

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's client; tell whether a row went."""
        query = delete(api_clients).where(api_clients.c.tenant_id == tenant_id, api_clients.c.id == id)
        result = await self._conn.execute(query)
        return bool(result.rowcount)
