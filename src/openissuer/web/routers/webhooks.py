"""``/v1/webhooks`` (reference platform §11.2): webhook subscriptions, their deliveries, and the public JWK Set of
the keys deliveries are signed with."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from openissuer.domain.webhooks import Delivery, DeliveryStatus, Webhook, WebhookEventType
from openissuer.services.webhooks import WebhookInput
from openissuer.web.deps import ContainerDep, PrincipalDep, WalletTenantDep
from openissuer.web.pagination import PageParams, render_page

router = APIRouter(prefix="/v1/webhooks", tags=["Webhooks"])

_EVENT_TYPES = ", ".join(f"`{t.value}`" for t in WebhookEventType)
_JWKS_HEADERS = {"Cache-Control": "public, max-age=300"}


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[str] = Field(description=f"Event types to receive: {_EVENT_TYPES}.")
    url: str = Field(description="Where deliveries are POSTed: https, a domain name (no IP), no query or fragment.")
    disabled: bool = Field(False, description="A disabled webhook receives nothing; its queued deliveries wait.")


class WebhookOut(BaseModel):
    id: str
    events: list[str]
    url: str
    disabled: bool


class WebhookPage(BaseModel):
    data: list[WebhookOut]
    nextCursor: str | None = None  # noqa: N815


class DeliveryOut(BaseModel):
    id: str = Field(description="The `deliveryId` of the envelope.")
    webhookId: str  # noqa: N815
    eventId: str = Field(description="The `event.id` of the envelope (receivers deduplicate on it).")  # noqa: N815
    eventType: str  # noqa: N815
    status: DeliveryStatus
    attempts: int = Field(description="Attempts made (or started) since it was queued or redelivered.")
    createdAt: datetime  # noqa: N815
    nextAttemptAt: datetime | None = None  # noqa: N815
    lastAttemptAt: datetime | None = None  # noqa: N815
    lastStatusCode: int | None = Field(None, description="The receiver's last HTTP status.")  # noqa: N815
    lastError: str | None = Field(None, description="Why the last attempt failed (no response bodies).")  # noqa: N815
    deliveredAt: datetime | None = None  # noqa: N815


class DeliveryPage(BaseModel):
    data: list[DeliveryOut]
    nextCursor: str | None = None  # noqa: N815


class RedeliverBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deliveryIds: list[str] | None = Field(  # noqa: N815
        None, description="Failed deliveries to send again; omitted: every failed delivery of the webhook."
    )


class RedeliverOut(BaseModel):
    count: int = Field(description="Deliveries queued again.")


class Jwk(BaseModel):
    kty: str
    crv: str
    x: str
    kid: str
    use: str
    alg: str


class Jwks(BaseModel):
    keys: list[Jwk]


def _out(webhook: Webhook) -> dict[str, Any]:
    return {"id": webhook.id, "events": list(webhook.events), "url": webhook.url, "disabled": webhook.disabled}


def _delivery_out(delivery: Delivery) -> dict[str, Any]:
    return DeliveryOut(
        id=delivery.id,
        webhookId=delivery.webhook_id,
        eventId=delivery.event_id,
        eventType=delivery.event_type,
        status=delivery.status,
        attempts=delivery.attempts,
        createdAt=delivery.created_at,
        nextAttemptAt=delivery.next_attempt_at,
        lastAttemptAt=delivery.last_attempt_at,
        lastStatusCode=delivery.last_status_code,
        lastError=delivery.last_error,
        deliveredAt=delivery.delivered_at,
    ).model_dump(mode="json", exclude_none=True)


def _input(body: WebhookBody) -> WebhookInput:
    return WebhookInput(url=body.url, events=body.events, disabled=body.disabled)


@router.post("", status_code=201, response_model=WebhookOut, summary="Create a webhook (admin)")
async def create_webhook(body: WebhookBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return _out(await container.webhooks.create_as(principal, _input(body)))


@router.get("", response_model=WebhookPage, response_model_exclude_none=True, summary="List webhooks")
async def list_webhooks(
    principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
) -> Any:
    page = await container.webhooks.list_as(principal, limit=page_params.limit, after=page_params.after)
    return render_page(page, [_out(webhook) for webhook in page.items])


@router.get(
    "/jwks",
    response_model=Jwks,
    summary="The keys webhook deliveries are signed with (public)",
    description=(
        "Ed25519 public keys (JWK Set) of the tenant of the request's host. Deliveries carry HTTP Message Signatures "
        "(RFC 9421) whose `keyid` is a `kid` here; refetch this set when a delivery names a `kid` you do not have."
    ),
)
async def webhook_jwks(tenant: WalletTenantDep, container: ContainerDep, response: Response) -> Any:
    response.headers.update(_JWKS_HEADERS)
    return await container.webhook_keys.jwks(tenant.id)


@router.get("/{id}", response_model=WebhookOut, summary="Retrieve a webhook")
async def get_webhook(id: str, principal: PrincipalDep, container: ContainerDep) -> Any:
    return _out(await container.webhooks.get_as(principal, id))


@router.put("/{id}", response_model=WebhookOut, summary="Replace a webhook (admin)")
async def update_webhook(id: str, body: WebhookBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return _out(await container.webhooks.update_as(principal, id, _input(body)))


@router.delete("/{id}", status_code=204, summary="Delete a webhook and its undelivered deliveries (admin)")
async def delete_webhook(id: str, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.webhooks.delete_as(principal, id)
    return Response(status_code=204)


@router.get(
    "/{id}/deliveries",
    response_model=DeliveryPage,
    response_model_exclude_none=True,
    summary="List a webhook's deliveries, e.g. the failed ones (admin, auditor)",
)
async def list_deliveries(
    id: str,
    principal: PrincipalDep,
    container: ContainerDep,
    page_params: Annotated[PageParams, Depends()],
    status: Annotated[DeliveryStatus | None, Query(description="pending, delivered or failed")] = None,
) -> Any:
    page = await container.webhooks.deliveries_as(
        principal, id, status=status, limit=page_params.limit, after=page_params.after
    )
    return render_page(page, [_delivery_out(delivery) for delivery in page.items])


@router.post(
    "/{id}/deliveries/redeliver",
    status_code=202,
    response_model=RedeliverOut,
    summary="Send failed deliveries again (admin)",
    description="Queues the named failed deliveries (or all of this webhook's) for new attempts with fresh retries.",
)
async def redeliver(
    id: str, principal: PrincipalDep, container: ContainerDep, body: RedeliverBody | None = None
) -> Any:
    ids = None if body is None else body.deliveryIds
    return {"count": await container.webhooks.redeliver_as(principal, id, ids)}
