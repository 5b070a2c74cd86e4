"""The wallet store on SQLite with the ``sqlite3`` module, called on the event loop.

Each call takes microseconds, so it runs on the event loop thread itself: no thread hop. A write is ``BEGIN
IMMEDIATE; …; COMMIT`` with no ``await`` in between, so the write lock is held for microseconds. When another
connection (another process, or the management API's SQLAlchemy engine) holds the lock, SQLite answers "busy" at
once (busy timeout 0) and the call waits asynchronously and tries again (jittered backoff, up to 30 s): the loop is
never blocked and a request never fails with "database is locked" (past 30 s: 503 ``temporarily_unavailable``).

Checkpoints (copying the write-ahead log back into the database file, with an fsync) are taken off the event loop:
the hot-path connection does not checkpoint automatically (SQLite would do it inside the ``COMMIT`` that crosses
1,000 pages, blocking the loop on the fsync); instead, every ``CHECKPOINT_EVERY`` writes, a checkpoint runs on a
connection of its own in a worker thread (one at a time), in two steps:

1. a passive checkpoint copies the log as it stands, without blocking writers or waiting for readers;
2. a restarting one takes the write lock, copies what was committed meanwhile (a few pages) and waits for the
   readers to leave the log; it waits at most ``CHECKPOINT_BUSY_MS`` for the lock and for the readers (past that
   it gives up until the next checkpoint), and writers wait for it asynchronously, as above.

The second step is what lets the next write start the log over from its beginning. A passive checkpoint alone never
does under steady load: by the time it has copied the log, new commits have been appended, and SQLite starts the
log over only when the whole of it is in the database file. The log then grew without end (half a gigabyte in ten
seconds of load), and every commit extended the file: the kernel allocated and zeroed a new page for each frame
(up to 9 % of the server's CPU in ``perf``, 2 % in a same-run comparison; bench/results/wal-restart.md). Started
over, the log is rewritten in place, in pages the kernel already holds. ``journal_size_limit`` truncates a log
that grew past ``WAL_SIZE_LIMIT`` (a long reader can hold a restart off) back to that size when it starts over.

Every 1,000 writes rather than 100: a checkpoint copies each page once however often it was written since the last
one, and the pages an issuance writes are mostly the same few (the tables' and indexes' newest leaves), so a
tenth of the checkpoints costs much less than a tenth of the work (bench/levers.py: -6 % server CPU per issuance);
the log then grows to a few tens of megabytes between checkpoints.

The connection's page cache is ``PAGE_CACHE_KIB`` (2 MiB, about SQLite's default), not larger. SQLite walks the
cache's whole hash table at the end of any transaction that follows a b-tree page split which renumbered its pages:
``balance_nonroot`` swaps two pages' numbers through the locking page's number (page 262,145, at 1 GiB), which
raises the cache's highest key past the database's end, and the commit's ``sqlite3PcacheTruncate`` then scans every
bucket (``pcache1TruncateUnsafe``). Inserts at random keys (token, nonce and code hashes) split pages often, so the
walk's cost grows with the cache and with the database: with 32 MiB filled it took 5 % of the server's CPU in
``perf``, and the store's statements cost 202 µs an issuance (rising from 173 to 220 µs as the database grew)
against 155 µs, flat, with 2 MiB; 8 MiB rose too (bench/sqlite_writes.py, bench/results/sqlite-page-cache.md). 2 MiB
holds the b-trees' upper levels and newest leaves; pages beyond it come from the operating system's cache.

Values are stored exactly as the SQLAlchemy tables store them on SQLite (times as ``YYYY-MM-DD HH:MM:SS.ffffff`` in
UTC, JSON as text, booleans as 0/1), so both see the same rows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson

from openissuer.adapters.sql.engine import SQLITE_WAL_SIZE_LIMIT as WAL_SIZE_LIMIT
from openissuer.adapters.sql.event_rows import completed, delivery_values, event_values
from openissuer.adapters.sql.wallet_rows import grant_from_row, offer_from_row, record_values
from openissuer.domain.events import Event
from openissuer.domain.offers import GrantState, PreAuthorizedOffer
from openissuer.domain.webhooks import WebhookMessage
from openissuer.errors import TemporarilyUnavailableError
from openissuer.ports.wallet_store import IssuanceWrite, IssuanceWriteOutcome, NewGrant, SingleUseTaken

T = TypeVar("T")
log = logging.getLogger("openissuer.storage")
BUSY_DEADLINE = 30.0
CHECKPOINT_EVERY = 1000  # writes between checkpoints (each write adds about 5-15 pages to the log)
CHECKPOINT_BUSY_MS = 100  # the longest the restarting step may wait for the write lock and for readers
PAGE_CACHE_KIB = 2048  # the hot-path connection's page cache (see the module's docstring for why not larger)
_FIRST_DELAY, _MAX_DELAY = 0.0005, 0.05

# The conditions are PreAuthorizedOffer.is_redeemable's. Redemption marks the offer's (small) row redeemed and adds
# the grant; the offer's claims stay in offer_claims, where its grant reads them (the grant's own claims are {}).
# ``:requested``: the configuration ids of the request's authorization_details as a JSON array (NULL: none), all of
# which the offer must cover; an offer that does not is left as it is (as PostgreSQL's statement leaves it), while
# the single-use values used before it stay used.
_REDEEM_BY_CODE = (
    "UPDATE offers SET redeemed_at = :now, sealed_code = NULL "
    "WHERE tenant_id = :tenant AND code_hash = :code AND tx_code_hash IS NULL "
    "AND redeemed_at IS NULL AND revoked_at IS NULL AND locked = 0 AND expires_at > :now "
    "AND (:requested IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(:requested) AS r "
    "WHERE r.value NOT IN (SELECT value FROM json_each(offers.credential_configuration_ids)))) "
    "RETURNING id, tenant_id, user_id, credential_configuration_ids"
)
_REDEEM_BY_ID = (
    "UPDATE offers SET redeemed_at = :now, sealed_code = NULL WHERE tenant_id = :tenant AND id = :id "
    "AND redeemed_at IS NULL AND revoked_at IS NULL AND locked = 0 AND expires_at > :now "
    "AND (:requested IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(:requested) AS r "
    "WHERE r.value NOT IN (SELECT value FROM json_each(offers.credential_configuration_ids)))) "
    "RETURNING id, tenant_id, user_id, credential_configuration_ids"
)
_INSERT_GRANT = (
    "INSERT INTO access_grants (token_hash, tenant_id, offer_id, authorization_code_hash, user_id, "
    "credential_configuration_ids, credential_identifiers, notification_id, claims, user_claims, provider_url, "
    "subject_id, expires_at, created_at, revoked_at, client_id, dpop_jkt) VALUES (:token, :tenant, :offer, NULL, "
    ":user, :configurations, :identifiers, :notification, '{}', "
    "(SELECT claims FROM users WHERE id = :user AND tenant_id = :tenant), NULL, NULL, :expires, :created, NULL, "
    ":client, :jkt)"
)
_OFFER = "SELECT o.*, c.claims FROM offers o JOIN offer_claims c ON c.offer_id = o.id WHERE o.tenant_id = ? AND "
# The grant with what issuance needs, in one statement: the credentials issued under it (``issued``, a JSON object)
# and which of the request's nonces were used (``used``, hex, comma-separated); ``{marks}``: one ``?`` per nonce.
_GRANT = (
    "SELECT g.*, c.claims AS offer_claims, coalesce(g.user_claims, u.claims) AS holder_claims, t.config_version, "
    "(SELECT json_group_object(i.credential_configuration_id, i.count) FROM grant_issuances i "
    "WHERE i.token_hash = g.token_hash) AS issued, "
    "(SELECT group_concat(hex(n.nonce_hash)) FROM used_nonces n WHERE n.nonce_hash IN ({marks})) AS used "
    "FROM access_grants g JOIN tenants t ON t.id = g.tenant_id "
    "LEFT JOIN users u ON u.id = g.user_id AND u.tenant_id = g.tenant_id "
    "LEFT JOIN offer_claims c ON c.offer_id = g.offer_id AND g.claims = '{{}}' "
    "WHERE g.token_hash = ? AND g.tenant_id = ?"
)
_USE_NONCE = "INSERT INTO used_nonces (nonce_hash, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING"
_COUNT = (
    "INSERT INTO grant_issuances (token_hash, credential_configuration_id, created_at, count) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (token_hash, credential_configuration_id) DO UPDATE SET count = count + excluded.count "
    "WHERE count + excluded.count <= ? RETURNING count"
)
_RECORD = (
    "INSERT INTO issued_credentials (id, tenant_id, configuration_id, format, profile, credential_type, user_id, "
    "offer_id, signer_id, holder_key_thumbprint, created_at, valid_from, valid_until, status, status_list_id, "
    "status_index, details, session_id) VALUES (:id, :tenant_id, :configuration_id, :format, :profile, "
    ":credential_type, :user_id, :offer_id, :signer_id, :holder_key_thumbprint, :created_at, :valid_from, "
    ":valid_until, :status, :status_list_id, :status_index, :details, :session_id)"
)
_COUNT_REQUESTS = (
    "INSERT INTO rate_counters (key_hash, window_start, count, expires_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (key_hash, window_start) DO UPDATE SET count = count + excluded.count RETURNING count"
)
_CLAIMED = "UPDATE offers SET claimed_at = ? WHERE tenant_id = ? AND id = ? AND claimed_at IS NULL"
_EVENT = (
    "INSERT INTO events (id, tenant_id, type, category, created_at, request_id, client_id, data) "
    "VALUES (:id, :tenant_id, :type, :category, :created_at, :request_id, :client_id, :data)"
)
_SUBSCRIBERS = "SELECT id, events FROM webhooks WHERE tenant_id = ? AND disabled = 0"
_DELIVERY = (
    "INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event_id, event_type, event_timestamp, payload, "
    "status, attempts, next_attempt_at, created_at) VALUES (:id, :tenant_id, :webhook_id, :event_id, :event_type, "
    ":event_timestamp, :payload, :status, :attempts, :next_attempt_at, :created_at)"
)


def _record_events(connection: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Insert events in the caller's transaction."""
    if events:
        connection.executemany(_EVENT, [event_values(e, db_time, _json_text) for e in events])


