"""Tenants (platform administration): list, create (the first admin client's secret shown once), delete.

The pages call the same service as ``/v1/tenants`` (``services/tenants.py``), which lets only ``platform-admin``
clients in; the navigation entry is hidden from other roles, and a forged post from one gets the service's 403.
Deleting a tenant deletes everything it holds, so it takes a confirmation step: the tenant's page asks for its name
to be typed again.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.domain.tenants import Tenant
from openissuer.errors import ErrorDetail, ManagementError, ValidationError
from openissuer.services.tenants import CreatedTenant
from openissuer.web.path_ids import verify_path_id
from openissuer.web.portal.core import (
    CurrentPortal,
    FormErrors,
    Paging,
    Portal,
    SubmittedPortal,
    error_page,
    parse_body,
    portal_router,
    redirect,
    render,
)
from openissuer.web.routers.tenants import TenantCreate

router = portal_router()
CONFIRM_FIELD = "confirmName"


async def _tenants_page(
    portal: Portal,
    request: Request,
    *,
    errors: FormErrors | None = None,
    status: int = 200,
    created: CreatedTenant | None = None,
) -> HTMLResponse:
    service = portal.container.tenant_admin
    paging = Paging.of(request)
    page = await service.list_as(portal.principal, limit=paging.limit, after=paging.after)
    context = {
        "title": "Tenants",
        "tenants": [(tenant, service.public_url_of(tenant)) for tenant in page.items],
        "next_link": paging.next_link(request, page),
        "created": created,
        "errors": errors or FormErrors(),
        # A refused form comes back with what was typed; a created tenant's page has an empty form (and the new
        # client's secret only in its notice).
        "values": portal.echo() if errors else {},
    }
    return render(portal, request, "tenants.html", context, status=status, section="tenants")


@router.get("/tenants")
async def tenants(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        return await _tenants_page(portal, request)
    except ManagementError as exc:
        return error_page(portal, request, exc)


@router.post("/tenants")
async def create_tenant(request: Request, portal: SubmittedPortal) -> Response:
    try:
        body = parse_body(TenantCreate, {"name": portal.field("name"), "publicUrl": portal.field("publicUrl")})
        created = await portal.container.tenant_admin.create_as(portal.principal, body.name, body.publicUrl)
    except ManagementError as exc:
        try:
            return await _tenants_page(portal, request, errors=FormErrors.of(exc), status=exc.status)
        except ManagementError as listing:  # a role that may not even list tenants: the refusal alone
            return error_page(portal, request, listing)
    # The admin client's secret exists only in this response (services/tenants.py): never logged, never stored.
    return await _tenants_page(portal, request, created=created, status=201)


def _tenant_page(
    portal: Portal,
    request: Request,
    tenant: Tenant,
    *,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": f"Tenant {tenant.name}",
        "tenant": tenant,
        "public_url": portal.container.tenant_admin.public_url_of(tenant),
        "is_default": tenant.id == DEFAULT_TENANT_ID,
        "errors": errors or FormErrors(),
        "values": portal.echo() if errors else {},
    }
    return render(portal, request, "tenant.html", context, status=status, section="tenants")


@router.get("/tenants/{tenant_id}")
async def tenant(request: Request, tenant_id: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        found = await portal.container.tenant_admin.get_as(portal.principal, verify_path_id("id", tenant_id))
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return _tenant_page(portal, request, found)


@router.post("/tenants/{tenant_id}/delete")
async def delete_tenant(request: Request, tenant_id: str, portal: SubmittedPortal) -> Response:
    service = portal.container.tenant_admin
    try:
        found = await service.get_as(portal.principal, verify_path_id("id", tenant_id))
    except ManagementError as exc:
        return error_page(portal, request, exc)
    try:
        if portal.field(CONFIRM_FIELD) != found.name:
            raise ValidationError(
                "Type the tenant's name to confirm",
                details=[ErrorDetail("body", CONFIRM_FIELD, "must be the tenant's name, exactly")],
            )
        await service.delete_as(portal.principal, found.id)
    except ManagementError as exc:
        return _tenant_page(portal, request, found, errors=FormErrors.of(exc, aliases={"id": ""}), status=exc.status)
    return redirect("/tenants", "deleted")
