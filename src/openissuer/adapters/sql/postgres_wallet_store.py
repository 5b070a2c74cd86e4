"""The wallet store on PostgreSQL with asyncpg: every call is one prepared statement, one round trip, autocommit.

A statement that changes several tables is one statement with data-modifying CTEs, each later step depending on
the earlier one's output (so a nonce used meanwhile, or a passed bound, stops the rest), atomic as any statement.
asyncpg prepares each statement once per connection and reuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from openissuer.adapters.sql.asyncpg_pool import ConnectionPool
from openissuer.adapters.sql.event_rows import event_values, message_values
from openissuer.adapters.sql.wallet_rows import as_is, grant_from_row, offer_from_row, record_values
from openissuer.domain.events import Event
from openissuer.domain.offers import GrantState, PreAuthorizedOffer
from openissuer.domain.webhooks import WebhookMessage
from openissuer.ports.wallet_store import IssuanceWrite, IssuanceWriteOutcome, NewGrant, SingleUseTaken

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

# Plan-safe lookups by primary key. An indexable ``tenant_id = ...`` beside the key would let the planner pick a
# tenant-leading index (users' uq_users_provider_subject and ix_users_tenant_page, access_grants'
# ix_access_grants_offer) and filter every row of the tenant: it does so whenever a table has no statistics yet
# (a new deployment, or autovacuum off), which made each issuance read O(grants + users) rows. So the key is the
# only condition an index can serve, and the tenant is compared in an expression (a user of another tenant gives
# no claims) or, for the grant, by the caller. tests/contract/test_wallet_store_plans.py checks the plans.
USER_CLAIMS_OF_GRANT = "CASE WHEN u.tenant_id = g.tenant_id THEN u.claims END"
_USER_CLAIMS_OF_REDEEMED = "CASE WHEN u.tenant_id = redeemed.tenant_id THEN u.claims END"
# $1 tenant, $2 code hash or offer id, $3 now, $4 requested configurations, $5 token hash, $6 identifiers,
# $7 notification id, $8 expiry, $9 events, $10 webhook messages; with extras, $11 client, $12 DPoP key,
# $13 single-use hashes, $14 their expiry.
# The offer's (small) row is marked redeemed and the grant added; the offer's claims stay in offer_claims, where
# its grant reads them (the grant's own claims are {}): nothing is copied or returned.
_REDEEM = """
WITH {once}redeemed AS (
  UPDATE offers SET redeemed_at = $3, sealed_code = NULL
  WHERE tenant_id = $1 AND {match}
    AND redeemed_at IS NULL AND revoked_at IS NULL AND NOT locked AND expires_at > $3
    AND ($4::jsonb IS NULL OR credential_configuration_ids::jsonb @> $4::jsonb){all_fresh}
  RETURNING id, tenant_id, user_id, credential_configuration_ids
), granted AS (
  INSERT INTO access_grants (token_hash, tenant_id, offer_id, user_id, credential_configuration_ids,
    credential_identifiers, notification_id, claims, user_claims, expires_at, created_at{bound})
  SELECT $5, tenant_id, id, user_id, credential_configuration_ids, $6::json, $7, '{{}}'::json,
    (SELECT {user_claims} FROM users u WHERE u.id = redeemed.user_id), $8, $3{binding}
  FROM redeemed
){events}
{select}"""
_BY_CODE = "code_hash = $2 AND tx_code_hash IS NULL"
_BY_ID = "id = $2"
# With a client, a DPoP key or single-use values (DPoP and attestation proofs): the values are used up first (a
# taken one stops the redemption), the grant names the client and key, and the row tells which values were fresh.
_ONCE = """once AS (
  INSERT INTO used_nonces (nonce_hash, expires_at) SELECT h, $14 FROM unnest($13::bytea[]) AS h
  ON CONFLICT DO NOTHING RETURNING nonce_hash
), """
_WITH_EXTRAS = {
    "once": _ONCE,
    "all_fresh": "\n    AND (SELECT count(*) FROM once) = cardinality($13::bytea[])",
    "bound": ", client_id, dpop_jkt",
    "binding": ", $11, $12",
    "events": REDEMPTION_EVENTS,
    "select": "SELECT r.id, (SELECT coalesce(array_agg(nonce_hash), '{}'::bytea[]) FROM once) AS fresh\n"
    "FROM (SELECT 1) AS one LEFT JOIN redeemed r ON true",
}
_PLAIN = {
    "once": "",
    "all_fresh": "",
    "bound": "",
    "binding": "",
    "events": REDEMPTION_EVENTS,
    "select": "SELECT id FROM redeemed",
}
_CLAIMS = {"user_claims": _USER_CLAIMS_OF_REDEEMED}
REDEEM_BY_CODE = _REDEEM.format(match=_BY_CODE, **_PLAIN, **_CLAIMS)
REDEEM_BY_ID = _REDEEM.format(match=_BY_ID, **_PLAIN, **_CLAIMS)
REDEEM_BY_CODE_EXTRAS = _REDEEM.format(match=_BY_CODE, **_WITH_EXTRAS, **_CLAIMS)
REDEEM_BY_ID_EXTRAS = _REDEEM.format(match=_BY_ID, **_WITH_EXTRAS, **_CLAIMS)
_OFFER = "SELECT o.*, c.claims FROM offers o JOIN offer_claims c ON c.offer_id = o.id WHERE o.tenant_id = $1 AND "
OFFER_BY_CODE = _OFFER + "o.code_hash = $2"
OFFER_BY_ID = _OFFER + "o.id = $2"
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
# The grant by its primary key alone; its tenant is compared by the caller (load_grant), see above.
LOAD_GRANT = f"""
SELECT g.*, c.claims AS offer_claims, coalesce(g.user_claims, {USER_CLAIMS_OF_GRANT}) AS holder_claims,
  t.config_version,
  (SELECT coalesce(json_object_agg(i.credential_configuration_id, i.count), '{{}}'::json)
     FROM grant_issuances i WHERE i.token_hash = g.token_hash) AS issued,
  (SELECT coalesce(array_agg(n.nonce_hash), '{{}}'::bytea[])
     FROM used_nonces n WHERE n.nonce_hash = ANY($2::bytea[])) AS used
