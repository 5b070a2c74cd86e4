"""The migrations: the schema they build is the one the code declares, and 0005 carries mDoc data over."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from joserfc.jwk import ECKey
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from openissuer.adapters.sql.engine import create_sync_db_engine
from openissuer.adapters.sql.migrate import _alembic_config, upgrade_database
from openissuer.adapters.sql.tables import metadata
from openissuer.domain.ids import DEFAULT_TENANT_ID

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DEVICE_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        yield str(request.getfixturevalue("fresh_postgres_url"))


def test_the_migrated_schema_is_the_declared_one(empty_url: str) -> None:
    upgrade_database(empty_url)
    engine = create_sync_db_engine(empty_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    assert differences == []


def _run(url: str, revision: str, *, down: bool = False) -> None:
    engine = create_sync_db_engine(url, foreign_keys=False)  # as upgrade_database runs them
    try:
        with engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        engine.dispose()


def test_0005_moves_mdoc_configurations_and_records(empty_url: str) -> None:
    _run(empty_url, "0004")
    engine = create_sync_db_engine(empty_url)
    body = {"claimMappings": {"ns": {"a": {"defaultValue": "x"}}}, "expiresIn": {"days": 30}, "includeStatus": False}
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO mobile_configurations (id, tenant_id, doctype, body, created_at, updated_at) "
                    "VALUES ('c1', :tenant, 'org.example.mdl', :body, :t, :t)"
                ),
                {"tenant": DEFAULT_TENANT_ID, "body": json.dumps(body), "t": T0},
            )
            connection.execute(
                text(
                    "INSERT INTO issued_credentials (id, tenant_id, configuration_id, profile, doctype, device_key, "
                    "digests, mso_hash, created_at, valid_from, valid_until, status) VALUES ('r1', :tenant, 'c1', "
                    "'mobile', 'org.example.mdl', :key, :digests, 'hash', :t, :t, :t, 'valid')"
                ),
                {
                    "tenant": DEFAULT_TENANT_ID,
                    "key": json.dumps(DEVICE_KEY),
                    "digests": json.dumps({"ns": {"a": {"digestID": 1, "digest": "d"}}}),
                    "t": T0,
                },
            )
        _run(empty_url, "head")
        with engine.connect() as connection:
            configuration = connection.execute(text("SELECT * FROM credential_configurations")).mappings().one()
            record = connection.execute(text("SELECT * FROM issued_credentials")).mappings().one()
            version = connection.execute(text("SELECT config_version FROM tenants")).scalar_one()
        assert (configuration["format"], configuration["credential_type"]) == ("mso_mdoc", "org.example.mdl")
        stored = configuration["body"] if isinstance(configuration["body"], dict) else json.loads(configuration["body"])
        assert stored == {**body, "options": {}}
        details = record["details"] if isinstance(record["details"], dict) else json.loads(record["details"])
        assert details == {
            "docType": "org.example.mdl",
            "devicePublicKey": DEVICE_KEY,
            "namespaces": {"ns": {"a": {"digestID": 1, "digest": "d"}}},
            "msoHash": "hash",
        }
        assert record["holder_key_thumbprint"] == ECKey.import_key(DEVICE_KEY).thumbprint()  # RFC 7638, by joserfc
        assert (record["format"], record["credential_type"]) == ("mso_mdoc", "org.example.mdl")
        assert version == 0
        _run(empty_url, "0004", down=True)
        with engine.connect() as connection:
            back = connection.execute(text("SELECT doctype, mso_hash FROM issued_credentials")).one()
            assert tuple(back) == ("org.example.mdl", "hash")
            assert (
                connection.execute(text("SELECT doctype FROM mobile_configurations")).scalar_one() == "org.example.mdl"
            )
    finally:
        engine.dispose()


def test_0016_moves_offer_claims_to_their_own_table_and_back(empty_url: str) -> None:
    """An offer's claims move to offer_claims (the offer's row keeps none) and come back on downgrade."""
    _run(empty_url, "0015")
    claims = {"given_name": "Ana", "portrait": "A" * 20000}
    engine = create_sync_db_engine(empty_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO offers (id, tenant_id, user_id, credential_configuration_ids, claims, code_hash, "
                    "by_reference, tx_attempts, locked, expires_at, created_at) VALUES ('o1', :tenant, 'u1', "
                    "'[\"c1\"]', :claims, :code, false, 0, false, :t, :t)"
                ),
                {"tenant": DEFAULT_TENANT_ID, "claims": json.dumps(claims), "code": b"\x01" * 32, "t": T0},
            )
        _run(empty_url, "0016")
        with engine.connect() as connection:
            moved = connection.execute(text("SELECT offer_id, claims FROM offer_claims")).all()
            columns = connection.execute(text("SELECT * FROM offers")).keys()
        assert [(row[0], json.loads(row[1]) if isinstance(row[1], str) else row[1]) for row in moved] == [
            ("o1", claims)
        ]
        assert "claims" not in columns
        _run(empty_url, "0015", down=True)
        with engine.connect() as connection:
            back = connection.execute(text("SELECT claims FROM offers WHERE id = 'o1'")).scalar_one()
        assert (json.loads(back) if isinstance(back, str) else back) == claims
    finally:
        engine.dispose()


def _key_and_rowid(connection: Any, dialect: str, table: str) -> tuple[list[str], bool]:
    """The primary key's columns in order, and whether the table has a rowid (always True on PostgreSQL)."""
    key = list(inspect(connection).get_pk_constraint(table)["constrained_columns"])
    if dialect != "sqlite":
        return key, True
    create = connection.execute(
        text("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = :t"), {"t": table}
    ).scalar_one()
    return key, not create.endswith("WITHOUT ROWID")


