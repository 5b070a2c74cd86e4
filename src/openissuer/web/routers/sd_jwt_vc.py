"""Public SD-JWT VC documents, per tenant (resolved from the host): the JWT VC Issuer Metadata with the issuer's
keys at ``/.well-known/jwt-vc-issuer`` (path insertion for an issuer identifier with a path), and the Type Metadata
of the types the tenant hosts at ``/vct/<name>`` (``services/jwt_vc_issuer.py``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openissuer.errors import OAuthNotFoundError
from openissuer.services.jwt_vc_issuer import TYPE_METADATA_PATH
from openissuer.web.deps import ContainerDep, WalletTenantDep

JWT_VC_ISSUER = "/.well-known/jwt-vc-issuer"
_HEADERS = {"Cache-Control": "public, max-age=60"}

router = APIRouter(tags=["SD-JWT VC (wallets and verifiers)"])


@router.get(
    JWT_VC_ISSUER,
    summary="JWT VC Issuer Metadata: the keys that sign the tenant's SD-JWT VCs",
    description="`{issuer, jwks: {keys}}`; each key has the `kid` that SD-JWT VCs it signed carry, and its "
    "certificate (under the tenant's IACA) in `x5c`.",
)
@router.get(
    JWT_VC_ISSUER + "/{path:path}",
    summary="JWT VC Issuer Metadata of an issuer whose identifier has a path",
)
async def jwt_vc_issuer_metadata(request: Request, tenant: WalletTenantDep, container: ContainerDep) -> JSONResponse:
    expected = urlsplit(tenant.issuer).path.rstrip("/")
    if request.url.path.removeprefix(JWT_VC_ISSUER).rstrip("/") != expected:
        raise OAuthNotFoundError("No credential issuer is published at this path")
    return JSONResponse(await container.jwt_vc_issuer.issuer_metadata(tenant), headers=_HEADERS)


@router.get(
    TYPE_METADATA_PATH + "{name:path}",
    summary="SD-JWT VC Type Metadata of a vct the tenant hosts",
    description="Served for every SD-JWT VC configuration whose `vct` is `<public URL>/vct/<name>`.",
)
async def type_metadata(name: str, tenant: WalletTenantDep, container: ContainerDep) -> JSONResponse:
    document = await container.jwt_vc_issuer.type_metadata(tenant, TYPE_METADATA_PATH + name)
    if document is None:
        raise OAuthNotFoundError("No credential type is published at this URL")
    return JSONResponse(document, headers=_HEADERS)
