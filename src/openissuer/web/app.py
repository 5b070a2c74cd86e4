"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from openissuer import __version__
from openissuer.bootstrap import Container
from openissuer.protocol.endpoints import CREDENTIAL_PATH, PAR_PATH, TOKEN_PATH
from openissuer.web.aliases import PathAliases
from openissuer.web.errors import install_error_handlers
from openissuer.web.middleware import RequestContextMiddleware
from openissuer.web.openapi_errors import install_error_responses
from openissuer.web.portal import install_portal
from openissuer.web.routers import (
    api_clients,
    authorization,
    authorization_management,
    claim_sources,
    compact,
    configurations,
    did_documents,
    events,
    iacas,
    interaction_hook,
    management_auth,
    offers,
    ops,
    sd_jwt_vc,
    signers,
    status_lists,
    tenant_settings,
    tenants,
    users,
    wallet,
    wallet_security,
    webhooks,
    well_known,
)
from openissuer.web.strict_input import StrictInputMiddleware
from openissuer.web.wallet_http import WalletEndpoints

DESCRIPTION = """openissuer issues verifiable credentials to wallets over OpenID for Verifiable Credential Issuance.

**Management API**: obtain a token with `POST /v1/auth/token` (client credentials; also at the reference
platform's `POST /oauth/token`), then call the management
endpoints with `Authorization: Bearer <token>`. Lists are paginated with `limit` (1–1000, default 100) and the
opaque `cursor` from the previous page's `nextCursor`. Errors are `{code, message, details[]}`. Every path is
also served under the prefix `/core` (the reference platform's alias). Differences from the reference platform:
docs/compatibility.md.
"""


class OpenIssuerApp(FastAPI):
    """The FastAPI app with the wallet hot path's plain handlers in front and one request middleware around both."""

    def __init__(self, container: Container, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Also answered straight from the HTTP protocol, past this ASGI stack (cli/http_protocol.py).
        self.wallet_endpoints = WalletEndpoints(container, StrictInputMiddleware(super().__call__))
        self._entry = PathAliases(RequestContextMiddleware(self.wallet_endpoints))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._entry(scope, receive, send)


def create_app(container: Container) -> FastAPI:
    """Return the app serving ``container``; the container is closed when the app shuts down."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        container.start_background()
        try:
            yield
        finally:
            await container.aclose()

    app = OpenIssuerApp(container, title="openissuer", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.container = container
    install_error_handlers(app)
    app.include_router(ops.router)
    app.include_router(management_auth.router)
    app.include_router(api_clients.router)
    app.include_router(tenants.router)
    for credential_format in container.formats:
        app.include_router(configurations.create_router(credential_format))
    for credential_format in container.formats:  # before the routers with /v2/credentials/<profile>/{id} routes
        if credential_format.profile in container.status_list_tokens:
            app.include_router(status_lists.create_router(credential_format))
    app.include_router(compact.router)
    app.include_router(compact.public_router)
    app.include_router(did_documents.router)
    app.include_router(iacas.router)
    app.include_router(iacas.public_router)
    app.include_router(signers.document_signers)
    app.include_router(signers.status_list_signers)
    app.include_router(tenant_settings.router)
    app.include_router(offers.router)
    app.include_router(authorization_management.offers)
    app.include_router(authorization_management.providers)
    app.include_router(users.router)  # after the providers: /v1/users/authentication-providers is not a user id
    app.include_router(claim_sources.router)
    app.include_router(claim_sources.legacy_router)
    app.include_router(interaction_hook.router)
    app.include_router(interaction_hook.public_router)
    app.include_router(authorization_management.clients)
    app.include_router(wallet_security.router)
    app.include_router(authorization.router)
    app.include_router(wallet.router)
    app.include_router(well_known.router)
    app.include_router(sd_jwt_vc.router)
    app.include_router(events.router)
    app.include_router(webhooks.router)
    app.include_router(status_lists.users_router)
    for credential_format in container.formats:  # last: /v2/credentials/<profile>/{credentialId}
        app.include_router(status_lists.create_record_router(credential_format))
    install_portal(app)
    install_error_responses(app, rate_limited=(TOKEN_PATH, PAR_PATH, CREDENTIAL_PATH))  # after every router
    return app
