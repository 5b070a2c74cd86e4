"""Webhooks (reference platform §11.2): subscriptions, their deliveries, and who subscribes to what.

Management: ``/v1/webhooks`` create, list, get, replace, delete (admin writes; admin and auditor read), the
deliveries of a webhook and their redelivery. Each write raises the tenant's configuration version, so the
issuance pipeline's ``WebhookSubscriptions`` (cached per version) sees it at the next request of any process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.events import (
    WEBHOOK_CREATED,
    WEBHOOK_DELETED,
    WEBHOOK_REDELIVERED,
    WEBHOOK_UPDATED,
    Event,
    EventKind,
)
from openissuer.domain.ids import new_id
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.urls import InvalidOutboundUrlError
from openissuer.domain.webhooks import Delivery, DeliveryStatus, Webhook, WebhookEventType
from openissuer.errors import ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.access import ADMIN_ONLY, READERS, authorize
from openissuer.services.audit import audit_event
from openissuer.services.versioned_cache import Versioned, VersionedCache

UrlValidator = Callable[[str], str]


@dataclass(frozen=True)
class WebhookInput:
    """A create or replace request as the web layer shaped it."""

    url: str
    events: Sequence[str]
    disabled: bool = False


class WebhookSubscriptions:
    """The webhook event types a tenant's active webhooks subscribe to, cached per configuration version.

    Issuance reads the version with the grant and asks here whether anyone wants ``OpenIdCredentialIssued`` (the
    credential itself) or its summary, so a tenant without webhooks writes nothing for them.
    """

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory
        self._cache: VersionedCache[frozenset[str]] = VersionedCache(self._load)

    async def at_version(self, tenant_id: str, version: int) -> frozenset[str]:
        """Return the subscribed types as of ``version`` or later."""
        return await self._cache.get(tenant_id, version)

    async def _load(self, tenant_id: str) -> Versioned[frozenset[str]]:
        async with self._uow(read_only=True) as uow:
            version = await uow.tenants.get_config_version(tenant_id)  # before the data: see VersionedCache
            active = await uow.webhooks.list_active(tenant_id)
        return Versioned(version or 0, frozenset(t for w in active for t in w.events))


class WebhookService:
    """Manage a tenant's webhooks and their deliveries."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, validate_url: UrlValidator) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._validate_url = validate_url

    def _checked(self, data: WebhookInput) -> tuple[str, tuple[str, ...]]:
        """Reference §11.2 and §1.3: known event types, at least one; an https URL (no IP, query or fragment)."""
        details: list[ErrorDetail] = []
        known = {t.value for t in WebhookEventType}
        if not data.events:
            details.append(ErrorDetail("body", "events", "must name at least one event type", []))
        for index, name in enumerate(data.events):
            if name not in known:
                details.append(
                    ErrorDetail("body", f"events.{index}", f"must be one of {', '.join(sorted(known))}", name)
                )
        url = data.url
        try:
            url = self._validate_url(data.url)
        except InvalidOutboundUrlError as exc:
            details.append(ErrorDetail("body", "url", str(exc), data.url))
        if details:
            raise ValidationError("Validation Error", details=details)
        return url, tuple(dict.fromkeys(data.events))

    async def create_as(self, principal: ManagementPrincipal, data: WebhookInput) -> Webhook:
        """Create a webhook (admin)."""
        authorize(principal, ADMIN_ONLY)
        url, events = self._checked(data)
        now = self._clock.now()
        webhook = Webhook(new_id(), principal.tenant_id, url, events, data.disabled, now, now)
        async with self._uow() as uow:
            await uow.webhooks.add(webhook)
            await uow.events.add(self._event(WEBHOOK_CREATED, principal, webhook))
            await uow.commit()
        return webhook

    async def list_as(self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None) -> Page[Webhook]:
        """List the tenant's webhooks (admin, auditor)."""
        authorize(principal, READERS)
        async with self._uow(read_only=True) as uow:
            return await uow.webhooks.list(principal.tenant_id, limit=limit, after=after)

    async def get_as(self, principal: ManagementPrincipal, id: str) -> Webhook:
        """Return one of the tenant's webhooks; another tenant's is NotFound."""
        authorize(principal, READERS)
        async with self._uow(read_only=True) as uow:
            webhook = await uow.webhooks.get(principal.tenant_id, id)
        if webhook is None:
            raise NotFoundError.for_id(id)
        return webhook

    async def update_as(self, principal: ManagementPrincipal, id: str, data: WebhookInput) -> Webhook:
        """Replace a webhook's url, events and disabled flag (admin)."""
        authorize(principal, ADMIN_ONLY)
        url, events = self._checked(data)
        async with self._uow() as uow:
            stored = await uow.webhooks.get(principal.tenant_id, id)
            if stored is None:
                raise NotFoundError.for_id(id)
            webhook = replace(stored, url=url, events=events, disabled=data.disabled, updated_at=self._clock.now())
            await uow.webhooks.update(webhook)
            await uow.events.add(self._event(WEBHOOK_UPDATED, principal, webhook))
            await uow.commit()
        return webhook

    async def delete_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Delete a webhook and its deliveries not yet made (admin)."""
        authorize(principal, ADMIN_ONLY)
        async with self._uow() as uow:
            webhook = await uow.webhooks.get(principal.tenant_id, id)
            if webhook is None or not await uow.webhooks.delete(principal.tenant_id, id):
                raise NotFoundError.for_id(id)
            await uow.events.add(self._event(WEBHOOK_DELETED, principal, webhook))
            await uow.commit()

    async def deliveries_as(
        self,
        principal: ManagementPrincipal,
        webhook_id: str,
        *,
        status: DeliveryStatus | None,
        limit: int,
        after: PageKey | None,
    ) -> Page[Delivery]:
        """List a webhook's deliveries, optionally of one status (admin, auditor)."""
        authorize(principal, READERS)
        async with self._uow(read_only=True) as uow:
            if await uow.webhooks.get(principal.tenant_id, webhook_id) is None:
                raise NotFoundError.for_id(webhook_id)
            return await uow.outbox.list(principal.tenant_id, webhook_id, status=status, limit=limit, after=after)

    async def redeliver_as(
        self, principal: ManagementPrincipal, webhook_id: str, delivery_ids: Sequence[str] | None = None
    ) -> int:
        """Queue a webhook's failed deliveries (those named, or all) for new attempts; return how many (admin).

        A named delivery that is not a failed delivery of this webhook is NotFound.
        """
        authorize(principal, ADMIN_ONLY)
        now = self._clock.now()
        async with self._uow() as uow:
            if await uow.webhooks.get(principal.tenant_id, webhook_id) is None:
                raise NotFoundError.for_id(webhook_id)
            for delivery_id in delivery_ids or ():
                delivery = await uow.outbox.get(principal.tenant_id, delivery_id)
                if delivery is None or delivery.webhook_id != webhook_id or delivery.status != DeliveryStatus.FAILED:
                    raise NotFoundError.for_id(delivery_id)
            count = await uow.outbox.redeliver(principal.tenant_id, webhook_id, delivery_ids, now)
            data = {"webhookId": webhook_id, "count": count, "deliveryIds": list(delivery_ids or [])}
            await uow.events.add(
                audit_event(WEBHOOK_REDELIVERED, principal.tenant_id, now, data, client_id=principal.client_id)
            )
            await uow.commit()
        return count

    def _event(self, kind: EventKind, principal: ManagementPrincipal, webhook: Webhook) -> Event:
        data = {
            "webhookId": webhook.id,
            "url": webhook.url,
            "events": list(webhook.events),
            "disabled": webhook.disabled,
        }
        return audit_event(kind, principal.tenant_id, self._clock.now(), data, client_id=principal.client_id)
