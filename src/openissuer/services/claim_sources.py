"""Claims sources (reference platform §6.1): create, read, replace and delete a tenant's sources.

Secrets (the API key, the OAuth client secret) are sealed under the master key and bound to their source; reads
show them masked. A source used by a credential configuration cannot be deleted (409): the configuration would
otherwise point at nothing, and its credentials would silently lose the source's claims.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openissuer.claims.request_parameters import parse_request_parameters
from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.claim_sources import (
    CLIENT_AUTH_METHODS,
    ApiKeyAuthorization,
    AuthorizationType,
    ClaimSource,
    ClaimSourceAuthorization,
    OAuthClientCredentials,
    RequestMethod,
)
from openissuer.domain.events import CLAIM_SOURCE_CREATED, CLAIM_SOURCE_DELETED, CLAIM_SOURCE_UPDATED
from openissuer.domain.ids import new_id
from openissuer.domain.pages import Page, PageKey
from openissuer.errors import ConflictError, ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.secrets import SecretBox
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.services.access import OPERATORS, READERS_AND_OPERATORS, authorize
from openissuer.services.audit import management_event

MAX_NAME_LENGTH = 200
MAX_SECRET_LENGTH = 4096


def claim_source_secret_aad(source_id: str) -> bytes:
    """The associated data binding a sealed secret to its claims source."""
    return f"openissuer/claim-source/{source_id}".encode()


def mask_secret(hint: str) -> str:
    """The read form of a write-only secret: ``****`` and, for long secrets, its last four characters."""
    return f"****{hint}"


@dataclass(frozen=True)
class AuthorizationInput:
    """``authorization`` as the web layer shaped it; secrets None on replace keep the stored one."""

    type: str
    value: str | None = None
    token_endpoint: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    audience: str | None = None
    token_endpoint_auth_method: str = "client_secret_basic"


@dataclass(frozen=True)
class ClaimSourceInput:
    """A create or replace request."""

    name: str
    url: str
    authorization: AuthorizationInput
    request_parameters: dict[str, Any]
    request_method: str = "GET"
    strict: bool = False


class ClaimSourceService:
    """Manage a tenant's claims sources; every write raises the tenant's configuration version."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, box: SecretBox, validate_url: Callable[[str], str]
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._box = box
        self._validate_url = validate_url

    async def create_as(self, principal: ManagementPrincipal, data: ClaimSourceInput) -> ClaimSource:
        """Create a claims source in the caller's tenant (admin, issuer)."""
        authorize(principal, OPERATORS)
        now, id = self._clock.now(), new_id()
        source = self._build(id, principal.tenant_id, data, None, now, now)
        async with self._uow() as uow:
            await uow.claim_sources.add(source)
            await uow.events.add(management_event(CLAIM_SOURCE_CREATED, principal, now, _source_data(source)))
            await uow.commit()
        return source

    async def replace_as(self, principal: ManagementPrincipal, id: str, data: ClaimSourceInput) -> ClaimSource:
        """Replace every field; an omitted secret keeps the stored one when the authorization kind is unchanged."""
        authorize(principal, OPERATORS)
        async with self._uow() as uow:
            existing = await uow.claim_sources.get(principal.tenant_id, id)
            if existing is None:
                raise NotFoundError.for_id(id)
            source = self._build(id, principal.tenant_id, data, existing, existing.created_at, self._clock.now())
            await uow.claim_sources.update(source)
            await uow.events.add(
                management_event(CLAIM_SOURCE_UPDATED, principal, source.updated_at, _source_data(source))
            )
            await uow.commit()
        return source

    async def get_as(self, principal: ManagementPrincipal, id: str) -> ClaimSource:
        """Return one of the tenant's claims sources."""
        authorize(principal, READERS_AND_OPERATORS)
        async with self._uow(read_only=True) as uow:
            source = await uow.claim_sources.get(principal.tenant_id, id)
        if source is None:
            raise NotFoundError.for_id(id)
        return source

    async def list_as(self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None) -> Page[ClaimSource]:
        """List the tenant's claims sources."""
        authorize(principal, READERS_AND_OPERATORS)
        async with self._uow(read_only=True) as uow:
            return await uow.claim_sources.list(principal.tenant_id, limit=limit, after=after)

    async def delete_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Delete a claims source no configuration uses (409 naming the configurations otherwise)."""
        authorize(principal, OPERATORS)
        async with self._uow() as uow:
            # Lock first, then look for references: a configuration committed meanwhile is seen.
            if not await uow.claim_sources.lock(principal.tenant_id, id, exclusive=True):
                raise NotFoundError.for_id(id)
            used_by = await uow.claim_sources.referencing_configurations(principal.tenant_id, id)
            if used_by:
                raise ConflictError(
                    "The claims source is used by credential configurations; change or delete them first",
                    details=[
                        ErrorDetail("params", "id", f"used by credential configuration {ref}", id) for ref in used_by
                    ],
                )
            await uow.claim_sources.delete(principal.tenant_id, id)
            await uow.events.add(
                management_event(CLAIM_SOURCE_DELETED, principal, self._clock.now(), {"claimSourceId": id})
            )
            await uow.commit()

    def _build(
        self,
        id: str,
        tenant_id: str,
        data: ClaimSourceInput,
        existing: ClaimSource | None,
        created_at: datetime,
        updated_at: datetime,
    ) -> ClaimSource:
        details: list[ErrorDetail] = []
        name = data.name.strip()
        if not name or len(name) > MAX_NAME_LENGTH:
            details.append(ErrorDetail("body", "name", f"must be 1-{MAX_NAME_LENGTH} characters", data.name))
        url = self._checked_url(data.url, "url", details)
        if data.request_method not in RequestMethod.__members__:
            details.append(ErrorDetail("body", "requestMethod", "must be GET or POST", data.request_method))
        try:
            parse_request_parameters(data.request_parameters)
        except ValidationError as exc:
            details += exc.details
        authorization = self._authorization(id, data.authorization, existing, details)
        if details or authorization is None:
            raise ValidationError("Validation Error", details=details)
        return ClaimSource(
            id=id,
            tenant_id=tenant_id,
            name=name,
            url=url,
            request_method=RequestMethod(data.request_method),
            request_parameters=data.request_parameters,
            authorization=authorization,
            strict=data.strict,
            created_at=created_at,
            updated_at=updated_at,
        )

    def _checked_url(self, url: str, param: str, details: list[ErrorDetail]) -> str:
        try:
            return self._validate_url(url)
        except ValueError as exc:
            details.append(ErrorDetail("body", param, str(exc), url))
            return url

    def _authorization(
        self, id: str, data: AuthorizationInput, existing: ClaimSource | None, details: list[ErrorDetail]
    ) -> ClaimSourceAuthorization | None:
        """Build the sealed authorization, reusing the stored secret when the request omits it."""
        kept = existing.authorization if existing is not None else None
        if data.type == AuthorizationType.API_KEY:
            secret = data.value
            if secret is None and isinstance(kept, ApiKeyAuthorization):
                return kept
            if not _usable_secret(secret, "authorization.value", details):
                return None
            assert secret is not None
            return ApiKeyAuthorization(self._seal(id, secret), _hint(secret))
        if data.type != AuthorizationType.OAUTH_CLIENT_CREDENTIALS:
            kinds = ", ".join(kind.value for kind in AuthorizationType)
            details.append(ErrorDetail("body", "authorization.type", f"must be one of {kinds}", data.type))
            return None
        found = len(details)
        token_endpoint = self._checked_url(data.token_endpoint or "", "authorization.tokenEndpoint", details)
        if not data.client_id:
            details.append(ErrorDetail("body", "authorization.clientId", "is required"))
        if data.token_endpoint_auth_method not in CLIENT_AUTH_METHODS:
            details.append(
                ErrorDetail(
                    "body",
                    "authorization.tokenEndpointAuthMethod",
                    f"must be one of {', '.join(CLIENT_AUTH_METHODS)}",
                    data.token_endpoint_auth_method,
                )
            )
        secret = data.client_secret
        reuse = secret is None and isinstance(kept, OAuthClientCredentials)
        if not reuse and not _usable_secret(secret, "authorization.clientSecret", details):
            return None
        if len(details) > found or not data.client_id:
            return None
        if reuse:
            assert isinstance(kept, OAuthClientCredentials)
            sealed, hint = kept.sealed_client_secret, kept.hint
        else:
            assert secret is not None
            sealed, hint = self._seal(id, secret), _hint(secret)
        return OAuthClientCredentials(
            token_endpoint=token_endpoint,
            client_id=data.client_id,
            sealed_client_secret=sealed,
            hint=hint,
            token_endpoint_auth_method=data.token_endpoint_auth_method,
            audience=data.audience or None,
        )

    def _seal(self, id: str, secret: str) -> bytes:
        return self._box.seal(secret.encode(), aad=claim_source_secret_aad(id))


async def verify_claim_source_reference(uow: UnitOfWork, tenant_id: str, claim_source_id: str | None) -> None:
    """Raise ``ValidationError`` (param ``claimSourceId``) unless the tenant has this source; hold it (shared)
    so that it cannot be deleted before the caller's unit of work commits."""
    if claim_source_id is None:
        return
    if not await uow.claim_sources.lock(tenant_id, claim_source_id, exclusive=False):
        raise ValidationError(
            "Validation Error",
            details=[ErrorDetail("body", "claimSourceId", "no claims source with this id", claim_source_id)],
        )


def _usable_secret(secret: str | None, param: str, details: list[ErrorDetail]) -> bool:
    if not secret:
        details.append(ErrorDetail("body", param, "is required"))
        return False
    if len(secret) > MAX_SECRET_LENGTH:
        details.append(ErrorDetail("body", param, f"must be at most {MAX_SECRET_LENGTH} characters"))
        return False
    return True


def _hint(secret: str) -> str:
    return secret[-4:] if len(secret) >= 12 else ""


def _source_data(source: ClaimSource) -> dict[str, object]:
    """A claims source's event data: never its secret or request parameters' default values."""
    return {"claimSourceId": source.id, "name": source.name, "url": source.url, "strict": source.strict}
