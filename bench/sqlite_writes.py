"""The SQLite wallet store's writes of one issuance on two schema revisions, interleaved in one process.

    .venv/bin/python bench/sqlite_writes.py                        # 0016 against head, ~1 min
    .venv/bin/python bench/sqlite_writes.py --revisions 0016,0017 --rounds 12 --batch 800
    .venv/bin/python bench/sqlite_writes.py --revisions head,head --cache-kib 32768,8192   # two page-cache sizes

Each revision gets a fresh database file migrated to it (Alembic, as the server does) and the connection settings
of ``SqliteWalletStore``. Then, per round and alternating which goes first, a batch of issuances runs the store's
own statements (its SQL constants, unchanged) against each: the token transaction (redeem the code, insert the
grant, one event) and the credential transaction (use the nonce, count under the bound, record the credential,
mark the offer claimed, one event), with the grant read between them. Reported per revision: the process CPU per
issuance of those statements (median over the rounds, and the median of the per-round ratios), and the write-ahead
log frames one issuance writes (a frame is one page, written with two ``pwrite`` calls at the commit), measured on
the first batch after a truncating checkpoint. Nothing else runs in the process, so the CPU ratio isolates the
schema; the frame count does not depend on the machine at all. Pin it to a core (``taskset -c 0``) on a shared
machine. The rows are the size the bench's mDL issuance writes (an event's data, a record's digests).
``--cache-kib`` gives each database's connection its own page cache (default: the store's ``PAGE_CACHE_KIB``), to
compare cache sizes on one revision; the offers' claims (a 10 KB portrait each) fill any cache up to 32 MiB before the
first round, as a long-running server's is filled.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from alembic import command

from openissuer.adapters.sql import sqlite_wallet_store as store
from openissuer.adapters.sql.engine import create_sync_db_engine
from openissuer.adapters.sql.migrate import _alembic_config
from openissuer.domain.ids import DEFAULT_TENANT_ID

NOW = "2026-12-02 01:00:00.000000"
LATER = "2027-12-02 01:00:00.000000"
DETAILS = json.dumps(
    {
        "docType": "org.iso.18013.5.1.mDL",
        "namespaces": {"org.iso.18013.5.1": {f"e{i}": {"digestID": i, "digest": "d" * 43} for i in range(17)}},
        "devicePublicKey": {"kty": "EC", "crv": "P-256", "x": "x" * 43, "y": "y" * 43},
        "msoHash": "h" * 43,
    }
)
CLAIMS = json.dumps({"given_name": "Ana", "portrait": "A" * 13_600})
EVENT_DATA = json.dumps({"offerId": "o" * 36, "userId": "u" * 36, "credentialConfigurationIds": ["c" * 36]})
PAGE = 4096
CACHE_KIB = store.PAGE_CACHE_KIB  # SqliteWalletStore's page cache
FRAME = PAGE + 24


def migrate(path: Path, revision: str) -> None:
    engine = create_sync_db_engine(f"sqlite:///{path}", foreign_keys=False)
    try:
        with engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def connect(path: Path, cache_kib: int) -> sqlite3.Connection:
    """The store's own connection (``SqliteWalletStore._open``), with a page cache of ``cache_kib``."""
    connection = store.SqliteWalletStore(str(path))._open()
    connection.execute(f"PRAGMA cache_size=-{cache_kib}")
    return connection


def add_offers(connection: sqlite3.Connection, count: int) -> list[bytes]:
    """``count`` redeemable offers of one user, each with its claims (a 10 KB portrait); return their code hashes."""
    codes = [os.urandom(32) for _ in range(count)]
    connection.execute("BEGIN")
    connection.execute(
        "INSERT INTO users (id, tenant_id, claims, created_at, updated_at) VALUES ('u1', ?, '{}', ?, ?)",
        (DEFAULT_TENANT_ID, NOW, NOW),
    )
    for code in codes:
        offer = str(uuid.uuid4())
        connection.execute(
            "INSERT INTO offers (id, tenant_id, user_id, credential_configuration_ids, code_hash, by_reference, "
            "tx_attempts, locked, expires_at, created_at) VALUES (?, ?, 'u1', '[\"c1\"]', ?, 1, 0, 0, ?, ?)",
            (offer, DEFAULT_TENANT_ID, code, LATER, NOW),
        )
        connection.execute("INSERT INTO offer_claims (offer_id, claims) VALUES (?, ?)", (offer, CLAIMS))
    connection.execute("COMMIT")
    return codes


def _event(connection: sqlite3.Connection, kind: str) -> None:
    connection.execute(
        store._EVENT,
        {
            "id": str(uuid.uuid4()),
            "tenant_id": DEFAULT_TENANT_ID,
            "type": kind,
            "category": "OpenId",
            "created_at": store.db_time(datetime.now(UTC)),
            "request_id": uuid.uuid4().hex,
            "client_id": None,
            "data": EVENT_DATA,
        },
    )


