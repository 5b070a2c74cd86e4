"""Well-known metadata documents, per tenant, at the paths RFC 8414's path insertion gives for its public URL.

OID4VCI 1.0 §12.2.2: the issuer ``https://issuer.example.com/tenant`` publishes its metadata at
``/.well-known/openid-credential-issuer/tenant``. The tenant comes from the request's host; a path that is not the
tenant's is 404.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from openissuer.errors import OAuthNotFoundError
from openissuer.protocol.endpoints import AS_METADATA_NAME, ISSUER_METADATA_NAME
from openissuer.services.tenancy import WalletTenant
from openissuer.web.deps import ContainerDep, WalletTenantDep

router = APIRouter(tags=["OID4VCI (wallets)"])
_CACHE = {"Cache-Control": "public, max-age=60"}


def _check_path(tenant: WalletTenant, path: str) -> None:
    expected = urlsplit(tenant.issuer).path.rstrip("/")
    requested = f"/{path}".rstrip("/") if path else ""
    if requested != expected:
        raise OAuthNotFoundError("No credential issuer is published at this path")


@router.get(f"/.well-known/{ISSUER_METADATA_NAME}", summary="Credential Issuer metadata")
@router.get(
    f"/.well-known/{ISSUER_METADATA_NAME}/{{path:path}}",
    summary="Credential Issuer metadata of an issuer whose identifier has a path",
)
async def issuer_metadata(container: ContainerDep, tenant: WalletTenantDep, path: str = "") -> JSONResponse:
    _check_path(tenant, path)
    return JSONResponse(await container.metadata.issuer_metadata(tenant), headers=_CACHE)


@router.get(f"/.well-known/{AS_METADATA_NAME}", summary="Authorization Server metadata")
@router.get(
    f"/.well-known/{AS_METADATA_NAME}/{{path:path}}",
    summary="Authorization Server metadata of an issuer whose identifier has a path",
)
async def authorization_server_metadata(
    container: ContainerDep, tenant: WalletTenantDep, path: str = ""
) -> JSONResponse:
    _check_path(tenant, path)
    return JSONResponse(await container.metadata.authorization_server_metadata(tenant), headers=_CACHE)
