"""The tenant's DID document (did:web §3.2), public, per tenant by host like every public endpoint.

``did:web:<host>`` is read at ``/.well-known/did.json``; a tenant whose public URL has a path
(``did:web:<host>:<path>``) is read at ``https://<host>/<path>/did.json``, which the reverse proxy in front of such
a tenant forwards here as ``/did.json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from openissuer.web.deps import ContainerDep, WalletTenantDep

router = APIRouter(tags=["DID documents (public)"])
CACHE_CONTROL = "public, max-age=300"


@router.get("/.well-known/did.json", summary="The tenant's did:web DID document", response_class=JSONResponse)
@router.get("/did.json", summary="The DID document of a tenant whose did:web has a path", include_in_schema=True)
async def did_document(container: ContainerDep, tenant: WalletTenantDep) -> Any:
    document = await container.did_keys.document(tenant)
    return JSONResponse(document, media_type="application/did+json", headers={"Cache-Control": CACHE_CONTROL})
