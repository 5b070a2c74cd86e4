"""Storage of audit events, webhooks and the webhook outbox; exposed on the unit of work.

Everything that records a change writes its events (``events.add``) and queues its webhook messages
(``outbox.enqueue``) in the unit of work that makes the change, so both are committed or rolled back with it. The
wallet hot path does the same inside its single statements (``ports/wallet_store.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from openissuer.domain.events import Event, EventQuery
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.webhooks import (
    ClaimedDelivery,
    Delivery,
    DeliveryOutcome,
    DeliveryStatus,
    Webhook,
    WebhookMessage,
    WebhookSigningKey,
)


class EventRepository(Protocol):
    async def add(self, event: Event) -> None:
        """Record an event in this unit of work."""

    async def list(self, tenant_id: str, query: EventQuery, *, limit: int, after: PageKey | None) -> Page[Event]:
        """Return one page of the tenant's events matching ``query``, in ``(created_at, id)`` order."""

    async def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` events (of any tenant) older than ``before``; return how many."""


class WebhookRepository(Protocol):
    """Webhooks; each write also raises the tenant's configuration version (issuance caches who subscribes)."""

    async def add(self, webhook: Webhook) -> None:
        """Store a new webhook."""

    async def get(self, tenant_id: str, id: str) -> Webhook | None:
        """Return the tenant's webhook or None."""

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[Webhook]:
        """Return one page of the tenant's webhooks."""

    async def list_active(self, tenant_id: str) -> Sequence[Webhook]:
        """Return the tenant's webhooks that are not disabled."""

    async def update(self, webhook: Webhook) -> bool:
        """Replace a webhook's url, events and disabled flag; tell whether it exists."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a webhook and its deliveries that are not delivered yet; tell whether it existed."""

    async def add_signing_key(self, key: WebhookSigningKey) -> None:
        """Store a new signing key of the tenant."""

    async def list_signing_keys(self, tenant_id: str) -> Sequence[WebhookSigningKey]:
        """Return the tenant's signing keys, newest first."""

    async def prune_signing_keys(self, tenant_id: str, before: datetime) -> int:
        """Delete the tenant's keys created before ``before``, except the newest; return how many."""


class OutboxRepository(Protocol):
    """The webhook outbox: queued deliveries, their claims and outcomes, and the workers' leases."""

    async def enqueue(self, messages: Sequence[WebhookMessage]) -> int:
        """Queue each message for every active webhook of its tenant subscribed to its type; return how many
        deliveries were queued."""

    async def has_due(self, now: datetime) -> bool:
        """Tell whether a pending delivery of an active webhook is due at ``now`` (a read: no row is locked or
        changed, so an idle worker's poll takes no write lock)."""

    async def claim(self, now: datetime, *, limit: int, lease_until: datetime) -> list[ClaimedDelivery]:
        """Claim up to ``limit`` pending deliveries due at ``now`` whose webhook is active, for one attempt each:
        count the attempt and push the next attempt to ``lease_until``, so no other worker takes them while this
        one sends (on PostgreSQL rows locked by a concurrent claim are skipped)."""

    async def record(self, delivery: Delivery, outcome: DeliveryOutcome, now: datetime) -> bool:
        """Record the outcome of the attempt ``delivery`` was claimed for (matched by its attempt number, so a
        claim that expired and was taken over records nothing); tell whether it was recorded."""

    async def get(self, tenant_id: str, id: str) -> Delivery | None:
        """Return the tenant's delivery or None."""

    async def list(
        self,
        tenant_id: str,
        webhook_id: str,
        *,
        status: DeliveryStatus | None,
        limit: int,
        after: PageKey | None,
    ) -> Page[Delivery]:
        """Return one page of a webhook's deliveries, optionally of one status, in ``(created_at, id)`` order."""

    async def redeliver(self, tenant_id: str, webhook_id: str, ids: Sequence[str] | None, now: datetime) -> int:
        """Queue failed deliveries of the webhook again (all of them when ``ids`` is None) with fresh attempts;
        return how many."""

    async def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` deliveries created before ``before`` (delivered, failed, or stuck pending);
        return how many."""

    async def acquire_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``until`` unless another holder's lease runs at
        ``now``; tell whether ``holder`` holds it."""
