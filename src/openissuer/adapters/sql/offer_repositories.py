"""SQL repositories of offers and access grants for the management side and the Authorization Code flow.

The wallet endpoints' own statements (redeeming codes, issuing) are in the driver-level wallet stores
(``postgres_wallet_store.py``, ``sqlite_wallet_store.py``). Single-use things change state with one conditional
``UPDATE ... WHERE <still usable> RETURNING``, so that of two processes racing exactly one sees a row come back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.rows import as_utc, to_db_time
from openissuer.adapters.sql.tables import access_grants, offer_claims, offers, users
from openissuer.domain.offers import (
    AccessGrant,
    PreAuthorizedOffer,
    TxCodeConfiguration,
    TxCodeInputMode,
)


def _opt_time(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


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
        credential_offer_endpoint=row.credential_offer_endpoint,
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
                credential_offer_endpoint=offer.credential_offer_endpoint,
            )
        )
        await self._conn.execute(insert(offer_claims).values(offer_id=offer.id, claims=offer.claims))

    async def _one(self, *conditions: Any) -> PreAuthorizedOffer | None:
        joined = offers.join(offer_claims, offer_claims.c.offer_id == offers.c.id)
        query = select(offers, offer_claims.c.claims).select_from(joined).where(*conditions)
        row = (await self._conn.execute(query)).first()
        return None if row is None else _offer_from_row(row)

    async def get(self, tenant_id: str, id: str) -> PreAuthorizedOffer | None:
        """Return the tenant's offer or None."""
        return await self._one(offers.c.tenant_id == tenant_id, offers.c.id == id)

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


class SqlAccessGrantRepository:
    """Access grants in SQL, keyed by the token's hash."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, grant: AccessGrant) -> None:
        """Insert a grant with a snapshot of its user's persisted claims (``user_claims``), read in the same
        statement."""
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
                # By the user's primary key alone, the tenant compared in the expression: an indexable tenant
                # condition lets PostgreSQL pick a tenant-leading index when the table has no statistics
                # (postgres_wallet_store.py, USER_CLAIMS_OF_GRANT).
                user_claims=select(case((users.c.tenant_id == grant.tenant_id, users.c.claims)))
                .where(users.c.id == grant.user_id)
                .scalar_subquery(),
                provider_url=grant.provider_url,
                subject_id=grant.subject_id,
                client_id=grant.client_id,
                dpop_jkt=grant.dpop_jkt,
                expires_at=to_db_time(grant.expires_at),
                created_at=to_db_time(grant.created_at),
            )
        )

    async def revoke_for_code(self, code_hash: bytes, now: datetime) -> int:
        """Revoke every token issued from an authorization code; return how many."""
        query = (
            update(access_grants)
            .where(access_grants.c.authorization_code_hash == code_hash, access_grants.c.revoked_at.is_(None))
            .values(revoked_at=to_db_time(now))
        )
        return int((await self._conn.execute(query)).rowcount or 0)
