"""Rows of the SQL drivers (asyncpg records, ``sqlite3.Row``, SQLAlchemy rows) as domain objects and back.

The drivers differ only in how times and JSON arrive, so those two conversions are arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.offers import AccessGrant, PreAuthorizedOffer, TxCodeConfiguration, TxCodeInputMode

TimeOf = Callable[[Any], datetime | None]


def as_is(value: Any) -> Any:
    """The conversion of a driver that already gives (or takes) the Python value."""
    return value


JsonOf = Callable[[Any], Any]


def offer_from_row(row: Any, time_of: TimeOf, json_of: JsonOf) -> PreAuthorizedOffer:
    """Return the offer of an ``offers`` row."""
    tx_code = None
    if row["tx_code_input_mode"] is not None:
        tx_code = TxCodeConfiguration(
            input_mode=TxCodeInputMode(row["tx_code_input_mode"]),
            length=row["tx_code_length"],
            description=row["tx_code_description"],
        )
    return PreAuthorizedOffer(
        id=row["id"],
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        credential_configuration_ids=tuple(json_of(row["credential_configuration_ids"])),
        claims=json_of(row["claims"]),
        code_hash=bytes(row["code_hash"]),
        sealed_code=None if row["sealed_code"] is None else bytes(row["sealed_code"]),
        by_reference=bool(row["by_reference"]),
        expires_at=_required(time_of(row["expires_at"])),
        created_at=_required(time_of(row["created_at"])),
        tx_code=tx_code,
        tx_code_hash=None if row["tx_code_hash"] is None else bytes(row["tx_code_hash"]),
        tx_attempts=int(row["tx_attempts"]),
        locked=bool(row["locked"]),
        redeemed_at=time_of(row["redeemed_at"]),
        claimed_at=time_of(row["claimed_at"]),
        revoked_at=time_of(row["revoked_at"]),
    )


def grant_from_row(row: Any, time_of: TimeOf, json_of: JsonOf) -> AccessGrant:
    """Return the grant of an ``access_grants`` row; a pre-authorized grant's claims are its offer's, read with it
    into ``offer_claims`` (the grant's own column holds ``{}``)."""
    code_hash = row["authorization_code_hash"]
    offered = row["offer_claims"]
    return AccessGrant(
        token_hash=bytes(row["token_hash"]),
        tenant_id=row["tenant_id"],
        offer_id=row["offer_id"],
        authorization_code_hash=None if code_hash is None else bytes(code_hash),
        user_id=row["user_id"],
        credential_configuration_ids=tuple(json_of(row["credential_configuration_ids"])),
        credential_identifiers=dict(json_of(row["credential_identifiers"])),
        notification_id=row["notification_id"],
        claims=json_of(row["claims"] if offered is None else offered),
        provider_url=row["provider_url"],
        subject_id=row["subject_id"],
        expires_at=_required(time_of(row["expires_at"])),
        created_at=_required(time_of(row["created_at"])),
        revoked_at=time_of(row["revoked_at"]),
        user_claims=None if row["user_claims"] is None else json_of(row["user_claims"]),
        client_id=row["client_id"],
        dpop_jkt=row["dpop_jkt"],
    )


def _required(value: datetime | None) -> datetime:
    if value is None:
        raise ValueError("a required time column is NULL")
    return value


def record_values(
    record: IssuedCredentialRecord, time_to: Callable[[datetime], Any], json_to: Callable[[Any], Any]
) -> dict[str, Any]:
    """Return the ``issued_credentials`` row of a record; the drivers differ in how times and JSON are written."""
    reference = record.status_reference
    return {
        "id": record.id,
        "tenant_id": record.tenant_id,
        "configuration_id": record.configuration_id,
        "format": record.format,
        "profile": record.profile,
        "credential_type": record.credential_type,
        "user_id": record.user_id,
        "offer_id": record.offer_id,
        "signer_id": record.signer_id,
        "holder_key_thumbprint": record.holder_key_thumbprint,
        "created_at": time_to(record.issued_at),
        "valid_from": time_to(record.valid_from),
        "valid_until": time_to(record.valid_until),
        "status": record.status,
        "status_list_id": None if reference is None else reference.list_id,
        "status_index": None if reference is None else reference.index,
        "details": json_to(record.details),
        "session_id": record.session_id,
    }
