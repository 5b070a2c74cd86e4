"""In-memory repositories of the Pre-authorized Code flow; same contract as the SQL ones."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.offers import AccessGrant, PreAuthorizedOffer


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
