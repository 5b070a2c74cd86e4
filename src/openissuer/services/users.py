"""Users (reference platform §5.2): the holders a tenant knows, their persisted claims, and the records of the
credentials issued to them.

A user is created by an offer (``userId`` omitted), by a sign-in at the authentication provider (found again by
provider and subject), or here. Deleting a user deletes its persisted claims; the credentials issued to it stay
valid, and their records stay (they hold no claim values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.authorization import AuthenticationProvider
from openissuer.domain.events import USER_CREATED, USER_DELETED, USER_UPDATED
from openissuer.domain.ids import new_id
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.users import User, UserSearch
from openissuer.errors import ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.services.access import OPERATORS, READERS_AND_OPERATORS, authorize
from openissuer.services.audit import management_event

MAX_SUBJECT_LENGTH = 255


@dataclass(frozen=True)
class SubjectInput:
    """``authenticationProvider {providerId, subjectId}`` of a create or replace request."""

    provider_id: str
    subject_id: str


@dataclass(frozen=True)
class UserInput:
    """A create or replace request (PUT replaces both fields)."""

    claims: dict[str, Any]
    authentication_provider: SubjectInput | None = None


@dataclass(frozen=True)
class UserView:
    """A user with the URL of its authentication provider (when it has one that still exists)."""

    user: User
    provider_url: str | None


class UserService:
    """Manage a tenant's users; search them; list the credentials issued to one."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    async def create_as(self, principal: ManagementPrincipal, data: UserInput) -> UserView:
        """Create a user (409 when another has the same provider subject)."""
        authorize(principal, OPERATORS)
        now = self._clock.now()
        async with self._uow() as uow:
            provider = await self._provider(uow, principal.tenant_id, data.authentication_provider)
            user = User(
                id=new_id(),
                tenant_id=principal.tenant_id,
                claims=data.claims,
                created_at=now,
                updated_at=now,
                authentication_provider_id=provider.id if provider else None,
                subject_id=data.authentication_provider.subject_id if data.authentication_provider else None,
            )
            await uow.users.add(user)
            await uow.events.add(management_event(USER_CREATED, principal, now, _user_data(user)))
            await uow.commit()
        return UserView(user, provider.url if provider else None)

    async def replace_as(self, principal: ManagementPrincipal, id: str, data: UserInput) -> UserView:
        """Replace the user's claims and provider subject."""
        authorize(principal, OPERATORS)
        async with self._uow() as uow:
            existing = await uow.users.get(principal.tenant_id, id)
            if existing is None:
                raise NotFoundError.for_id(id)
            provider = await self._provider(uow, principal.tenant_id, data.authentication_provider)
            user = User(
                id=id,
                tenant_id=principal.tenant_id,
                claims=data.claims,
                created_at=existing.created_at,
                updated_at=self._clock.now(),
                authentication_provider_id=provider.id if provider else None,
                subject_id=data.authentication_provider.subject_id if data.authentication_provider else None,
            )
            await uow.users.replace(user)
            await uow.events.add(management_event(USER_UPDATED, principal, user.updated_at, _user_data(user)))
            await uow.commit()
        return UserView(user, provider.url if provider else None)

    async def get_as(self, principal: ManagementPrincipal, id: str) -> UserView:
        """Return one of the tenant's users."""
        authorize(principal, READERS_AND_OPERATORS)
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(principal.tenant_id, id)
            provider = await uow.authentication_providers.get_for_tenant(principal.tenant_id)
        if user is None:
            raise NotFoundError.for_id(id)
        return _view(user, provider)

    async def list_as(self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None) -> Page[UserView]:
        """List the tenant's users."""
        authorize(principal, READERS_AND_OPERATORS)
        async with self._uow(read_only=True) as uow:
            page = await uow.users.list(principal.tenant_id, limit=limit, after=after)
            provider = await uow.authentication_providers.get_for_tenant(principal.tenant_id)
        return Page([_view(user, provider) for user in page.items], page.next_key)

    async def search_as(
        self, principal: ManagementPrincipal, search: UserSearch, *, limit: int, after: PageKey | None
    ) -> Page[UserView]:
        """Find the tenant's users whose claims and provider subject match ``search`` exactly."""
        authorize(principal, READERS_AND_OPERATORS)
        async with self._uow(read_only=True) as uow:
            page = await uow.users.search(principal.tenant_id, search, limit=limit, after=after)
            provider = await uow.authentication_providers.get_for_tenant(principal.tenant_id)
        return Page([_view(user, provider) for user in page.items], page.next_key)

    async def delete_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Delete the user and its persisted claims; issued credentials stay valid."""
        authorize(principal, OPERATORS)
        async with self._uow() as uow:
            deleted = await uow.users.delete(principal.tenant_id, id)
            if deleted:
                await uow.events.add(management_event(USER_DELETED, principal, self._clock.now(), {"userId": id}))
            await uow.commit()
        if not deleted:
            raise NotFoundError.for_id(id)

    async def credentials_as(
        self, principal: ManagementPrincipal, id: str, *, limit: int, after: PageKey | None
    ) -> Page[IssuedCredentialRecord]:
        """List the records of the credentials issued to one of the tenant's users (no claim values in them)."""
        authorize(principal, READERS_AND_OPERATORS)
        async with self._uow(read_only=True) as uow:
            if await uow.users.get(principal.tenant_id, id) is None:
                raise NotFoundError.for_id(id)
            return await uow.issued_credentials.list(principal.tenant_id, limit=limit, after=after, user_id=id)

    @staticmethod
    async def _provider(uow: UnitOfWork, tenant_id: str, subject: SubjectInput | None) -> AuthenticationProvider | None:
        if subject is None:
            return None
        details = []
        provider = await uow.authentication_providers.get(tenant_id, subject.provider_id)
        if provider is None:
            details.append(
                ErrorDetail(
                    "body",
                    "authenticationProvider.providerId",
                    "no authentication provider with this id",
                    subject.provider_id,
                )
            )
        if not subject.subject_id or len(subject.subject_id) > MAX_SUBJECT_LENGTH:
            details.append(
                ErrorDetail("body", "authenticationProvider.subjectId", f"must be 1-{MAX_SUBJECT_LENGTH} characters")
            )
        if details:
            raise ValidationError("Validation Error", details=details)
        return provider


def _view(user: User, provider: AuthenticationProvider | None) -> UserView:
    linked = provider is not None and user.authentication_provider_id == provider.id
    return UserView(user, provider.url if linked and provider is not None else None)


def _user_data(user: User) -> dict[str, object]:
    """A user's event data: its id and the names (never the values) of its persisted claims."""
    return {"userId": user.id, "claimNames": sorted(user.claims), "subjectLinked": user.subject_id is not None}
