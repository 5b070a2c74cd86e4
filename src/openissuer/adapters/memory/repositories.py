"""In-memory implementations of the repository ports over a ``MemoryState``."""

from __future__ import annotations

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.api_clients import ApiClient
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.tenants import Tenant
from openissuer.errors import ConflictError, ErrorDetail


class InMemoryTenantRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, tenant: Tenant) -> None:
        """Store a tenant; a duplicate id is a ConflictError."""
        if tenant.id in self._state.tenants:
            raise ConflictError(
                "Tenant already exists", details=[ErrorDetail("body", "id", "already exists", tenant.id)]
            )
        self._state.tenants[tenant.id] = tenant

    async def get(self, tenant_id: str) -> Tenant | None:
        """Return the tenant or None."""
        return self._state.tenants.get(tenant_id)


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
