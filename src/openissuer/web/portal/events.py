"""The event log with its filters, and webhooks with their deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.domain.events import EVENT_KINDS, EventCategory, EventQuery
from openissuer.domain.webhooks import DeliveryStatus, WebhookEventType
from openissuer.errors import ErrorDetail, ManagementError, ValidationError
from openissuer.services.access import ADMIN_ONLY
from openissuer.services.webhooks import WebhookInput
from openissuer.web.portal.core import (
    CurrentPortal,
    FormErrors,
    Paging,
    Portal,
    SubmittedPortal,
    error_page,
    portal_router,
    redirect,
    render,
)

router = portal_router()


def _day(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        detail = ErrorDetail("query", name, "must be a date, e.g. 2026-12-01", raw[:20])
        raise ValidationError("Validation Error", details=[detail]) from exc


def _query(request: Request) -> EventQuery:
    params = request.query_params
    category, event_type, client_id = params.get("category", ""), params.get("type", ""), params.get("clientId", "")
    if category and category not in {c.value for c in EventCategory}:
        raise ValidationError("Validation Error", details=[ErrorDetail("query", "category", "is not a category")])
    if event_type and event_type not in EVENT_KINDS:
        raise ValidationError("Validation Error", details=[ErrorDetail("query", "type", "is not an event type")])
    return EventQuery(
        date_from=_day(request, "dateFrom"),
        date_to=_day(request, "dateTo"),
        client_ids=(client_id,) if client_id else (),
        categories=(category,) if category else (),
        types=(event_type,) if event_type else (),
    )


@router.get("/events")
async def events(request: Request, portal: CurrentPortal) -> HTMLResponse:
    values = dict(request.query_params)
    status, errors, items, next_link = 200, FormErrors(), [], None
    try:
        paging = Paging.of(request)
        page = await portal.container.event_log.list_as(
            portal.principal, _query(request), limit=paging.limit, after=paging.after
        )
        items = [(e, json.dumps(dict(e.data), ensure_ascii=False, sort_keys=True)) for e in page.items]
        next_link = paging.next_link(request, page)
    except ManagementError as exc:
        if exc.status == 403:
            return error_page(portal, request, exc)
        status, errors = exc.status, FormErrors.of(exc)
    context = {
        "title": "Events",
        "events": items,
        "next_link": next_link,
        "categories": [("", "Any category")] + [(c.value, c.value) for c in EventCategory],
        "types": [("", "Any type")] + [(t, t) for t in sorted(EVENT_KINDS)],
        "values": values,
        "errors": errors,
    }
    return render(portal, request, "events.html", context, status=status, section="events")


async def _webhooks_page(
    portal: Portal, request: Request, *, errors: FormErrors | None = None, status: int = 200
) -> HTMLResponse:
    paging = Paging.of(request)
    page = await portal.container.webhooks.list_as(portal.principal, limit=paging.limit, after=paging.after)
    context = {
        "title": "Webhooks",
        "webhooks": page.items,
        "next_link": paging.next_link(request, page),
        "event_types": [t.value for t in WebhookEventType],
        "can_write": portal.can(ADMIN_ONLY),
        "errors": errors or FormErrors(),
        "values": {k: v for k, v in (portal.form or {}).items() if isinstance(v, str)},
    }
    return render(portal, request, "webhooks.html", context, status=status, section="webhooks")


@router.get("/webhooks")
async def webhooks(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        return await _webhooks_page(portal, request)
    except ManagementError as exc:
        return error_page(portal, request, exc)


def _webhook_input(portal: Portal) -> WebhookInput:
    chosen = [t.value for t in WebhookEventType if portal.checked(f"event-{t.value}")]
    return WebhookInput(url=portal.field("url"), events=chosen, disabled=portal.checked("disabled"))


@router.post("/webhooks")
async def create_webhook(request: Request, portal: SubmittedPortal) -> Response:
    try:
        await portal.container.webhooks.create_as(portal.principal, _webhook_input(portal))
    except ManagementError as exc:
        return await _webhooks_page(portal, request, errors=FormErrors.of(exc), status=exc.status)
    return redirect("/webhooks", "created")


@router.get("/webhooks/{webhook_id}")
async def webhook(request: Request, webhook_id: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        found = await portal.container.webhooks.get_as(portal.principal, webhook_id)
        paging = Paging.of(request)
        raw_status = request.query_params.get("status", "")
        if raw_status and raw_status not in {s.value for s in DeliveryStatus}:
            raise ValidationError("Validation Error", details=[ErrorDetail("query", "status", "is not a status")])
        page = await portal.container.webhooks.deliveries_as(
            portal.principal,
            webhook_id,
            status=DeliveryStatus(raw_status) if raw_status else None,
            limit=paging.limit,
            after=paging.after,
        )
    except ManagementError as exc:
        return error_page(portal, request, exc)
    context = {
        "title": f"Webhook {found.url}",
        "webhook": found,
        "deliveries": page.items,
        "next_link": paging.next_link(request, page),
        "statuses": [("", "Any status")] + [(s.value, s.value) for s in DeliveryStatus],
        "values": dict(request.query_params),
        "event_types": [t.value for t in WebhookEventType],
        "can_write": portal.can(ADMIN_ONLY),
    }
    return render(portal, request, "webhook.html", context, section="webhooks")


@router.post("/webhooks/{webhook_id}")
async def update_webhook(request: Request, webhook_id: str, portal: SubmittedPortal) -> Response:
    action = portal.field("action")
    service = portal.container.webhooks
    try:
        if action == "delete":
            await service.delete_as(portal.principal, webhook_id)
            return redirect("/webhooks", "deleted")
        if action == "redeliver":
            await service.redeliver_as(portal.principal, webhook_id)
            return redirect(f"/webhooks/{webhook_id}", "redelivered")
        await service.update_as(portal.principal, webhook_id, _webhook_input(portal))
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect(f"/webhooks/{webhook_id}", "saved")
