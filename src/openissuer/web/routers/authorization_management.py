"""Management of the Authorization Code flow: the authentication provider, wallet clients and reusable offers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from openissuer.bootstrap import Container
from openissuer.crypto.certificate_info import encode_pem
from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.authorization import DEFAULT_PROVIDER_SCOPE, AuthenticationProvider, WalletClient
from openissuer.errors import ErrorDetail, ValidationError
from openissuer.services.authentication_providers import ProviderInput, mask_secret
from openissuer.services.wallet_clients import AUTHORIZATION_CODE, PUBLIC_CLIENT_AUTH, WalletClientInput
from openissuer.web.deps import ContainerDep, PrincipalDep
from openissuer.web.pagination import PageParams, render_page
from openissuer.web.path_ids import IdParam

providers = APIRouter(prefix="/v1/users/authentication-providers", tags=["Authentication provider"])
clients = APIRouter(prefix="/v1/openid/clients", tags=["Wallet clients"])
offers = APIRouter(prefix="/v1/openid/offers", tags=["Credential offers"])


class ProviderBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str = Field(description="The provider's issuer URL (https; discovery at /.well-known/openid-configuration).")
    clientId: str = Field(min_length=1)  # noqa: N815
    clientSecret: str | None = Field(None, description="Write-only. Required on create; omit on PUT to keep it.")  # noqa: N815
    scope: list[str] | None = Field(
        None, description=f"Default {' '.join(DEFAULT_PROVIDER_SCOPE)}; must contain openid."
    )
    tokenEndpointAuthMethod: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"  # noqa: N815
    staticRequestParameters: dict[str, Any] = Field(default_factory=dict)  # noqa: N815
    forwardedRequestParameters: list[str] = Field(default_factory=list)  # noqa: N815
    claimsToPersist: list[str] | None = None  # noqa: N815
    claimsToSync: list[str] | None = Field(  # noqa: N815
        None, description="The reference platform's older name of claimsToPersist; give one of them."
    )


class ProviderOut(BaseModel):
    id: str
    url: str
    clientId: str  # noqa: N815
    clientSecret: str = Field(description="Masked.")  # noqa: N815
    scope: list[str]
    tokenEndpointAuthMethod: str  # noqa: N815
    staticRequestParameters: dict[str, Any]  # noqa: N815
    forwardedRequestParameters: list[str]  # noqa: N815
    claimsToPersist: list[str]  # noqa: N815
    redirectUrl: str = Field(description="Register this callback URL at the provider.")  # noqa: N815


class ProviderList(BaseModel):
    data: list[ProviderOut]
    nextCursor: str | None = None  # noqa: N815


def _claims_to_persist(body: ProviderBody) -> tuple[str, ...]:
    """``claimsToSync`` is an alias of ``claimsToPersist`` (reference §5.1); both given must agree."""
    if body.claimsToPersist is not None and body.claimsToSync is not None and body.claimsToPersist != body.claimsToSync:
        raise ValidationError(
            "Validation Error",
            details=[ErrorDetail("body", "claimsToSync", "is an alias of claimsToPersist; give one of them")],
        )
    return tuple(body.claimsToPersist or body.claimsToSync or ())


def provider_input(body: ProviderBody) -> ProviderInput:
    return ProviderInput(
        url=body.url,
        client_id=body.clientId,
        client_secret=body.clientSecret,
        scope=None if body.scope is None else tuple(body.scope),
        token_endpoint_auth_method=body.tokenEndpointAuthMethod,
        static_request_parameters=body.staticRequestParameters,
        forwarded_request_parameters=tuple(body.forwardedRequestParameters),
        claims_to_persist=_claims_to_persist(body),
    )


def _provider_out(provider: AuthenticationProvider, callback: str) -> dict[str, Any]:
    return {
        "id": provider.id,
        "url": provider.url,
        "clientId": provider.client_id,
        "clientSecret": mask_secret(provider.secret_hint),
        "scope": list(provider.scope),
        "tokenEndpointAuthMethod": provider.token_endpoint_auth_method,
        "staticRequestParameters": provider.static_request_parameters,
        "forwardedRequestParameters": list(provider.forwarded_request_parameters),
        "claimsToPersist": list(provider.claims_to_persist),
        "redirectUrl": callback,
    }


async def authentication_callback(container: Container, principal: ManagementPrincipal) -> str:
    """The caller's tenant's callback URL, to register at the identity provider."""
    return (await container.tenants.by_id(principal.tenant_id)).endpoints.authentication_callback


@providers.post("", status_code=201, response_model=ProviderOut, summary="Configure the authentication provider")
async def create_provider(body: ProviderBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    provider = await container.authentication_providers.create_as(principal, provider_input(body))
    return _provider_out(provider, await authentication_callback(container, principal))


@providers.get(
    "",
    response_model=ProviderList,
    response_model_exclude_none=True,
    summary="List authentication providers (at most one); paginated like every list",
)
async def list_providers(
    principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
) -> Any:
    callback = await authentication_callback(container, principal)
    page = await container.authentication_providers.list_as(principal, limit=page_params.limit, after=page_params.after)
    return render_page(page, [_provider_out(p, callback) for p in page.items])


@providers.get("/{id}", response_model=ProviderOut, summary="Retrieve the authentication provider")
async def get_provider(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Any:
    provider = await container.authentication_providers.get_as(principal, id)
    return _provider_out(provider, await authentication_callback(container, principal))


@providers.put("/{id}", response_model=ProviderOut, summary="Replace the authentication provider")
async def replace_provider(id: IdParam, body: ProviderBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    provider = await container.authentication_providers.replace_as(principal, id, provider_input(body))
    return _provider_out(provider, await authentication_callback(container, principal))


@providers.delete("/{id}", status_code=204, summary="Delete the authentication provider")
async def delete_provider(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.authentication_providers.delete_as(principal, id)
    return Response(status_code=204)


class ClientAttestationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rootCertificates: list[str] = Field(  # noqa: N815
        min_length=1,
        max_length=20,
        description="PEM certificates of the wallet provider's trust anchors; the client's wallet attestations "
        "(OAuth-Client-Attestation) must chain to one of them (x5c, anchor not included).",
    )
    dpopRequired: bool = Field(False, description="Token requests of this client must carry a DPoP proof.")  # noqa: N815


class WalletClientBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    clientId: str | None = Field(None, min_length=1, max_length=255, description="Default: generated.")  # noqa: N815
    clientName: str | None = Field(None, max_length=200)  # noqa: N815
    redirectUris: list[str] = Field(description="Matched exactly.", max_length=50)  # noqa: N815
    grantTypes: list[str] = Field(default_factory=lambda: [AUTHORIZATION_CODE], max_length=5)  # noqa: N815
    tokenEndpointAuthMethod: str = PUBLIC_CLIENT_AUTH  # noqa: N815
    clientAttestation: ClientAttestationBody | None = Field(  # noqa: N815
        None, description="Require wallet attestation (and optionally DPoP) of this client at PAR and token."
    )


class WalletClientOut(BaseModel):
    id: str
    clientId: str  # noqa: N815
    clientName: str | None = None  # noqa: N815
    redirectUris: list[str]  # noqa: N815
    grantTypes: list[str]  # noqa: N815
    tokenEndpointAuthMethod: str  # noqa: N815
    clientAttestation: ClientAttestationBody | None = None  # noqa: N815
    createdAt: datetime  # noqa: N815


class WalletClientPage(BaseModel):
    data: list[WalletClientOut]
    nextCursor: str | None = None  # noqa: N815


def client_input(body: WalletClientBody) -> WalletClientInput:
    return WalletClientInput(
        client_id=body.clientId,
        client_name=body.clientName,
        redirect_uris=tuple(body.redirectUris),
        grant_types=tuple(body.grantTypes),
        token_endpoint_auth_method=body.tokenEndpointAuthMethod,
        attestation_roots=() if body.clientAttestation is None else tuple(body.clientAttestation.rootCertificates),
        dpop_required=body.clientAttestation is not None and body.clientAttestation.dpopRequired,
    )


def _client_out(client: WalletClient) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": client.id,
        "clientId": client.client_id,
        "clientName": client.client_name,
        "redirectUris": list(client.redirect_uris),
        "grantTypes": list(client.grant_types),
        "tokenEndpointAuthMethod": client.token_endpoint_auth_method,
        "createdAt": client.created_at,
    }
    if client.attestation_roots:
        out["clientAttestation"] = {
            "rootCertificates": [encode_pem(der) for der in client.attestation_roots],
            "dpopRequired": client.dpop_required,
        }
    return out


@clients.post(
    "",
    status_code=201,
    response_model=WalletClientOut,
    response_model_exclude_none=True,
    summary="Register a wallet client",
)
async def create_client(body: WalletClientBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return _client_out(await container.wallet_clients.create_as(principal, client_input(body)))


@clients.get("", response_model=WalletClientPage, response_model_exclude_none=True, summary="List wallet clients")
async def list_clients(
    principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
) -> Any:
    page = await container.wallet_clients.list_as(principal, limit=page_params.limit, after=page_params.after)
    return render_page(page, [_client_out(c) for c in page.items])


@clients.get(
    "/{id}", response_model=WalletClientOut, response_model_exclude_none=True, summary="Retrieve a wallet client"
)
async def get_client(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Any:
    return _client_out(await container.wallet_clients.get_as(principal, id))


@clients.put(
    "/{id}",
    response_model=WalletClientOut,
    response_model_exclude_none=True,
    summary="Replace a wallet client (its clientId stays)",
)
async def replace_client(id: IdParam, body: WalletClientBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return _client_out(await container.wallet_clients.replace_as(principal, id, client_input(body)))


@clients.delete("/{id}", status_code=204, summary="Delete a wallet client")
async def delete_client(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.wallet_clients.delete_as(principal, id)
    return Response(status_code=204)


class AuthorizationOfferBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    credentials: list[str] = Field(description="Credential configuration ids.")
    request_parameters: dict[str, Any] = Field(
        default_factory=dict, description="Parameters the wallet should add to its authorization request."
    )
    credentialOfferEndpoint: str | None = Field(  # noqa: N815
        None, description="Where the URI points; default: the tenant's credentialOfferEndpoint (/v1/config/tenant)."
    )


class AuthorizationOfferOut(BaseModel):
    uri: str


@offers.post(
    "",
    response_model=AuthorizationOfferOut,
    summary="Create a reusable Authorization Code offer (any number of holders may claim it)",
)
async def create_authorization_offer(
    body: AuthorizationOfferBody, principal: PrincipalDep, container: ContainerDep
) -> Any:
    uri = await container.offers.create_authorization_code_as(
        principal, body.credentials, body.request_parameters, body.credentialOfferEndpoint
    )
    return {"uri": uri}
