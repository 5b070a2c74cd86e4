"""``/v1/tenants``: platform administration of the deployment's tenants (``platform-admin`` clients only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from openissuer.domain.tenants import Tenant
from openissuer.web.deps import ContainerDep, PrincipalDep
from openissuer.web.pagination import PageParams, render_page
from openissuer.web.path_ids import IdParam

router = APIRouter(prefix="/v1/tenants", tags=["Tenants (platform administration)"])


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    publicUrl: str = Field(  # noqa: N815
        description="The tenant's credential issuer identifier; wallets reach the tenant by its host, which no "
        "other tenant may have (compared as an IDNA A-label without a trailing dot, ports 80 and 443 dropped whatever "
        "the scheme). Stored and returned normalised."
    )


class TenantOut(BaseModel):
    id: str
    name: str
    publicUrl: str  # noqa: N815
    createdAt: datetime  # noqa: N815


class AdminClientOut(BaseModel):
    id: str
    clientId: str  # noqa: N815
    clientSecret: str = Field(description="Shown once; only a hash is stored.")  # noqa: N815


class TenantCreated(TenantOut):
    adminClient: AdminClientOut  # noqa: N815


class TenantPage(BaseModel):
    data: list[TenantOut]
    nextCursor: str | None = None  # noqa: N815


def _out(tenant: Tenant, public_url: str) -> dict[str, Any]:
    return TenantOut(id=tenant.id, name=tenant.name, publicUrl=public_url, createdAt=tenant.created_at).model_dump(
        mode="json"
    )


@router.post("", status_code=201, response_model=TenantCreated, summary="Create a tenant and its first admin client")
async def create_tenant(body: TenantCreate, principal: PrincipalDep, container: ContainerDep) -> Any:
    created = await container.tenant_admin.create_as(principal, body.name, body.publicUrl)
    admin = {
        "id": created.admin_client.id,
        "clientId": created.admin_client.client_id,
        "clientSecret": created.admin_client_secret,
    }
    return {**_out(created.tenant, created.public_url), "adminClient": admin}


@router.get("", response_model=TenantPage, response_model_exclude_none=True, summary="List tenants")
async def list_tenants(
    principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
) -> Any:
    page = await container.tenant_admin.list_as(principal, limit=page_params.limit, after=page_params.after)
    admin = container.tenant_admin
    return render_page(page, [_out(tenant, admin.public_url_of(tenant)) for tenant in page.items])


@router.get("/{id}", response_model=TenantOut, summary="Retrieve a tenant")
async def get_tenant(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Any:
    tenant = await container.tenant_admin.get_as(principal, id)
    return _out(tenant, container.tenant_admin.public_url_of(tenant))


@router.delete("/{id}", status_code=204, summary="Delete a tenant and everything it holds")
async def delete_tenant(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.tenant_admin.delete_as(principal, id)
    return Response(status_code=204)
