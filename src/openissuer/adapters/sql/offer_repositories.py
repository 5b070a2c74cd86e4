"""SQL repositories of the Pre-authorized Code flow: users, offers, access grants and nonces.

Single-use things change state with one conditional ``UPDATE ... WHERE <still usable> RETURNING``, so that of two
processes racing for the same code or nonce exactly one sees a row come back (DESIGN.md §2).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.rows import as_utc, insert_unless_taken, to_db_time
from openissuer.adapters.sql.tables import access_grants, grant_issuances, nonces, offers, users
from openissuer.domain.offers import (
    AccessGrant,
    IssuanceContext,
    PreAuthorizedOffer,
    TxCodeConfiguration,
    TxCodeInputMode,
)
from openissuer.domain.users import User
from openissuer.errors import ConflictError, ErrorDetail


def _opt_time(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


# Hot-path statements are built once: SQLAlchemy then reuses their cache keys and compiled forms (building a
# statement and its cache key costs ~30 µs per call; a prebuilt one ~0.3 µs).
def _still_redeemable(now: Any) -> tuple[Any, ...]:
    """The SQL form of ``PreAuthorizedOffer.is_redeemable``: not redeemed, revoked or locked, and unexpired."""
    return (
        offers.c.redeemed_at.is_(None),
        offers.c.revoked_at.is_(None),
        offers.c.locked.is_(False),
        offers.c.expires_at > now,
    )


_REDEEM_BY_CODE = (
    update(offers)
    .where(
        offers.c.tenant_id == bindparam("tenant"),
        offers.c.code_hash == bindparam("p_code_hash"),
        offers.c.tx_code_hash.is_(None),
        *_still_redeemable(bindparam("now")),
    )
    .values(redeemed_at=bindparam("now"), sealed_code=None)
    .returning(*offers.c)
)
_MARK_CLAIMED = (
    update(offers)
    .where(offers.c.tenant_id == bindparam("tenant"), offers.c.id == bindparam("p_id"), offers.c.claimed_at.is_(None))
    .values(claimed_at=bindparam("now"))
)
_GRANT_CONTEXT = (
    select(access_grants, users.c.claims.label("user_claims"))
    .outerjoin(users, (users.c.id == access_grants.c.user_id) & (users.c.tenant_id == access_grants.c.tenant_id))
    .where(access_grants.c.token_hash == bindparam("token_hash"))
)
_CONSUME_NONCE = (
    update(nonces)
    .where(
        nonces.c.nonce_hash == bindparam("p_nonce_hash"),
        nonces.c.tenant_id == bindparam("tenant"),
        nonces.c.consumed_at.is_(None),
        nonces.c.expires_at > bindparam("now"),
    )
    .values(consumed_at=bindparam("now"))
    .returning(nonces.c.nonce_hash)
)
_INSERT_IF_ABSENT = {
    name: dialect.insert(grant_issuances).on_conflict_do_nothing().returning(grant_issuances.c.token_hash)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _user_from_row(row: Any) -> User:
    return User(
        id=row.id,
        tenant_id=row.tenant_id,
        claims=row.claims,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        authentication_provider_id=row.authentication_provider_id,
        subject_id=row.subject_id,
    )


class SqlUserRepository:
    """Users in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, user: User) -> None:
        """Insert a user; another user for the same provider and subject is a ConflictError (insert_unless_taken)."""
        values = {
            "id": user.id,
            "tenant_id": user.tenant_id,
            "claims": user.claims,
            "created_at": to_db_time(user.created_at),
            "updated_at": to_db_time(user.updated_at),
            "authentication_provider_id": user.authentication_provider_id,
            "subject_id": user.subject_id,
        }
        if not await insert_unless_taken(self._conn, users, values):
            raise ConflictError(
                "A user for this subject already exists",
                details=[ErrorDetail("body", "subjectId", "already exists", user.subject_id)],
            )

    async def get(self, tenant_id: str, id: str) -> User | None:
        """Return the tenant's user or None."""
        row = (await self._conn.execute(select(users).where(users.c.tenant_id == tenant_id, users.c.id == id))).first()
        return None if row is None else _user_from_row(row)

    async def find_by_subject(self, tenant_id: str, provider_id: str, subject_id: str) -> User | None:
        """Return the user an identity provider knows by ``subject_id``."""
        query = select(users).where(
            users.c.tenant_id == tenant_id,
            users.c.authentication_provider_id == provider_id,
            users.c.subject_id == subject_id,
        )
        row = (await self._conn.execute(query)).first()
        return None if row is None else _user_from_row(row)

    async def update_claims(self, tenant_id: str, id: str, claims: dict[str, Any], now: datetime) -> bool:
        """Replace the persisted claims."""
        query = (
            update(users)
            .where(users.c.tenant_id == tenant_id, users.c.id == id)
            .values(claims=claims, updated_at=to_db_time(now))
        )
        return bool((await self._conn.execute(query)).rowcount)


