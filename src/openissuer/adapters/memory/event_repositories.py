"""In-memory events, webhooks and outbox; same contract as ``adapters/sql/event_repositories.py``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.events import Event, EventQuery
from openissuer.domain.ids import new_id
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

MAX_ERROR_LENGTH = 200


def queue_messages(state: MemoryState, messages: Sequence[WebhookMessage]) -> int:
    """Queue each message for every active webhook of its tenant subscribed to its type; return how many."""
    queued = 0
    for message in messages:
        for webhook in state.webhooks.values():
            if webhook.tenant_id == message.tenant_id and webhook.subscribes_to(message.type):
                delivery = new_delivery(message, webhook.id)
                state.webhook_deliveries[delivery.id] = delivery
                queued += 1
    return queued


def new_delivery(message: WebhookMessage, webhook_id: str) -> Delivery:
    """Return the pending delivery of a message to a webhook, due at once."""
    return Delivery(
        id=new_id(),
        tenant_id=message.tenant_id,
        webhook_id=webhook_id,
        event_id=message.id,
        event_type=message.type,
        event_timestamp=message.created_at,
        payload=dict(message.payload),
        status=DeliveryStatus.PENDING,
        attempts=0,
        created_at=message.created_at,
        next_attempt_at=message.created_at,
    )


def matches(event: Event, query: EventQuery) -> bool:
    """Tell whether an event passes the ``GET /v1/events`` filters (categories OR types, the rest AND)."""
    if query.date_from is not None and event.created_at < query.date_from:
        return False
    if query.date_to is not None and event.created_at >= query.date_to:
        return False
    if query.client_ids and event.client_id not in query.client_ids:
        return False
    if query.categories or query.types:
        return event.category in query.categories or event.type in query.types
    return True


class InMemoryEventRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, event: Event) -> None:
        """Record an event."""
        self._state.events[event.id] = event

    async def list(self, tenant_id: str, query: EventQuery, *, limit: int, after: PageKey | None) -> Page[Event]:
        """Return one page of the tenant's matching events."""
        rows = (e for e in self._state.events.values() if e.tenant_id == tenant_id and matches(e, query))
        return page_of(rows, lambda e: (e.created_at, e.id), limit=limit, after=after)

    async def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` events older than ``before``."""
        old = sorted((e for e in self._state.events.values() if e.created_at < before), key=lambda e: e.created_at)
        for event in old[:limit]:
            del self._state.events[event.id]
        return min(len(old), limit)


class InMemoryWebhookRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, webhook: Webhook) -> None:
        """Store a webhook."""
        self._state.webhooks[webhook.id] = webhook
        self._state.bump_config_version(webhook.tenant_id)

    async def get(self, tenant_id: str, id: str) -> Webhook | None:
        """Return the tenant's webhook or None."""
        webhook = self._state.webhooks.get(id)
        return webhook if webhook is not None and webhook.tenant_id == tenant_id else None

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[Webhook]:
        """Return one page of the tenant's webhooks."""
        rows = (w for w in self._state.webhooks.values() if w.tenant_id == tenant_id)
        return page_of(rows, lambda w: (w.created_at, w.id), limit=limit, after=after)

    async def list_active(self, tenant_id: str) -> Sequence[Webhook]:
        """Return the tenant's enabled webhooks."""
        rows = [w for w in self._state.webhooks.values() if w.tenant_id == tenant_id and not w.disabled]
        return sorted(rows, key=lambda w: (w.created_at, w.id))

    async def update(self, webhook: Webhook) -> bool:
        """Replace url, events and disabled."""
        stored = await self.get(webhook.tenant_id, webhook.id)
        if stored is None:
            return False
        self._state.webhooks[webhook.id] = dataclasses.replace(webhook, created_at=stored.created_at)
        self._state.bump_config_version(webhook.tenant_id)
        return True

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a webhook and its deliveries not yet delivered."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._state.webhooks[id]
        deliveries = self._state.webhook_deliveries
        for key in [k for k, d in deliveries.items() if d.webhook_id == id and d.status != DeliveryStatus.DELIVERED]:
            del deliveries[key]
        self._state.bump_config_version(tenant_id)
        return True

    async def add_signing_key(self, key: WebhookSigningKey) -> None:
        """Store a signing key."""
        self._state.webhook_signing_keys[key.id] = key

    async def list_signing_keys(self, tenant_id: str) -> Sequence[WebhookSigningKey]:
        """Return the tenant's keys, newest first."""
        keys = [k for k in self._state.webhook_signing_keys.values() if k.tenant_id == tenant_id]
        return sorted(keys, key=lambda k: (k.created_at, k.id), reverse=True)

    async def prune_signing_keys(self, tenant_id: str, before: datetime) -> int:
        """Delete the tenant's keys created before ``before``, except the newest."""
        keys = await self.list_signing_keys(tenant_id)
        old = [k for k in keys[1:] if k.created_at < before]
        for key in old:
            del self._state.webhook_signing_keys[key.id]
        return len(old)


class InMemoryOutboxRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def enqueue(self, messages: Sequence[WebhookMessage]) -> int:
        """Queue messages for the subscribed webhooks."""
        return queue_messages(self._state, messages)

    def _due(self, now: datetime) -> list[Delivery]:
        webhooks = self._state.webhooks
        return [
            d
            for d in self._state.webhook_deliveries.values()
            if d.status == DeliveryStatus.PENDING
            and d.next_attempt_at is not None
            and d.next_attempt_at <= now
            and d.webhook_id in webhooks
            and not webhooks[d.webhook_id].disabled
        ]

    async def has_due(self, now: datetime) -> bool:
        """Tell whether a delivery is due."""
        return bool(self._due(now))

    async def claim(self, now: datetime, *, limit: int, lease_until: datetime) -> list[ClaimedDelivery]:
        """Claim due deliveries of active webhooks."""
        webhooks = self._state.webhooks
        due = sorted(self._due(now), key=lambda d: (d.next_attempt_at, d.id))[:limit]
        claimed = []
        for delivery in due:
            taken = dataclasses.replace(
                delivery, attempts=delivery.attempts + 1, next_attempt_at=lease_until, last_attempt_at=now
            )
            self._state.webhook_deliveries[delivery.id] = taken
            claimed.append(ClaimedDelivery(taken, webhooks[delivery.webhook_id].url))
        return claimed

    async def record(self, delivery: Delivery, outcome: DeliveryOutcome, now: datetime) -> bool:
        """Record the outcome of the claimed attempt."""
        stored = self._state.webhook_deliveries.get(delivery.id)
        if stored is None or stored.status != DeliveryStatus.PENDING or stored.attempts != delivery.attempts:
            return False
        self._state.webhook_deliveries[delivery.id] = outcome_applied(stored, outcome, now)
        return True

    async def get(self, tenant_id: str, id: str) -> Delivery | None:
        """Return the tenant's delivery."""
        delivery = self._state.webhook_deliveries.get(id)
        return delivery if delivery is not None and delivery.tenant_id == tenant_id else None

    async def list(
        self,
        tenant_id: str,
        webhook_id: str,
        *,
        status: DeliveryStatus | None,
        limit: int,
        after: PageKey | None,
    ) -> Page[Delivery]:
        """Return one page of a webhook's deliveries."""
        rows = (
            d
            for d in self._state.webhook_deliveries.values()
            if d.tenant_id == tenant_id and d.webhook_id == webhook_id and (status is None or d.status == status)
        )
        return page_of(rows, lambda d: (d.created_at, d.id), limit=limit, after=after)

    async def redeliver(self, tenant_id: str, webhook_id: str, ids: Sequence[str] | None, now: datetime) -> int:
        """Queue failed deliveries again."""
        count = 0
        for delivery in list(self._state.webhook_deliveries.values()):
            if (
                delivery.tenant_id == tenant_id
                and delivery.webhook_id == webhook_id
                and delivery.status == DeliveryStatus.FAILED
                and (ids is None or delivery.id in ids)
            ):
                self._state.webhook_deliveries[delivery.id] = dataclasses.replace(
                    delivery, status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now
                )
                count += 1
        return count

    async def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` deliveries created before ``before``."""
        old = sorted(
            (d for d in self._state.webhook_deliveries.values() if d.created_at < before), key=lambda d: d.created_at
        )[:limit]
        for delivery in old:
            del self._state.webhook_deliveries[delivery.id]
        return len(old)

    async def acquire_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take or renew a lease."""
        current = self._state.worker_leases.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self._state.worker_leases[name] = (holder, until)
        return True


def outcome_applied(delivery: Delivery, outcome: DeliveryOutcome, now: datetime) -> Delivery:
    """Return the delivery after an attempt's outcome: delivered (payload dropped), retried or failed."""
    error = None if outcome.error is None else outcome.error[:MAX_ERROR_LENGTH]
    if outcome.delivered:
        return dataclasses.replace(
            delivery,
            status=DeliveryStatus.DELIVERED,
            payload=None,
            next_attempt_at=None,
            delivered_at=now,
            last_status_code=outcome.status_code,
            last_error=None,
        )
    return dataclasses.replace(
        delivery,
        status=DeliveryStatus.PENDING if outcome.retry_at is not None else DeliveryStatus.FAILED,
        next_attempt_at=outcome.retry_at,
        last_status_code=outcome.status_code,
        last_error=error,
    )
