"""In-memory repositories of the Pre-authorized Code flow; same contract as the SQL ones."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.offers import AccessGrant, PreAuthorizedOffer
from openissuer.domain.users import User
from openissuer.errors import ConflictError, ErrorDetail


class InMemoryUserRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.users

    async def add(self, user: User) -> None:
        """Store a user; a second user for the same provider and subject is a ConflictError."""
        if user.subject_id is not None and user.authentication_provider_id is not None:
            existing = await self.find_by_subject(user.tenant_id, user.authentication_provider_id, user.subject_id)
            if existing is not None:
                raise ConflictError(
                    "A user for this subject already exists",
                    details=[ErrorDetail("body", "subjectId", "already exists", user.subject_id)],
                )
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


class InMemoryOfferRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.offers

    async def add(self, offer: PreAuthorizedOffer) -> None:
        """Store an offer."""
        self._rows[offer.id] = offer

    async def get(self, tenant_id: str, id: str) -> PreAuthorizedOffer | None:
        """Return the tenant's offer or None."""
        offer = self._rows.get(id)
        return offer if offer is not None and offer.tenant_id == tenant_id else None

    async def revoke(self, tenant_id: str, id: str, now: datetime) -> bool:
        """Revoke an unredeemed offer."""
        offer = await self.get(tenant_id, id)
        if offer is None or offer.redeemed_at is not None or offer.revoked_at is not None:
            return False
        self._rows[id] = dataclasses.replace(offer, revoked_at=now, sealed_code=None)
        return True


class InMemoryAccessGrantRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, grant: AccessGrant) -> None:
        """Store a grant with a snapshot of its user's persisted claims (``user_claims``)."""
        user = self._state.users.get(grant.user_id)
        snapshot = dict(user.claims) if user is not None and user.tenant_id == grant.tenant_id else None
        self._state.access_grants[grant.token_hash] = dataclasses.replace(grant, user_claims=snapshot)

    async def revoke_for_code(self, code_hash: bytes, now: datetime) -> int:
        """Revoke every token issued from an authorization code."""
        hits = [
            g
            for g in self._state.access_grants.values()
            if g.authorization_code_hash == code_hash and g.revoked_at is None
        ]
        for grant in hits:
            self._state.access_grants[grant.token_hash] = dataclasses.replace(grant, revoked_at=now)
        return len(hits)
