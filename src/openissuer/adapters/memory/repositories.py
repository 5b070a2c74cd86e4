"""In-memory implementations of the repository ports over a ``MemoryState``."""

from __future__ import annotations

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.api_clients import ApiClient
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.tenants import Tenant
from openissuer.domain.urls import host_of_url
from openissuer.errors import ConflictError, ErrorDetail


class InMemoryTenantRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, tenant: Tenant) -> None:
        """Store a tenant; a duplicate id, or a host key another stored tenant has, is a ConflictError."""
        if tenant.id in self._state.tenants:
            raise ConflictError(
                "Tenant already exists", details=[ErrorDetail("body", "id", "already exists", tenant.id)]
            )
        if tenant.public_url is not None:
            host = host_of_url(tenant.public_url)
            stored = (t.public_url for t in self._state.tenants.values() if t.public_url is not None)
            if any(host_of_url(url) == host for url in stored):
                raise ConflictError(
                    "Another tenant has this host",
                    details=[ErrorDetail("body", "publicUrl", "its host is another tenant's", tenant.public_url)],
                )
        self._state.tenants[tenant.id] = tenant

    async def get(self, tenant_id: str) -> Tenant | None:
        """Return the tenant or None."""
        return self._state.tenants.get(tenant_id)

    async def list(self, *, limit: int, after: PageKey | None) -> Page[Tenant]:
        """Return one page of every tenant."""
        return page_of(self._state.tenants.values(), lambda t: (t.created_at, t.id), limit=limit, after=after)

    async def delete(self, tenant_id: str) -> bool:
        """Delete the tenant and every row that belongs to it."""
        if self._state.tenants.pop(tenant_id, None) is None:
            return False
        grants = {key for key, grant in self._state.access_grants.items() if grant.tenant_id == tenant_id}
        for key in [key for key in self._state.grant_issuances if key[0] in grants]:
            del self._state.grant_issuances[key]
        for table in vars(self._state).values():
            for key in [key for key, row in table.items() if _tenant_of(row) == tenant_id]:
                del table[key]
        return True

    async def get_config_version(self, tenant_id: str) -> int | None:
        """Return the tenant's configuration version."""
        tenant = self._state.tenants.get(tenant_id)
        return None if tenant is None else tenant.config_version


def _tenant_of(row: object) -> object:
    if isinstance(row, tuple):  # pushed requests are stored with their consumption time
        row = row[0]
    return getattr(row, "tenant_id", None)


class InMemoryApiClientRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, client: ApiClient) -> None:
        """Store a client; a taken ``client_id`` is a ConflictError."""
        if any(c.client_id == client.client_id for c in self._state.api_clients.values()):
            raise ConflictError(
                "An API client with this clientId already exists",
                details=[ErrorDetail("body", "clientId", "already exists", client.client_id)],
            )
        self._state.api_clients[client.id] = client

    async def get_by_client_id(self, client_id: str) -> ApiClient | None:
        """Return the client with this ``client_id`` in any tenant."""
        return next((c for c in self._state.api_clients.values() if c.client_id == client_id), None)

    async def get(self, tenant_id: str, id: str) -> ApiClient | None:
        """Return the tenant's client, or None."""
        client = self._state.api_clients.get(id)
        return client if client is not None and client.tenant_id == tenant_id else None

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[ApiClient]:
        """Return one page of the tenant's clients ordered by ``(created_at, id)``."""
        rows = (c for c in self._state.api_clients.values() if c.tenant_id == tenant_id)
        return page_of(rows, lambda c: (c.created_at, c.id), limit=limit, after=after)

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's client; tell whether it existed."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._state.api_clients[id]
        return True
