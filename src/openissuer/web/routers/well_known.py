"""Well-known metadata documents, per tenant, at the paths RFC 8414's path insertion gives for its public URL.

OID4VCI 1.0 §12.2.2: the issuer ``https://issuer.example.com/tenant`` publishes its metadata at
``/.well-known/openid-credential-issuer/tenant``. The tenant comes from the request's host; a path that is not the
tenant's is 404. The plain handlers of ``web/wallet_http.py`` answer these before FastAPI; these routes describe
them in OpenAPI and call the same handlers.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openissuer.protocol.endpoints import AS_METADATA_NAME, ISSUER_METADATA_NAME
from openissuer.web import wallet_http
from openissuer.web.deps import ContainerDep
from openissuer.web.routers.wallet import serve

router = APIRouter(tags=["OID4VCI (wallets)"])


@router.get(f"/.well-known/{ISSUER_METADATA_NAME}", summary="Credential Issuer metadata", response_class=Response)
@router.get(
    f"/.well-known/{ISSUER_METADATA_NAME}/{{path:path}}",
    summary="Credential Issuer metadata of an issuer whose identifier has a path",
    response_class=Response,
)
async def issuer_metadata(request: Request, container: ContainerDep) -> Response:
    return await serve(wallet_http.issuer_metadata, request, container)


@router.get(f"/.well-known/{AS_METADATA_NAME}", summary="Authorization Server metadata", response_class=Response)
@router.get(
    f"/.well-known/{AS_METADATA_NAME}/{{path:path}}",
    summary="Authorization Server metadata of an issuer whose identifier has a path",
    response_class=Response,
)
async def authorization_server_metadata(request: Request, container: ContainerDep) -> Response:
    return await serve(wallet_http.authorization_server_metadata, request, container)
