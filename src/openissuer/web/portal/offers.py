"""Offers: Pre-authorized (claims, transaction code, QR, deep link, revoke) and reusable Authorization Code ones."""

from __future__ import annotations

import base64
import io
from typing import Any

import segno
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.domain.durations import Duration
from openissuer.domain.events import AUTHORIZATION_OFFER_CREATED, OFFER_CREATED, EventQuery
from openissuer.domain.json_input import parse_json_input
from openissuer.domain.offers import TxCodeConfiguration, TxCodeInputMode
from openissuer.errors import ErrorDetail, ForbiddenError, ManagementError, ValidationError
from openissuer.services.access import OPERATORS
from openissuer.services.offers import OfferInput
from openissuer.web.portal.core import (
    CurrentPortal,
    FormErrors,
    Portal,
    SubmittedPortal,
    error_page,
    portal_router,
    redirect,
    render,
    whole_number,
)

router = portal_router()
CLAIM_ROWS = 6


def qr_data_uri(uri: str) -> str | None:
    """The offer URI as a PNG QR code in a ``data:`` URI (the page needs no second request); None when the URI is too
    long for a QR code (an offer by value of many configurations): the page then shows the link alone."""
    buffer = io.BytesIO()
    try:
        code = segno.make(uri, error="m")
    except segno.DataOverflowError:
        return None
    code.save(buffer, kind="png", scale=6, border=4)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def _configuration_options(portal: Portal) -> list[tuple[str, str]]:
    options = []
    for credential_format in portal.container.formats:
        page = await portal.container.configurations.list_as(
            portal.principal, credential_format.format_id, limit=100, after=None
        )
        options += [(c.id, f"{c.credential_type} ({credential_format.format_id})") for c in page.items]
    return options


async def _recent_offers(portal: Portal) -> list[Any] | None:
    """The latest offers from the event log (None when the role may not read events)."""
    query = EventQuery(types=(OFFER_CREATED.type, AUTHORIZATION_OFFER_CREATED.type))
    try:
        page = await portal.container.event_log.list_as(portal.principal, query, limit=20, after=None)
    except ForbiddenError:
        return None
    return page.items


async def _offers_page(
    portal: Portal, request: Request, *, errors: FormErrors | None = None, status: int = 200
) -> HTMLResponse:
    can_write = portal.can(OPERATORS)
    context = {
        "title": "Offers",
        "configurations": await _configuration_options(portal),
        "recent": await _recent_offers(portal),
        "can_write": can_write,
        "claim_rows": CLAIM_ROWS,
        "errors": errors or FormErrors(),
        "values": {k: v for k, v in (portal.form or {}).items() if isinstance(v, str)},
    }
    return render(portal, request, "offers.html", context, status=status, section="offers")


@router.get("/offers")
async def offers(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        return await _offers_page(portal, request)
    except ManagementError as exc:
        return error_page(portal, request, exc)


def _selected_configurations(portal: Portal) -> list[str]:
    assert portal.form is not None
    return [key[len("credential-") :] for key in portal.form if key.startswith("credential-")]


def _claims(portal: Portal) -> dict[str, Any]:
    details: list[ErrorDetail] = []
    claims: dict[str, Any] = {}
    raw_json = portal.field("claimsJson")
    if raw_json:
        try:
            parsed = parse_json_input(raw_json)  # strict, bounded depth: never a RecursionError
            if not isinstance(parsed, dict):
                raise ValueError("not an object")
            claims.update(parsed)
        except ValueError:
            details.append(ErrorDetail("body", "claimsJson", 'must be a JSON object, e.g. {"given_name": "Ana"}'))
    for i in range(CLAIM_ROWS):
        name, value = portal.field(f"claim-{i}-name"), portal.field(f"claim-{i}-value")
        if name:
            claims[name] = value
        elif value:
            details.append(ErrorDetail("body", f"claim-{i}-name", "name the claim this value is for"))
    if details:
        raise ValidationError("Validation Error", details=details)
    return claims


def _whole(portal: Portal, name: str, low: int, high: int) -> int | None:
    raw = portal.field(name)
    if not raw:
        return None
    value = whole_number(raw)
    if value is None or not low <= value <= high:
        detail = ErrorDetail("body", name, f"must be {low}-{high}", raw[:20])
        raise ValidationError("Validation Error", details=[detail])
    return value


@router.post("/offers")
async def create_offer(request: Request, portal: SubmittedPortal) -> Response:
    try:
        tx_code = None
        if portal.checked("txCode"):
            mode = portal.field("txCode-inputMode") or "numeric"
            if mode not in {m.value for m in TxCodeInputMode}:
                raise ValidationError(
                    "Validation Error", details=[ErrorDetail("body", "txCode-inputMode", "must be numeric or text")]
                )
            length = _whole(portal, "txCode-length", 0, 99)
            tx_code = TxCodeConfiguration(
                TxCodeInputMode(mode), 6 if length is None else length, portal.optional("txCode-description")
            )
        minutes = _whole(portal, "expiresIn", 1, 1440)
        persist = [name.strip() for name in portal.field("claimsToPersist").split(",") if name.strip()]
        data = OfferInput(
            configuration_ids=_selected_configurations(portal),
            user_id=portal.optional("userId"),
            claims=_claims(portal),
            claims_to_persist=persist,
            tx_code=tx_code,
            expires_in=None if minutes is None else Duration(minutes=minutes),
            by_reference=portal.checked("byReference"),
        )
        created = await portal.container.offers.create_pre_authorized_as(portal.principal, data)
    except ManagementError as exc:
        aliases = {"credentials": "credentials", "transactionCodeConfiguration.length": "txCode-length"}
        return await _offers_page(portal, request, errors=FormErrors.of(exc, aliases=aliases), status=exc.status)
    context = {
        "title": "Pre-authorized offer",
        "offer_id": created.offer.id,
        "uri": created.uri,
        "qr": qr_data_uri(created.uri),
        "tx_code": created.tx_code,
        "expires_at": created.offer.expires_at,
        "user_id": created.offer.user_id,
        "can_write": portal.can(OPERATORS),
    }
    return render(portal, request, "offer.html", context, status=201, section="offers")


@router.post("/offers/authorization-code")
async def create_authorization_code_offer(request: Request, portal: SubmittedPortal) -> Response:
    try:
        uri = await portal.container.offers.create_authorization_code_as(
            portal.principal, _selected_configurations(portal), {}
        )
    except ManagementError as exc:
        return await _offers_page(portal, request, errors=FormErrors.of(exc), status=exc.status)
    context = {
        "title": "Authorization Code offer",
        "uri": uri,
        "qr": qr_data_uri(uri),
        "offer_id": None,
        "tx_code": None,
        "expires_at": None,
        "user_id": None,
        "can_write": False,
    }
    return render(portal, request, "offer.html", context, status=201, section="offers")


@router.get("/offers/{offer_id}")
async def offer(request: Request, offer_id: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        uri = await portal.container.offers.offer_uri_as(portal.principal, offer_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    context = {
        "title": "Pre-authorized offer",
        "offer_id": offer_id,
        "uri": uri,
        "qr": qr_data_uri(uri),
        "tx_code": None,
        "expires_at": None,
        "user_id": None,
        "can_write": portal.can(OPERATORS),
    }
    return render(portal, request, "offer.html", context, section="offers")


@router.post("/offers/{offer_id}/revoke")
async def revoke_offer(request: Request, offer_id: str, portal: SubmittedPortal) -> Response:
    try:
        await portal.container.offers.revoke_as(portal.principal, offer_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect("/offers", "revoked")
