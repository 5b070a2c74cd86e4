"""CWT tools: the direct APIs of compact credentials (``/v2/credentials/compact/sign``, ``/verify``, ``/qrcode``).

Sign a CWT (type, claims as a JSON object, an optional expiry, revocable) and see its text form, its QR code and its
claims; verify one pasted as text and see whether it verified, why not, and its claims. The forms are read with
the API's body models (``web/routers/compact.py``) and handed to the same service, whose roles apply: admins,
issuers and managed issuers sign; admins, issuers and auditors verify; admins and issuers draw the QR code.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.errors import ManagementError
from openissuer.services.access import ISSUERS, OPERATORS, READERS_AND_ISSUERS
from openissuer.services.compact_credentials import SignInput, VerifyOptions
from openissuer.web.portal.core import (
    CurrentPortal,
    FormErrors,
    Portal,
    SubmittedPortal,
    field_error,
    json_object,
    parse_body,
    portal_router,
    render,
)
from openissuer.web.routers.compact import SignBody, VerifyBody

router = portal_router()
QR_WIDTH = 400
# The form's fields for the API's parameters: ``payload.type`` is the Type field, ``payload.exp`` the expiry, any
# other claim's problem goes next to the claims text area.
SIGN_ALIASES = {"payload.type": "type", "payload.exp": "exp", "revocable": "revocable"}
SIGN_NESTED = {"payload": "claims"}
OWN_FIELDS = ("type", "exp")


def _page(
    portal: Portal,
    request: Request,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    **results: Any,
) -> HTMLResponse:
    context = {
        "title": "CWT tools",
        "can_sign": portal.can(OPERATORS),
        "can_verify": portal.can(READERS_AND_ISSUERS),
        "errors": errors or FormErrors(),
        "values": values or {},
        **results,
    }
    return render(portal, request, "cwt.html", context, status=status, section="cwt")


@router.get("/cwt")
async def cwt_tools(request: Request, portal: CurrentPortal) -> HTMLResponse:
    return _page(portal, request)


def _expiry(text: str) -> int | None:
    """The expiry field (a UTC date and time) as seconds since the epoch, or None when empty."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise field_error("exp", "must be a date and time, e.g. 2030-01-31T12:00", text[:40]) from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _sign_body(portal: Portal) -> SignBody:
    """The API's ``/sign`` body from the form: the claims text area, with the type and the expiry fields added."""
    payload = json_object(portal, "claims")
    for name in OWN_FIELDS:
        if name in payload and portal.field(name):
            raise field_error("claims", f"{name!r} is set by its own field: give it in one place")
    if portal.field("type"):
        payload["type"] = portal.field("type")
    expiry = _expiry(portal.field("exp"))
    if expiry is not None:
        payload["exp"] = expiry
    return parse_body(SignBody, {"payload": payload, "revocable": portal.checked("revocable")})


@router.post("/cwt/sign")
async def sign(request: Request, portal: SubmittedPortal) -> Response:
    service = portal.container.compact_credentials
    try:
        body = _sign_body(portal)
        signed = await service.sign_as(portal.principal, SignInput(payload=body.payload, revocable=body.revocable))
    except ManagementError as exc:
        errors = FormErrors.of(exc, aliases=SIGN_ALIASES, nested=SIGN_NESTED)
        return _page(portal, request, status=exc.status, errors=errors, values=portal.echo())
    qr = None
    if portal.can(ISSUERS):  # the API's /qrcode is for admins and issuers; a managed issuer gets the text
        png = await service.qrcode_as(portal.principal, signed.encoded, QR_WIDTH)
        qr = "data:image/png;base64," + base64.b64encode(png).decode()
    return _page(
        portal,
        request,
        values=portal.echo(),
        signed=signed,
        signed_claims=json.dumps(signed.decoded, indent=2, ensure_ascii=False),
        qr=qr,
    )


@router.post("/cwt/verify")
async def verify(request: Request, portal: SubmittedPortal) -> Response:
    try:
        body = parse_body(VerifyBody, {"payload": portal.field("payload")})
        result = await portal.container.compact_credentials.verify_as(portal.principal, body.payload, VerifyOptions())
    except ManagementError as exc:
        return _page(portal, request, status=exc.status, errors=FormErrors.of(exc), values=portal.echo())
    decoded = None if result.decoded is None else json.dumps(result.decoded, indent=2, ensure_ascii=False)
    return _page(portal, request, values=portal.echo(), verification=result, verified_claims=decoded)
