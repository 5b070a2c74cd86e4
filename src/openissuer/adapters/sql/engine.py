"""Engines for SQLite (WAL, busy timeout) and PostgreSQL (psycopg 3), async for serving and sync for migrations.

Every engine hides statement parameters (``hide_parameters``): neither its log lines nor the text of its errors,
which reach the server log, carry the values of a statement (hashes, sealed keys, claims).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Bytes the write-ahead log is truncated back to when a connection starts it over (every connection to the file sets
# it, so whichever one restarts the log bounds it; see sqlite_wallet_store's docstring).
SQLITE_WAL_SIZE_LIMIT = 64 * 1024 * 1024


def async_url(url: str) -> str:
    """Return ``url`` with an async driver: aiosqlite for SQLite, psycopg (async mode) for PostgreSQL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def sync_url(url: str) -> str:
    """Return ``url`` with a synchronous driver (for Alembic): sqlite3 or psycopg."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def is_sqlite(url: str) -> bool:
    """Tell whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> str:
    """Return the file of a SQLite URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("a SQLite database must be a file shared by the processes")
    return database


def libpq_dsn(url: str) -> str:
    """Return a PostgreSQL URL as a libpq/asyncpg DSN (``postgresql://…``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module's own transaction handling starts transactions late and breaks SAVEPOINTs; turn it off
    # and let SQLAlchemy's "begin" event below issue BEGIN (the documented recipe for pysqlite and aiosqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_SIZE_LIMIT}")
    cursor.close()


READ_ONLY_OPTION = "openissuer_read_only"


def _begin_sqlite(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY_OPTION):
        connection.exec_driver_sql("BEGIN")  # reads only: a deferred transaction takes no write lock
        return
    # IMMEDIATE takes the write lock at BEGIN, waiting up to the busy timeout. A deferred transaction that reads and
    # then writes fails at once ("database is locked") when another connection wrote in between, because SQLite
    # cannot upgrade a stale read snapshot; units of work are short, so serialising them costs little.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _listen_sqlite(engine: Engine) -> None:
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)


def create_async_db_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Create the serving engine; SQLite connections get WAL mode, a busy timeout and foreign keys."""
    target = async_url(url)
    if is_sqlite(target):
        # Every aiosqlite connection has a thread; a pool as large as PostgreSQL's avoids opening and closing
        # connections (and threads) under load.
        engine = create_async_engine(
            target,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,
        )
        _listen_sqlite(engine.sync_engine)
        return engine
    # No pre-ping: it costs a round trip per unit of work. A connection found dead is invalidated by SQLAlchemy
    # (with the rest of the pool) when its statement fails, so after a database restart one request per stale
    # connection fails instead of every request paying; pool_recycle bounds connection age.
    return create_async_engine(
        target, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800, hide_parameters=True
    )


def create_sync_db_engine(url: str, *, foreign_keys: bool = True) -> Engine:
    """Create a synchronous engine (migrations, CLI checks) with the same SQLite connection settings.

    ``foreign_keys=False`` is for migrations on SQLite: a batch migration rebuilds a table by copying it and
    dropping the original, and with foreign keys on, dropping a parent table cascades its ``ON DELETE CASCADE``
    children away (SQLite runs an implicit ``DELETE FROM`` before ``DROP TABLE``).
    """
    target = sync_url(url)
    if is_sqlite(target):
        engine = create_engine(target, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, hide_parameters=True)
        _listen_sqlite(engine)
        if not foreign_keys:
            event.listen(engine, "connect", _foreign_keys_off)
        return engine
    return create_engine(target, pool_pre_ping=True, hide_parameters=True)


def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()
