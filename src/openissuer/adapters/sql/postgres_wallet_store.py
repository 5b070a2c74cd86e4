"""The wallet store on PostgreSQL with asyncpg: every call is one prepared statement, one round trip, autocommit.

A statement that changes several tables is one statement with data-modifying CTEs, each later step depending on
the earlier one's output (so a nonce used meanwhile, or a passed bound, stops the rest), atomic as any statement.
asyncpg prepares each statement once per connection and reuses it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from openissuer.adapters.sql.event_rows import event_values, message_values
from openissuer.adapters.sql.wallet_rows import as_is, grant_from_row, offer_from_row, record_values
from openissuer.domain.events import Event
from openissuer.domain.offers import GrantState, PreAuthorizedOffer
from openissuer.domain.webhooks import WebhookMessage
from openissuer.ports.wallet_store import IssuanceWrite, IssuanceWriteOutcome, NewGrant

# Audit events and webhook messages ride in the statement of the change they record (ports/wallet_store.py). They
# arrive as JSON arrays; a message becomes one delivery per active webhook of its tenant subscribed to its type.
EVENT_COLUMNS = "id, tenant_id, type, category, created_at, request_id, client_id, data"
EVENT_RECORD = (
    "e(id text, tenant_id text, type text, category text, created_at timestamptz, request_id text, client_id text, "
    "data jsonb, on_lock boolean)"
)
MESSAGE_RECORD = "m(id text, tenant_id text, type text, created_at timestamptz, payload jsonb)"
DELIVERY_COLUMNS = (
    "id, tenant_id, webhook_id, event_id, event_type, event_timestamp, payload, status, attempts, next_attempt_at, "
    "created_at"
)
SUBSCRIBED = "JOIN webhooks w ON w.tenant_id = m.tenant_id AND NOT w.disabled AND w.events::jsonb ? m.type"
# The redeemed offer's identity completes the events and messages of a redemption (NewGrant).
OFFER_IDENTITY = (
    "jsonb_build_object('offerId', r.id, 'userId', r.user_id, "
    "'credentialConfigurationIds', r.credential_configuration_ids::jsonb)"
)
REDEMPTION_EVENTS = f"""
, evented AS (
  INSERT INTO events ({EVENT_COLUMNS})
  SELECT e.id, r.tenant_id, e.type, e.category, e.created_at, e.request_id, e.client_id,
    (e.data || {OFFER_IDENTITY})::json
  FROM redeemed r CROSS JOIN jsonb_to_recordset($9::jsonb) AS {EVENT_RECORD}
), queued AS (
  INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS})
  SELECT gen_random_uuid()::text, r.tenant_id, w.id, m.id, m.type, m.created_at, (m.payload || {OFFER_IDENTITY})::json,
    'pending', 0, m.created_at, m.created_at
  FROM redeemed r CROSS JOIN jsonb_to_recordset($10::jsonb) AS {MESSAGE_RECORD}
  JOIN webhooks w ON w.tenant_id = r.tenant_id AND NOT w.disabled AND w.events::jsonb ? m.type
)"""  # noqa: S608 - built from constant fragments, never from input


def with_redemption_events(statement: str) -> str:
    """Return a redemption statement with the CTEs writing its events and messages before its final SELECT."""
    head, _, tail = statement.rpartition("\nSELECT ")
    return f"{head}{REDEMPTION_EVENTS}\nSELECT {tail}"


REDEEM_BY_CODE = """
WITH redeemed AS (
  UPDATE offers SET redeemed_at = $3, sealed_code = NULL
  WHERE tenant_id = $1 AND code_hash = $2 AND tx_code_hash IS NULL
    AND redeemed_at IS NULL AND revoked_at IS NULL AND NOT locked AND expires_at > $3
    AND ($4::jsonb IS NULL OR credential_configuration_ids::jsonb @> $4::jsonb)
  RETURNING *
), granted AS (
  INSERT INTO access_grants (token_hash, tenant_id, offer_id, user_id, credential_configuration_ids,
                             credential_identifiers, notification_id, claims, user_claims, expires_at, created_at)
  SELECT $5, tenant_id, id, user_id, credential_configuration_ids, $6::json, $7, claims,
    (SELECT u.claims FROM users u WHERE u.id = redeemed.user_id AND u.tenant_id = redeemed.tenant_id), $8, $3
  FROM redeemed
)
SELECT * FROM redeemed"""
REDEEM_BY_ID = """
WITH redeemed AS (
  UPDATE offers SET redeemed_at = $3, sealed_code = NULL
  WHERE tenant_id = $1 AND id = $2
    AND redeemed_at IS NULL AND revoked_at IS NULL AND NOT locked AND expires_at > $3
    AND ($4::jsonb IS NULL OR credential_configuration_ids::jsonb @> $4::jsonb)
  RETURNING *
), granted AS (
  INSERT INTO access_grants (token_hash, tenant_id, offer_id, user_id, credential_configuration_ids,
                             credential_identifiers, notification_id, claims, user_claims, expires_at, created_at)
  SELECT $5, tenant_id, id, user_id, credential_configuration_ids, $6::json, $7, claims,
    (SELECT u.claims FROM users u WHERE u.id = redeemed.user_id AND u.tenant_id = redeemed.tenant_id), $8, $3
  FROM redeemed
)
SELECT * FROM redeemed"""
REDEEM_BY_CODE = with_redemption_events(REDEEM_BY_CODE)
REDEEM_BY_ID = with_redemption_events(REDEEM_BY_ID)
OFFER_BY_CODE = "SELECT * FROM offers WHERE tenant_id = $1 AND code_hash = $2"
OFFER_BY_ID = "SELECT * FROM offers WHERE tenant_id = $1 AND id = $2"
FAILED_TX_CODE = f"""
WITH counted AS (
  UPDATE offers SET tx_attempts = tx_attempts + 1, locked = locked OR tx_attempts + 1 >= $3
  WHERE tenant_id = $1 AND id = $2 RETURNING tx_attempts
), evented AS (
  INSERT INTO events ({EVENT_COLUMNS})
  SELECT e.id, e.tenant_id, e.type, e.category, e.created_at, e.request_id, e.client_id, e.data::json
  FROM counted c CROSS JOIN jsonb_to_recordset($4::jsonb) AS {EVENT_RECORD}
  WHERE NOT e.on_lock OR c.tx_attempts = $3
)
SELECT tx_attempts FROM counted"""  # noqa: S608
LOAD_GRANT = """
SELECT g.*, coalesce(g.user_claims, u.claims) AS holder_claims, t.config_version,
  (SELECT coalesce(json_object_agg(i.credential_configuration_id, i.count), '{}'::json)
     FROM grant_issuances i WHERE i.token_hash = g.token_hash) AS issued,
  (SELECT coalesce(array_agg(n.nonce_hash), '{}'::bytea[])
     FROM used_nonces n WHERE n.nonce_hash = ANY($3::bytea[])) AS used
