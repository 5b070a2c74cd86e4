"""SQL repositories of audit events, webhooks and the webhook outbox (SQLAlchemy Core; off the hot path).

Claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers take disjoint deliveries; SQLite has no
row locks (and ignores the clause): there a single worker, the holder of a lease, claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.config_version import bump_config_version
from openissuer.adapters.sql.event_rows import delivery_from_row, delivery_values, event_values
from openissuer.adapters.sql.rows import as_utc, page_query, split_page, to_db_time
from openissuer.adapters.sql.tables import (
    events,
    tenants,
    webhook_deliveries,
    webhook_signing_keys,
    webhooks,
    worker_leases,
)
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

_DIALECTS = {"postgresql": postgresql, "sqlite": sqlite}
MAX_ERROR_LENGTH = 200


def _same(value: Any) -> Any:
    return value


def _time_of(value: Any) -> datetime | None:
    return None if value is None else as_utc(value)


def _event_from_row(row: Any) -> Event:
    return Event(
        id=row.id,
        tenant_id=row.tenant_id,
        type=row.type,
        category=row.category,
        created_at=as_utc(row.created_at),
        data=row.data,
        request_id=row.request_id,
        client_id=row.client_id,
    )


class SqlEventRepository:
    """Audit events in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, event: Event) -> None:
        """Insert an event."""
        await self._conn.execute(insert(events).values(event_values(event, to_db_time, _same)))

    async def list(self, tenant_id: str, query: EventQuery, *, limit: int, after: PageKey | None) -> Page[Event]:
        """Return one page of the tenant's matching events."""
        statement = select(events).where(events.c.tenant_id == tenant_id)
        if query.date_from is not None:
            statement = statement.where(events.c.created_at >= to_db_time(query.date_from))
        if query.date_to is not None:
            statement = statement.where(events.c.created_at < to_db_time(query.date_to))
        if query.client_ids:
            statement = statement.where(events.c.client_id.in_(query.client_ids))
        if query.categories or query.types:
            statement = statement.where(or_(events.c.category.in_(query.categories), events.c.type.in_(query.types)))
        rows, next_key = split_page(
            (await self._conn.execute(page_query(statement, events, limit=limit, after=after))).all(), limit
        )
        return Page(items=[_event_from_row(row) for row in rows], next_key=next_key)

    async def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` events older than ``before``, each tenant's oldest first (one bounded statement,
        along the primary key ``(tenant_id, created_at, id)``: there is no index on ``created_at`` alone to keep up
        on every event)."""
        key = tuple_(events.c.tenant_id, events.c.created_at, events.c.id)
        oldest = (
            select(events.c.tenant_id, events.c.created_at, events.c.id)
            .where(events.c.tenant_id.in_(select(tenants.c.id)), events.c.created_at < to_db_time(before))
            .limit(limit)
        )
        return int((await self._conn.execute(delete(events).where(key.in_(oldest)))).rowcount)


def _webhook_from_row(row: Any) -> Webhook:
    return Webhook(
        id=row.id,
        tenant_id=row.tenant_id,
        url=row.url,
        events=tuple(row.events),
        disabled=bool(row.disabled),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def _key_from_row(row: Any) -> WebhookSigningKey:
    return WebhookSigningKey(
        id=row.id,
        tenant_id=row.tenant_id,
        kid=row.kid,
        public_jwk=dict(row.public_jwk),
        sealed_private_key=bytes(row.sealed_private_key),
        created_at=as_utc(row.created_at),
    )


class SqlWebhookRepository:
    """Webhooks and their signing keys in SQL; webhook writes raise the tenant's configuration version."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, webhook: Webhook) -> None:
        """Insert a webhook."""
        await self._conn.execute(
            insert(webhooks).values(
                id=webhook.id,
                tenant_id=webhook.tenant_id,
                url=webhook.url,
                events=list(webhook.events),
                disabled=webhook.disabled,
                created_at=to_db_time(webhook.created_at),
                updated_at=to_db_time(webhook.updated_at),
            )
        )
        await bump_config_version(self._conn, webhook.tenant_id)

    async def get(self, tenant_id: str, id: str) -> Webhook | None:
        """Return the tenant's webhook or None."""
        statement = select(webhooks).where(webhooks.c.tenant_id == tenant_id, webhooks.c.id == id)
        row = (await self._conn.execute(statement)).first()
        return None if row is None else _webhook_from_row(row)

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[Webhook]:
        """Return one page of the tenant's webhooks."""
        statement = page_query(
            select(webhooks).where(webhooks.c.tenant_id == tenant_id), webhooks, limit=limit, after=after
        )
        rows, next_key = split_page((await self._conn.execute(statement)).all(), limit)
        return Page(items=[_webhook_from_row(row) for row in rows], next_key=next_key)

    async def list_active(self, tenant_id: str) -> Sequence[Webhook]:
        """Return the tenant's enabled webhooks."""
        statement = (
            select(webhooks)
            .where(webhooks.c.tenant_id == tenant_id, webhooks.c.disabled.is_(False))
            .order_by(webhooks.c.created_at, webhooks.c.id)
        )
        return [_webhook_from_row(row) for row in (await self._conn.execute(statement)).all()]

    async def update(self, webhook: Webhook) -> bool:
        """Replace url, events and disabled."""
        statement = (
            update(webhooks)
            .where(webhooks.c.tenant_id == webhook.tenant_id, webhooks.c.id == webhook.id)
            .values(
                url=webhook.url,
                events=list(webhook.events),
                disabled=webhook.disabled,
                updated_at=to_db_time(webhook.updated_at),
            )
        )
        if not (await self._conn.execute(statement)).rowcount:
            return False
        await bump_config_version(self._conn, webhook.tenant_id)
        return True

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a webhook and its deliveries not yet delivered."""
        statement = delete(webhooks).where(webhooks.c.tenant_id == tenant_id, webhooks.c.id == id)
        if not (await self._conn.execute(statement)).rowcount:
            return False
        await self._conn.execute(
            delete(webhook_deliveries).where(
                webhook_deliveries.c.tenant_id == tenant_id,
                webhook_deliveries.c.webhook_id == id,
                webhook_deliveries.c.status != DeliveryStatus.DELIVERED.value,
            )
        )
        await bump_config_version(self._conn, tenant_id)
        return True

    async def add_signing_key(self, key: WebhookSigningKey) -> None:
        """Insert a signing key."""
        await self._conn.execute(
            insert(webhook_signing_keys).values(
                id=key.id,
                tenant_id=key.tenant_id,
                kid=key.kid,
                public_jwk=dict(key.public_jwk),
                sealed_private_key=key.sealed_private_key,
                created_at=to_db_time(key.created_at),
            )
        )

    async def list_signing_keys(self, tenant_id: str) -> Sequence[WebhookSigningKey]:
        """Return the tenant's keys, newest first."""
        statement = (
            select(webhook_signing_keys)
            .where(webhook_signing_keys.c.tenant_id == tenant_id)
            .order_by(webhook_signing_keys.c.created_at.desc(), webhook_signing_keys.c.id.desc())
        )
        return [_key_from_row(row) for row in (await self._conn.execute(statement)).all()]

    async def prune_signing_keys(self, tenant_id: str, before: datetime) -> int:
        """Delete the tenant's keys created before ``before``, except the newest."""
        keys = await self.list_signing_keys(tenant_id)
        old = [k.id for k in keys[1:] if k.created_at < before]
        if old:
            await self._conn.execute(delete(webhook_signing_keys).where(webhook_signing_keys.c.id.in_(old)))
        return len(old)


_PENDING = DeliveryStatus.PENDING.value
_FAILED = DeliveryStatus.FAILED.value


class SqlOutboxRepository:
    """The webhook outbox in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def enqueue(self, messages: Sequence[WebhookMessage]) -> int:
        """Queue each message for the active webhooks of its tenant subscribed to its type."""
        rows: list[dict[str, Any]] = []
        subscribers: dict[str, Sequence[Webhook]] = {}
        for message in messages:
            if message.tenant_id not in subscribers:
                subscribers[message.tenant_id] = await SqlWebhookRepository(self._conn).list_active(message.tenant_id)
            targets = [w.id for w in subscribers[message.tenant_id] if w.subscribes_to(message.type)]
            rows += delivery_values(message, targets, to_db_time, _same)
        if rows:
            await self._conn.execute(insert(webhook_deliveries), rows)
        return len(rows)

    async def has_due(self, now: datetime) -> bool:
        """Tell whether a delivery is due: one indexed read (``ix_webhook_deliveries_due``), no lock."""
        d, w = webhook_deliveries, webhooks
        due = (
            select(d.c.id)
            .join(w, and_(w.c.id == d.c.webhook_id, w.c.disabled.is_(False)))
            .where(d.c.status == _PENDING, d.c.next_attempt_at <= to_db_time(now))
            .limit(1)
        )
        return (await self._conn.execute(due)).first() is not None

    async def claim(self, now: datetime, *, limit: int, lease_until: datetime) -> list[ClaimedDelivery]:
        """Claim due deliveries of active webhooks (rows another claim holds are skipped on PostgreSQL).

        The due rows are selected and locked first, then updated by id: an ``UPDATE … WHERE id IN (SELECT … LIMIT
        … SKIP LOCKED)`` may run its subquery more than once and take more rows than the limit.
        """
        d, w = webhook_deliveries, webhooks
        due = (
            select(d.c.id)
            .join(w, and_(w.c.id == d.c.webhook_id, w.c.disabled.is_(False)))
            .where(d.c.status == _PENDING, d.c.next_attempt_at <= to_db_time(now))
            .order_by(d.c.next_attempt_at)
            .limit(limit)
            .with_for_update(of=d, skip_locked=True)
        )
        ids = list((await self._conn.execute(due)).scalars())
        if not ids:
            return []
        statement = (
            update(d)
            .where(d.c.id.in_(ids), d.c.status == _PENDING)
            .values(attempts=d.c.attempts + 1, next_attempt_at=to_db_time(lease_until), last_attempt_at=to_db_time(now))
            .returning(*d.c)
        )
        claimed = [delivery_from_row(row, _time_of, _same) for row in (await self._conn.execute(statement)).all()]
        if not claimed:
            return []
        urls = {
            row.id: row.url
            for row in await self._conn.execute(
                select(w.c.id, w.c.url).where(w.c.id.in_({c.webhook_id for c in claimed}))
            )
        }
        return [ClaimedDelivery(c, urls[c.webhook_id]) for c in claimed if c.webhook_id in urls]

    async def record(self, delivery: Delivery, outcome: DeliveryOutcome, now: datetime) -> bool:
        """Record the attempt's outcome unless the claim was taken over meanwhile."""
        d = webhook_deliveries
        values: dict[str, Any]
        if outcome.delivered:
            values = {
                "status": DeliveryStatus.DELIVERED.value,
                "payload": None,
                "next_attempt_at": None,
                "delivered_at": to_db_time(now),
                "last_status_code": outcome.status_code,
                "last_error": None,
            }
        else:
            values = {
                "status": _PENDING if outcome.retry_at is not None else _FAILED,
                "next_attempt_at": None if outcome.retry_at is None else to_db_time(outcome.retry_at),
                "last_status_code": outcome.status_code,
                "last_error": None if outcome.error is None else outcome.error[:MAX_ERROR_LENGTH],
            }
        statement = (
            update(d)
            .where(d.c.id == delivery.id, d.c.attempts == delivery.attempts, d.c.status == _PENDING)
            .values(**values)
        )
        return bool((await self._conn.execute(statement)).rowcount)

    async def get(self, tenant_id: str, id: str) -> Delivery | None:
        """Return the tenant's delivery."""
        statement = select(webhook_deliveries).where(
            webhook_deliveries.c.tenant_id == tenant_id, webhook_deliveries.c.id == id
        )
        row = (await self._conn.execute(statement)).first()
        return None if row is None else delivery_from_row(row, _time_of, _same)

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
        d = webhook_deliveries
        statement = select(d).where(d.c.tenant_id == tenant_id, d.c.webhook_id == webhook_id)
        if status is not None:
            statement = statement.where(d.c.status == status.value)
        rows, next_key = split_page(
            (await self._conn.execute(page_query(statement, d, limit=limit, after=after))).all(), limit
        )
        return Page(items=[delivery_from_row(row, _time_of, _same) for row in rows], next_key=next_key)

    async def redeliver(self, tenant_id: str, webhook_id: str, ids: Sequence[str] | None, now: datetime) -> int:
        """Queue failed deliveries again with fresh attempts."""
        d = webhook_deliveries
        statement = update(d).where(d.c.tenant_id == tenant_id, d.c.webhook_id == webhook_id, d.c.status == _FAILED)
        if ids is not None:
            statement = statement.where(d.c.id.in_(list(ids)))
        statement = statement.values(status=_PENDING, attempts=0, next_attempt_at=to_db_time(now))
        return int((await self._conn.execute(statement)).rowcount)

    async def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` of the oldest deliveries created before ``before``."""
        d = webhook_deliveries
        oldest = select(d.c.id).where(d.c.created_at < to_db_time(before)).order_by(d.c.created_at).limit(limit)
        return int((await self._conn.execute(delete(d).where(d.c.id.in_(oldest)))).rowcount)

    async def acquire_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take the lease if free or expired, or renew it if held; one statement."""
        upsert = (
            _DIALECTS[self._conn.dialect.name]
            .insert(worker_leases)
            .values(name=name, holder=holder, expires_at=to_db_time(until))
        )
        statement = upsert.on_conflict_do_update(
            index_elements=[worker_leases.c.name],
            set_={"holder": upsert.excluded.holder, "expires_at": upsert.excluded.expires_at},
            where=or_(worker_leases.c.holder == holder, worker_leases.c.expires_at <= to_db_time(now)),
        ).returning(worker_leases.c.holder)
        return (await self._conn.execute(statement)).first() is not None
