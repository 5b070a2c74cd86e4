"""FastAPI dependencies: the container, the management principal and the wallet-facing tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from openissuer.bootstrap import Container
from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.services.tenancy import WalletTenant

_bearer = HTTPBearer(auto_error=False, description="A token from POST /v1/auth/token.")


async def get_container(request: Request) -> Container:
    """Return the process's container (async: a plain ``def`` dependency costs a thread-pool hop per request)."""
    container: Container = request.app.state.container
    return container


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ManagementPrincipal:
    """Authenticate the management API caller from its bearer token (401 when missing, invalid or expired)."""
    token = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else None
    return await (await get_container(request)).management_auth.authenticate(token)


async def get_wallet_tenant(request: Request) -> WalletTenant:
    """Resolve the tenant of a wallet-facing or public request from its ``Host`` header (DESIGN.md §1 Tenancy)."""
    return await (await get_container(request)).tenants.resolve_host(request.headers.get("host"))


ContainerDep = Annotated[Container, Depends(get_container)]
PrincipalDep = Annotated[ManagementPrincipal, Depends(get_principal)]
WalletTenantDep = Annotated[WalletTenant, Depends(get_wallet_tenant)]
