"""In-memory users; same contract as the SQL repository."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.users import User, UserSearch
from openissuer.errors import ConflictError, ErrorDetail


class InMemoryUserRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.users

    def _subject_taken(self, user: User) -> bool:
        if user.subject_id is None or user.authentication_provider_id is None:
            return False
        return any(
            u.id != user.id
            and (u.tenant_id, u.authentication_provider_id, u.subject_id)
            == (user.tenant_id, user.authentication_provider_id, user.subject_id)
            for u in self._rows.values()
        )

    async def add(self, user: User) -> None:
        """Store a user; a second user for the same provider and subject is a ConflictError."""
        if self._subject_taken(user):
            raise _conflict(user)
        self._rows[user.id] = user

    async def get(self, tenant_id: str, id: str) -> User | None:
        """Return the tenant's user or None."""
        user = self._rows.get(id)
        return user if user is not None and user.tenant_id == tenant_id else None

    async def find_by_subject(self, tenant_id: str, provider_id: str, subject_id: str) -> User | None:
        """Return the user an identity provider knows by ``subject_id``."""
        return next(
            (
                u
                for u in self._rows.values()
                if (u.tenant_id, u.authentication_provider_id, u.subject_id) == (tenant_id, provider_id, subject_id)
            ),
            None,
        )

    async def update_claims(self, tenant_id: str, id: str, claims: dict[str, Any], now: datetime) -> bool:
        """Replace the persisted claims."""
        user = await self.get(tenant_id, id)
        if user is None:
            return False
        self._rows[id] = dataclasses.replace(user, claims=claims, updated_at=now)
        return True

    async def replace(self, user: User) -> bool:
        """Replace claims and subject."""
        existing = await self.get(user.tenant_id, user.id)
        if existing is None:
            return False
        if self._subject_taken(user):
            raise _conflict(user)
        self._rows[user.id] = dataclasses.replace(user, created_at=existing.created_at)
        return True

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[User]:
        """Return one page of the tenant's users."""
        rows = (u for u in self._rows.values() if u.tenant_id == tenant_id)
        return page_of(rows, lambda u: (u.created_at, u.id), limit=limit, after=after)

    async def search(self, tenant_id: str, search: UserSearch, *, limit: int, after: PageKey | None) -> Page[User]:
        """Return one page of matching users."""
        rows = (u for u in self._rows.values() if u.tenant_id == tenant_id and search.matches(u))
        return page_of(rows, lambda u: (u.created_at, u.id), limit=limit, after=after)

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the user."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._rows[id]
        return True


def _conflict(user: User) -> ConflictError:
    return ConflictError(
        "A user for this subject already exists",
        details=[ErrorDetail("body", "authenticationProvider.subjectId", "already exists", user.subject_id)],
    )
