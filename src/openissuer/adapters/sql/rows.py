"""Conversions shared by the SQL repositories: timestamps, keyset pagination and inserts under a unique key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, Table, and_, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.domain.pages import PageKey

_DIALECTS = {"postgresql": postgresql, "sqlite": sqlite}


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (SQLite returns naive values for aware columns)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_db_time(value: datetime) -> datetime:
    """Return a UTC datetime to store; SQLite keeps the text as given, so normalise before writing."""
    return as_utc(value)


def page_query(query: Select[Any], table: Table, *, limit: int, after: PageKey | None) -> Select[Any]:
    """Order ``query`` by ``(created_at, id)``, start after ``after`` and fetch one extra row to detect more."""
    if after is not None:
        created_at = to_db_time(after.created_at)
        query = query.where(
            or_(
                table.c.created_at > created_at,
                and_(table.c.created_at == created_at, table.c.id > after.id),
            )
        )
    return query.order_by(table.c.created_at, table.c.id).limit(limit + 1)


def split_page(rows: Sequence[Any], limit: int) -> tuple[Sequence[Any], PageKey | None]:
    """Cut the extra row off and return the page's rows and the key after which the next page starts."""
    if len(rows) <= limit:
        return rows, None
    kept = rows[:limit]
    last = kept[-1]
    return kept, PageKey(created_at=as_utc(last.created_at), id=last.id)


async def insert_unless_taken(conn: AsyncConnection, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless a unique key of it is taken; tell whether it went in.

    ``INSERT … ON CONFLICT DO NOTHING RETURNING`` rather than catching ``IntegrityError``: on SQLite, SQLAlchemy's
    aiosqlite adapter leaves the failed statement's cursor open, held by the exception's traceback cycle, and the
    garbage collector later finalizes it on the event loop thread. If that connection is then waiting in
    ``BEGIN IMMEDIATE`` for the write lock, the finalizer blocks the loop, the lock holder cannot finish, and every
    writer stalls for the busy timeout and fails with "database is locked". A conflict that raises nothing avoids it.
    """
    statement = _DIALECTS[conn.dialect.name].insert(table).values(values).on_conflict_do_nothing()
    return (await conn.execute(statement.returning(*table.primary_key.columns))).first() is not None


async def upsert(conn: AsyncConnection, table: Table, values: dict[str, Any], updates: dict[str, Any]) -> None:
    """Insert a row, or update ``updates`` on the row whose primary key it takes (one statement, no IntegrityError
    caught: see ``insert_unless_taken``)."""
    statement = _DIALECTS[conn.dialect.name].insert(table).values(values)
    keys = list(table.primary_key.columns)
    await conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates))
