"""Schema migrations with Alembic, run programmatically (no alembic.ini needed by operators)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.engine import create_sync_db_engine, is_sqlite

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# An arbitrary constant: the PostgreSQL advisory lock that serialises concurrent upgrades (several processes
# starting at once must not both create the same tables).
_MIGRATION_LOCK_ID = 0x6F70656E6973


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """Return the newest schema revision this code knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return head


def upgrade_database(url: str) -> str:
    """Upgrade the database at ``url`` to the newest revision; return that revision."""
    _ensure_sqlite_directory(url)
    engine = create_sync_db_engine(url, foreign_keys=False)
    try:
        with engine.begin() as connection:
            if not is_sqlite(url):
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    return head_revision()


def _ensure_sqlite_directory(url: str) -> None:
    database = make_url(url).database
    if is_sqlite(url) and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


async def current_revision(connection: AsyncConnection) -> str | None:
    """Return the current schema revision over an async connection."""
    return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
