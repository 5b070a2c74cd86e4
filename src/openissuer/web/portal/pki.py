"""IACAs, document signers and status list signers: create, activate or deactivate, download PEM and CRL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.crypto.certificate_info import encode_pem
from openissuer.domain.pki import SignerKind
from openissuer.errors import ManagementError
from openissuer.services.access import ISSUERS
from openissuer.services.iacas import IacaInput
from openissuer.services.signer_certificates import SignerUpdate
from openissuer.web.portal.core import (
    CurrentPortal,
    FormErrors,
    Paging,
    Portal,
    SubmittedPortal,
    error_page,
    field_error,
    portal_router,
    redirect,
    render,
)
from openissuer.web.routers.iacas import render_iaca
from openissuer.web.routers.signers import render_signer

router = portal_router()
EXPIRY_WARNING = timedelta(days=30)
SIGNER_KINDS = {
    "document-signers": (SignerKind.DOCUMENT_SIGNER, "Document signers"),
    "status-list-signers": (SignerKind.STATUS_LIST_SIGNER, "Status list signers"),
}


def expiry_state(not_after: datetime | str, now: datetime) -> str:
    """``expired``, ``expiring`` (within 30 days) or ``ok``."""
    moment = datetime.fromisoformat(not_after) if isinstance(not_after, str) else not_after
    if moment <= now:
        return "expired"
    return "expiring" if moment - now <= EXPIRY_WARNING else "ok"


def _date(portal: Portal, name: str) -> datetime | None:
    """A ``date`` input as the start of that day in UTC (today: now, as the API reads a date)."""
    raw = portal.field(name)
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise field_error(name, "must be a date, e.g. 2034-09-26", raw) from exc
    now = portal.container.clock.now()
    return now if day <= now < day + timedelta(days=1) else day


async def _iacas_page(
    portal: Portal, request: Request, *, errors: FormErrors | None = None, status: int = 200
) -> HTMLResponse:
    paging = Paging.of(request)
    page = await portal.container.iacas.list_as(portal.principal, limit=paging.limit, after=paging.after)
    now = portal.container.clock.now()
    iacas = [render_iaca(i) | {"expiry": expiry_state(i.data.not_after, now)} for i in page.items]
    values: dict[str, Any] = dict(portal.form or {})
    context = {
        "title": "IACAs",
        "iacas": iacas,
        "next_link": paging.next_link(request, page),
        "can_write": portal.can(ISSUERS),
        "errors": errors or FormErrors(),
        "values": values,
    }
    return render(portal, request, "iacas.html", context, status=status, section="pki")


@router.get("/iacas")
async def iacas(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        return await _iacas_page(portal, request)
    except ManagementError as exc:
        return error_page(portal, request, exc)


@router.post("/iacas")
async def create_iaca(request: Request, portal: SubmittedPortal) -> Response:
    try:
        data = IacaInput(
            country=portal.optional("country"),
            common_name=portal.optional("commonName"),
            state_or_province_name=portal.optional("stateOrProvinceName"),
            not_before=_date(portal, "notBefore"),
            not_after=_date(portal, "notAfter"),
            certificate_pem=portal.optional("certificatePem"),
        )
        iaca = await portal.container.iacas.create_as(portal.principal, data)
    except ManagementError as exc:
        return await _iacas_page(portal, request, errors=FormErrors.of(exc), status=exc.status)
    return redirect(f"/iacas/{iaca.id}", "created")


@router.get("/iacas/{iaca_id}")
async def iaca(request: Request, iaca_id: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        found = await portal.container.iacas.get_as(portal.principal, iaca_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    now = portal.container.clock.now()
    context = {
        "title": f"IACA {found.data.common_name}",
        "iaca": render_iaca(found) | {"expiry": expiry_state(found.data.not_after, now)},
        "can_write": portal.can(ISSUERS),
    }
    return render(portal, request, "iaca.html", context, section="pki")


@router.post("/iacas/{iaca_id}/active")
async def set_iaca_active(request: Request, iaca_id: str, portal: SubmittedPortal) -> Response:
    active = portal.field("active") == "true"
    try:
        await portal.container.iacas.set_active_as(portal.principal, iaca_id, active)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect(f"/iacas/{iaca_id}", "activated" if active else "deactivated")


@router.post("/iacas/{iaca_id}/delete")
async def delete_iaca(request: Request, iaca_id: str, portal: SubmittedPortal) -> Response:
    try:
        await portal.container.iacas.delete_as(portal.principal, iaca_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect("/iacas", "deleted")


@router.get("/iacas/{iaca_id}/certificate.pem")
async def iaca_pem(request: Request, iaca_id: str, portal: CurrentPortal) -> Response:
    try:
        found = await portal.container.iacas.get_as(portal.principal, iaca_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return _download(encode_pem(found.certificate_der).encode(), "application/x-pem-file", f"iaca-{iaca_id}.pem")


@router.get("/iacas/{iaca_id}/crl")
async def iaca_crl(request: Request, iaca_id: str, portal: CurrentPortal) -> Response:
    try:
        await portal.container.iacas.get_as(portal.principal, iaca_id)  # the role check and the tenant's 404
        crl = await portal.container.iacas.crl(portal.principal.tenant_id, iaca_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return _download(crl, "application/pkix-crl", f"iaca-{iaca_id}.crl")


def _download(body: bytes, media_type: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    return Response(body, media_type=media_type, headers=headers)


def _kind(kind_path: str) -> tuple[SignerKind, str]:
    if kind_path not in SIGNER_KINDS:
        raise field_error("kind", "is not a signer kind")
    return SIGNER_KINDS[kind_path]


async def _signers_page(
    portal: Portal, request: Request, kind_path: str, *, errors: FormErrors | None = None, status: int = 200
) -> HTMLResponse:
    kind, label = _kind(kind_path)
    paging = Paging.of(request)
    service = portal.container.signer_certificates[kind]
    page = await service.list_as(portal.principal, limit=paging.limit, after=paging.after)
    now = portal.container.clock.now()
    signers = []
    for entry in page.items:
        rendered = render_signer(entry)
        data = rendered.get("certificateData")
        rendered["expiry"] = expiry_state(data["notAfter"], now) if data else "pending"
        signers.append(rendered)
    iacas = await portal.container.iacas.list_as(portal.principal, limit=10, after=None)
    context = {
        "title": label,
        "kind_path": kind_path,
        "kinds": SIGNER_KINDS,
        "signers": signers,
        "iaca_options": [(i.id, i.data.common_name) for i in iacas.items if not i.is_managed],
        "next_link": paging.next_link(request, page),
        "can_write": portal.can(ISSUERS),
        "errors": errors or FormErrors(),
        "values": dict(portal.form or {}),
    }
    return render(portal, request, "signers.html", context, status=status, section="pki")


@router.get("/signers/{kind_path}")
async def signers(request: Request, kind_path: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        return await _signers_page(portal, request, kind_path)
    except ManagementError as exc:
        return error_page(portal, request, exc)


@router.post("/signers/{kind_path}")
async def create_signer(request: Request, kind_path: str, portal: SubmittedPortal) -> Response:
    try:
        kind, _ = _kind(kind_path)
        await portal.container.signer_certificates[kind].create_as(portal.principal, portal.field("iacaId"))
    except ManagementError as exc:
        return await _signers_page(portal, request, kind_path, errors=FormErrors.of(exc), status=exc.status)
    return redirect(f"/signers/{kind_path}", "created")


@router.post("/signers/{kind_path}/{signer_id}")
async def update_signer(request: Request, kind_path: str, signer_id: str, portal: SubmittedPortal) -> Response:
    action = portal.field("action")
    try:
        kind, _ = _kind(kind_path)
        service = portal.container.signer_certificates[kind]
        if action == "revoke":
            await service.revoke_as(portal.principal, signer_id)
            done = "revoked"
        elif action == "delete":
            await service.delete_as(portal.principal, signer_id)
            done = "deleted"
        elif action in {"activate", "deactivate", "upload"}:
            active = action != "deactivate"
            update = SignerUpdate(active=active, certificate_pem=portal.optional("certificatePem"))
            await service.update_as(portal.principal, signer_id, update)
            done = "activated" if active else "deactivated"
        else:
            raise field_error("action", "must be activate, deactivate, upload, revoke or delete", action)
    except ManagementError as exc:
        return await _signers_page(portal, request, kind_path, errors=FormErrors.of(exc), status=exc.status)
    return redirect(f"/signers/{kind_path}", done)


@router.get("/signers/{kind_path}/{signer_id}/certificate.pem")
async def signer_pem(request: Request, kind_path: str, signer_id: str, portal: CurrentPortal) -> Response:
    try:
        kind, _ = _kind(kind_path)
        entry = render_signer(await portal.container.signer_certificates[kind].get_as(portal.principal, signer_id))
    except ManagementError as exc:
        return error_page(portal, request, exc)
    pem = entry.get("certificatePem") or entry.get("csrPem") or ""
    return _download(pem.encode(), "application/x-pem-file", f"{kind_path[:-1]}-{signer_id}.pem")