def test_0017_rebuilds_the_hot_tables_and_back_keeping_their_rows(empty_url: str) -> None:
    """events is keyed (tenant_id, created_at, id) without its page index; on SQLite the four small-rowed tables an
    issuance writes lose their rowid; rows and the other indexes survive both ways."""
    _run(empty_url, "0016")
    engine = create_sync_db_engine(empty_url)
    dialect = engine.dialect.name
    values = {"tenant": DEFAULT_TENANT_ID, "t": T0, "token": b"\x02" * 32, "nonce": b"\x03" * 32}
    rows = {
        "events": "SELECT id, type, data FROM events",
        "used_nonces": "SELECT nonce_hash FROM used_nonces",
        "grant_issuances": "SELECT token_hash, credential_configuration_id, count FROM grant_issuances",
        "access_grants": "SELECT token_hash, user_id, user_claims, dpop_jkt FROM access_grants",
    }

    def read(connection: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {table: [tuple(row) for row in connection.execute(text(query))] for table, query in rows.items()}

    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO events (id, tenant_id, type, category, created_at, data) "
                    "VALUES ('e1', :tenant, 'OpenIdCredentialIssued', 'Credential', :t, '{\"a\": 1}')"
                ),
                values,
            )
            connection.execute(text("INSERT INTO used_nonces (nonce_hash, expires_at) VALUES (:nonce, :t)"), values)
            connection.execute(
                text(
                    "INSERT INTO grant_issuances (token_hash, credential_configuration_id, created_at, count) "
                    "VALUES (:token, 'c1', :t, 2)"
                ),
                values,
            )
            connection.execute(
                text(
                    "INSERT INTO access_grants (token_hash, tenant_id, offer_id, user_id, "
                    "credential_configuration_ids, credential_identifiers, notification_id, claims, user_claims, "
                    "expires_at, created_at, dpop_jkt) "
                    "VALUES (:token, :tenant, 'o1', 'u1', '[\"c1\"]', '{}', 'n1', '{}', '{\"b\": 2}', :t, :t, 'jkt')"
                ),
                values,
            )
            before = read(connection)
        _run(empty_url, "0017")
        with engine.connect() as connection:
            assert read(connection) == before
            assert _key_and_rowid(connection, dialect, "events") == (
                ["tenant_id", "created_at", "id"],
                dialect != "sqlite",
            )
            for table, key in (
                ("used_nonces", ["nonce_hash"]),
                ("grant_issuances", ["token_hash", "credential_configuration_id"]),
                ("access_grants", ["token_hash"]),
            ):
                assert _key_and_rowid(connection, dialect, table) == (key, dialect != "sqlite")
            tables = ("events", "used_nonces", "access_grants")
            indexes = {i["name"] for t in tables for i in inspect(connection).get_indexes(t)}
        assert "ix_events_tenant_page" not in indexes
        assert {"ix_used_nonces_expires_at", "ix_access_grants_offer", "ix_access_grants_code"} <= indexes
        _run(empty_url, "0016", down=True)
        with engine.connect() as connection:
            assert read(connection) == before
            assert _key_and_rowid(connection, dialect, "events") == (["id"], True)
            assert _key_and_rowid(connection, dialect, "used_nonces") == (["nonce_hash"], True)
            assert _key_and_rowid(connection, dialect, "access_grants") == (["token_hash"], True)
            indexes = {i["name"] for i in inspect(connection).get_indexes("events")}
        assert "ix_events_tenant_page" in indexes
    finally:
        engine.dispose()


