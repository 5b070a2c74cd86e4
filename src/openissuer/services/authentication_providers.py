"""The tenant's authentication provider (reference platform §5.1): the upstream OpenID Connect IdP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.authorization import DEFAULT_PROVIDER_SCOPE, TOKEN_AUTH_METHODS, AuthenticationProvider
from openissuer.domain.events import PROVIDER_CREATED, PROVIDER_DELETED, PROVIDER_UPDATED
from openissuer.domain.ids import new_id
from openissuer.domain.pages import MAX_PAGE_LIMIT, Page, PageKey
from openissuer.errors import ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.secrets import SecretBox
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.access import ISSUERS, READERS_AND_ISSUERS, authorize
from openissuer.services.audit import management_event

MAX_PARAMETERS = 1000
MAX_VALUE_LENGTH = 1000
# Parameters openissuer itself sets on the request to the provider; configuration must not override them.
SET_BY_OPENISSUER = frozenset(
    {"response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"}
)
# Parameters that would replace or reshape the request openissuer builds (OpenID Connect Core §6: a request object
# by value or reference; §3.1.2.1 response_mode, whose form_post would answer a callback that only takes GET;
# §7.2.1 registration): neither a wallet (forwarded) nor the configuration (static) may add them.
RESHAPING_PARAMETERS = frozenset({"request", "request_uri", "response_mode", "registration"})
RESERVED_PARAMETERS = SET_BY_OPENISSUER | RESHAPING_PARAMETERS


def secret_aad(provider_id: str) -> bytes:
    """The associated data binding a sealed client secret to its provider."""
    return f"openissuer/authentication-provider/{provider_id}".encode()


def mask_secret(hint: str) -> str:
    """The read form of a write-only secret: ``****`` and its last four characters."""
    return f"****{hint}"


# An upstream provider's client credentials: generous (identity providers issue ids and secrets of a few dozen to a
# few hundred characters), but bounded: they are stored, sent on every sign-in and shown (masked) in responses.
MAX_PROVIDER_CLIENT_ID_LENGTH = 1024
MAX_PROVIDER_CLIENT_SECRET_LENGTH = 4096


@dataclass(frozen=True)
class ProviderInput:
    """A create or replace request; ``client_secret`` None on replace keeps the stored secret."""

    url: str
    client_id: str
    client_secret: str | None
    scope: tuple[str, ...] | None = None
    token_endpoint_auth_method: str = "client_secret_basic"
    static_request_parameters: dict[str, Any] = field(default_factory=dict)
    forwarded_request_parameters: tuple[str, ...] = ()
    claims_to_persist: tuple[str, ...] = ()


class AuthenticationProviderService:
    """Create, read, replace and delete the tenant's authentication provider."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        box: SecretBox,
        validate_url: Callable[[str], str],
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._box = box
        self._validate_url = validate_url

    def _check(self, data: ProviderInput, *, creating: bool) -> tuple[str, tuple[str, ...]]:
        details: list[ErrorDetail] = []
        url = data.url
        try:
            url = self._validate_url(data.url)
        except ValueError as exc:
            details.append(ErrorDetail("body", "url", str(exc), data.url))
        scope = data.scope if data.scope is not None else DEFAULT_PROVIDER_SCOPE
        if "openid" not in scope:
            details.append(ErrorDetail("body", "scope", "must contain openid", list(scope)))
        if not data.client_id:
            details.append(ErrorDetail("body", "clientId", "is required"))
        elif len(data.client_id) > MAX_PROVIDER_CLIENT_ID_LENGTH:
            details.append(
                ErrorDetail("body", "clientId", f"must be at most {MAX_PROVIDER_CLIENT_ID_LENGTH} characters")
            )
        if creating and not data.client_secret:
            details.append(ErrorDetail("body", "clientSecret", "is required"))
        elif data.client_secret and len(data.client_secret) > MAX_PROVIDER_CLIENT_SECRET_LENGTH:
            details.append(
                ErrorDetail("body", "clientSecret", f"must be at most {MAX_PROVIDER_CLIENT_SECRET_LENGTH} characters")
            )
        if data.token_endpoint_auth_method not in TOKEN_AUTH_METHODS:
            details.append(
                ErrorDetail(
                    "body",
                    "tokenEndpointAuthMethod",
                    f"must be one of {', '.join(TOKEN_AUTH_METHODS)}",
                    data.token_endpoint_auth_method,
                )
            )
        details += _parameter_problems(data)
        if details:
            raise ValidationError("Validation Error", details=details)
        return url, tuple(scope)

    async def create_as(self, principal: ManagementPrincipal, data: ProviderInput) -> AuthenticationProvider:
        """Create the tenant's provider (409 when it has one)."""
        authorize(principal, ISSUERS)
        url, scope = self._check(data, creating=True)
        now = self._clock.now()
        id = new_id()
        assert data.client_secret is not None
        provider = self._build(id, principal.tenant_id, data, url, scope, data.client_secret, now, now)
        async with self._uow() as uow:
            await uow.authentication_providers.add(provider)
            await uow.events.add(management_event(PROVIDER_CREATED, principal, now, {"providerId": id, "url": url}))
            await uow.commit()
        return provider

    async def replace_as(self, principal: ManagementPrincipal, id: str, data: ProviderInput) -> AuthenticationProvider:
        """Replace the provider's fields; the secret is kept unless a new one is given."""
        authorize(principal, ISSUERS)
        url, scope = self._check(data, creating=False)
        async with self._uow() as uow:
            existing = await uow.authentication_providers.get(principal.tenant_id, id)
            if existing is None:
                raise NotFoundError.for_id(id)
            secret = data.client_secret or self.client_secret(existing)
            provider = self._build(
                id, principal.tenant_id, data, url, scope, secret, existing.created_at, self._clock.now()
            )
            await uow.authentication_providers.update(provider)
            await uow.events.add(management_event(PROVIDER_UPDATED, principal, provider.updated_at, {"providerId": id}))
            await uow.commit()
        return provider

    def _build(
        self,
        id: str,
        tenant_id: str,
        data: ProviderInput,
        url: str,
        scope: tuple[str, ...],
        secret: str,
        created_at: datetime,
        updated_at: datetime,
    ) -> AuthenticationProvider:
        return AuthenticationProvider(
            id=id,
            tenant_id=tenant_id,
            url=url,
            scope=scope,
            client_id=data.client_id,
            sealed_client_secret=self._box.seal(secret.encode(), aad=secret_aad(id)),
            secret_hint=secret[-4:] if len(secret) >= 12 else "",
            token_endpoint_auth_method=data.token_endpoint_auth_method,
            static_request_parameters=data.static_request_parameters,
            forwarded_request_parameters=data.forwarded_request_parameters,
            claims_to_persist=data.claims_to_persist,
            created_at=created_at,
            updated_at=updated_at,
        )

    def client_secret(self, provider: AuthenticationProvider) -> str:
        """Return the provider's client secret in clear (for the token request only)."""
        return self._box.open(provider.sealed_client_secret, aad=secret_aad(provider.id)).decode()

    async def get_as(self, principal: ManagementPrincipal, id: str) -> AuthenticationProvider:
        """Return the tenant's provider."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            provider = await uow.authentication_providers.get(principal.tenant_id, id)
        if provider is None:
            raise NotFoundError.for_id(id)
        return provider

    async def list_as(
        self, principal: ManagementPrincipal, *, limit: int = MAX_PAGE_LIMIT, after: PageKey | None = None
    ) -> Page[AuthenticationProvider]:
        """Return a page of the tenant's providers (zero or one), with the usual ``limit`` and cursor."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            provider = await uow.authentication_providers.get_for_tenant(principal.tenant_id)
        if provider is None or (
            after is not None and (provider.created_at, provider.id) <= (after.created_at, after.id)
        ):
            return Page(items=[], next_key=None)
        return Page(items=[provider], next_key=None)

    async def delete_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Delete the provider: Authorization Code sign-ins stop until another is configured."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            deleted = await uow.authentication_providers.delete(principal.tenant_id, id)
            if deleted:
                await uow.events.add(
                    management_event(PROVIDER_DELETED, principal, self._clock.now(), {"providerId": id})
                )
            await uow.commit()
        if not deleted:
            raise NotFoundError.for_id(id)

    async def for_tenant(self, tenant_id: str) -> AuthenticationProvider | None:
        """Return the tenant's provider, if configured."""
        async with self._uow(read_only=True) as uow:
            return await uow.authentication_providers.get_for_tenant(tenant_id)


def _parameter_problems(data: ProviderInput) -> list[ErrorDetail]:
    """Reference §5.1: at most 1000 static parameters, each value's string form under 1000 characters."""
    details = []
    static = data.static_request_parameters
    if len(static) > MAX_PARAMETERS:
        details.append(ErrorDetail("body", "staticRequestParameters", f"at most {MAX_PARAMETERS} parameters"))
    for name, value in static.items():
        if name in RESERVED_PARAMETERS:
            reason = "is set by openissuer" if name in SET_BY_OPENISSUER else "is not allowed"
            details.append(ErrorDetail("body", f"staticRequestParameters.{name}", reason))
        elif isinstance(value, dict | list) or len(str(value)) >= MAX_VALUE_LENGTH:
            details.append(
                ErrorDetail(
                    "body",
                    f"staticRequestParameters.{name}",
                    f"must be a scalar shorter than {MAX_VALUE_LENGTH} characters",
                )
            )
    for name in data.forwarded_request_parameters:
        if name in RESERVED_PARAMETERS or not name:
            details.append(ErrorDetail("body", "forwardedRequestParameters", "cannot forward this parameter", name))
    return details
