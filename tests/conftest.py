"""Shared fixtures: databases (memory, SQLite, PostgreSQL), a movable clock, an app client."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from oi_testing import FakeClock, create_postgres_database, drop_postgres_database, libpq_url
from openissuer.adapters.sql.migrate import upgrade_database

PG_URL_ENV = "OPENISSUER_TEST_POSTGRES_URL"
PG_REQUIRED_ENV = "OPENISSUER_TEST_REQUIRE_POSTGRES"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server to test against; skips (or, in CI, fails) when it cannot be reached."""
    url = os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        shown = make_url(url).render_as_string()
        reason = f"PostgreSQL not reachable at {shown} ({exc.__class__.__name__}); set {PG_URL_ENV}"
        if os.environ.get(PG_REQUIRED_ENV) == "1":
            pytest.fail(f"{reason} — required because {PG_REQUIRED_ENV}=1", pytrace=False)
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A migrated PostgreSQL database shared by the session; tests isolate themselves by tenant."""
    url = create_postgres_database(postgres_server_url)
    upgrade_database(url)
    yield url
    drop_postgres_database(postgres_server_url, url)


@pytest.fixture
def fresh_postgres_url(postgres_server_url: str) -> Iterator[str]:
    """An empty PostgreSQL database for one test (not migrated)."""
    url = create_postgres_database(postgres_server_url)
    yield url
    drop_postgres_database(postgres_server_url, url)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database shared by the session."""
    path: Path = tmp_path_factory.mktemp("sqlite") / "openissuer.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_database(url)
    return url


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each storage backend in turn: the contract suite runs every test on all three."""
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def memory_store() -> object:
    """The in-memory database behind ``uow_factory`` and ``wallet_store`` on the memory backend."""
    from openissuer.adapters.memory.store import InMemoryStore

    return InMemoryStore()


@pytest.fixture
async def uow_factory(database_url: str, memory_store: object) -> AsyncIterator[object]:
    from openissuer.adapters.memory.uow import InMemoryUnitOfWork
    from openissuer.adapters.sql.engine import create_async_db_engine
    from openissuer.adapters.sql.uow import SqlUnitOfWork

    if database_url == "memory://":
        yield lambda read_only=False: InMemoryUnitOfWork(memory_store, read_only=read_only)  # type: ignore[arg-type]
        return
    engine = create_async_db_engine(database_url, pool_size=2)
    yield lambda read_only=False: SqlUnitOfWork(engine, read_only=read_only)
    await engine.dispose()


@pytest.fixture
async def wallet_store(database_url: str, memory_store: object) -> AsyncIterator[object]:
    """The wallet endpoints' driver-level store over the same database as ``uow_factory``."""
    from openissuer.adapters.memory.wallet_store import InMemoryWalletStore
    from openissuer.adapters.sql.engine import is_sqlite, libpq_dsn, sqlite_path
    from openissuer.adapters.sql.postgres_wallet_store import PostgresWalletStore
    from openissuer.adapters.sql.sqlite_wallet_store import SqliteWalletStore

    if database_url == "memory://":
        yield InMemoryWalletStore(memory_store)  # type: ignore[arg-type]
        return
    store = (
        SqliteWalletStore(sqlite_path(database_url))
        if is_sqlite(database_url)
        else PostgresWalletStore(libpq_dsn(database_url), pool_size=2)
    )
    yield store
    await store.aclose()
