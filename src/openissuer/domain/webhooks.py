"""Webhooks (reference platform §11.2): subscriptions, the messages queued for them, and their deliveries.

A ``WebhookMessage`` is one webhook event (``event{id, type, payload, timestamp}`` of the delivered envelope),
queued in the same transaction as the change it reports, once per active webhook of the tenant subscribed to its
type: each copy is a ``Delivery`` in the outbox, which the delivery worker sends, retries and finally marks
delivered or failed. Receivers deduplicate on the message id (delivery is at least once).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class WebhookEventType(enum.StrEnum):
    """What a webhook may subscribe to."""

    CREDENTIAL_ISSUED = "OpenIdCredentialIssued"
    CREDENTIAL_ISSUED_SUMMARY = "OpenIdCredentialIssuedSummary"
    OFFER_REDEEMED = "OpenIdOfferRedeemed"
    CREDENTIAL_STATUS_UPDATED = "CredentialStatusUpdated"


class DeliveryStatus(enum.StrEnum):
    """Where a delivery is: waiting for its (next) attempt, delivered, or given up after the last attempt."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Webhook:
    """A tenant's subscription: ``events`` are ``WebhookEventType`` values, ``url`` a validated outbound URL."""

    id: str
    tenant_id: str
    url: str
    events: tuple[str, ...]
    disabled: bool
    created_at: datetime
    updated_at: datetime

    def subscribes_to(self, event_type: str) -> bool:
        """Tell whether this webhook is active and wants events of ``event_type``."""
        return not self.disabled and event_type in self.events


@dataclass(frozen=True)
class WebhookMessage:
    """A webhook event to send to every active webhook of the tenant subscribed to ``type``."""

    id: str
    tenant_id: str
    type: str
    created_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """One message for one webhook. ``attempts`` counts the attempts started (a claim starts one); the payload is
    dropped once delivered (it may hold a credential)."""

    id: str
    tenant_id: str
    webhook_id: str
    event_id: str
    event_type: str
    event_timestamp: datetime
    payload: Mapping[str, Any] | None
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery claimed for one attempt (number ``delivery.attempts``), with the URL it goes to."""

    delivery: Delivery
    url: str


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one attempt gave: delivered, or an error to keep (``retry_at`` None: give up, mark failed)."""

    delivered: bool
    status_code: int | None = None
    error: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True)
class WebhookSigningKey:
    """A tenant's Ed25519 webhook signing key: the public JWK it publishes and the sealed private key."""

    id: str
    tenant_id: str
    kid: str
    public_jwk: Mapping[str, str]
    sealed_private_key: bytes
    created_at: datetime
