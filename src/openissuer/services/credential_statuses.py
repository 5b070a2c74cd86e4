"""The status of issued credentials through the management API (reference §10.1, §10.3): read and set one
credential's status, delete a credential's record, and set the status of every credential of a user at once.

Each operation is one unit of work; statuses change only through ``credential_status.change_status``. Which kind of
list a record's entry is on follows from its profile (the format that issued it). Deleting a record removes the
metadata only: the holder keeps the credential and its list entry keeps its status, but it can no longer be
changed (set the status first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.pages import PageKey
from openissuer.domain.status_lists import INVALID, StatusListKind
from openissuer.errors import ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.services.access import ISSUERS, READERS_AND_ISSUERS, authorize
from openissuer.services.credential_status import change_status, status_in, statuses_of, verify_transition

_PAGE = 1000


@dataclass(frozen=True)
class UserStatusChange:
    """What setting a user's credentials' status did: the records it changed and those it left (already there, or
    ``invalid`` for good)."""

    status: str
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]


class CredentialStatusService:
    """Statuses of issued credentials, per profile (``kinds``: each format's profile and its kind of list)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, kinds: Mapping[str, StatusListKind]) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._kinds = dict(kinds)

    def statuses_for(self, record: IssuedCredentialRecord) -> tuple[str, ...]:
        """Return the statuses ``record`` may be set to: none without a status-list entry; valid, invalid and
        suspended on an IETF Token Status List (mDoc, SD-JWT VC); valid and revoked on a CWT revocation list."""
        kind = self._kinds.get(record.profile)
        if kind is None or record.status_reference is None:
            return ()
        return statuses_of(kind)

    async def status_as(self, principal: ManagementPrincipal, profile: str, credential_id: str) -> str:
        """Return the status of one of the caller's tenant's credentials of ``profile``."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            record = await self._record(uow, principal.tenant_id, profile, credential_id)
        self._kind_of(record)
        return record.status

    async def set_status_as(
        self,
        principal: ManagementPrincipal,
        profile: str,
        credential_id: str,
        status: str,
        *,
        user_id: str | None = None,
    ) -> str:
        """Set the status of one of the caller's tenant's credentials of ``profile``; return it. With ``user_id``
        (the portal's user page), a credential of another user is not found."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            record = await self._record(uow, principal.tenant_id, profile, credential_id, user_id=user_id)
            verify_transition(self._kind_of(record), record.status, status)
            if await change_status(uow, record, status, now=self._clock.now(), client_id=principal.client_id):
                await uow.commit()
        return status

    async def delete_as(
        self, principal: ManagementPrincipal, profile: str, credential_id: str, *, user_id: str | None = None
    ) -> None:
        """Delete the record of one of the caller's tenant's credentials of ``profile`` (reference §10.3); with
        ``user_id``, only one of that user's."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            await self._record(uow, principal.tenant_id, profile, credential_id, user_id=user_id)
            await uow.issued_credentials.delete(principal.tenant_id, credential_id)
            await uow.commit()

    async def set_user_status_as(self, principal: ManagementPrincipal, user_id: str, status: str) -> UserStatusChange:
        """Set ``status`` on every credential of the user that has a status-list entry, in one transaction: an
        mDoc's or SD-JWT VC's becomes ``status`` (one already ``invalid`` stays so); a CWT's is revoked for
        ``invalid`` and ``suspended``, un-revoked for ``valid``."""
        authorize(principal, ISSUERS)
        updated: list[str] = []
        unchanged: list[str] = []
        now = self._clock.now()
        async with self._uow() as uow:
            if await uow.users.get(principal.tenant_id, user_id) is None:
                raise NotFoundError(
                    "Resource Not Found", details=[ErrorDetail("params", "userId", "Resource Not Found")]
                )
            after: PageKey | None = None
            records: list[IssuedCredentialRecord] = []
            while True:
                page = await uow.issued_credentials.list(principal.tenant_id, limit=_PAGE, after=after, user_id=user_id)
                records += page.items
                if page.next_key is None:
                    break
                after = page.next_key
            for record in records:
                kind = self._kinds.get(record.profile)
                if kind is None or record.status_reference is None:
                    continue
                target = status_in(kind, status)
                if record.status == INVALID and target != INVALID:
                    unchanged.append(record.id)
                elif await change_status(uow, record, target, now=now, client_id=principal.client_id):
                    updated.append(record.id)
                else:
                    unchanged.append(record.id)
            await uow.commit()
        return UserStatusChange(status, tuple(updated), tuple(unchanged))

    async def _record(
        self, uow: UnitOfWork, tenant_id: str, profile: str, credential_id: str, *, user_id: str | None = None
    ) -> IssuedCredentialRecord:
        record = await uow.issued_credentials.get(tenant_id, credential_id)
        if record is None or record.profile != profile or (user_id is not None and record.user_id != user_id):
            detail = ErrorDetail("params", "credentialId", "Resource Not Found", credential_id)
            raise NotFoundError("Resource Not Found", details=[detail])
        return record

    def _kind_of(self, record: IssuedCredentialRecord) -> StatusListKind:
        kind = self._kinds.get(record.profile)
        if kind is None or record.status_reference is None:
            raise ValidationError(
                "The credential has no status",
                details=[
                    ErrorDetail("params", "credentialId", "was not issued with a status (includeStatus)", record.id)
                ],
            )
        return kind
