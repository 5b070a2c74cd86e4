"""Management API clients: create (secret shown once), list, get, delete, and the bootstrap admin client."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from openissuer.crypto.secret_hash import hash_client_secret
from openissuer.domain.api_clients import ApiClient, ManagementPrincipal, Role
from openissuer.domain.events import API_CLIENT_CREATED, API_CLIENT_DELETED
from openissuer.domain.ids import DEFAULT_TENANT_ID, new_id
from openissuer.domain.pages import Page, PageKey
from openissuer.errors import ConflictError, ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.access import ADMIN_ONLY, PLATFORM_ADMINS, READERS, authorize
from openissuer.services.audit import audit_event

log = logging.getLogger("openissuer.api_clients")

MIN_SECRET_LENGTH = 16


@dataclass(frozen=True)
class CreatedApiClient:
    """A new client and its secret in clear text, which exists only in this value."""

    client: ApiClient
    client_secret: str


def new_api_client(
    tenant_id: str,
    *,
    name: str,
    roles: tuple[Role, ...],
    now: datetime,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> CreatedApiClient:
    """Make (not store) a client; generate its id and secret unless given. Only the secret's hash is kept on it.

    ``platform-admin`` may only be held by a client of the default tenant: it would otherwise let a tenant's
    admin reach every tenant.
    """
    details: list[ErrorDetail] = []
    if not roles:
        details.append(ErrorDetail("body", "roles", "must name at least one role", []))
    if Role.PLATFORM_ADMIN in roles and tenant_id != DEFAULT_TENANT_ID:
        details.append(ErrorDetail("body", "roles", "platform-admin is only for clients of the default tenant"))
    if client_secret is not None and len(client_secret) < MIN_SECRET_LENGTH:
        details.append(ErrorDetail("body", "clientSecret", f"must be at least {MIN_SECRET_LENGTH} characters"))
    if details:
        raise ValidationError("Validation Error", details=details)
    secret = client_secret or secrets.token_urlsafe(32)
    client = ApiClient(
        id=new_id(),
        tenant_id=tenant_id,
        client_id=client_id or secrets.token_urlsafe(18),
        name=name,
        secret_hash=hash_client_secret(secret, secrets.token_bytes(16)),
        roles=tuple(dict.fromkeys(roles)),
        created_at=now,
    )
    return CreatedApiClient(client=client, client_secret=secret)


class ApiClientService:
    """Manage API clients within the caller's tenant."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    async def create_client(
        self,
        tenant_id: str,
        *,
        name: str,
        roles: tuple[Role, ...],
        client_id: str | None = None,
        client_secret: str | None = None,
        actor: str | None = None,
    ) -> CreatedApiClient:
        """Create a client; generate its id and secret unless given. Only the secret's hash is stored. ``actor`` is
        the client id of the API client creating it (None: the command line or start-up)."""
        created = new_api_client(
            tenant_id, name=name, roles=roles, now=self._clock.now(), client_id=client_id, client_secret=client_secret
        )
        client = created.client
        async with self._uow() as uow:
            await uow.api_clients.add(client)
            data = {"id": client.id, "clientId": client.client_id, "name": client.name, "roles": list(client.roles)}
            await uow.events.add(audit_event(API_CLIENT_CREATED, tenant_id, client.created_at, data, client_id=actor))
            await uow.commit()
        log.info("api client created", extra={"client_id": created.client.client_id, "tenant_id": tenant_id})
        return created

    async def create_as(
        self, principal: ManagementPrincipal, *, name: str, roles: tuple[Role, ...]
    ) -> CreatedApiClient:
        """Create a client in the caller's tenant (admin only; ``platform-admin`` only by a platform admin)."""
        authorize(principal, ADMIN_ONLY)
        if Role.PLATFORM_ADMIN in roles:
            authorize(principal, PLATFORM_ADMINS)
        return await self.create_client(principal.tenant_id, name=name, roles=roles, actor=principal.client_id)

    async def list_clients(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[ApiClient]:
        """Return one page of a tenant's clients."""
        async with self._uow(read_only=True) as uow:
            return await uow.api_clients.list(tenant_id, limit=limit, after=after)

    async def list_as(self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None) -> Page[ApiClient]:
        """List the caller's tenant's clients (admin, auditor)."""
        authorize(principal, READERS)
        return await self.list_clients(principal.tenant_id, limit=limit, after=after)

    async def get_as(self, principal: ManagementPrincipal, id: str) -> ApiClient:
        """Return one of the caller's tenant's clients; another tenant's is NotFound."""
        authorize(principal, READERS)
        async with self._uow(read_only=True) as uow:
            client = await uow.api_clients.get(principal.tenant_id, id)
        if client is None:
            raise NotFoundError.for_id(id)
        return client

    async def delete_client(self, tenant_id: str, id: str, *, actor: str | None = None) -> None:
        """Delete a tenant's client; raise NotFoundError when there is none."""
        async with self._uow() as uow:
            deleted = await uow.api_clients.delete(tenant_id, id)
            if deleted:
                now = self._clock.now()
                await uow.events.add(audit_event(API_CLIENT_DELETED, tenant_id, now, {"id": id}, client_id=actor))
            await uow.commit()
        if not deleted:
            raise NotFoundError.for_id(id)
        log.info("api client deleted", extra={"api_client": id, "tenant_id": tenant_id})

    async def delete_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Delete one of the caller's tenant's clients (admin only)."""
        authorize(principal, ADMIN_ONLY)
        await self.delete_client(principal.tenant_id, id, actor=principal.client_id)

    async def find_by_client_id(self, client_id: str) -> ApiClient | None:
        """Return the client with this public ``client_id`` (any tenant)."""
        async with self._uow(read_only=True) as uow:
            return await uow.api_clients.get_by_client_id(client_id)

    async def ensure_bootstrap_client(self, client_id: str, client_secret: str) -> bool:
        """Create the default tenant's admin client unless a client with this id exists; tell whether it did."""
        if await self.find_by_client_id(client_id) is not None:
            return False
        try:
            await self.create_client(
                DEFAULT_TENANT_ID,
                name="bootstrap",
                roles=(Role.ADMIN,),
                client_id=client_id,
                client_secret=client_secret,
            )
        except ConflictError:  # another process created it first
            return False
        return True