def _offer_from_row(row: Any) -> PreAuthorizedOffer:
    tx_code = None
    if row.tx_code_input_mode is not None:
        tx_code = TxCodeConfiguration(
            input_mode=TxCodeInputMode(row.tx_code_input_mode),
            length=row.tx_code_length,
            description=row.tx_code_description,
        )
    return PreAuthorizedOffer(
        id=row.id,
        tenant_id=row.tenant_id,
        user_id=row.user_id,
        credential_configuration_ids=tuple(row.credential_configuration_ids),
        claims=row.claims,
        code_hash=bytes(row.code_hash),
        sealed_code=None if row.sealed_code is None else bytes(row.sealed_code),
        by_reference=bool(row.by_reference),
        expires_at=as_utc(row.expires_at),
        created_at=as_utc(row.created_at),
        tx_code=tx_code,
        tx_code_hash=None if row.tx_code_hash is None else bytes(row.tx_code_hash),
        tx_attempts=row.tx_attempts,
        locked=bool(row.locked),
        redeemed_at=_opt_time(row.redeemed_at),
        claimed_at=_opt_time(row.claimed_at),
        revoked_at=_opt_time(row.revoked_at),
    )


class SqlOfferRepository:
    """Pre-authorized offers in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, offer: PreAuthorizedOffer) -> None:
        """Insert an offer."""
        tx = offer.tx_code
        await self._conn.execute(
            insert(offers).values(
                id=offer.id,
                tenant_id=offer.tenant_id,
                user_id=offer.user_id,
                credential_configuration_ids=list(offer.credential_configuration_ids),
                claims=offer.claims,
                code_hash=offer.code_hash,
                sealed_code=offer.sealed_code,
                by_reference=offer.by_reference,
                tx_code_input_mode=None if tx is None else tx.input_mode.value,
                tx_code_length=None if tx is None else tx.length,
                tx_code_description=None if tx is None else tx.description,
                tx_code_hash=offer.tx_code_hash,
                tx_attempts=offer.tx_attempts,
                locked=offer.locked,
                expires_at=to_db_time(offer.expires_at),
                created_at=to_db_time(offer.created_at),
            )
        )

    async def _one(self, *conditions: Any) -> PreAuthorizedOffer | None:
        row = (await self._conn.execute(select(offers).where(*conditions))).first()
        return None if row is None else _offer_from_row(row)

    async def get(self, tenant_id: str, id: str) -> PreAuthorizedOffer | None:
        """Return the tenant's offer or None."""
        return await self._one(offers.c.tenant_id == tenant_id, offers.c.id == id)

    async def find_by_code_hash(self, tenant_id: str, code_hash: bytes) -> PreAuthorizedOffer | None:
        """Return the offer of a pre-authorized code."""
        return await self._one(offers.c.tenant_id == tenant_id, offers.c.code_hash == code_hash)

    async def record_failed_tx_code(self, tenant_id: str, id: str, max_attempts: int) -> int:
        """Count a wrong transaction code and lock at ``max_attempts``, in one statement."""
        query = (
            update(offers)
            .where(offers.c.tenant_id == tenant_id, offers.c.id == id)
            .values(
                tx_attempts=offers.c.tx_attempts + 1,
                locked=offers.c.locked | (offers.c.tx_attempts + 1 >= max_attempts),
            )
            .returning(offers.c.tx_attempts)
        )
        row = (await self._conn.execute(query)).first()
        return 0 if row is None else int(row.tx_attempts)

    async def redeem(self, tenant_id: str, id: str, now: datetime) -> bool:
        """Redeem the offer if it is still redeemable; the sealed code is wiped with it."""
        query = (
            update(offers)
            .where(offers.c.tenant_id == tenant_id, offers.c.id == id, *_still_redeemable(to_db_time(now)))
            .values(redeemed_at=to_db_time(now), sealed_code=None)
            .returning(offers.c.id)
        )
        return (await self._conn.execute(query)).first() is not None

    async def redeem_by_code(self, tenant_id: str, code_hash: bytes, now: datetime) -> PreAuthorizedOffer | None:
        """Redeem an offer without transaction code by its code, in one statement."""
        parameters = {"tenant": tenant_id, "p_code_hash": code_hash, "now": to_db_time(now)}
        row = (await self._conn.execute(_REDEEM_BY_CODE, parameters)).first()
        if row is None:
            return None
        return dataclasses.replace(_offer_from_row(row), redeemed_at=None)

    async def revoke(self, tenant_id: str, id: str, now: datetime) -> bool:
        """Revoke an unredeemed offer; the sealed code is wiped."""
        query = (
            update(offers)
            .where(
                offers.c.tenant_id == tenant_id,
                offers.c.id == id,
                offers.c.redeemed_at.is_(None),
                offers.c.revoked_at.is_(None),
            )
            .values(revoked_at=to_db_time(now), sealed_code=None)
            .returning(offers.c.id)
        )
        return (await self._conn.execute(query)).first() is not None

    async def mark_claimed(self, tenant_id: str, id: str, now: datetime) -> None:
        """Set ``claimed_at`` the first time credentials are issued for the offer."""
        await self._conn.execute(_MARK_CLAIMED, {"tenant": tenant_id, "p_id": id, "now": to_db_time(now)})


