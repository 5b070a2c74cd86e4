"""The webhook delivery request (reference platform §11.2): the envelope, its body bytes and its headers.

``POST`` of ``{deliveryId, deliveryTimestamp, webhookId, event: {id, type, payload, timestamp}}`` with the headers
``x-mattr-webhook-id`` and ``x-mattr-event-type``. Receivers deduplicate on ``event.id``: delivery is at least once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

WEBHOOK_ID_HEADER = "x-mattr-webhook-id"
EVENT_TYPE_HEADER = "x-mattr-event-type"
CONTENT_TYPE = "application/json"


def format_timestamp(moment: datetime) -> str:
    """Return an ISO 8601 UTC timestamp with milliseconds and ``Z`` (``2026-12-10T09:30:00.123Z``)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_envelope(
    *,
    delivery_id: str,
    delivered_at: datetime,
    webhook_id: str,
    event_id: str,
    event_type: str,
    payload: Mapping[str, Any],
    event_timestamp: datetime,
) -> dict[str, Any]:
    """Return the envelope of one delivery."""
    return {
        "deliveryId": delivery_id,
        "deliveryTimestamp": format_timestamp(delivered_at),
        "webhookId": webhook_id,
        "event": {
            "id": event_id,
            "type": event_type,
            "payload": dict(payload),
            "timestamp": format_timestamp(event_timestamp),
        },
    }


def encode_envelope(envelope: Mapping[str, Any]) -> bytes:
    """Return the body bytes: compact JSON with sorted keys (for our payloads, which hold no floats, this is the
    JSON Canonicalization Scheme form, RFC 8785). The Content-Digest is computed over exactly these bytes."""
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def create_delivery_headers(webhook_id: str, event_type: str) -> dict[str, str]:
    """Return the headers of a delivery before signing."""
    return {"content-type": CONTENT_TYPE, WEBHOOK_ID_HEADER: webhook_id, EVENT_TYPE_HEADER: event_type}
