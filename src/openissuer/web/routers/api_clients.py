"""``/v1/api-clients``: manage the tenant's management API clients (admin; auditors may read)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from openissuer.domain.api_clients import ApiClient, Role
from openissuer.web.deps import ContainerDep, PrincipalDep
from openissuer.web.pagination import PageParams, render_page
from openissuer.web.path_ids import IdParam

router = APIRouter(prefix="/v1/api-clients", tags=["API clients"])


class ApiClientCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    roles: list[Role] = Field(
        min_length=1,
        description="admin | issuer | auditor; platform-admin only in the default tenant, by a platform admin",
    )


class ApiClientOut(BaseModel):
    id: str
    clientId: str  # noqa: N815 - wire name of the reference platform
    name: str
    roles: list[Role]
    createdAt: datetime  # noqa: N815


class ApiClientCreated(ApiClientOut):
    clientSecret: str = Field(description="Shown once; only a hash is stored.")  # noqa: N815


class ApiClientPage(BaseModel):
    data: list[ApiClientOut]
    nextCursor: str | None = None  # noqa: N815


def _out(client: ApiClient) -> dict[str, Any]:
    return ApiClientOut(
        id=client.id,
        clientId=client.client_id,
        name=client.name,
        roles=list(client.roles),
        createdAt=client.created_at,
    ).model_dump(mode="json")


@router.post("", status_code=201, response_model=ApiClientCreated, summary="Create an API client (admin)")
async def create_api_client(body: ApiClientCreate, principal: PrincipalDep, container: ContainerDep) -> Any:
    created = await container.api_clients.create_as(principal, name=body.name, roles=tuple(body.roles))
    return {**_out(created.client), "clientSecret": created.client_secret}


@router.get("", response_model=ApiClientPage, response_model_exclude_none=True, summary="List API clients")
async def list_api_clients(
    principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
) -> Any:
    page = await container.api_clients.list_as(principal, limit=page_params.limit, after=page_params.after)
    return render_page(page, [_out(client) for client in page.items])


@router.get("/{id}", response_model=ApiClientOut, summary="Retrieve an API client")
async def get_api_client(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Any:
    return _out(await container.api_clients.get_as(principal, id))


@router.delete("/{id}", status_code=204, summary="Delete an API client (admin); its tokens stop working")
async def delete_api_client(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.api_clients.delete_as(principal, id)
    return Response(status_code=204)