class SqlAccessGrantRepository:
    """Access grants in SQL, keyed by the token's hash."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, grant: AccessGrant) -> None:
        """Insert a grant."""
        await self._conn.execute(
            insert(access_grants).values(
                token_hash=grant.token_hash,
                tenant_id=grant.tenant_id,
                offer_id=grant.offer_id,
                authorization_code_hash=grant.authorization_code_hash,
                user_id=grant.user_id,
                credential_configuration_ids=list(grant.credential_configuration_ids),
                credential_identifiers=grant.credential_identifiers,
                notification_id=grant.notification_id,
                claims=grant.claims,
                provider_url=grant.provider_url,
                subject_id=grant.subject_id,
                expires_at=to_db_time(grant.expires_at),
                created_at=to_db_time(grant.created_at),
            )
        )

    async def get_context(self, token_hash: bytes) -> IssuanceContext | None:
        """Return the grant with the user's persisted claims in one query."""
        row = (await self._conn.execute(_GRANT_CONTEXT, {"token_hash": token_hash})).first()
        if row is None:
            return None
        grant = AccessGrant(
            token_hash=bytes(row.token_hash),
            tenant_id=row.tenant_id,
            offer_id=row.offer_id,
            authorization_code_hash=None if row.authorization_code_hash is None else bytes(row.authorization_code_hash),
            user_id=row.user_id,
            credential_configuration_ids=tuple(row.credential_configuration_ids),
            credential_identifiers=dict(row.credential_identifiers),
            notification_id=row.notification_id,
            claims=row.claims,
            provider_url=row.provider_url,
            subject_id=row.subject_id,
            expires_at=as_utc(row.expires_at),
            created_at=as_utc(row.created_at),
            revoked_at=_opt_time(row.revoked_at),
        )
        return IssuanceContext(grant=grant, user_claims=row.user_claims or {})

    async def revoke_for_code(self, code_hash: bytes, now: datetime) -> int:
        """Revoke every token issued from an authorization code; return how many."""
        query = (
            update(access_grants)
            .where(access_grants.c.authorization_code_hash == code_hash, access_grants.c.revoked_at.is_(None))
            .values(revoked_at=to_db_time(now))
        )
        return int((await self._conn.execute(query)).rowcount or 0)

    async def record_issuance(self, token_hash: bytes, configuration_id: str, now: datetime) -> bool:
        """Insert the issuance marker; a duplicate means the credentials were already issued.

        ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL and SQLite alike): no savepoint needed.
        """
        values = {
            "token_hash": token_hash,
            "credential_configuration_id": configuration_id,
            "created_at": to_db_time(now),
        }
        statement = _INSERT_IF_ABSENT[self._conn.dialect.name]
        return (await self._conn.execute(statement, values)).first() is not None


class SqlNonceRepository:
    """``c_nonce`` values in SQL, by hash."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, tenant_id: str, nonce_hash: bytes, *, expires_at: datetime, created_at: datetime) -> None:
        """Insert a nonce."""
        await self._conn.execute(
            insert(nonces).values(
                nonce_hash=nonce_hash,
                tenant_id=tenant_id,
                expires_at=to_db_time(expires_at),
                created_at=to_db_time(created_at),
            )
        )

    async def consume(self, tenant_id: str, nonce_hash: bytes, now: datetime) -> bool:
        """Use the nonce up if it is unused and unexpired."""
        parameters = {"p_nonce_hash": nonce_hash, "tenant": tenant_id, "now": to_db_time(now)}
        return (await self._conn.execute(_CONSUME_NONCE, parameters)).first() is not None

    async def purge_expired(self, now: datetime) -> int:
        """Delete expired nonces."""
        result = await self._conn.execute(delete(nonces).where(nonces.c.expires_at <= to_db_time(now)))
        return int(result.rowcount or 0)
