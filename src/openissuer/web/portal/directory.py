"""Users and their credentials, and API clients."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from openissuer.domain.api_clients import Role
from openissuer.errors import ManagementError
from openissuer.services.access import ADMIN_ONLY, ISSUERS, OPERATORS
from openissuer.web.portal.core import (
    CurrentPortal,
    FormErrors,
    Paging,
    Portal,
    SubmittedPortal,
    error_page,
    field_error,
    redirect,
    render,
)
from openissuer.web.routers.users import render_issued_credential, render_user

router = APIRouter()
USER_STATUSES = {
    "revoke": ("invalid", "revoked"),
    "suspend": ("suspended", "suspended"),
    "reinstate": ("valid", "reinstated"),
}


def _table(
    portal: Portal,
    request: Request,
    *,
    title: str,
    section: str,
    intro: str,
    columns: list[str],
    rows: list[dict[str, Any]],
    next_link: str | None,
    can_delete: bool,
) -> HTMLResponse:
    context = {
        "title": title,
        "intro": intro,
        "columns": columns,
        "rows": rows,
        "next_link": next_link,
        "can_delete": can_delete,
    }
    return render(portal, request, "table.html", context, section=section)


@router.get("/users")
async def users(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        paging = Paging.of(request)
        page = await portal.container.users.list_as(portal.principal, limit=paging.limit, after=paging.after)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    rows = [
        {
            "cells": [user["id"], ", ".join(sorted(user.get("claims", {}))), user.get("createdAt", "")],
            "link": f"/users/{user['id']}",
            "delete": f"/users/{user['id']}/delete",
        }
        for user in (render_user(view) for view in page.items)
    ]
    return _table(
        portal,
        request,
        title="Users",
        section="users",
        intro="Holders offers were made for. Only the claims kept on the user (claimsToPersist) are stored.",
        columns=["User", "Kept claims", "Created"],
        rows=rows,
        next_link=paging.next_link(request, page),
        can_delete=portal.can(OPERATORS),
    )


@router.get("/users/{user_id}")
async def user(request: Request, user_id: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        paging = Paging.of(request)
        view = await portal.container.users.get_as(portal.principal, user_id)
        page = await portal.container.users.credentials_as(
            portal.principal, user_id, limit=paging.limit, after=paging.after
        )
    except ManagementError as exc:
        return error_page(portal, request, exc)
    context = {
        "title": f"User {user_id}",
        "user": render_user(view),
        "credentials": [render_issued_credential(r) for r in page.items],
        "next_link": paging.next_link(request, page),
        "can_write": portal.can(ISSUERS),
        "can_delete": portal.can(OPERATORS),
    }
    return render(portal, request, "user.html", context, section="users")


@router.post("/users/{user_id}/status")
async def set_user_status(request: Request, user_id: str, portal: SubmittedPortal) -> Response:
    action = portal.field("action")
    try:
        if action not in USER_STATUSES:
            raise field_error("action", "must be revoke, suspend or reinstate", action)
        status, done = USER_STATUSES[action]
        await portal.container.credential_statuses.set_user_status_as(portal.principal, user_id, status)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect(f"/users/{user_id}", done)


@router.post("/users/{user_id}/delete")
async def delete_user(request: Request, user_id: str, portal: SubmittedPortal) -> Response:
    try:
        await portal.container.users.delete_as(portal.principal, user_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect("/users", "deleted")


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
