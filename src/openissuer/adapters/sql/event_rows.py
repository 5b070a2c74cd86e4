"""Rows of events, webhook messages and deliveries for the three SQL writers (asyncpg, ``sqlite3``, SQLAlchemy).

As in ``wallet_rows.py``, the drivers differ only in how times and JSON are written and read, so those
conversions are arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from openissuer.domain.events import Event
from openissuer.domain.ids import new_id
from openissuer.domain.webhooks import Delivery, DeliveryStatus, WebhookMessage

TimeTo = Callable[[datetime], Any]
JsonTo = Callable[[Any], Any]
TimeOf = Callable[[Any], datetime | None]


def event_values(event: Event, time_to: TimeTo, json_to: JsonTo) -> dict[str, Any]:
    """Return the ``events`` row of an event."""
    return {
        "id": event.id,
        "tenant_id": event.tenant_id,
        "type": event.type,
        "category": event.category,
        "created_at": time_to(event.created_at),
        "request_id": event.request_id,
        "client_id": event.client_id,
        "data": json_to(dict(event.data)),
    }


def message_values(message: WebhookMessage, time_to: TimeTo, json_to: JsonTo) -> dict[str, Any]:
    """Return a webhook message as the statements that queue it take it."""
    return {
        "id": message.id,
        "tenant_id": message.tenant_id,
        "type": message.type,
        "created_at": time_to(message.created_at),
        "payload": json_to(dict(message.payload)),
    }


def completed(data: dict[str, Any], offer: Any) -> dict[str, Any]:
    """Return event data or a payload with the redeemed offer's identity added (``NewGrant``'s rule)."""
    return {
        **data,
        "offerId": offer.id,
        "userId": offer.user_id,
        "credentialConfigurationIds": list(offer.credential_configuration_ids),
    }


def delivery_values(
    message: WebhookMessage, webhook_ids: Iterable[str], time_to: TimeTo, json_to: JsonTo
) -> list[dict[str, Any]]:
    """Return the ``webhook_deliveries`` rows queueing a message for each webhook, due at once."""
    when = time_to(message.created_at)
    return [
        {
            "id": new_id(),
            "tenant_id": message.tenant_id,
            "webhook_id": webhook_id,
            "event_id": message.id,
            "event_type": message.type,
            "event_timestamp": when,
            "payload": json_to(dict(message.payload)),
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": when,
            "created_at": when,
        }
        for webhook_id in webhook_ids
    ]


def delivery_from_row(row: Any, time_of: TimeOf, json_of: JsonTo) -> Delivery:
    """Return the delivery of a ``webhook_deliveries`` row."""
    created_at = time_of(row.created_at)
    event_timestamp = time_of(row.event_timestamp)
    assert created_at is not None and event_timestamp is not None
    return Delivery(
        id=row.id,
        tenant_id=row.tenant_id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        event_type=row.event_type,
        event_timestamp=event_timestamp,
        payload=None if row.payload is None else json_of(row.payload),
        status=DeliveryStatus(row.status),
        attempts=int(row.attempts),
        created_at=created_at,
        next_attempt_at=time_of(row.next_attempt_at),
        last_attempt_at=time_of(row.last_attempt_at),
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=time_of(row.delivered_at),
    )