FROM access_grants g
JOIN tenants t ON t.id = g.tenant_id
LEFT JOIN users u ON u.id = g.user_id AND u.tenant_id = g.tenant_id
WHERE g.token_hash = $1 AND g.tenant_id = $2"""
COMMIT_ISSUANCE = f"""
WITH nonce AS (
  INSERT INTO used_nonces (nonce_hash, expires_at) SELECT h, $3 FROM unnest($2::bytea[]) AS h
  ON CONFLICT DO NOTHING RETURNING 1
), counted AS (
  INSERT INTO grant_issuances (token_hash, credential_configuration_id, created_at, count)
  SELECT $1, $4, $5, $6 WHERE (SELECT count(*) FROM nonce) = cardinality($2::bytea[])
  ON CONFLICT (token_hash, credential_configuration_id)
  DO UPDATE SET count = grant_issuances.count + excluded.count WHERE grant_issuances.count + excluded.count <= $7
  RETURNING 1
), recorded AS (
  INSERT INTO issued_credentials (id, tenant_id, configuration_id, format, profile, credential_type, user_id,
      offer_id, signer_id, holder_key_thumbprint, created_at, valid_from, valid_until, status, status_list_id,
      status_index, details)
  SELECT r.id, r.tenant_id, r.configuration_id, r.format, r.profile, r.credential_type, r.user_id, r.offer_id,
      r.signer_id, r.holder_key_thumbprint, r.created_at, r.valid_from, r.valid_until, r.status, r.status_list_id,
      r.status_index, r.details::json
  FROM jsonb_to_recordset($8::jsonb) AS r(id text, tenant_id text, configuration_id text, format text, profile text,
      credential_type text, user_id text, offer_id text, signer_id text, holder_key_thumbprint text,
      created_at timestamptz, valid_from timestamptz, valid_until timestamptz, status text, status_list_id text,
      status_index integer, details jsonb)
  WHERE EXISTS (SELECT 1 FROM counted)
  RETURNING 1
), claimed AS (
  UPDATE offers SET claimed_at = $5
  WHERE tenant_id = $9 AND id = $10 AND claimed_at IS NULL AND EXISTS (SELECT 1 FROM counted)
  RETURNING 1
), evented AS (
  INSERT INTO events ({EVENT_COLUMNS})
  SELECT e.id, e.tenant_id, e.type, e.category, e.created_at, e.request_id, e.client_id, e.data::json
  FROM jsonb_to_recordset($11::jsonb) AS {EVENT_RECORD}
  WHERE EXISTS (SELECT 1 FROM counted)
), queued AS (
  INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS})
  SELECT gen_random_uuid()::text, m.tenant_id, w.id, m.id, m.type, m.created_at, m.payload::json, 'pending', 0,
    m.created_at, m.created_at
  FROM jsonb_to_recordset($12::jsonb) AS {MESSAGE_RECORD} {SUBSCRIBED}
  WHERE EXISTS (SELECT 1 FROM counted)
)
SELECT (SELECT count(*) FROM nonce) AS nonces, (SELECT count(*) FROM counted) AS counted"""  # noqa: S608
USE_NONCES = f"""
WITH nonce AS (
  INSERT INTO used_nonces (nonce_hash, expires_at) SELECT h, $2 FROM unnest($1::bytea[]) AS h ON CONFLICT DO NOTHING
), evented AS (
  INSERT INTO events ({EVENT_COLUMNS})
  SELECT e.id, e.tenant_id, e.type, e.category, e.created_at, e.request_id, e.client_id, e.data::json
  FROM jsonb_to_recordset($3::jsonb) AS {EVENT_RECORD}
)
SELECT 1"""  # noqa: S608
RECORD_EVENTS = f"""
INSERT INTO events ({EVENT_COLUMNS})
SELECT e.id, e.tenant_id, e.type, e.category, e.created_at, e.request_id, e.client_id, e.data::json
FROM jsonb_to_recordset($1::jsonb) AS {EVENT_RECORD}"""  # noqa: S608
CONFIG_VERSION = "SELECT config_version FROM tenants WHERE id = $1"
PURGE_USED_NONCES = "DELETE FROM used_nonces WHERE expires_at < $1"
POOL_SIZE = 10


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(name, encoder=_json_text, decoder=orjson.loads, schema="pg_catalog")


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is. asyncpg's default reset sends ``SELECT pg_advisory_unlock_all();
    CLOSE ALL; UNLISTEN *; RESET ALL`` on every release, a round trip per statement; this store runs single
    autocommit statements and never takes advisory locks, opens cursors, listens or changes settings, so there is
    nothing to reset."""