def _queue(connection: sqlite3.Connection, messages: Sequence[WebhookMessage]) -> None:
    """Queue messages for the subscribed active webhooks, in the caller's transaction."""
    rows: list[dict[str, Any]] = []
    subscribers: dict[str, list[tuple[str, list[str]]]] = {}
    for message in messages:
        if message.tenant_id not in subscribers:
            found = connection.execute(_SUBSCRIBERS, (message.tenant_id,)).fetchall()
            subscribers[message.tenant_id] = [(r[0], orjson.loads(r[1])) for r in found]
        targets = [id for id, types in subscribers[message.tenant_id] if message.type in types]
        rows += delivery_values(message, targets, db_time, _json_text)
    if rows:
        connection.executemany(_DELIVERY, rows)


@dataclasses.dataclass(frozen=True)
class _Redeemed:
    """What redemption reads back of the offer's row: its identity, for the grant and the events."""

    id: str
    tenant_id: str
    user_id: str
    credential_configuration_ids: list[str]


class _Taken:
    """What a write returns when a single-use value was used before (its fresh ones are committed)."""

    def __init__(self, taken: frozenset[bytes]) -> None:
        self.taken = taken


def _busy(error: sqlite3.OperationalError) -> bool:
    """Busy or locked, in any of their extended forms (``sqlite_errorcode`` is the extended code: a database being
    recovered after a crash answers ``SQLITE_BUSY_RECOVERY``, a stale snapshot ``SQLITE_BUSY_SNAPSHOT``)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _use_each(connection: sqlite3.Connection, hashes: Sequence[bytes], expires: str) -> frozenset[bytes]:
    """Insert each hash unless present (in the caller's transaction); return those that were present."""
    return frozenset(h for h in hashes if not connection.execute(_USE_NONCE, (h, expires)).rowcount)


def db_time(moment: datetime) -> str:
    """The SQLite text of a time, as SQLAlchemy writes it (UTC, microseconds: ``YYYY-MM-DD HH:MM:SS.ffffff``).

    ``%`` formatting rather than ``isoformat``, which formats through ``PyUnicode_FromFormat`` at twice the cost
    (an issuance writes a dozen times)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - measured faster than an f-string here
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


def _requested(grant: NewGrant) -> str | None:
    return None if grant.requested is None else _json_text(list(grant.requested))


def _json_text(value: Any) -> str:
    """JSON as text, as the SQLAlchemy tables store it (orjson: compact, UTF-8)."""
    return orjson.dumps(value).decode()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


class SqliteWalletStore:
    """Implements ``ports.wallet_store.WalletStore`` on one SQLite file, with one connection per process."""

    def __init__(self, path: str, *, checkpoint_every: int = CHECKPOINT_EVERY) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._checkpoint_every = checkpoint_every
        self._writes = 0
        self._checkpointing: asyncio.Future[bool] | None = None

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self._path, timeout=0, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
            connection.execute("PRAGMA wal_autocheckpoint=0")  # see the module's docstring
            connection.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            self._connection = connection
        return self._connection

    def _wrote(self) -> None:
        """Count a committed write; start a passive checkpoint in a thread every ``checkpoint_every`` writes."""
        self._writes += 1
        if self._writes < self._checkpoint_every or self._checkpointing is not None:
            return
        self._writes = 0
        future = asyncio.get_running_loop().run_in_executor(None, self._checkpoint)
        self._checkpointing = future
        future.add_done_callback(self._checkpointed)

    def _checkpoint(self) -> bool:
        """Copy the log into the database file, then let the next write start it over (the module's docstring);
        return whether the restarting step completed."""
        connection = sqlite3.connect(self._path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            connection.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_MS}")
            # Busy (a writer or a reader past the timeout) is not an error: the next checkpoint tries again.
            busy, _frames, _copied = connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            return not busy
        finally:
            connection.close()

    def _checkpointed(self, future: asyncio.Future[bool]) -> None:
        self._checkpointing = None
        if not future.cancelled() and (error := future.exception()) is not None:
            # A busy or failed passive checkpoint loses nothing: the log is copied back at the next one.
            log.warning("SQLite checkpoint failed", extra={"error": type(error).__name__})

    async def _run(self, work: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        """Run ``work`` (synchronous, no awaits) in a transaction when writing; retry while the database is busy."""
        deadline = time.monotonic() + BUSY_DEADLINE
        delay = _FIRST_DELAY
        while True:
            connection = self._open()
            try:
                if not write:
                    return work(connection)
                connection.execute("BEGIN IMMEDIATE")
                try:
                    result = work(connection)
                    connection.execute("COMMIT")
                    self._wrote()
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
                return result
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
                if time.monotonic() > deadline:
                    raise TemporarilyUnavailableError(
                        "The issuer is busy; try again",
                        detail=f"SQLite busy for {BUSY_DEADLINE} s",
                        headers={"Retry-After": "1"},
                    ) from exc
            await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not a secret
            delay = min(delay * 2, _MAX_DELAY)

    async def run(self, work: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        """Run ``work`` on this store's connection as ``_run`` does, for other hot-path stores that share it."""
        return await self._run(work, write=write)

    async def redeem_code(self, tenant_id: str, code_hash: bytes, now: datetime, grant: NewGrant) -> str | None:
        """Redeem by code and add the grant, in one transaction; the offer's id."""
        parameters = {"tenant": tenant_id, "code": code_hash, "now": db_time(now), "requested": _requested(grant)}
        redeemed = await self._run(lambda c: self._redeem(c, _REDEEM_BY_CODE, parameters, grant), write=True)
        if isinstance(redeemed, _Taken):
            raise SingleUseTaken(redeemed.taken)
        return redeemed

    async def redeem_offer(self, tenant_id: str, offer_id: str, now: datetime, grant: NewGrant) -> bool:
        """Redeem by id and add the grant, in one transaction."""
        parameters = {"tenant": tenant_id, "id": offer_id, "now": db_time(now), "requested": _requested(grant)}
        redeemed = await self._run(lambda c: self._redeem(c, _REDEEM_BY_ID, parameters, grant), write=True)
        if isinstance(redeemed, _Taken):
            raise SingleUseTaken(redeemed.taken)
        return redeemed is not None

    def _redeem(
        self, connection: sqlite3.Connection, statement: str, parameters: dict[str, Any], grant: NewGrant
    ) -> str | _Taken | None:
        """Use the grant's single-use values up, redeem the offer and add the grant, in the caller's transaction;
        return the offer's id."""
        if grant.single_use:
            expire_at = db_time(grant.single_use_expire_at or grant.created_at)
            taken = _use_each(connection, grant.single_use, expire_at)
            if taken:
                return _Taken(taken)  # committed: the fresh ones are used up all the same
        row = connection.execute(statement, parameters).fetchone()
        if row is None:
            return None  # not redeemable: nothing written
        offer = _Redeemed(
            row["id"], row["tenant_id"], row["user_id"], orjson.loads(row["credential_configuration_ids"])
        )
        connection.execute(
            _INSERT_GRANT,
            {
                "token": grant.token_hash,
                "tenant": offer.tenant_id,
                "offer": offer.id,
                "user": offer.user_id,
                "configurations": row["credential_configuration_ids"],
                "identifiers": _json_text(grant.credential_identifiers),
                "notification": grant.notification_id,
                "expires": db_time(grant.expires_at),
                "created": db_time(grant.created_at),
                "client": grant.client_id,
                "jkt": grant.dpop_jkt,
            },
        )
        _record_events(connection, [dataclasses.replace(e, data=completed(dict(e.data), offer)) for e in grant.events])
        _queue(connection, [dataclasses.replace(m, payload=completed(dict(m.payload), offer)) for m in grant.messages])
        return offer.id

    async def find_offer_by_code(self, tenant_id: str, code_hash: bytes) -> PreAuthorizedOffer | None:
        """Return the tenant's offer of a code."""
        query = _OFFER + "o.code_hash = ?"
        row = await self._run(lambda c: c.execute(query, (tenant_id, code_hash)).fetchone(), write=False)
        return None if row is None else offer_from_row(row, _time, orjson.loads)

    async def get_offer(self, tenant_id: str, offer_id: str) -> PreAuthorizedOffer | None:
        """Return the tenant's offer."""
        query = _OFFER + "o.id = ?"
        row = await self._run(lambda c: c.execute(query, (tenant_id, offer_id)).fetchone(), write=False)
        return None if row is None else offer_from_row(row, _time, orjson.loads)

    async def record_failed_tx_code(
        self,
        tenant_id: str,
        offer_id: str,
        max_attempts: int,
        *,
        events: Sequence[Event] = (),
        lock_events: Sequence[Event] = (),
    ) -> int:
        """Count a wrong transaction code and lock at ``max_attempts``, with the events, in one transaction."""
        statement = (
            "UPDATE offers SET tx_attempts = tx_attempts + 1, locked = (locked OR tx_attempts + 1 >= ?) "
            "WHERE tenant_id = ? AND id = ? RETURNING tx_attempts"
        )
        arguments = (max_attempts, tenant_id, offer_id)

        def work(connection: sqlite3.Connection) -> int:
            row = connection.execute(statement, arguments).fetchone()
            if row is None:
                return 0
            attempts = int(row[0])
            _record_events(connection, [*events, *(lock_events if attempts == max_attempts else ())])
            return attempts

        return await self._run(work, write=True)

    async def load_grant(
        self, tenant_id: str, token_hash: bytes, nonce_hashes: Sequence[bytes] = ()
    ) -> GrantState | None:
        """Return the grant with what issuance needs: one statement (one snapshot), the credentials issued under the
        grant and which of the nonces were used read by its subqueries."""
        marks = ",".join("?" * len(nonce_hashes)) or "NULL"
        query = _GRANT.format(marks=marks)

        def read(connection: sqlite3.Connection) -> GrantState | None:
            row = connection.execute(query, (*nonce_hashes, token_hash, tenant_id)).fetchone()
            if row is None:
                return None
            used = row["used"]
            return GrantState(
                grant=grant_from_row(row, _time, orjson.loads),
                user_claims=orjson.loads(row["holder_claims"]) if row["holder_claims"] is not None else {},
                config_version=int(row["config_version"]),
                issued={key: int(count) for key, count in orjson.loads(row["issued"]).items()},
                used_nonces=frozenset(bytes.fromhex(h) for h in used.split(",")) if used else frozenset(),
            )

        return await self._run(read, write=False)

    async def commit_issuance(self, write: IssuanceWrite) -> IssuanceWriteOutcome:
        """Use the nonces up; then, only if all were fresh and the bound holds, count, record and mark claimed."""
        outcome: list[IssuanceWriteOutcome] = []

        def work(connection: sqlite3.Connection) -> None:
            expires = db_time(write.nonces_expire_at)
            used = sum(connection.execute(_USE_NONCE, (h, expires)).rowcount for h in write.nonce_hashes)
            if write.proof_ids and _use_each(connection, write.proof_ids, expires):
                outcome.append(IssuanceWriteOutcome.PROOF_REPLAYED)
                return  # commit: the nonces and fresh proof ids are used up all the same
            if used != len(write.nonce_hashes):
                outcome.append(IssuanceWriteOutcome.NONCE_USED)
                return  # commit: the fresh ones are used up all the same
            now = db_time(write.now)
            counted = connection.execute(
                _COUNT, (write.token_hash, write.configuration_id, now, len(write.records), write.bound)
            ).fetchone()
            if counted is None:
                outcome.append(IssuanceWriteOutcome.BOUND_REACHED)
                return
            connection.executemany(_RECORD, [record_values(r, db_time, _json_text) for r in write.records])
            if write.offer_id is not None:
                connection.execute(_CLAIMED, (now, write.tenant_id, write.offer_id))
            _record_events(connection, write.events)
            _queue(connection, write.messages)
            outcome.append(IssuanceWriteOutcome.RECORDED)

        await self._run(work, write=True)
        return outcome[-1]

    async def use_once(self, hashes: Sequence[bytes], expires_at: datetime) -> frozenset[bytes]:
        """Use single-use values up, in one transaction; return those used before."""
        if not hashes:
            return frozenset()
        expires = db_time(expires_at)
        return await self._run(lambda c: _use_each(c, hashes, expires), write=True)

    async def use_nonces(
        self, nonce_hashes: Sequence[bytes], expires_at: datetime, *, events: Sequence[Event] = ()
    ) -> None:
        """Use nonces up and record the events, in one transaction."""
        rows = [(h, db_time(expires_at)) for h in nonce_hashes]

        def work(connection: sqlite3.Connection) -> None:
            connection.executemany(_USE_NONCE, rows)
            _record_events(connection, events)

        if rows or events:
            await self._run(work, write=True)

    async def record_events(self, events: Sequence[Event]) -> None:
        """Record events in one transaction."""
        if events:
            await self._run(lambda c: _record_events(c, events), write=True)

    async def count_requests(
        self, increments: Sequence[tuple[bytes, int, int]], expire_at: datetime, now: datetime
    ) -> dict[tuple[bytes, int], int]:
        """Add to the rate counters and return the totals, in one transaction."""
        if not increments:
            return {}
        expires = db_time(expire_at)

        def work(connection: sqlite3.Connection) -> dict[tuple[bytes, int], int]:
            connection.execute("DELETE FROM rate_counters WHERE expires_at < ?", (db_time(now),))
            return {
                (key, window): int(connection.execute(_COUNT_REQUESTS, (key, window, count, expires)).fetchone()[0])
                for key, window, count in increments
            }

        return await self._run(work, write=True)

    async def config_version(self, tenant_id: str) -> int | None:
        """Return the tenant's configuration version."""
        query = "SELECT config_version FROM tenants WHERE id = ?"
        row = await self._run(lambda c: c.execute(query, (tenant_id,)).fetchone(), write=False)
        return None if row is None else int(row[0])

    async def purge_used_nonces(self, now: datetime) -> int:
        """Forget expired used nonces."""
        statement = "DELETE FROM used_nonces WHERE expires_at < ?"
        return int(await self._run(lambda c: c.execute(statement, (db_time(now),)).rowcount, write=True))

    async def aclose(self) -> None:
        """Close the connection (after a checkpoint in progress)."""
        if self._checkpointing is not None:
            await asyncio.wait({self._checkpointing})
        if self._connection is not None:
            self._connection.close()
            self._connection = None
