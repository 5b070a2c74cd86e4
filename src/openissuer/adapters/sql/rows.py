"""Conversions shared by the SQL repositories: timestamps and keyset pagination."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, Table, and_, or_

from openissuer.domain.pages import PageKey


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