def issuance(connection: sqlite3.Connection, code: bytes) -> None:
    """One issuance's statements, as the store runs them: two write transactions and the grant's read."""
    connection.execute("BEGIN IMMEDIATE")
    offer = connection.execute(
        store._REDEEM_BY_CODE, {"now": NOW, "tenant": DEFAULT_TENANT_ID, "code": code, "requested": None}
    ).fetchone()
    token = os.urandom(32)
    connection.execute(
        store._INSERT_GRANT,
        {
            "token": token,
            "tenant": DEFAULT_TENANT_ID,
            "offer": offer["id"],
            "user": "u1",
            "configurations": '["c1"]',
            "identifiers": "{}",
            "notification": uuid.uuid4().hex,
            "expires": LATER,
            "created": NOW,
            "client": None,
            "jkt": None,
        },
    )
    _event(connection, "OpenIdCredentialOfferRedeemed")
    connection.execute("COMMIT")
    nonce = os.urandom(32)
    connection.execute(store._GRANT.format(marks="?"), (nonce, token, DEFAULT_TENANT_ID)).fetchone()
    connection.execute("BEGIN IMMEDIATE")
    connection.execute(store._USE_NONCE, (nonce, LATER))
    connection.execute(store._COUNT, (token, "c1", NOW, 1, 1)).fetchone()
    connection.execute(
        store._RECORD,
        {
            "id": str(uuid.uuid4()),
            "tenant_id": DEFAULT_TENANT_ID,
            "configuration_id": "c1",
            "format": "mso_mdoc",
            "profile": "mobile",
            "credential_type": "org.iso.18013.5.1.mDL",
            "user_id": "u1",
            "offer_id": offer["id"],
            "signer_id": "s1",
            "holder_key_thumbprint": "t" * 43,
            "created_at": NOW,
            "valid_from": NOW,
            "valid_until": LATER,
            "status": "valid",
            "status_list_id": None,
            "status_index": None,
            "details": DETAILS,
            "session_id": None,
        },
    )
    connection.execute(store._CLAIMED, (NOW, DEFAULT_TENANT_ID, offer["id"]))
    _event(connection, "OpenIdCredentialIssued")
    connection.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revisions", default="0016,head", help="two Alembic revisions, baseline first")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--batch", type=int, default=800, help="issuances per revision and round")
    parser.add_argument(
        "--cache-kib",
        default=f"{CACHE_KIB},{CACHE_KIB}",
        help=f"the page cache (KiB) of each revision's connection (default {CACHE_KIB}, the store's own)",
    )
    args = parser.parse_args()
    revisions = args.revisions.split(",")
    caches = [int(size) for size in args.cache_kib.split(",")]
    if len(revisions) != 2 or len(caches) != 2:
        parser.error("--revisions and --cache-kib take two values each")
    labels = revisions
    if caches[0] != caches[1]:
        labels = [f"{revision} ({cache} KiB cache)" for revision, cache in zip(revisions, caches, strict=True)]
    if labels[0] == labels[1]:
        labels = [f"{label} #{number}" for number, label in enumerate(labels, 1)]
    with tempfile.TemporaryDirectory(prefix="sqlite-writes-") as directory:
        databases = []
        for index, (label, revision, cache) in enumerate(zip(labels, revisions, caches, strict=True)):
            path = Path(directory) / f"{index}.db"
            migrate(path, revision)
            connection = connect(path, cache)
            codes = add_offers(connection, args.rounds * args.batch)
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            databases.append((label, connection, codes, path))
        cpu: dict[str, list[float]] = {label: [] for label in labels}
        frames: dict[str, float] = {}
        for round_number in range(args.rounds):
            order = databases if round_number % 2 == 0 else databases[::-1]
            for label, connection, codes, path in order:
                batch = [codes.pop() for _ in range(args.batch)]
                wal_before = os.path.getsize(f"{path}-wal")
                started = time.process_time()
                for code in batch:
                    issuance(connection, code)
                cpu[label].append((time.process_time() - started) / args.batch * 1e6)
                if round_number == 0:
                    frames[label] = (os.path.getsize(f"{path}-wal") - wal_before) / FRAME / args.batch
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        for _, connection, _, _ in databases:
            connection.close()
    base, other = labels
    ratios = [b / a for a, b in zip(cpu[base], cpu[other], strict=True)]
    print(
        f"`python bench/sqlite_writes.py --revisions {args.revisions} --rounds {args.rounds} --batch {args.batch} "
        f"--cache-kib {args.cache_kib}`"
    )
    print(
        f"\n- {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; SQLite {sqlite3.sqlite_version}; Python {sys.version.split()[0]}"
    )
    print("\n| revision | CPU µs per issuance's writes (median of rounds) | WAL frames per issuance |")
    print("|---|---:|---:|")
    for label in labels:
        print(f"| {label} | {statistics.median(cpu[label]):.0f} | {frames[label]:.1f} |")
    print(
        f"\n{other} ÷ {base}, median of the per-round ratios: CPU {statistics.median(ratios):.2f}, frames "
        f"{frames[other] / frames[base]:.2f}. Per round (µs): "
        + "; ".join(f"{label} " + ", ".join(f"{v:.0f}" for v in cpu[label]) for label in labels)
    )


if __name__ == "__main__":
    main()
