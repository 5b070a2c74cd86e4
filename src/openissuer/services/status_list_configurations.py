"""Status list configurations (reference §10.1): the ``ttl`` and ``exp`` of one credential type's status list
tokens, per profile (``/v2/credentials/mobile/status-lists/configurations`` by ``docType``, the SD-JWT VC ones by
``vct``). A replace changes the durations only. A change is used from the next time a token is signed (its
revision moves, or the token's ``ttl`` passes); without a configuration the defaults apply
(``domain/status_list_configurations.py``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.durations import Duration
from openissuer.domain.ids import new_id
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.status_list_configurations import StatusListConfiguration
from openissuer.errors import ConflictError, ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.access import ISSUERS, READERS_AND_ISSUERS, authorize

MIN_TIME_TO_LIVE = timedelta(minutes=1)
MAX_EXPIRY = timedelta(days=366)
_MAX_TYPE_LENGTH = 1024


class StatusListConfigurationService:
    """CRUD of one profile's status list configurations; ``type_field`` is the wire name of the credential type."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, profile: str, type_field: str) -> None:
        self._uow = uow_factory
        self._clock = clock
        self.profile = profile
        self.type_field = type_field

    async def create_as(
        self, principal: ManagementPrincipal, credential_type: str, time_to_live: Duration, expiry: Duration
    ) -> StatusListConfiguration:
        """Create the configuration of a credential type; 409 when it has one."""
        authorize(principal, ISSUERS)
        problems = self._problems(time_to_live, expiry)
        if not credential_type.strip() or len(credential_type) > _MAX_TYPE_LENGTH:
            problems.append(ErrorDetail("body", self.type_field, f"must be 1-{_MAX_TYPE_LENGTH} characters"))
        if problems:
            raise ValidationError("Validation Error", details=problems)
        now = self._clock.now()
        configuration = StatusListConfiguration(
            new_id(), principal.tenant_id, self.profile, credential_type, time_to_live, expiry, now, now
        )
        async with self._uow() as uow:
            try:
                await uow.status_list_configurations.add(configuration)
            except ConflictError as exc:
                detail = ErrorDetail(
                    "body", self.type_field, "already has a status list configuration", credential_type
                )
                raise ConflictError(exc.description, details=[detail]) from exc
            await uow.commit()
        return configuration

    async def get_as(self, principal: ManagementPrincipal, id: str) -> StatusListConfiguration:
        """Return one of the caller's tenant's configurations."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            found = await uow.status_list_configurations.get(principal.tenant_id, id)
        if found is None or found.profile != self.profile:
            raise NotFoundError.for_id(id)
        return found

    async def list_as(
        self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None
    ) -> Page[StatusListConfiguration]:
        """List the caller's tenant's configurations of this profile."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            return await uow.status_list_configurations.list(
                principal.tenant_id, self.profile, limit=limit, after=after
            )

    async def replace_as(
        self,
        principal: ManagementPrincipal,
        id: str,
        time_to_live: Duration,
        expiry: Duration,
        credential_type: str | None = None,
    ) -> StatusListConfiguration:
        """Replace the durations of a configuration; its credential type cannot change (400)."""
        authorize(principal, ISSUERS)
        problems = self._problems(time_to_live, expiry)
        async with self._uow() as uow:
            found = await uow.status_list_configurations.get(principal.tenant_id, id)
            if found is None or found.profile != self.profile:
                raise NotFoundError.for_id(id)
            if credential_type is not None and credential_type != found.credential_type:
                problems.append(ErrorDetail("body", self.type_field, "cannot be changed", credential_type))
            if problems:
                raise ValidationError("Validation Error", details=problems)
            updated = replace(found, time_to_live=time_to_live, expiry=expiry, updated_at=self._clock.now())
            await uow.status_list_configurations.update(updated)
            await uow.commit()
        return updated

    async def delete_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Delete a configuration: the defaults apply again."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            found = await uow.status_list_configurations.get(principal.tenant_id, id)
            if found is None or found.profile != self.profile:
                raise NotFoundError.for_id(id)
            await uow.status_list_configurations.delete(principal.tenant_id, id)
            await uow.commit()

    def _problems(self, time_to_live: Duration, expiry: Duration) -> list[ErrorDetail]:
        now = self._clock.now()
        ttl, exp = time_to_live.add_to(now) - now, expiry.add_to(now) - now
        problems: list[ErrorDetail] = []
        if ttl < MIN_TIME_TO_LIVE:
            problems.append(ErrorDetail("body", "timeToLiveDuration", "must be at least one minute"))
        if not ttl <= exp <= MAX_EXPIRY:
            problems.append(
                ErrorDetail(
                    "body", "expiryDuration", f"must be at least timeToLiveDuration and at most {MAX_EXPIRY.days} days"
                )
            )
        return problems
