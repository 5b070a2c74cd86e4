"""The wallet endpoints' storage (the hot path, DESIGN.md §1): every method is one statement, one round trip.

The token request redeems an offer and creates its access grant in one statement; the credential request reads
once (the grant with what issuance needs) and writes once (nonces used up, the count under the bound, the records,
the offer marked claimed). Implementations are driver-level (asyncpg for PostgreSQL; the ``sqlite3`` module on
the event loop for SQLite) and an in-memory one for tests; they pass one contract suite. Single-use things are
taken by one conditional statement, so two processes never both win.

Audit events and webhook messages (``domain/events.py``, ``domain/webhooks.py``) ride along in the same
statements: ``events`` are inserted and ``messages`` queued for the tenant's subscribed webhooks by the statement
that makes the change, never by another round trip.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from openissuer.domain.events import Event
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.offers import GrantState, PreAuthorizedOffer
from openissuer.domain.webhooks import WebhookMessage


@dataclass(frozen=True)
class NewGrant:
    """The access grant a redemption creates; the offer supplies its tenant, user, claims and configurations.

    ``requested`` are the configuration ids of the token request's ``authorization_details`` (None: none), which
    must all be in the offer; ``credential_identifiers`` maps the identifier returned for each to its id.
    ``client_id`` and ``dpop_jkt`` are stored on the grant (the client, the DPoP key it is bound to).
    ``single_use`` are hashes of single-use values the request presented (a DPoP proof's ``jti``, a wallet
    attestation PoP's ``jti``, an attestation challenge), remembered until ``single_use_expire_at`` in the same
    statement: when one was used before, nothing is redeemed and ``SingleUseTaken`` is raised.
    ``events`` and ``messages`` are written by the redemption's statement when it succeeds; since the offer is
    found by that statement, the store adds its ``offerId``, ``userId`` and ``credentialConfigurationIds`` to each
    event's data and each message's payload.
    """

    token_hash: bytes
    notification_id: str
    credential_identifiers: dict[str, str]
    requested: tuple[str, ...] | None
    expires_at: datetime
    created_at: datetime
    client_id: str | None = None
    dpop_jkt: str | None = None
    single_use: tuple[bytes, ...] = ()
    single_use_expire_at: datetime | None = None
    events: tuple[Event, ...] = ()
    messages: tuple[WebhookMessage, ...] = ()


class SingleUseTaken(Exception):  # noqa: N818 - it names what happened, like the outcomes below
    """A single-use value the request presented was used before; ``taken`` are their hashes."""

    def __init__(self, taken: frozenset[bytes]) -> None:
        super().__init__("single-use value already used")
        self.taken = taken


@dataclass(frozen=True)
class IssuanceWrite:
    """Everything one credential request writes, in one statement; ``events`` and ``messages`` only when the
    credentials are recorded."""

    tenant_id: str
    token_hash: bytes
    configuration_id: str
    bound: int
    nonce_hashes: tuple[bytes, ...]
    nonces_expire_at: datetime
    records: tuple[IssuedCredentialRecord, ...]
    offer_id: str | None
    now: datetime
    proof_ids: tuple[bytes, ...] = ()
    """Hashes of single-use proof ids (a DPoP proof's ``jti``), used up with the nonces until they expire."""
    events: tuple[Event, ...] = ()
    messages: tuple[WebhookMessage, ...] = ()


class IssuanceWriteOutcome(enum.Enum):
    """What the write did: recorded everything, or nothing because a nonce was used meanwhile or the bound would
    be passed (the nonces are used up in every case)."""

    RECORDED = "recorded"
    NONCE_USED = "nonce_used"
    BOUND_REACHED = "bound_reached"
    PROOF_REPLAYED = "proof_replayed"


class WalletStore(Protocol):
    """One statement per call; every call scoped to a tenant."""

    async def redeem_code(self, tenant_id: str, code_hash: bytes, now: datetime, grant: NewGrant) -> str | None:
        """Redeem the offer of a pre-authorized code that needs no transaction code, is still redeemable and covers
        ``grant.requested``, and add its grant; return the offer's id (None: nothing changed; look it up). The grant
        has the offer's claims (stores keep them once, with the offer, and the grant reads them there).
        ``grant.single_use`` are used up first, whatever happens after; ``SingleUseTaken`` when one was used."""
        ...

    async def redeem_offer(self, tenant_id: str, offer_id: str, now: datetime, grant: NewGrant) -> bool:
        """The same for an offer whose transaction code was checked: redeem by id and add the grant."""
        ...

    async def find_offer_by_code(self, tenant_id: str, code_hash: bytes) -> PreAuthorizedOffer | None:
        """Return the tenant's offer of a pre-authorized code."""
        ...

    async def get_offer(self, tenant_id: str, offer_id: str) -> PreAuthorizedOffer | None:
        """Return the tenant's offer by id."""
        ...

    async def record_failed_tx_code(
        self,
        tenant_id: str,
        offer_id: str,
        max_attempts: int,
        *,
        events: Sequence[Event] = (),
        lock_events: Sequence[Event] = (),
    ) -> int:
        """Count one wrong transaction code, locking the offer at ``max_attempts``; return the count. ``events``
        are recorded with the count, ``lock_events`` only when this attempt locks the offer."""
        ...

    async def load_grant(
        self, tenant_id: str, token_hash: bytes, nonce_hashes: Sequence[bytes] = ()
    ) -> GrantState | None:
        """Return the tenant's grant of a token with the user's persisted claims, the tenant's configuration
        version, the credentials issued under it and which of ``nonce_hashes`` are already used."""
        ...

    async def commit_issuance(self, write: IssuanceWrite) -> IssuanceWriteOutcome:
        """Use the nonces up, count the credentials under the bound, store the records and mark the offer claimed:
        all of it, or (but for the nonces, which are used up whatever happens) nothing."""
        ...

    async def use_once(self, hashes: Sequence[bytes], expires_at: datetime) -> frozenset[bytes]:
        """Use single-use values up (remembered until ``expires_at``); return those that were used before."""
        ...

    async def use_nonces(
        self, nonce_hashes: Sequence[bytes], expires_at: datetime, *, events: Sequence[Event] = ()
    ) -> None:
        """Use nonces up (a refused request's: "a c_nonce is used up on first use, whatever happens after") and
        record ``events``."""
        ...

    async def record_events(self, events: Sequence[Event]) -> None:
        """Record events of a refusal that changed nothing else (one statement)."""
        ...

    async def count_requests(
        self, increments: Sequence[tuple[bytes, int, int]], expire_at: datetime, now: datetime
    ) -> dict[tuple[bytes, int], int]:
        """Add ``(key, window, count)`` increments to the shared rate counters (kept until ``expire_at``); return
        every incremented key's total; forget counters that expired before ``now``. One statement."""
        ...

    async def config_version(self, tenant_id: str) -> int | None:
        """Return the tenant's configuration version (None for an unknown tenant)."""
        ...

    async def purge_used_nonces(self, now: datetime) -> int:
        """Forget used nonces that expired before ``now`` (an expired nonce is refused anyway); return how many."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
