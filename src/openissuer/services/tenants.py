"""Platform administration: the deployment's tenants (the reference platform's separate management API).

A tenant is an isolated issuer with its own public URL, whose host wallets reach it by; creating one also creates
its first admin API client. Only ``platform-admin`` clients (of the default tenant) and the command line manage
tenants; a tenant's own clients only ever reach their own tenant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from openissuer.domain.api_clients import ApiClient, ManagementPrincipal, Role
from openissuer.domain.ids import DEFAULT_TENANT_ID, new_id
from openissuer.domain.pages import MAX_PAGE_LIMIT, Page, PageKey
from openissuer.domain.tenants import Tenant
from openissuer.domain.urls import InvalidOutboundUrlError, host_of_url, normalise_public_url
from openissuer.errors import ConflictError, ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.repositories import TenantRepository
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.access import PLATFORM_ADMINS, authorize
from openissuer.services.api_clients import new_api_client
from openissuer.services.tenancy import TenantDirectory

log = logging.getLogger("openissuer.tenants")
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class CreatedTenant:
    """A new tenant, its first admin client and that client's secret (which exists only in this value)."""

    tenant: Tenant
    public_url: str
    admin_client: ApiClient
    admin_client_secret: str


class TenantService:
    """Create, list, read and delete tenants."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, directory: TenantDirectory) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._directory = directory

    def public_url_of(self, tenant: Tenant) -> str:
        """Return the tenant's public URL (the deployment's for the default tenant)."""
        return self._directory.public_url_of(tenant)

    async def create(self, name: str, public_url: str) -> CreatedTenant:
        """Create a tenant and its first admin client, in one transaction.

        The public URL must be an absolute http(s) URL without query or fragment (``normalise_public_url``), stored
        normalised, whose host key (``host_of_url``, the one requests are routed by) no other tenant has. The
        storage's unique key on that host decides between concurrent creations; the check here also covers the
        default tenant, whose URL is a setting and not stored.
        """
        url = _check(name, public_url)
        now = self._clock.now()
        tenant = Tenant(id=new_id(), name=name.strip(), created_at=now, public_url=url)
        created = new_api_client(tenant.id, name="admin", roles=(Role.ADMIN,), now=now)
        async with self._uow() as uow:
            taken = {host_of_url(self._directory.public_url_of(t)) for t in await _all(uow.tenants)}
            if host_of_url(url) in taken:
                raise ConflictError(
                    "Another tenant has this host",
                    details=[ErrorDetail("body", "publicUrl", "its host is another tenant's", url)],
                )
            await uow.tenants.add(tenant)
            await uow.api_clients.add(created.client)
            await uow.commit()
        await self._directory.forget()
        log.info("tenant created", extra={"tenant_id": tenant.id})
        return CreatedTenant(tenant, url, created.client, created.client_secret)

    async def create_as(self, principal: ManagementPrincipal, name: str, public_url: str) -> CreatedTenant:
        """Create a tenant (platform-admin)."""
        authorize(principal, PLATFORM_ADMINS)
        return await self.create(name, public_url)

    async def list_tenants(self, *, limit: int, after: PageKey | None) -> Page[Tenant]:
        """Return one page of every tenant."""
        async with self._uow(read_only=True) as uow:
            return await uow.tenants.list(limit=limit, after=after)

    async def list_as(self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None) -> Page[Tenant]:
        """List the tenants (platform-admin)."""
        authorize(principal, PLATFORM_ADMINS)
        return await self.list_tenants(limit=limit, after=after)

    async def get_as(self, principal: ManagementPrincipal, id: str) -> Tenant:
        """Return one tenant (platform-admin)."""
        authorize(principal, PLATFORM_ADMINS)
        async with self._uow(read_only=True) as uow:
            tenant = await uow.tenants.get(id)
        if tenant is None:
            raise NotFoundError.for_id(id)
        return tenant

    async def delete(self, id: str) -> None:
        """Delete a tenant and everything it holds; the default tenant cannot be deleted."""
        if id == DEFAULT_TENANT_ID:
            raise ConflictError(
                "The default tenant cannot be deleted",
                details=[ErrorDetail("params", "id", "is the default tenant", id)],
            )
        async with self._uow() as uow:
            deleted = await uow.tenants.delete(id)
            await uow.commit()
        if not deleted:
            raise NotFoundError.for_id(id)
        await self._directory.forget()
        log.info("tenant deleted", extra={"tenant_id": id})

    async def delete_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Delete a tenant (platform-admin)."""
        authorize(principal, PLATFORM_ADMINS)
        await self.delete(id)


async def _all(tenants: TenantRepository) -> list[Tenant]:
    found: list[Tenant] = []
    after: PageKey | None = None
    while True:
        page = await tenants.list(limit=MAX_PAGE_LIMIT, after=after)
        found += page.items
        if page.next_key is None:
            return found
        after = page.next_key


def _check(name: str, public_url: str) -> str:
    details: list[ErrorDetail] = []
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        details.append(ErrorDetail("body", "name", f"must be 1-{MAX_NAME_LENGTH} characters", name))
    url = ""
    try:
        url = normalise_public_url(public_url.strip())
    except InvalidOutboundUrlError as error:
        rule = f"must be an http(s) URL with a host and no query or fragment ({error})"
        details.append(ErrorDetail("body", "publicUrl", rule, public_url))
    if details:
        raise ValidationError("Validation Error", details=details)
    return url
