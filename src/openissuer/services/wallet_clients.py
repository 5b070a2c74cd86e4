"""Wallet clients (reference platform §3.3): the OAuth clients allowed to use the authorization endpoint."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.authorization import WalletClient
from openissuer.domain.events import WALLET_CLIENT_CREATED, WALLET_CLIENT_DELETED, WALLET_CLIENT_UPDATED
from openissuer.domain.ids import new_id
from openissuer.domain.pages import Page, PageKey
from openissuer.errors import ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.protocol.authorization_request import redirect_uri_problem
from openissuer.protocol.metadata import PRE_AUTHORIZED_GRANT
from openissuer.protocol.token_request import MAX_CLIENT_ID_LENGTH
from openissuer.services.access import ISSUERS, READERS_AND_ISSUERS, authorize
from openissuer.services.audit import management_event
from openissuer.services.wallet_policy import parse_root_certificates

AUTHORIZATION_CODE = "authorization_code"
GRANT_TYPES = (AUTHORIZATION_CODE, PRE_AUTHORIZED_GRANT)
PUBLIC_CLIENT_AUTH = "none"


@dataclass(frozen=True)
class WalletClientInput:
    """A create or replace request."""

    redirect_uris: tuple[str, ...]
    client_id: str | None = None
    client_name: str | None = None
    grant_types: tuple[str, ...] = (AUTHORIZATION_CODE,)
    token_endpoint_auth_method: str = PUBLIC_CLIENT_AUTH
    attestation_roots: tuple[str, ...] = ()
    """PEM certificates (``clientAttestation.rootCertificates``)."""
    dpop_required: bool = False


def _check(data: WalletClientInput) -> None:
    """Redirect URIs are absolute, without fragments (RFC 6749 §3.1.2); only public clients (PKCE) for now."""
    details: list[ErrorDetail] = []
    if data.client_id is not None and len(data.client_id) > MAX_CLIENT_ID_LENGTH:
        details.append(ErrorDetail("body", "clientId", f"must be at most {MAX_CLIENT_ID_LENGTH} characters"))
    if not data.redirect_uris:
        details.append(ErrorDetail("body", "redirectUris", "must list at least one redirect URI"))
    for index, uri in enumerate(data.redirect_uris):
        problem = redirect_uri_problem(uri)
        if problem is not None:
            details.append(ErrorDetail("body", f"redirectUris.{index}", problem, uri))
        elif (parts := urlsplit(uri)).scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            details.append(ErrorDetail("body", f"redirectUris.{index}", "http is only allowed for loopback", uri))
    for grant in data.grant_types:
        if grant not in GRANT_TYPES:
            details.append(ErrorDetail("body", "grantTypes", f"must be among {', '.join(GRANT_TYPES)}", grant))
    if data.token_endpoint_auth_method != PUBLIC_CLIENT_AUTH:
        details.append(
            ErrorDetail(
                "body",
                "tokenEndpointAuthMethod",
                "only public clients (none, with PKCE) are supported",
                data.token_endpoint_auth_method,
            )
        )
    if details:
        raise ValidationError("Validation Error", details=details)


class WalletClientService:
    """Manage the tenant's wallet clients."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    async def create_as(self, principal: ManagementPrincipal, data: WalletClientInput) -> WalletClient:
        """Register a wallet; ``clientId`` is generated unless given."""
        authorize(principal, ISSUERS)
        _check(data)
        client = WalletClient(
            id=new_id(),
            tenant_id=principal.tenant_id,
            client_id=data.client_id or secrets.token_urlsafe(16),
            client_name=data.client_name,
            redirect_uris=tuple(dict.fromkeys(data.redirect_uris)),  # each once, in the order given
            grant_types=tuple(dict.fromkeys(data.grant_types)),
            token_endpoint_auth_method=data.token_endpoint_auth_method,
            created_at=self._clock.now(),
            attestation_roots=parse_root_certificates(data.attestation_roots, "clientAttestation.rootCertificates"),
            dpop_required=data.dpop_required,
        )
        async with self._uow() as uow:
            await uow.wallet_clients.add(client)
            await uow.events.add(management_event(WALLET_CLIENT_CREATED, principal, client.created_at, _data(client)))
            await uow.commit()
        return client

    async def replace_as(self, principal: ManagementPrincipal, id: str, data: WalletClientInput) -> WalletClient:
        """Replace a client's name, redirect URIs and grant types (its clientId stays)."""
        authorize(principal, ISSUERS)
        _check(data)
        async with self._uow() as uow:
            existing = await uow.wallet_clients.get(principal.tenant_id, id)
            if existing is None:
                raise NotFoundError.for_id(id)
            client = WalletClient(
                id=id,
                tenant_id=existing.tenant_id,
                client_id=existing.client_id,
                client_name=data.client_name,
                redirect_uris=tuple(dict.fromkeys(data.redirect_uris)),  # each once, in the order given
                grant_types=tuple(dict.fromkeys(data.grant_types)),
                token_endpoint_auth_method=data.token_endpoint_auth_method,
                created_at=existing.created_at,
                attestation_roots=parse_root_certificates(data.attestation_roots, "clientAttestation.rootCertificates"),
                dpop_required=data.dpop_required,
            )
            await uow.wallet_clients.update(client)
            await uow.events.add(management_event(WALLET_CLIENT_UPDATED, principal, self._clock.now(), _data(client)))
            await uow.commit()
        return client

    async def get_as(self, principal: ManagementPrincipal, id: str) -> WalletClient:
        """Return one client."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            client = await uow.wallet_clients.get(principal.tenant_id, id)
        if client is None:
            raise NotFoundError.for_id(id)
        return client

    async def list_as(self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None) -> Page[WalletClient]:
        """List the tenant's clients."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            return await uow.wallet_clients.list(principal.tenant_id, limit=limit, after=after)

    async def delete_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Delete a client; it can no longer start sign-ins."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            deleted = await uow.wallet_clients.delete(principal.tenant_id, id)
            if deleted:
                await uow.events.add(management_event(WALLET_CLIENT_DELETED, principal, self._clock.now(), {"id": id}))
            await uow.commit()
        if not deleted:
            raise NotFoundError.for_id(id)


def _data(client: WalletClient) -> dict[str, object]:
    return {"id": client.id, "clientId": client.client_id, "redirectUris": list(client.redirect_uris)}
