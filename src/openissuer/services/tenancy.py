"""Which tenant a wallet-facing request is for, and each tenant's public URLs.

Every wallet-facing and public endpoint resolves its tenant from the request's host, matched against each
tenant's public URL (the reference platform gives each tenant its own host); the default tenant's public URL is
the deployment's ``OPENISSUER_PUBLIC_URL``. A host no tenant claims is the default tenant's, so a single-tenant
deployment keeps answering behind proxies and internal names.

The host table is cached in each process. A host the cache does not know triggers a reload (at most one a
second, since any client can send any host), and the whole table is reloaded every ``refresh_interval`` so that
deleted tenants and changed URLs are noticed; a tenant id the cache does not know (it comes from an authenticated
token) always triggers a reload. So a tenant created through another process is served here within a second.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.domain.pages import MAX_PAGE_LIMIT, PageKey
from openissuer.domain.tenants import Tenant
from openissuer.domain.urls import host_of_url
from openissuer.errors import NotFoundError
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.protocol.endpoints import IssuerEndpoints


@dataclass(frozen=True)
class WalletTenant:
    """A tenant as the wallet-facing side sees it: its id and the absolute URLs of its endpoints."""

    id: str
    name: str
    endpoints: IssuerEndpoints

    @property
    def issuer(self) -> str:
        """The credential issuer identifier (the tenant's public URL, no trailing slash)."""
        return self.endpoints.issuer


def host_of_header(header: str) -> str:
    """Return the host key of a ``Host`` header: lower case, ``:80`` and ``:443`` dropped (a proxy in front may
    terminate TLS, so the scheme the request arrived with says nothing). The hot path: it must key a host as
    ``host_of_url`` (domain/urls.py) keys a public URL, which does the normalising once per URL instead."""
    value = header.strip().lower()
    host, separator, port = value.rpartition(":")
    if not separator or not port.isdigit():  # no port, or the last colon is inside an IPv6 literal
        return value
    return host if int(port) in (80, 443) else value


class TenantDirectory:
    """Resolve tenants by host or id, with their endpoint URLs."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        default_public_url: str,
        refresh_interval: float = 30.0,
        miss_reload_interval: float = 1.0,
    ) -> None:
        self._uow = uow_factory
        self._default_public_url = default_public_url.rstrip("/")
        self._refresh_interval = refresh_interval
        self._miss_reload_interval = miss_reload_interval
        self._by_id: dict[str, WalletTenant] = {}
        self._by_host: dict[str, WalletTenant] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def default_public_url(self) -> str:
        """The default tenant's public URL (``OPENISSUER_PUBLIC_URL``)."""
        return self._default_public_url

    def public_url_of(self, tenant: Tenant) -> str:
        """Return a tenant's public URL (the deployment's for the default tenant)."""
        return (tenant.public_url or self._default_public_url).rstrip("/")

    async def resolve_host(self, host: str | None) -> WalletTenant:
        """Return the tenant whose public URL has this host; the default tenant for any other host."""
        key = host_of_header(host) if host else ""
        if self._stale():
            await self._reload()
        found = self._by_host.get(key)
        if found is None and time.monotonic() - self._loaded_at >= self._miss_reload_interval:
            await self._reload()
            found = self._by_host.get(key)
        return found if found is not None else self._by_id[DEFAULT_TENANT_ID]

    async def by_id(self, tenant_id: str) -> WalletTenant:
        """Return the tenant with this id; NotFoundError when there is none."""
        if self._stale() or tenant_id not in self._by_id:
            await self._reload()
        found = self._by_id.get(tenant_id)
        if found is None:
            raise NotFoundError.for_id(tenant_id)
        return found

    async def forget(self) -> None:
        """Drop the cache (this process created or deleted a tenant)."""
        self._loaded_at = float("-inf")

    def _stale(self) -> bool:
        return time.monotonic() - self._loaded_at >= self._refresh_interval

    async def _reload(self) -> None:
        started = time.monotonic()
        async with self._lock:
            if self._loaded_at >= started:  # another coroutine reloaded while this one waited
                return
            tenants: list[Tenant] = []
            after: PageKey | None = None
            async with self._uow(read_only=True) as uow:
                while True:
                    page = await uow.tenants.list(limit=MAX_PAGE_LIMIT, after=after)
                    tenants += page.items
                    if page.next_key is None:
                        break
                    after = page.next_key
            by_id = {
                tenant.id: WalletTenant(tenant.id, tenant.name, IssuerEndpoints(self.public_url_of(tenant)))
                for tenant in tenants
            }
            by_host = {host_of_url(t.issuer): t for t in by_id.values() if t.id != DEFAULT_TENANT_ID}
            if DEFAULT_TENANT_ID in by_id:  # the default tenant wins its own host
                by_host[host_of_url(self._default_public_url)] = by_id[DEFAULT_TENANT_ID]
            self._by_id, self._by_host = by_id, by_host
            self._loaded_at = time.monotonic()
