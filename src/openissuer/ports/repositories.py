"""Repository protocols: what services may ask of storage. Every query is scoped to a tenant."""

from __future__ import annotations

from typing import Protocol

from openissuer.domain.api_clients import ApiClient
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.tenants import Tenant


class TenantRepository(Protocol):
    async def add(self, tenant: Tenant) -> None:
        """Store a new tenant; raise ``ConflictError`` when the id exists."""

    async def get(self, tenant_id: str) -> Tenant | None:
        """Return the tenant or None."""


class ApiClientRepository(Protocol):
    async def add(self, client: ApiClient) -> None:
        """Store a new client; raise ``ConflictError`` when its ``client_id`` exists (client ids are global)."""

    async def get_by_client_id(self, client_id: str) -> ApiClient | None:
        """Return the client with this ``client_id`` in any tenant (used to authenticate)."""

    async def get(self, tenant_id: str, id: str) -> ApiClient | None:
        """Return the tenant's client with this id or None (another tenant's client is None)."""

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[ApiClient]:
        """Return up to ``limit`` of the tenant's clients ordered by ``(created_at, id)`` after ``after``."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's client; tell whether it existed."""