def _tenants(connection: Any) -> dict[str, tuple[Any, ...]]:
    return {row[0]: tuple(row[1:]) for row in connection.execute(text("SELECT id, name, public_url FROM tenants"))}


def test_0018_keys_each_tenant_by_its_host_and_back(empty_url: str) -> None:
    """Each stored public URL's host key is backfilled (the URL itself kept), unique; the default tenant has none."""
    _run(empty_url, "0017")
    engine = create_sync_db_engine(empty_url)
    insert = text("INSERT INTO tenants (id, name, public_url, created_at) VALUES (:id, 'n', :url, :t)")
    try:
        with engine.begin() as connection:
            for tenant_id, url in (("t1", "https://Bücher.example./x/"), ("t2", "https://a.example:80")):
                connection.execute(insert, {"id": tenant_id, "url": url, "t": T0})
            before = _tenants(connection)
        _run(empty_url, "0018")
        with engine.connect() as connection:
            assert _tenants(connection) == before
            hosts = dict(connection.execute(text("SELECT id, host FROM tenants")).all())
        assert hosts == {DEFAULT_TENANT_ID: None, "t1": "xn--bcher-kva.example", "t2": "a.example"}
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(
                text("INSERT INTO tenants (id, name, created_at, host) VALUES ('t3', 'n', :t, 'a.example')"),
                {"t": T0},
            )
        _run(empty_url, "0017", down=True)
        with engine.connect() as connection:
            assert _tenants(connection) == before
            assert "host" not in {c["name"] for c in inspect(connection).get_columns("tenants")}
    finally:
        engine.dispose()


def test_0018_stops_unchanged_naming_the_tenants_that_share_a_host(empty_url: str) -> None:
    """Two stored tenants with one host key: which keeps it is the operator's call, so the upgrade changes nothing."""
    _run(empty_url, "0017")
    engine = create_sync_db_engine(empty_url)
    insert = text("INSERT INTO tenants (id, name, public_url, created_at) VALUES (:id, 'n', :url, :t)")
    try:
        with engine.begin() as connection:
            for tenant_id, url in (("t1", "https://dup.example"), ("t2", "http://DUP.example.:443/x")):
                connection.execute(insert, {"id": tenant_id, "url": url, "t": T0})
            before = _tenants(connection)
        with pytest.raises(RuntimeError, match=r"'dup\.example': tenants t1, t2"):
            _run(empty_url, "0018")
        with engine.connect() as connection:
            assert _tenants(connection) == before
            assert "host" not in {c["name"] for c in inspect(connection).get_columns("tenants")}
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0017"
    finally:
        engine.dispose()
