"""Users and their issued credentials: each credential's status, changed one by one or for all of a user's
credentials at once, the record of a credential deleted, the user deleted.

Statuses change through ``CredentialStatusService``, the service behind ``POST /v2/credentials/<profile>/{id}/status``
and ``POST /v1/users/{userId}/credentials/status``: which statuses a credential may take (valid, invalid, suspended
on an IETF Token Status List; valid and revoked on a CWT revocation list), and that ``invalid`` is final, are its
rules, not the portal's.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.errors import ManagementError
from openissuer.services.access import ISSUERS, OPERATORS
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
from openissuer.web.routers.users import render_issued_credential, render_user

router = portal_router()
USER_STATUSES = {
    "revoke": ("invalid", "revoked"),
    "suspend": ("suspended", "suspended"),
    "reinstate": ("valid", "reinstated"),
}
STATUS_DONE = {"valid": "reinstated", "invalid": "revoked", "revoked": "revoked", "suspended": "suspended"}


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
    context = {
        "title": "Users",
        "intro": "Holders offers were made for. Only the claims kept on the user (claimsToPersist) are stored.",
        "columns": ["User", "Kept claims", "Created"],
        "rows": rows,
        "next_link": paging.next_link(request, page),
        "can_delete": portal.can(OPERATORS),
    }
    return render(portal, request, "table.html", context, section="users")


async def _user_page(
    portal: Portal, request: Request, user_id: str, *, errors: FormErrors | None = None, status: int = 200
) -> HTMLResponse:
    paging = Paging.of(request)
    view = await portal.container.users.get_as(portal.principal, user_id)
    page = await portal.container.users.credentials_as(
        portal.principal, user_id, limit=paging.limit, after=paging.after
    )
    statuses = portal.container.credential_statuses
    credentials: list[dict[str, Any]] = [
        render_issued_credential(record) | {"statuses": statuses.statuses_for(record)} for record in page.items
    ]
    context = {
        "title": f"User {user_id}",
        "user": render_user(view),
        "credentials": credentials,
        "next_link": paging.next_link(request, page),
        "can_write": portal.can(ISSUERS),
        "can_delete": portal.can(OPERATORS),
        "errors": errors or FormErrors(),
    }
    return render(portal, request, "user.html", context, status=status, section="users")


@router.get("/users/{user_id}")
async def user(request: Request, user_id: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        return await _user_page(portal, request, user_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)


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


async def _refused(
    portal: Portal, request: Request, user_id: str, credential_id: str, exc: ManagementError
) -> Response:
    """The user's page again, the problem next to the credential's status field (the problem alone on a page when
    the user's page cannot be shown, e.g. the user is gone)."""
    errors = FormErrors.of(
        exc, aliases={"status": f"status-{credential_id}", "credentialId": f"status-{credential_id}"}
    )
    try:
        return await _user_page(portal, request, user_id, errors=errors, status=exc.status)
    except ManagementError:
        return error_page(portal, request, exc)


@router.post("/users/{user_id}/credentials/{credential_id}/status")
async def set_credential_status(
    request: Request, user_id: str, credential_id: str, portal: SubmittedPortal
) -> Response:
    status = portal.field("status")
    try:
        await portal.container.credential_statuses.set_status_as(
            portal.principal, portal.field("profile"), credential_id, status, user_id=user_id
        )
    except ManagementError as exc:
        return await _refused(portal, request, user_id, credential_id, exc)
    return redirect(f"/users/{user_id}", STATUS_DONE.get(status, "saved"))


@router.post("/users/{user_id}/credentials/{credential_id}/delete")
async def delete_credential_record(
    request: Request, user_id: str, credential_id: str, portal: SubmittedPortal
) -> Response:
    try:
        await portal.container.credential_statuses.delete_as(
            portal.principal, portal.field("profile"), credential_id, user_id=user_id
        )
    except ManagementError as exc:
        return await _refused(portal, request, user_id, credential_id, exc)
    return redirect(f"/users/{user_id}", "deleted")


@router.post("/users/{user_id}/delete")
async def delete_user(request: Request, user_id: str, portal: SubmittedPortal) -> Response:
    try:
        await portal.container.users.delete_as(portal.principal, user_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect("/users", "deleted")
