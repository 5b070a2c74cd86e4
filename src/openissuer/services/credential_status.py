"""The status of issued credentials on status lists, the same for every kind of list: the one place where a
credential's status changes (``change_status``), inside the caller's unit of work.

A change sets the record's status (what the management API shows) and the list's entry (what the list publishes;
it outlives a deleted record), and raises the list's revision, so every process re-signs the list's token from its
next request. The change is conditional on the status the caller read, so two concurrent changes cannot both apply
(an ``invalid`` set by one could otherwise be overwritten by the other).

Statuses per kind: an IETF Token Status List entry (a kind with a ``token_type``) is ``valid``, ``invalid`` (final:
draft-ietf-oauth-status-list §7.1 "revoked, annulled, taken back, recalled or cancelled"; reference §10.1
"irreversible") or ``suspended`` (the reference's legacy value, §7.1 0x02: "temporarily invalid"); a CWT
revocation list entry is ``valid`` or ``revoked``, both ways.
"""

from __future__ import annotations

from datetime import datetime

from openissuer.domain.events import STATUS_CHANGED
from openissuer.domain.ids import new_id
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.status_lists import INVALID, REVOKED, SUSPENDED, VALID, StatusListKind
from openissuer.domain.webhooks import WebhookEventType, WebhookMessage
from openissuer.errors import ConflictError, ErrorDetail, ValidationError
from openissuer.ports.uow import UnitOfWork
from openissuer.protocol.webhooks import format_timestamp
from openissuer.services.audit import audit_event

IETF_STATUSES = (VALID, INVALID, SUSPENDED)
REVOCATION_STATUSES = (VALID, REVOKED)


def statuses_of(kind: StatusListKind) -> tuple[str, ...]:
    """Return the statuses an entry of ``kind`` may have."""
    return IETF_STATUSES if kind.media_type is not None else REVOCATION_STATUSES


def status_in(kind: StatusListKind, requested: str) -> str:
    """Return the status of ``kind`` that ``requested`` (an IETF status: valid, invalid, suspended) means: a CWT
    revocation list knows only valid and revoked, which invalid and suspended both become."""
    if kind.media_type is not None:
        return requested
    return VALID if requested == VALID else REVOKED


def verify_transition(kind: StatusListKind, current: str, new: str) -> None:
    """Refuse a status the kind does not have (400), and leaving ``invalid`` (409)."""
    if new not in statuses_of(kind):
        allowed = ", ".join(statuses_of(kind))
        raise ValidationError(
            "Validation Error", details=[ErrorDetail("body", "status", f"must be one of {allowed}", new)]
        )
    if current == INVALID and new != INVALID:
        raise ConflictError(
            "The credential is invalid, which is final: its status cannot change any more",
            details=[ErrorDetail("body", "status", f"cannot change from invalid to {new}", new)],
        )


async def change_status(
    uow: UnitOfWork, record: IssuedCredentialRecord, status: str, *, now: datetime, client_id: str | None
) -> bool:
    """Move ``record`` (as read in ``uow``) to ``status``: its record, its list entry and its list's revision, in
    ``uow``'s transaction (the caller commits), with the ``CREDENTIAL_STATUS_UPDATE_SUCCESS`` event and the
    ``CredentialStatusUpdated`` webhook message of the change (``client_id``: the management API client that made
    it). Return False, and record nothing, when it already had ``status``.

    ConflictError when the record changed since it was read (a concurrent change won).
    """
    reference = record.status_reference
    if reference is None:
        raise ValueError("the credential has no status-list entry")
    if record.status == status:
        return False
    if not await uow.issued_credentials.set_status(record.tenant_id, record.id, status, expected=record.status):
        raise ConflictError("The credential's status was changed concurrently; read it and try again")
    await uow.status_lists.set_entry(record.tenant_id, reference.list_id, reference.index, status)
    await uow.status_lists.bump_revision(record.tenant_id, reference.list_id)
    data = {
        "credentialId": record.id,
        "credentialProfile": record.profile,
        "credentialConfigurationId": record.configuration_id,
        "userId": record.user_id,
        "previousStatus": record.status,
        "status": status,
        "statusListId": reference.list_id,
    }
    await uow.events.add(audit_event(STATUS_CHANGED, record.tenant_id, now, data, client_id=client_id))
    payload = {**data, "updatedAt": format_timestamp(now)}
    message = WebhookMessage(new_id(), record.tenant_id, WebhookEventType.CREDENTIAL_STATUS_UPDATED.value, now, payload)
    await uow.outbox.enqueue([message])
    return True


async def add_initial_status(uow: UnitOfWork, record: IssuedCredentialRecord) -> None:
    """Publish the status of a record issued with one other than ``valid`` (the CWT sign API's ``isRevoked``), in
    ``uow``'s transaction with the record's insert."""
    reference = record.status_reference
    if reference is None or record.status == VALID:
        return
    await uow.status_lists.set_entry(record.tenant_id, reference.list_id, reference.index, record.status)
    await uow.status_lists.bump_revision(record.tenant_id, reference.list_id)
