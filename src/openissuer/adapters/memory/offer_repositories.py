"""In-memory repositories of the Pre-authorized Code flow; same contract as the SQL ones."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openissuer.adapters.memory.store import MemoryState, StoredNonce
from openissuer.domain.offers import AccessGrant, GrantState, PreAuthorizedOffer
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

    async def find_by_code_hash(self, tenant_id: str, code_hash: bytes) -> PreAuthorizedOffer | None:
        """Return the offer of a pre-authorized code."""
        return next((o for o in self._rows.values() if o.tenant_id == tenant_id and o.code_hash == code_hash), None)

    async def record_failed_tx_code(self, tenant_id: str, id: str, max_attempts: int) -> int:
        """Count a wrong transaction code and lock at ``max_attempts``."""
        offer = await self.get(tenant_id, id)
        if offer is None:
            return 0
        attempts = offer.tx_attempts + 1
        self._rows[id] = dataclasses.replace(
            offer, tx_attempts=attempts, locked=offer.locked or attempts >= max_attempts
        )
        return attempts

    async def redeem(self, tenant_id: str, id: str, now: datetime) -> bool:
        """Redeem the offer if it is still redeemable."""
        offer = await self.get(tenant_id, id)
        if offer is None or not offer.is_redeemable(now):
            return False
        self._rows[id] = dataclasses.replace(offer, redeemed_at=now, sealed_code=None)
        return True

    async def redeem_by_code(self, tenant_id: str, code_hash: bytes, now: datetime) -> PreAuthorizedOffer | None:
        """Redeem an offer without transaction code by its code."""
        offer = await self.find_by_code_hash(tenant_id, code_hash)
        if offer is None or offer.tx_code_hash is not None or not offer.is_redeemable(now):
            return None
        self._rows[offer.id] = dataclasses.replace(offer, redeemed_at=now, sealed_code=None)
        return offer

    async def revoke(self, tenant_id: str, id: str, now: datetime) -> bool:
        """Revoke an unredeemed offer."""
        offer = await self.get(tenant_id, id)
        if offer is None or offer.redeemed_at is not None or offer.revoked_at is not None:
            return False
        self._rows[id] = dataclasses.replace(offer, revoked_at=now, sealed_code=None)
        return True

    async def mark_claimed(self, tenant_id: str, id: str, now: datetime) -> None:
        """Set ``claimed_at`` once."""
        offer = await self.get(tenant_id, id)
        if offer is not None and offer.claimed_at is None:
            self._rows[id] = dataclasses.replace(offer, claimed_at=now)


class InMemoryAccessGrantRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, grant: AccessGrant) -> None:
        """Store a grant."""
        self._state.access_grants[grant.token_hash] = grant

    async def get_state(self, tenant_id: str, token_hash: bytes) -> GrantState | None:
        """Return the tenant's grant with the user's claims, the configuration version and the issued counts."""
        grant = self._state.access_grants.get(token_hash)
        if grant is None or grant.tenant_id != tenant_id:
            return None
        user = self._state.users.get(grant.user_id)
        tenant = self._state.tenants.get(tenant_id)
        issued = {cid: count for (token, cid), count in self._state.grant_issuances.items() if token == token_hash}
        return GrantState(
            grant=grant,
            user_claims=user.claims if user else {},
            config_version=tenant.config_version if tenant else 0,
            issued=issued,
        )

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

    async def reserve_issuances(
        self, token_hash: bytes, configuration_id: str, count: int, bound: int, now: datetime
    ) -> bool:
        """Count ``count`` more credentials unless the count for the configuration would pass ``bound``."""
        key = (token_hash, configuration_id)
        total = self._state.grant_issuances.get(key, 0) + count
        if total > bound:
            return False
        self._state.grant_issuances[key] = total
        return True


class InMemoryNonceRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.nonces

    async def add(self, tenant_id: str, nonce_hash: bytes, *, expires_at: datetime, created_at: datetime) -> None:
        """Store a nonce."""
        self._rows[nonce_hash] = StoredNonce(tenant_id=tenant_id, expires_at=expires_at, created_at=created_at)

    async def consume(self, tenant_id: str, nonce_hash: bytes, now: datetime) -> bool:
        """Use the nonce up if it is unused and unexpired."""
        nonce = self._rows.get(nonce_hash)
        if nonce is None or nonce.tenant_id != tenant_id or nonce.consumed_at is not None or now >= nonce.expires_at:
            return False
        self._rows[nonce_hash] = dataclasses.replace(nonce, consumed_at=now)
        return True

    async def find_fresh(self, tenant_id: str, nonce_hashes: Sequence[bytes], now: datetime) -> set[bytes]:
        """Return which of the nonces are unused and unexpired."""
        return {
            nonce_hash
            for nonce_hash in nonce_hashes
            if (nonce := self._rows.get(nonce_hash)) is not None
            and nonce.tenant_id == tenant_id
            and nonce.consumed_at is None
            and now < nonce.expires_at
        }

    async def purge_expired(self, now: datetime) -> int:
        """Delete expired nonces."""
        expired = [key for key, nonce in self._rows.items() if nonce.expires_at <= now]
        for key in expired:
            del self._rows[key]
        return len(expired)
