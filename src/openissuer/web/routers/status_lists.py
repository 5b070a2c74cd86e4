"""IETF Token Status Lists and credential statuses (reference platform §10.1, §10.3), one router per format with
such lists (``/v2/credentials/mobile/…`` for mDocs, ``/v2/credentials/sd-jwt/…`` for SD-JWT VCs):

- public: ``GET status-lists/{statusListId}/token`` (the signed token, with ``ETag`` and ``Cache-Control``;
  ``If-None-Match`` gives 304) and ``GET status-lists/distribution``;
- management: ``status-lists/configurations`` (CRUD), ``GET status-lists[/{statusListId}]``,
  ``POST|GET {credentialId}/status``;
- ``DELETE /v2/credentials/<profile>/{credentialId}`` for every format (the record only);
- ``POST /v1/users/{userId}/credentials/status``: every credential of a user at once.

(No ``from __future__ import annotations``: the handlers' annotations must be the built classes.)
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from openissuer.domain.durations import Duration
from openissuer.domain.status_list_configurations import StatusListConfiguration
from openissuer.formats.base import CredentialFormat
from openissuer.services.status_list_tokens import StatusListView, encode_token_text
from openissuer.web.deps import ContainerDep, PrincipalDep, WalletTenantDep
from openissuer.web.pagination import PageParams, render_page
from openissuer.web.routers.configurations import DurationBody, DurationOut

StatusValue = Literal["valid", "invalid", "suspended"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusBody(_Strict):
    status: StatusValue = Field(
        description="`valid`, `invalid` (final: it cannot change after) or `suspended` (the legacy value)."
    )


class StatusOut(BaseModel):
    status: str


class UserStatusOut(BaseModel):
    status: str
    updated: list[str] = Field(description="Ids of the credentials whose status changed.")
    unchanged: list[str] = Field(description="Ids of the credentials that had it already, or stay `invalid`.")


class DistributionOut(BaseModel):
    status_lists: list[str]


class StatusListOut(BaseModel):
    id: str
    iacaId: str | None = None  # noqa: N815
    statusListConfigurationId: str | None = None  # noqa: N815
    docType: str | None = None  # noqa: N815
    vct: str | None = None
    uri: str
    listSize: int  # noqa: N815
    allocatedCount: int  # noqa: N815
    list: str | None = Field(None, description="The current token: a CWT in base64, or a JWT.")
    createdAt: str  # noqa: N815


class StatusListPage(BaseModel):
    data: list[StatusListOut]
    nextCursor: str | None = None  # noqa: N815


def _render_configuration(type_field: str, c: StatusListConfiguration) -> dict[str, Any]:
    return {
        "id": c.id,
        type_field: c.credential_type,
        "timeToLiveDuration": c.time_to_live.to_dict(),
        "expiryDuration": c.expiry.to_dict(),
    }


def _render_list(type_field: str, media_type: str, view: StatusListView) -> dict[str, Any]:
    found, token = view.list, view.token
    return {
        "id": found.id,
        "iacaId": found.authority_id or None,
        "statusListConfigurationId": view.configuration_id,
        type_field: found.credential_type,
        "uri": view.url,
        "listSize": found.size,
        "allocatedCount": found.allocated,
        "list": None if token is None else encode_token_text(token, media_type),
        "createdAt": found.created_at.isoformat(),
    }


def create_router(credential_format: CredentialFormat) -> APIRouter:
    """Return the status-list router of one format whose schema names a kind of IETF Token Status List."""
    profile, format_id = credential_format.profile, credential_format.format_id
    kind = credential_format.schema.status_list
    if kind is None or kind.media_type is None:
        raise ValueError(f"{format_id} has no IETF Token Status Lists")
    type_field = kind.type_field
    prefix = f"/v2/credentials/{profile}"
    title = "".join(part.capitalize() for part in profile.replace("-", " ").split())
    durations: dict[str, Any] = {
        "timeToLiveDuration": (DurationBody, Field(description="The tokens' `ttl`: how long verifiers may cache one.")),
        "expiryDuration": (DurationBody, Field(description="From a token's `iat` to its `exp`.")),
    }
    body_fields: dict[str, Any] = {type_field: (str, Field(min_length=1, max_length=1024)), **durations}
    replace_fields: dict[str, Any] = {
        type_field: (str | None, Field(None, description="Cannot change; may be repeated.")),
        **durations,
    }
    out_fields: dict[str, Any] = {
        "id": (str, ...),
        type_field: (str, ...),
        "timeToLiveDuration": (DurationOut, ...),
        "expiryDuration": (DurationOut, ...),
    }
    Body: type[BaseModel] = create_model(f"{title}StatusListConfigurationBody", __base__=_Strict, **body_fields)  # noqa: N806
    ReplaceBody: type[BaseModel] = create_model(  # noqa: N806
        f"{title}StatusListConfigurationReplaceBody", __base__=_Strict, **replace_fields
    )
    Out: type[BaseModel] = create_model(f"{title}StatusListConfigurationOut", **out_fields)  # noqa: N806
    page_fields: dict[str, Any] = {"data": (list[Out], ...), "nextCursor": (str | None, None)}  # type: ignore[valid-type]
    PageOut: type[BaseModel] = create_model(f"{title}StatusListConfigurationPage", **page_fields)  # noqa: N806
    router = APIRouter(tags=[f"Status lists ({format_id})"])
    public = "Public, no authentication."

    @router.get(
        prefix + "/status-lists/distribution",
        response_model=DistributionOut,
        summary="The tenant's status list tokens (public)",
        description=f"{public} The URIs of the tenant's status list tokens that can be verified now (lists "
        "under an IACA that is no longer active are left out).",
    )
    @router.get("/core" + prefix + "/status-lists/distribution", include_in_schema=False)
    async def distribution(container: ContainerDep, tenant: WalletTenantDep) -> Any:
        urls = await container.status_list_tokens[profile].distribution(tenant.id)
        return Response(
            DistributionOut(status_lists=urls).model_dump_json().encode(),
            media_type="application/json",
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )

    @router.get(
        prefix + "/status-lists/{statusListId}/token",
        summary="A status list token (public)",
        description=f"{public} The IETF Status List Token of one list, signed by a status list signer under the "
        "tenant's IACA (draft-ietf-oauth-status-list). Re-signed when a status on the list changes or its `ttl` "
        "passes; `ETag` and `Cache-Control` let caches keep it, `If-None-Match` answers 304.",
        response_class=Response,
        responses={200: {"content": {kind.media_type: {}}}},
    )
    @router.get(
        "/core" + prefix + "/status-lists/{statusListId}/token", response_class=Response, include_in_schema=False
    )
    async def token(statusListId: str, request: Request, container: ContainerDep, tenant: WalletTenantDep) -> Response:  # noqa: N803
        service = container.status_list_tokens[profile]
        signed = await service.token(tenant.id, statusListId)
        headers = {
            "ETag": signed.etag,
            "Cache-Control": f"public, max-age={signed.max_age(container.clock.now())}",
            "Access-Control-Allow-Origin": "*",
        }
        if signed.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(signed.body, media_type=service.media_type, headers=headers)

    @router.post(
        prefix + "/status-lists/configurations",
        status_code=201,
        response_model=Out,
        response_model_exclude_none=True,
        summary="Create a status list configuration",
        description=f"The tokens' lifetimes for one {type_field}, unique per tenant. Without one: `ttl` 12 hours, "
        "`exp` 2 days.",
    )
    async def create_configuration(body: Body, principal: PrincipalDep, container: ContainerDep) -> Any:  # type: ignore[valid-type]
        values = body.model_dump()  # type: ignore[attr-defined]
        created = await container.status_list_configurations[profile].create_as(
            principal,
            values[type_field],
            Duration(**values["timeToLiveDuration"]),
            Duration(**values["expiryDuration"]),
        )
        return _render_configuration(type_field, created)

    @router.get(
        prefix + "/status-lists/configurations",
        response_model=PageOut,
        response_model_exclude_none=True,
        summary="List status list configurations",
    )
    async def list_configurations(
        principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
    ) -> Any:
        page = await container.status_list_configurations[profile].list_as(
            principal, limit=page_params.limit, after=page_params.after
        )
        return render_page(page, [_render_configuration(type_field, c) for c in page.items])

    @router.get(
        prefix + "/status-lists/configurations/{id}",
        response_model=Out,
        response_model_exclude_none=True,
        summary="Retrieve a status list configuration",
    )
    async def get_configuration(id: str, principal: PrincipalDep, container: ContainerDep) -> Any:
        return _render_configuration(
            type_field, await container.status_list_configurations[profile].get_as(principal, id)
        )

    @router.put(
        prefix + "/status-lists/configurations/{id}",
        response_model=Out,
        response_model_exclude_none=True,
        summary="Replace a status list configuration's durations",
    )
    async def replace_configuration(
        id: str,
        body: ReplaceBody,  # type: ignore[valid-type]
        principal: PrincipalDep,
        container: ContainerDep,
    ) -> Any:
        values = body.model_dump()  # type: ignore[attr-defined]
        updated = await container.status_list_configurations[profile].replace_as(
            principal,
            id,
            Duration(**values["timeToLiveDuration"]),
            Duration(**values["expiryDuration"]),
            values.get(type_field),
        )
        return _render_configuration(type_field, updated)

    @router.delete(
        prefix + "/status-lists/configurations/{id}", status_code=204, summary="Delete a status list configuration"
    )
    async def delete_configuration(id: str, principal: PrincipalDep, container: ContainerDep) -> Response:
        await container.status_list_configurations[profile].delete_as(principal, id)
        return Response(status_code=204)

    @router.get(
        prefix + "/status-lists",
        response_model=StatusListPage,
        response_model_exclude_none=True,
        summary="List status lists",
    )
    async def list_status_lists(
        principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
    ) -> Any:
        service = container.status_list_tokens[profile]
        page = await service.list_as(principal, limit=page_params.limit, after=page_params.after)
        return render_page(page, [_render_list(type_field, service.media_type, v) for v in page.items])

    @router.get(
        prefix + "/status-lists/{statusListId}",
        response_model=StatusListOut,
        response_model_exclude_none=True,
        summary="Retrieve a status list",
    )
    async def get_status_list(statusListId: str, principal: PrincipalDep, container: ContainerDep) -> Any:  # noqa: N803
        service = container.status_list_tokens[profile]
        return _render_list(type_field, service.media_type, await service.get_as(principal, statusListId))

    @router.post(
        prefix + "/{credentialId}/status",
        response_model=StatusOut,
        summary="Set a credential's status",
        description="`invalid` is final: a later change is refused with 409. The list's token is re-signed from the "
        "next request to any worker.",
    )
    async def set_status(credentialId: str, body: StatusBody, principal: PrincipalDep, container: ContainerDep) -> Any:  # noqa: N803
        return {
            "status": await container.credential_statuses.set_status_as(principal, profile, credentialId, body.status)
        }

    @router.get(prefix + "/{credentialId}/status", response_model=StatusOut, summary="Read a credential's status")
    async def get_status(credentialId: str, principal: PrincipalDep, container: ContainerDep) -> Any:  # noqa: N803
        return {"status": await container.credential_statuses.status_as(principal, profile, credentialId)}

    return router


def create_record_router(credential_format: CredentialFormat) -> APIRouter:
    """Return ``DELETE /v2/credentials/<profile>/{credentialId}`` (reference §10.3) for one format."""
    profile = credential_format.profile
    router = APIRouter(tags=[f"Status lists ({credential_format.format_id})"])

    @router.delete(
        f"/v2/credentials/{profile}/{{credentialId}}",
        status_code=204,
        summary="Delete an issued credential's record",
        description="Deletes the metadata only: the holder keeps the credential, and its status-list entry keeps "
        "its status (which can then no longer be changed).",
    )
    async def delete_record(credentialId: str, principal: PrincipalDep, container: ContainerDep) -> Response:  # noqa: N803
        await container.credential_statuses.delete_as(principal, profile, credentialId)
        return Response(status_code=204)

    return router


users_router = APIRouter(prefix="/v1/users", tags=["Users"])


@users_router.post(
    "/{userId}/credentials/status",
    response_model=UserStatusOut,
    summary="Set the status of every credential of a user",
    description="One call, one transaction: every credential of the user with a status-list entry gets the status "
    "(`invalid` revokes them all); a CWT is revoked for `invalid` and `suspended`, un-revoked for `valid`; a "
    "credential already `invalid` stays so.",
)
async def set_user_status(userId: str, body: StatusBody, principal: PrincipalDep, container: ContainerDep) -> Any:  # noqa: N803
    change = await container.credential_statuses.set_user_status_as(principal, userId, body.status)
    return {"status": change.status, "updated": list(change.updated), "unchanged": list(change.unchanged)}
