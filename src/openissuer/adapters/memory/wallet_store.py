"""The in-memory wallet store: the same contract as the SQL ones, over the in-memory store's state.

Each call takes the store's lock and works on the committed state directly (one call is one "statement").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from openissuer.adapters.memory.event_repositories import queue_messages
from openissuer.adapters.memory.store import InMemoryStore, MemoryState
from openissuer.domain.events import Event
from openissuer.domain.offers import AccessGrant, GrantState, PreAuthorizedOffer
from openissuer.ports.wallet_store import IssuanceWrite, IssuanceWriteOutcome, NewGrant, SingleUseTaken


class InMemoryWalletStore:
    """Implements ``ports.wallet_store.WalletStore`` for ``memory://``."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def redeem_code(self, tenant_id: str, code_hash: bytes, now: datetime, grant: NewGrant) -> str | None:
        """Redeem an offer without transaction code by its code and add its grant."""
        async with self._store.lock:
            self._use_single_use(grant)
            state = self._store.state
            offer = next(
                (o for o in state.offers.values() if o.tenant_id == tenant_id and o.code_hash == code_hash), None
            )
            if offer is None or offer.tx_code_hash is not None or not _redeemable(offer, grant, now):
                return None
            self._redeem(offer, grant, now)
            return offer.id

    async def redeem_offer(self, tenant_id: str, offer_id: str, now: datetime, grant: NewGrant) -> bool:
        """Redeem an offer by id and add its grant."""
        async with self._store.lock:
            self._use_single_use(grant)
            offer = self._store.state.offers.get(offer_id)
            if offer is None or offer.tenant_id != tenant_id or not _redeemable(offer, grant, now):
                return False
            self._redeem(offer, grant, now)
            return True

    def _use_single_use(self, grant: NewGrant) -> None:
        taken = self._use_each(grant.single_use, grant.single_use_expire_at or grant.created_at)
        if taken:
            raise SingleUseTaken(taken)

    def _use_each(self, hashes: Sequence[bytes], expires_at: datetime) -> frozenset[bytes]:
        used = self._store.state.used_nonces
        taken = frozenset(h for h in hashes if h in used)
        for value in hashes:
            used.setdefault(value, expires_at)
        return taken

    def _redeem(self, offer: PreAuthorizedOffer, grant: NewGrant, now: datetime) -> None:
        state = self._store.state
        state.offers[offer.id] = dataclasses.replace(offer, redeemed_at=now, sealed_code=None)
        user = state.users.get(offer.user_id)
        state.access_grants[grant.token_hash] = AccessGrant(
            token_hash=grant.token_hash,
            tenant_id=offer.tenant_id,
            user_id=offer.user_id,
            credential_configuration_ids=offer.credential_configuration_ids,
            credential_identifiers=dict(grant.credential_identifiers),
            notification_id=grant.notification_id,
            claims=offer.claims,
            expires_at=grant.expires_at,
            created_at=grant.created_at,
            offer_id=offer.id,
            user_claims=dict(user.claims) if user is not None and user.tenant_id == offer.tenant_id else None,
            client_id=grant.client_id,
            dpop_jkt=grant.dpop_jkt,
        )
        identity = {
            "offerId": offer.id,
            "userId": offer.user_id,
            "credentialConfigurationIds": list(offer.credential_configuration_ids),
        }
        _add_events(state, [dataclasses.replace(e, data={**e.data, **identity}) for e in grant.events])
        queue_messages(state, [dataclasses.replace(m, payload={**m.payload, **identity}) for m in grant.messages])

    async def find_offer_by_code(self, tenant_id: str, code_hash: bytes) -> PreAuthorizedOffer | None:
        """Return the tenant's offer of a code."""
        offers = self._store.state.offers.values()
        return next((o for o in offers if o.tenant_id == tenant_id and o.code_hash == code_hash), None)

    async def get_offer(self, tenant_id: str, offer_id: str) -> PreAuthorizedOffer | None:
        """Return the tenant's offer."""
        offer = self._store.state.offers.get(offer_id)
        return offer if offer is not None and offer.tenant_id == tenant_id else None

    async def record_failed_tx_code(
        self,
        tenant_id: str,
        offer_id: str,
        max_attempts: int,
        *,
        events: Sequence[Event] = (),
        lock_events: Sequence[Event] = (),
    ) -> int:
        """Count a wrong transaction code and lock at ``max_attempts``, with the events."""
        async with self._store.lock:
            offer = await self.get_offer(tenant_id, offer_id)
            if offer is None:
                return 0
            attempts = offer.tx_attempts + 1
            self._store.state.offers[offer_id] = dataclasses.replace(
                offer, tx_attempts=attempts, locked=offer.locked or attempts >= max_attempts
            )
            _add_events(self._store.state, [*events, *(lock_events if attempts == max_attempts else ())])
            return attempts

    async def load_grant(
        self, tenant_id: str, token_hash: bytes, nonce_hashes: Sequence[bytes] = ()
    ) -> GrantState | None:
        """Return the grant with what issuance needs."""
        state = self._store.state
        grant = state.access_grants.get(token_hash)
        if grant is None or grant.tenant_id != tenant_id:
            return None
        user = state.users.get(grant.user_id)
        tenant = state.tenants.get(tenant_id)
        return GrantState(
            grant=grant,
            user_claims=grant.user_claims
            if grant.user_claims is not None
            else user.claims
            if user is not None and user.tenant_id == tenant_id
            else {},
            config_version=0 if tenant is None else tenant.config_version,
            issued={cid: count for (token, cid), count in state.grant_issuances.items() if token == token_hash},
            used_nonces=frozenset(h for h in nonce_hashes if h in state.used_nonces),
        )

    async def commit_issuance(self, write: IssuanceWrite) -> IssuanceWriteOutcome:
        """Use the nonces up, then (if all were fresh and the bound holds) count and record."""
        async with self._store.lock:
            state = self._store.state
            fresh = [h for h in write.nonce_hashes if h not in state.used_nonces]
            for nonce_hash in fresh:
                state.used_nonces[nonce_hash] = write.nonces_expire_at
            if self._use_each(write.proof_ids, write.nonces_expire_at):
                return IssuanceWriteOutcome.PROOF_REPLAYED
            if len(fresh) != len(write.nonce_hashes):
                return IssuanceWriteOutcome.NONCE_USED
            key = (write.token_hash, write.configuration_id)
            total = state.grant_issuances.get(key, 0) + len(write.records)
            if total > write.bound:
                return IssuanceWriteOutcome.BOUND_REACHED
            state.grant_issuances[key] = total
            for record in write.records:
                state.issued_credentials[record.id] = record
            offer = state.offers.get(write.offer_id) if write.offer_id is not None else None
            if offer is not None and offer.tenant_id == write.tenant_id and offer.claimed_at is None:
                state.offers[offer.id] = dataclasses.replace(offer, claimed_at=write.now)
            _add_events(state, write.events)
            queue_messages(state, write.messages)
            return IssuanceWriteOutcome.RECORDED

    async def use_once(self, hashes: Sequence[bytes], expires_at: datetime) -> frozenset[bytes]:
        """Use single-use values up; return those used before."""
        async with self._store.lock:
            return self._use_each(hashes, expires_at)

    async def use_nonces(
        self, nonce_hashes: Sequence[bytes], expires_at: datetime, *, events: Sequence[Event] = ()
    ) -> None:
        """Use nonces up and record the events."""
        async with self._store.lock:
            for nonce_hash in nonce_hashes:
                self._store.state.used_nonces.setdefault(nonce_hash, expires_at)
            _add_events(self._store.state, events)

    async def record_events(self, events: Sequence[Event]) -> None:
        """Record events."""
        async with self._store.lock:
            _add_events(self._store.state, events)

    async def count_requests(
        self, increments: Sequence[tuple[bytes, int, int]], expire_at: datetime, now: datetime
    ) -> dict[tuple[bytes, int], int]:
        """Add to the rate counters and return the totals."""
        async with self._store.lock:
            counters = self._store.state.rate_counters
            for expired in [k for k, (_, expires) in counters.items() if expires < now]:
                del counters[expired]
            totals: dict[tuple[bytes, int], int] = {}
            for key_hash, window, count in increments:
                total = counters.get((key_hash, window), (0, expire_at))[0] + count
                counters[(key_hash, window)] = (total, expire_at)
                totals[(key_hash, window)] = total
            return totals

    async def config_version(self, tenant_id: str) -> int | None:
        """Return the tenant's configuration version."""
        tenant = self._store.state.tenants.get(tenant_id)
        return None if tenant is None else tenant.config_version

    async def purge_used_nonces(self, now: datetime) -> int:
        """Forget expired used nonces."""
        async with self._store.lock:
            used = self._store.state.used_nonces
            expired = [h for h, expires in used.items() if expires < now]
            for nonce_hash in expired:
                del used[nonce_hash]
            return len(expired)

    async def aclose(self) -> None:
        """Nothing to release."""


def _add_events(state: MemoryState, events: Sequence[Event]) -> None:
    for event in events:
        state.events[event.id] = event


def _redeemable(offer: PreAuthorizedOffer, grant: NewGrant, now: datetime) -> bool:
    covers = grant.requested is None or set(grant.requested) <= set(offer.credential_configuration_ids)
    return offer.is_redeemable(now) and covers
