"""The wallet store's lookups reach their rows by primary key, whatever the tables' statistics.

A table that was never analyzed (a new deployment, or PostgreSQL with autovacuum off) gives the planner no idea how
many rows a tenant has, and PostgreSQL then took a tenant-leading index (``ix_access_grants_offer``,
``uq_users_provider_subject``) for ``token_hash = $1 AND tenant_id = $2`` and filtered every row of the tenant: each
issuance read all the tenant's grants and users. These tests load one tenant with many rows, never analyze, and read
the plans of the hot path's statements (PostgreSQL: custom and generic; SQLite: its query plan).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psycopg
import pytest

from oi_testing import libpq_url
from openissuer.adapters.sql import postgres_wallet_store as pg
from openissuer.adapters.sql import sqlite_wallet_store as lite
from openissuer.adapters.sql.migrate import upgrade_database

TENANT = "00000000-0000-4000-8000-00000000000a"
ROWS = 400
# Indexes whose leading column is tenant_id, on the tables the statements read by key.
TENANT_LEADING = ("ix_access_grants_offer", "uq_users_provider_subject", "ix_users_tenant_page")
_PLANNED_TABLES = ("tenants", "users", "offers", "offer_claims", "access_grants", "grant_issuances", "used_nonces")


_NOW, _LATER = "2026-12-01T00:00:00+00:00", "2026-12-02T00:00:00+00:00"
_INSERTS = (
    "INSERT INTO users (id, tenant_id, claims, created_at, updated_at, authentication_provider_id, subject_id) "
    "VALUES (?, ?, '{}', ?, ?, ?, ?)",
    "INSERT INTO offers (id, tenant_id, user_id, credential_configuration_ids, code_hash, by_reference, tx_attempts, "
    "locked, expires_at, created_at) VALUES (?, ?, ?, '[\"c\"]', ?, false, 0, false, ?, ?)",
    "INSERT INTO offer_claims (offer_id, claims) VALUES (?, '{}')",
    "INSERT INTO access_grants (token_hash, tenant_id, offer_id, user_id, credential_configuration_ids, "
    "credential_identifiers, notification_id, claims, expires_at, created_at) "
    "VALUES (?, ?, ?, ?, '[\"c\"]', '{}', ?, '{}', ?, ?)",
)


def _rows(execute: Callable[[str, Sequence[object]], object], placeholder: str) -> None:
    """One tenant with ROWS users (half of them from an authentication provider), offers and grants."""
    users, offers, claims, grants = (statement.replace("?", placeholder) for statement in _INSERTS)
    execute(
        "INSERT INTO tenants (id, name, created_at, config_version) VALUES (?, 't', ?, 1)".replace("?", placeholder),
        (TENANT, _NOW),
    )
    for i in range(ROWS):
        user, offer = f"user-{i:04d}", f"offer-{i:04d}"
        execute(users, (user, TENANT, _NOW, _NOW, "idp" if i % 2 else None, user))
        execute(offers, (offer, TENANT, user, i.to_bytes(32, "big"), _LATER, _NOW))
        execute(claims, (offer,))
        execute(grants, ((i + 1_000_000).to_bytes(32, "big"), TENANT, offer, user, f"n-{i}", _LATER, _NOW))


@pytest.fixture
def loaded_postgres(fresh_postgres_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    upgrade_database(fresh_postgres_url)
    with psycopg.connect(libpq_url(fresh_postgres_url), autocommit=True, prepare_threshold=None) as conn:
        for table in _PLANNED_TABLES:  # a server with autovacuum on must not analyze them during the test
            conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        with conn.transaction():
            _rows(conn.execute, "%s")
        yield conn


def _postgres_plan(conn: psycopg.Connection[tuple[object, ...]], statement: str, arguments: str, mode: str) -> str:
    """EXPLAIN (no ANALYZE: nothing runs) of the prepared statement executed with ``arguments``, in a plan-cache
    mode."""
    conn.execute(f"SET plan_cache_mode = {mode}")
    conn.execute("DEALLOCATE ALL")  # the connection prepares nothing else (prepare_threshold=None)
    conn.execute(f"PREPARE hot AS {statement}")
    return "\n".join(str(row[0]) for row in conn.execute(f"EXPLAIN EXECUTE hot({arguments})"))


_TOKEN, _AT = "'\\x%s'::bytea" % ("00" * 31 + "01"), "'2026-12-01T12:00:00+00:00'::timestamptz"
_HASHES = "ARRAY['\\x02'::bytea]"
_CODE, _OFFER = "'\\x%s'::bytea" % ("00" * 31 + "02"), "'offer-0001'"
# $1 tenant, $2 code hash or offer id, $3 now, $4 requested, $5 token hash, $6 identifiers, $7 notification id,
# $8 expiry, $9 events, $10 messages; with extras $11 client, $12 DPoP key, $13 single-use hashes, $14 their expiry.
_REDEEMING = "'" + TENANT + "', {match}, " + f"{_AT}, NULL, {_TOKEN}, '{{}}', 'n', {_AT}, '[]', '[]'"
_EXTRAS = f", 'client', NULL, {_HASHES}, {_AT}"
_COMMITTING = f"{_TOKEN}, {_HASHES}, {_AT}, 'c', {_AT}, 1, 3, '[]', '{TENANT}', {_OFFER}, '[]', '[]'"
# Statement, its arguments (real values: with NULLs a custom plan folds the conditions away), the indexes it must use.
HOT_POSTGRES = {
    "LOAD_GRANT": (pg.LOAD_GRANT, f"{_TOKEN}, {_HASHES}", ("pk_access_grants", "pk_users")),
    "REDEEM_BY_CODE": (pg.REDEEM_BY_CODE, _REDEEMING.replace("{match}", _CODE), ("uq_offers_code_hash", "pk_users")),
    "REDEEM_BY_ID": (pg.REDEEM_BY_ID, _REDEEMING.replace("{match}", _OFFER), ("pk_offers", "pk_users")),
    "REDEEM_BY_CODE_EXTRAS": (
        pg.REDEEM_BY_CODE_EXTRAS,
        _REDEEMING.replace("{match}", _CODE) + _EXTRAS,
        ("uq_offers_code_hash", "pk_users"),
    ),
    "REDEEM_BY_ID_EXTRAS": (
        pg.REDEEM_BY_ID_EXTRAS,
        _REDEEMING.replace("{match}", _OFFER) + _EXTRAS,
        ("pk_offers", "pk_users"),
    ),
    "COMMIT_ISSUANCE": (pg.COMMIT_ISSUANCE, _COMMITTING, ("pk_offers",)),
    "COMMIT_ISSUANCE_WITH_PROOF_IDS": (pg.COMMIT_ISSUANCE_WITH_PROOF_IDS, _COMMITTING + f", {_HASHES}", ("pk_offers",)),
}


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize("name", sorted(HOT_POSTGRES))
def test_postgres_reads_the_hot_rows_by_primary_key_without_statistics(
    loaded_postgres: psycopg.Connection[tuple[object, ...]], name: str, mode: str
) -> None:
    (analyzed,) = loaded_postgres.execute(
        "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL"
    ).fetchone() or (None,)
    assert analyzed == 0  # the case under test: no statistics
    statement, arguments, expected = HOT_POSTGRES[name]
    plan = _postgres_plan(loaded_postgres, statement, arguments, mode)
    for index in expected:
        assert f"using {index} on" in plan.lower(), plan
    for index in TENANT_LEADING:
        assert index not in plan, plan
    assert not re.search(r"Seq Scan on (users|access_grants|offers)\b", plan), plan
    (statistics,) = loaded_postgres.execute("SELECT count(*) FROM pg_stats WHERE schemaname = 'public'").fetchone() or (
        None,
    )
    assert statistics == 0  # still none after the EXPLAIN: the plan above was made without them


def test_sqlite_reads_the_hot_rows_by_primary_key_without_statistics(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as conn:
        _rows(conn.execute, "?")
        assert not conn.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchall()

        def plan(statement: str) -> str:
            names = set(re.findall(r":(\w+)", statement))
            parameters: dict[str, None] | tuple[None, ...] = (
                dict.fromkeys(names) if names else (None,) * statement.count("?")
            )
            return "\n".join(str(row[3]) for row in conn.execute("EXPLAIN QUERY PLAN " + statement, parameters))

        grant = plan(lite._GRANT.format(marks="?"))
        assert "SEARCH g USING PRIMARY KEY (token_hash=?)" in grant, grant
        assert re.search(r"SEARCH u USING INDEX sqlite_autoindex_users_\d \(id=\?\)", grant), grant
        assert re.search(r"SEARCH users USING INDEX sqlite_autoindex_users_\d \(id=\?\)", plan(lite._INSERT_GRANT))
        for statement in (lite._GRANT.format(marks="?"), lite._INSERT_GRANT, lite._REDEEM_BY_CODE, lite._CLAIMED):
            text = plan(statement)
            # json_each over a request's few configuration ids (the redeem's authorization_details) is no table scan
            tables = re.sub(r"SCAN \w+ VIRTUAL TABLE INDEX \d+:", "", text)
            assert "SCAN" not in tables.replace("SCALAR SUBQUERY", ""), text
            for index in TENANT_LEADING:
                assert index not in text, text