class PostgresWalletStore:
    """Implements ``ports.wallet_store.WalletStore`` on PostgreSQL; the pool is opened at first use."""

    def __init__(self, dsn: str, *, pool_size: int = POOL_SIZE) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=1, max_size=self._pool_size, init=_init_connection, reset=_keep_session
                    )
        return self._pool

    async def pool(self) -> asyncpg.Pool:
        """Return the pool (opened at first use), for other hot-path stores that share its connections."""
        return await self._connections()

    async def _fetchrow(self, statement: str, *arguments: Any) -> Any:
        return await (await self._connections()).fetchrow(statement, *arguments)

    async def redeem_code(
        self, tenant_id: str, code_hash: bytes, now: datetime, grant: NewGrant
    ) -> PreAuthorizedOffer | None:
        """Redeem by code and add the grant: one statement."""
        row = await self._fetchrow(REDEEM_BY_CODE, tenant_id, code_hash, now, *_grant_arguments(grant))
        return None if row is None else offer_from_row(row, as_is, as_is)

    async def redeem_offer(self, tenant_id: str, offer_id: str, now: datetime, grant: NewGrant) -> bool:
        """Redeem by id and add the grant: one statement."""
        row = await self._fetchrow(REDEEM_BY_ID, tenant_id, offer_id, now, *_grant_arguments(grant))
        return row is not None

    async def find_offer_by_code(self, tenant_id: str, code_hash: bytes) -> PreAuthorizedOffer | None:
        """Return the tenant's offer of a code."""
        row = await self._fetchrow(OFFER_BY_CODE, tenant_id, code_hash)
        return None if row is None else offer_from_row(row, as_is, as_is)

    async def get_offer(self, tenant_id: str, offer_id: str) -> PreAuthorizedOffer | None:
        """Return the tenant's offer."""
        row = await self._fetchrow(OFFER_BY_ID, tenant_id, offer_id)
        return None if row is None else offer_from_row(row, as_is, as_is)

    async def record_failed_tx_code(
        self,
        tenant_id: str,
        offer_id: str,
        max_attempts: int,
        *,
        events: Sequence[Event] = (),
        lock_events: Sequence[Event] = (),
    ) -> int:
        """Count a wrong transaction code and lock at ``max_attempts``, with the events: one statement."""
        rows = _events(events) + _events(lock_events, on_lock=True)
        row = await self._fetchrow(FAILED_TX_CODE, tenant_id, offer_id, max_attempts, rows)
        return 0 if row is None else int(row["tx_attempts"])

    async def load_grant(
        self, tenant_id: str, token_hash: bytes, nonce_hashes: Sequence[bytes] = ()
    ) -> GrantState | None:
        """Return the grant with what issuance needs: one statement."""
        row = await self._fetchrow(LOAD_GRANT, token_hash, tenant_id, list(nonce_hashes))
        if row is None:
            return None
        return GrantState(
            grant=grant_from_row(row, as_is, as_is),
            user_claims=row["holder_claims"] or {},
            config_version=int(row["config_version"]),
            issued={key: int(value) for key, value in row["issued"].items()},
            used_nonces=frozenset(bytes(h) for h in row["used"]),
        )

    async def commit_issuance(self, write: IssuanceWrite) -> IssuanceWriteOutcome:
        """Nonces, count, records and the offer's claim: one statement."""
        row = await self._fetchrow(
            COMMIT_ISSUANCE,
            write.token_hash,
            list(write.nonce_hashes),
            write.nonces_expire_at,
            write.configuration_id,
            write.now,
            len(write.records),
            write.bound,
            [record_values(record, _iso, as_is) for record in write.records],
            write.tenant_id,
            write.offer_id,
            _events(write.events),
            _messages(write.messages),
        )
        if int(row["nonces"]) != len(write.nonce_hashes):
            return IssuanceWriteOutcome.NONCE_USED
        if not int(row["counted"]):
            return IssuanceWriteOutcome.BOUND_REACHED
        return IssuanceWriteOutcome.RECORDED

    async def use_nonces(
        self, nonce_hashes: Sequence[bytes], expires_at: datetime, *, events: Sequence[Event] = ()
    ) -> None:
        """Use nonces up and record the events: one statement."""
        if nonce_hashes or events:
            await self._fetchrow(USE_NONCES, list(nonce_hashes), expires_at, _events(events))

    async def record_events(self, events: Sequence[Event]) -> None:
        """Record events: one statement."""
        if events:
            await (await self._connections()).execute(RECORD_EVENTS, _events(events))

    async def config_version(self, tenant_id: str) -> int | None:
        """Return the tenant's configuration version."""
        row = await self._fetchrow(CONFIG_VERSION, tenant_id)
        return None if row is None else int(row["config_version"])

    async def purge_used_nonces(self, now: datetime) -> int:
        """Forget expired used nonces."""
        status = await (await self._connections()).execute(PURGE_USED_NONCES, now)
        return int(status.rsplit(" ", 1)[-1])

    async def aclose(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _grant_arguments(grant: NewGrant) -> tuple[Any, ...]:
    requested = None if grant.requested is None else list(grant.requested)
    return (
        requested,
        grant.token_hash,
        grant.credential_identifiers,
        grant.notification_id,
        grant.expires_at,
        _events(grant.events),
        _messages(grant.messages),
    )


def _events(events: Sequence[Event], *, on_lock: bool = False) -> list[dict[str, Any]]:
    return [{**event_values(event, _iso, as_is), "on_lock": on_lock} for event in events]


def _messages(messages: Sequence[WebhookMessage]) -> list[dict[str, Any]]:
    return [message_values(message, _iso, as_is) for message in messages]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
