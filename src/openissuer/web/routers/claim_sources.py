"""Claims sources (reference platform §6.1): ``/v1/claim-sources``, and the legacy path ``/v1/claimsources``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from openissuer.domain.claim_sources import ClaimSource, OAuthClientCredentials
from openissuer.services.claim_sources import AuthorizationInput, ClaimSourceInput, mask_secret
from openissuer.web.deps import ContainerDep, PrincipalDep
from openissuer.web.pagination import PageParams, render_page
from openissuer.web.path_ids import ClaimSourceIdParam

TAG = "Claims sources"
router = APIRouter(prefix="/v1/claim-sources", tags=[TAG])
legacy_router = APIRouter(prefix="/v1/claimsources", tags=[TAG], include_in_schema=False)

DESCRIPTION = """A claims source is your HTTPS endpoint that openissuer calls while it issues a credential whose
configuration names it (`claimSourceId`), in both flows. The call carries only the declared `requestParameters`
(GET: query string; POST: JSON object body) and the `authorization`: an `x-api-key` header, or a bearer token
that openissuer obtains by OAuth 2.0 client credentials and caches until shortly before it expires. The answer, a
JSON object, is merged into `claims` (it wins over every other source) and mapped by the configuration.

Failures (no answer within 3 s, network error, non-2xx, a body that is not a JSON object) are logged with the
request id and the credential is issued without the source's claims; a `required` claim mapping that is then
unresolved fails the credential request with `credential_request_denied`. `strict: true` (an openissuer extension,
not in the reference platform) makes any failure fail the credential request.

Secrets (`authorization.value`, `authorization.clientSecret`) are write-only: stored encrypted, shown masked; on
PUT, omit one to keep it. A source used by a credential configuration cannot be deleted (409)."""


class ApiKeyAuthorizationBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["api-key"]
    value: str | None = Field(None, description="Sent as `x-api-key`. Write-only; required on create.")


class OAuthAuthorizationBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["oauth-client-credentials"]
    tokenEndpoint: str = Field(description="https; the client credentials grant is used there.")  # noqa: N815
    clientId: str = Field(min_length=1)  # noqa: N815
    clientSecret: str | None = Field(None, description="Write-only; required on create.")  # noqa: N815
    audience: str | None = Field(None, description="Sent as `audience` in the token request when set.")
    tokenEndpointAuthMethod: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"  # noqa: N815


class ClaimSourceBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="A label.")
    url: str = Field(description="https, a host name (not an IP address), no query string.")
    requestMethod: Literal["GET", "POST"] = Field("GET", description="GET: query string; POST: JSON body.")  # noqa: N815
    requestParameters: dict[str, dict[str, Any]] = Field(  # noqa: N815
        description="`{name: {mapFrom?, defaultValue?}}`; `mapFrom` reads `claims.*` and `credentialConfiguration.*`."
    )
    authorization: Annotated[ApiKeyAuthorizationBody | OAuthAuthorizationBody, Field(discriminator="type")]
    strict: bool = Field(False, description="openissuer extension: any failure of the source fails issuance.")


class ClaimSourceOut(BaseModel):
    id: str
    name: str
    url: str
    requestMethod: str  # noqa: N815
    requestParameters: dict[str, Any]  # noqa: N815
    authorization: dict[str, Any] = Field(description="Secrets masked.")
    strict: bool
    createdAt: datetime  # noqa: N815
    updatedAt: datetime  # noqa: N815


class ClaimSourcePage(BaseModel):
    data: list[ClaimSourceOut]
    nextCursor: str | None = None  # noqa: N815


def claim_source_input(body: ClaimSourceBody) -> ClaimSourceInput:
    auth = body.authorization
    if isinstance(auth, ApiKeyAuthorizationBody):
        authorization = AuthorizationInput(type=auth.type, value=auth.value)
    else:
        authorization = AuthorizationInput(
            type=auth.type,
            token_endpoint=auth.tokenEndpoint,
            client_id=auth.clientId,
            client_secret=auth.clientSecret,
            audience=auth.audience,
            token_endpoint_auth_method=auth.tokenEndpointAuthMethod,
        )
    return ClaimSourceInput(
        name=body.name,
        url=body.url,
        authorization=authorization,
        request_parameters=body.requestParameters,
        request_method=body.requestMethod,
        strict=body.strict,
    )


def render_claim_source(source: ClaimSource) -> dict[str, Any]:
    """The API form of a claims source, secrets masked."""
    auth = source.authorization
    authorization: dict[str, Any] = {"type": source.authorization_type.value}
    if isinstance(auth, OAuthClientCredentials):
        authorization.update(
            tokenEndpoint=auth.token_endpoint,
            clientId=auth.client_id,
            clientSecret=mask_secret(auth.hint),
            tokenEndpointAuthMethod=auth.token_endpoint_auth_method,
        )
        if auth.audience:
            authorization["audience"] = auth.audience
    else:
        authorization["value"] = mask_secret(auth.hint)
    return {
        "id": source.id,
        "name": source.name,
        "url": source.url,
        "requestMethod": source.request_method.value,
        "requestParameters": source.request_parameters,
        "authorization": authorization,
        "strict": source.strict,
        "createdAt": source.created_at,
        "updatedAt": source.updated_at,
    }


async def create_claim_source(body: ClaimSourceBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return render_claim_source(await container.claim_sources.create_as(principal, claim_source_input(body)))


async def list_claim_sources(
    principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
) -> Any:
    page = await container.claim_sources.list_as(principal, limit=page_params.limit, after=page_params.after)
    return render_page(page, [render_claim_source(s) for s in page.items])


async def get_claim_source(id: ClaimSourceIdParam, principal: PrincipalDep, container: ContainerDep) -> Any:
    return render_claim_source(await container.claim_sources.get_as(principal, id))


async def replace_claim_source(
    id: ClaimSourceIdParam, body: ClaimSourceBody, principal: PrincipalDep, container: ContainerDep
) -> Any:
    return render_claim_source(await container.claim_sources.replace_as(principal, id, claim_source_input(body)))


async def delete_claim_source(id: ClaimSourceIdParam, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.claim_sources.delete_as(principal, id)
    return Response(status_code=204)


for _router in (router, legacy_router):
    _router.add_api_route(
        "",
        create_claim_source,
        methods=["POST"],
        status_code=201,
        response_model=ClaimSourceOut,
        summary="Create a claims source (admin, issuer)",
        description=DESCRIPTION,
    )
    _router.add_api_route(
        "", list_claim_sources, methods=["GET"], response_model=ClaimSourcePage, summary="List claims sources"
    )
    _router.add_api_route(
        "/{claimSourceId}",
        get_claim_source,
        methods=["GET"],
        response_model=ClaimSourceOut,
        summary="Retrieve a claims source",
    )
    _router.add_api_route(
        "/{claimSourceId}",
        replace_claim_source,
        methods=["PUT"],
        response_model=ClaimSourceOut,
        summary="Replace a claims source (the full body; omitted secrets are kept)",
    )
    _router.add_api_route(
        "/{claimSourceId}",
        delete_claim_source,
        methods=["DELETE"],
        status_code=204,
        summary="Delete a claims source (409 while a credential configuration uses it)",
        response_class=Response,
    )
