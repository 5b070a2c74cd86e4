"""API clients: create (the secret shown once), delete."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.domain.api_clients import Role
from openissuer.errors import ManagementError
from openissuer.services.access import ADMIN_ONLY
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

router = portal_router()


async def _clients_page(
    portal: Portal,
    request: Request,
    *,
    errors: FormErrors | None = None,
    status: int = 200,
    created: Any = None,
) -> HTMLResponse:
    paging = Paging.of(request)
    page = await portal.container.api_clients.list_as(portal.principal, limit=paging.limit, after=paging.after)
    context = {
        "title": "API clients",
        "clients": page.items,
        "next_link": paging.next_link(request, page),
        "roles": [r.value for r in Role if r is not Role.PLATFORM_ADMIN],
        "can_write": portal.can(ADMIN_ONLY),
        "created": created,
        "errors": errors or FormErrors(),
        "values": {k: v for k, v in (portal.form or {}).items() if isinstance(v, str)} if errors else {},
    }
    return render(portal, request, "api_clients.html", context, status=status, section="clients")


@router.get("/api-clients")
async def api_clients(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        return await _clients_page(portal, request)
    except ManagementError as exc:
        return error_page(portal, request, exc)


@router.post("/api-clients")
async def create_api_client(request: Request, portal: SubmittedPortal) -> Response:
    roles = tuple(r for r in Role if portal.checked(f"role-{r.value}"))
    try:
        name = portal.field("name")
        if not name or len(name) > 200:
            raise field_error("name", "must be 1-200 characters")
        created = await portal.container.api_clients.create_as(portal.principal, name=name, roles=roles)
    except ManagementError as exc:
        return await _clients_page(portal, request, errors=FormErrors.of(exc), status=exc.status)
    # The secret exists only in this response (services/api_clients.py); it is never logged or stored in clear.
    return await _clients_page(portal, request, created=created, status=201)


@router.post("/api-clients/{client_id}/delete")
async def delete_api_client(request: Request, client_id: str, portal: SubmittedPortal) -> Response:
    try:
        await portal.container.api_clients.delete_as(portal.principal, client_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect("/api-clients", "deleted")
