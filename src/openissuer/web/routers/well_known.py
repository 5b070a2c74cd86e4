"""Well-known metadata documents, at the paths RFC 8414's path insertion gives for the public URL."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from openissuer.protocol.endpoints import AS_METADATA_NAME, ISSUER_METADATA_NAME, well_known_path
from openissuer.web.deps import ContainerDep


def create_router(public_url: str) -> APIRouter:
    """Return the router serving both documents for ``public_url``."""
    router = APIRouter(tags=["OID4VCI (wallets)"])
    cache = {"Cache-Control": "public, max-age=60"}

    @router.get(well_known_path(public_url, ISSUER_METADATA_NAME), summary="Credential Issuer metadata")
    async def issuer_metadata(container: ContainerDep) -> JSONResponse:
        return JSONResponse(await container.metadata.issuer_metadata(), headers=cache)

    @router.get(well_known_path(public_url, AS_METADATA_NAME), summary="Authorization Server metadata")
    async def authorization_server_metadata(container: ContainerDep) -> JSONResponse:
        return JSONResponse(await container.metadata.authorization_server_metadata(), headers=cache)

    return router