FROM access_grants g
JOIN tenants t ON t.id = g.tenant_id
LEFT JOIN users u ON u.id = g.user_id
LEFT JOIN offer_claims c ON c.offer_id = g.offer_id AND g.claims::text = '{{}}'
WHERE g.token_hash = $1"""  # noqa: S608 - built from constant fragments
# $1 token hash, $2 nonce hashes, $3 their expiry, $4 configuration, $5 now, $6 count, $7 bound, $8 records,
# $9 tenant, $10 offer, $11 events, $12 webhook messages; with DPoP proof ids, $13 their hashes.
_COMMIT = """
WITH nonce AS (
  INSERT INTO used_nonces (nonce_hash, expires_at) SELECT h, $3 FROM unnest($2::bytea[]) AS h
  ON CONFLICT DO NOTHING RETURNING 1
), {proof}counted AS (
  INSERT INTO grant_issuances (token_hash, credential_configuration_id, created_at, count)
  SELECT $1, $4, $5, $6 WHERE (SELECT count(*) FROM nonce) = cardinality($2::bytea[]){proofs_fresh}
  ON CONFLICT (token_hash, credential_configuration_id)
  DO UPDATE SET count = grant_issuances.count + excluded.count WHERE grant_issuances.count + excluded.count <= $7
  RETURNING 1
), recorded AS (
  INSERT INTO issued_credentials (id, tenant_id, configuration_id, format, profile, credential_type, user_id,
      offer_id, signer_id, holder_key_thumbprint, created_at, valid_from, valid_until, status, status_list_id,
      status_index, details, session_id)
  SELECT r.id, r.tenant_id, r.configuration_id, r.format, r.profile, r.credential_type, r.user_id, r.offer_id,
      r.signer_id, r.holder_key_thumbprint, r.created_at, r.valid_from, r.valid_until, r.status, r.status_list_id,
      r.status_index, r.details::json, r.session_id
  FROM jsonb_to_recordset($8::jsonb) AS r(id text, tenant_id text, configuration_id text, format text, profile text,
      credential_type text, user_id text, offer_id text, signer_id text, holder_key_thumbprint text,
      created_at timestamptz, valid_from timestamptz, valid_until timestamptz, status text, status_list_id text,
      status_index integer, details jsonb, session_id text)
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
SELECT (SELECT count(*) FROM nonce) AS nonces, (SELECT count(*) FROM counted) AS counted{proofs_count}"""
_STATEMENT_PARTS = {
    "EVENT_COLUMNS": EVENT_COLUMNS,
    "EVENT_RECORD": EVENT_RECORD,
    "DELIVERY_COLUMNS": DELIVERY_COLUMNS,
    "MESSAGE_RECORD": MESSAGE_RECORD,
    "SUBSCRIBED": SUBSCRIBED,
}
COMMIT_ISSUANCE = _COMMIT.format(proof="", proofs_fresh="", proofs_count="", **_STATEMENT_PARTS)
# With DPoP proof ids: used up in the same statement, like the nonces.
COMMIT_ISSUANCE_WITH_PROOF_IDS = _COMMIT.format(
    proof="proof AS (\n  INSERT INTO used_nonces (nonce_hash, expires_at) SELECT h, $3 FROM unnest($13::bytea[]) AS h\n"
    "  ON CONFLICT DO NOTHING RETURNING 1\n), ",
    proofs_fresh="\n    AND (SELECT count(*) FROM proof) = cardinality($13::bytea[])",
    proofs_count=", (SELECT count(*) FROM proof) AS proofs",
    **_STATEMENT_PARTS,
)
USE_ONCE = (
    "INSERT INTO used_nonces (nonce_hash, expires_at) SELECT h, $2 FROM unnest($1::bytea[]) AS h "
    "ON CONFLICT DO NOTHING RETURNING nonce_hash"
)
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
COUNT_REQUESTS = """
WITH purged AS (DELETE FROM rate_counters WHERE expires_at < $5)
INSERT INTO rate_counters (key_hash, window_start, count, expires_at)
SELECT k, w, c, $4 FROM unnest($1::bytea[], $2::int[], $3::int[]) AS t(k, w, c)
ON CONFLICT (key_hash, window_start) DO UPDATE SET count = rate_counters.count + excluded.count
RETURNING key_hash, window_start, count"""
CONFIG_VERSION = "SELECT config_version FROM tenants WHERE id = $1"
PURGE_USED_NONCES = "DELETE FROM used_nonces WHERE expires_at < $1"
POOL_SIZE = 10


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(name, encoder=_json_text, decoder=orjson.loads, schema="pg_catalog")


class PostgresWalletStore:
    """Implements ``ports.wallet_store.WalletStore`` on PostgreSQL; the pool is opened at first use."""

    def __init__(self, dsn: str, *, pool_size: int = POOL_SIZE) -> None:
        self._dsn = dsn
        self._pool = ConnectionPool(self._connect, size=pool_size)

    async def _connect(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(self._dsn)
        try:
            await _init_connection(connection)
        except BaseException:
            connection.terminate()
            raise
        return connection

    async def pool(self) -> ConnectionPool:
        """Return the pool (connections are opened at first use), for other hot-path stores that share it."""
        return self._pool

    async def _fetchrow(self, statement: str, *arguments: Any) -> Any:
        return await self._pool.fetchrow(statement, *arguments)

    async def redeem_code(self, tenant_id: str, code_hash: bytes, now: datetime, grant: NewGrant) -> str | None:
        """Redeem by code and add the grant: one statement; the offer's id."""
        if _has_extras(grant):
            row = await self._redeem_with_extras(REDEEM_BY_CODE_EXTRAS, tenant_id, code_hash, now, grant)
        else:
            row = await self._fetchrow(REDEEM_BY_CODE, tenant_id, code_hash, now, *_grant_arguments(grant))
        return None if row is None else str(row["id"])

    async def redeem_offer(self, tenant_id: str, offer_id: str, now: datetime, grant: NewGrant) -> bool:
        """Redeem by id and add the grant: one statement."""
        if _has_extras(grant):
            return await self._redeem_with_extras(REDEEM_BY_ID_EXTRAS, tenant_id, offer_id, now, grant) is not None
        row = await self._fetchrow(REDEEM_BY_ID, tenant_id, offer_id, now, *_grant_arguments(grant))
        return row is not None

    async def _redeem_with_extras(
        self, statement: str, tenant_id: str, key: Any, now: datetime, grant: NewGrant
    ) -> Any:
        """Use the grant's single-use values up and redeem (one statement); the offer's row, or None."""
        once = sorted(grant.single_use)  # every statement takes its rows' locks in one order: no deadlock
        expire_at = grant.single_use_expire_at or now
        row = await self._fetchrow(
            statement, tenant_id, key, now, *_grant_arguments(grant), grant.client_id, grant.dpop_jkt, once, expire_at
        )
        fresh = {bytes(h) for h in row["fresh"]}
        if len(fresh) != len(once):
            raise SingleUseTaken(frozenset(h for h in once if h not in fresh))
        return None if row["id"] is None else row

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
        row = await self._fetchrow(LOAD_GRANT, token_hash, list(nonce_hashes))
        if row is None or row["tenant_id"] != tenant_id:
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
        proof_ids = [sorted(write.proof_ids)] if write.proof_ids else []
        row = await self._fetchrow(
            COMMIT_ISSUANCE_WITH_PROOF_IDS if write.proof_ids else COMMIT_ISSUANCE,
            write.token_hash,
            sorted(write.nonce_hashes),  # in one order in every statement: no deadlock between two of them
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
            *proof_ids,
        )
        if write.proof_ids and int(row["proofs"]) != len(write.proof_ids):
            return IssuanceWriteOutcome.PROOF_REPLAYED
        if int(row["nonces"]) != len(write.nonce_hashes):
            return IssuanceWriteOutcome.NONCE_USED
        if not int(row["counted"]):
            return IssuanceWriteOutcome.BOUND_REACHED
        return IssuanceWriteOutcome.RECORDED

    async def use_once(self, hashes: Sequence[bytes], expires_at: datetime) -> frozenset[bytes]:
        """Use single-use values up: one statement; return those used before."""
        if not hashes:
            return frozenset()
        rows = await self._pool.fetch(USE_ONCE, sorted(hashes), expires_at)
        fresh = {bytes(r["nonce_hash"]) for r in rows}
        return frozenset(h for h in hashes if h not in fresh)

    async def use_nonces(
        self, nonce_hashes: Sequence[bytes], expires_at: datetime, *, events: Sequence[Event] = ()
    ) -> None:
        """Use nonces up and record the events: one statement."""
        if nonce_hashes or events:
            await self._fetchrow(USE_NONCES, sorted(nonce_hashes), expires_at, _events(events))

    async def record_events(self, events: Sequence[Event]) -> None:
        """Record events: one statement."""
        if events:
            await self._pool.execute(RECORD_EVENTS, _events(events))

    async def count_requests(
        self, increments: Sequence[tuple[bytes, int, int]], expire_at: datetime, now: datetime
    ) -> dict[tuple[bytes, int], int]:
        """Add to the rate counters and return the totals: one statement."""
        if not increments:
            return {}
        # The counters' rows are locked in the order given: sorted, two workers' flushes never wait on each other
        # in a cycle (a deadlock, which PostgreSQL breaks by failing one of them).
        ordered = sorted(increments)
        keys, windows, counts = ([item[i] for item in ordered] for i in range(3))
        rows = await self._pool.fetch(COUNT_REQUESTS, keys, windows, counts, expire_at, now)
        return {(bytes(r["key_hash"]), int(r["window_start"])): int(r["count"]) for r in rows}

    async def config_version(self, tenant_id: str) -> int | None:
        """Return the tenant's configuration version."""
        row = await self._fetchrow(CONFIG_VERSION, tenant_id)
        return None if row is None else int(row["config_version"])

    async def purge_used_nonces(self, now: datetime) -> int:
        """Forget expired used nonces."""
        status = await self._pool.execute(PURGE_USED_NONCES, now)
        return int(status.rsplit(" ", 1)[-1])

    async def aclose(self) -> None:
        """Close the pool."""
        await self._pool.close()


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


def _has_extras(grant: NewGrant) -> bool:
    return bool(grant.single_use) or grant.client_id is not None or grant.dpop_jkt is not None


def _events(events: Sequence[Event], *, on_lock: bool = False) -> list[dict[str, Any]]:
    return [{**event_values(event, _iso, as_is), "on_lock": on_lock} for event in events]


def _messages(messages: Sequence[WebhookMessage]) -> list[dict[str, Any]]:
    return [message_values(message, _iso, as_is) for message in messages]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
