"""Users in SQL: holder records with their persisted claims (reference platform §5.2), listed and searched."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.rows import as_utc, insert_unless_taken, page_query, split_page, to_db_time
from openissuer.adapters.sql.tables import users
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.users import User, UserSearch
from openissuer.errors import ConflictError, ErrorDetail

# Keys a JSON path may name in SQL without quoting differences between SQLite and PostgreSQL.
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
SEARCH_BATCH = 200


def _user_from_row(row: Any) -> User:
    return User(
        id=row.id,
        tenant_id=row.tenant_id,
        claims=row.claims,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        authentication_provider_id=row.authentication_provider_id,
        subject_id=row.subject_id,
    )


def _subject_taken(user: User) -> ConflictError:
    return ConflictError(
        "A user for this subject already exists",
        details=[ErrorDetail("body", "authenticationProvider.subjectId", "already exists", user.subject_id)],
    )


class SqlUserRepository:
    """Users in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, user: User) -> None:
        """Insert a user; another user for the same provider and subject is a ConflictError (insert_unless_taken)."""
        values = {
            "id": user.id,
            "tenant_id": user.tenant_id,
            "claims": user.claims,
            "created_at": to_db_time(user.created_at),
            "updated_at": to_db_time(user.updated_at),
            "authentication_provider_id": user.authentication_provider_id,
            "subject_id": user.subject_id,
        }
        if not await insert_unless_taken(self._conn, users, values):
            raise _subject_taken(user)

    async def get(self, tenant_id: str, id: str) -> User | None:
        """Return the tenant's user or None."""
        row = (await self._conn.execute(select(users).where(users.c.tenant_id == tenant_id, users.c.id == id))).first()
        return None if row is None else _user_from_row(row)

    async def find_by_subject(self, tenant_id: str, provider_id: str, subject_id: str) -> User | None:
        """Return the user an identity provider knows by ``subject_id``."""
        query = select(users).where(
            users.c.tenant_id == tenant_id,
            users.c.authentication_provider_id == provider_id,
            users.c.subject_id == subject_id,
        )
        row = (await self._conn.execute(query)).first()
        return None if row is None else _user_from_row(row)

    async def update_claims(self, tenant_id: str, id: str, claims: dict[str, Any], now: datetime) -> bool:
        """Replace the persisted claims."""
        query = (
            update(users)
            .where(users.c.tenant_id == tenant_id, users.c.id == id)
            .values(claims=claims, updated_at=to_db_time(now))
        )
        return bool((await self._conn.execute(query)).rowcount)

    async def replace(self, user: User) -> bool:
        """Replace claims and subject; a subject taken by another user is a ConflictError (checked in the same
        statement, never by a caught IntegrityError: see ``rows.insert_unless_taken``)."""
        t = users
        taken = (
            select(t.c.id)
            .where(
                t.c.tenant_id == user.tenant_id,
                t.c.authentication_provider_id == user.authentication_provider_id,
                t.c.subject_id == user.subject_id,
                t.c.id != user.id,
            )
            .exists()
        )
        query = (
            update(t)
            .where(t.c.tenant_id == user.tenant_id, t.c.id == user.id, ~taken)
            .values(
                claims=user.claims,
                authentication_provider_id=user.authentication_provider_id,
                subject_id=user.subject_id,
                updated_at=to_db_time(user.updated_at),
            )
        )
        if (await self._conn.execute(query)).rowcount:
            return True
        if await self.get(user.tenant_id, user.id) is not None:
            raise _subject_taken(user)
        return False

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[User]:
        """Return one page of the tenant's users."""
        query = page_query(select(users).where(users.c.tenant_id == tenant_id), users, limit=limit, after=after)
        rows, next_key = split_page((await self._conn.execute(query)).all(), limit)
        return Page(items=[_user_from_row(row) for row in rows], next_key=next_key)

    async def search(self, tenant_id: str, search: UserSearch, *, limit: int, after: PageKey | None) -> Page[User]:
        """Return one page of matching users.

        The database narrows the rows (provider, subject, and the filter's string values at plain key paths);
        ``UserSearch.matches`` then decides exactly, in batches in page order until the page is full, so a
        page is always ``limit`` matches unless the users run out.
        """
        query = _narrowed(select(users).where(users.c.tenant_id == tenant_id), search)
        matched: list[User] = []
        key = after
        while len(matched) <= limit:
            rows = (await self._conn.execute(page_query(query, users, limit=SEARCH_BATCH - 1, after=key))).all()
            for row in rows:
                user = _user_from_row(row)
                if search.matches(user):
                    matched.append(user)
                    if len(matched) > limit:
                        break
            if len(rows) < SEARCH_BATCH:
                break
            key = PageKey(created_at=as_utc(rows[-1].created_at), id=rows[-1].id)
        if len(matched) <= limit:
            return Page(items=matched, next_key=None)
        kept = matched[:limit]
        return Page(items=kept, next_key=PageKey(created_at=kept[-1].created_at, id=kept[-1].id))

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the user row (its persisted claims); records of issued credentials keep their user id."""
        query = delete(users).where(users.c.tenant_id == tenant_id, users.c.id == id)
        return bool((await self._conn.execute(query)).rowcount)


def _narrowed(query: Select[Any], search: UserSearch) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = []
    if search.provider_id is not None:
        conditions.append(users.c.authentication_provider_id == search.provider_id)
    if search.subject_id is not None:
        conditions.append(users.c.subject_id == search.subject_id)
    for path, value in _string_leaves(search.claims or {}, ()):
        element = users.c.claims[path[0]] if len(path) == 1 else users.c.claims[path]
        conditions.append(element.as_string() == value)
    return query.where(and_(*conditions)) if conditions else query


def _string_leaves(filter: dict[str, Any], prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    """The (path, value) of each string value in nested objects of the filter, along plain keys only."""
    for key, value in filter.items():
        if not _PLAIN_KEY.match(key):
            continue
        if isinstance(value, dict):
            yield from _string_leaves(value, (*prefix, key))
        elif isinstance(value, str):
            yield (*prefix, key), value
