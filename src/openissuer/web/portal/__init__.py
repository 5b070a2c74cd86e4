"""The portal: the management API's resources in a browser, server-rendered, on the same services as the API.

``install_portal(app)`` adds its routes under ``/portal`` (left out of the OpenAPI description) and the handlers
that turn a missing session into a redirect to sign-in and a refused CSRF token into a 403 page. It adds no
middleware: the wallet endpoints, which are served before the FastAPI app, never reach any of it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from openissuer.errors import ManagementError
from openissuer.web.errors import render_error
from openissuer.web.path_ids import name_path_parameter
from openissuer.web.portal import (
    api_clients,
    authentication,
    claims_sources,
    configurations,
    cwt,
    events,
    offers,
    overview,
    pki,
    settings,
    sign_in,
    status_lists,
    tenants,
    users,
)
from openissuer.web.portal.core import PREFIX, SECURITY_HEADERS, CsrfRefusedError, SignInRequiredError, render


def install_portal(app: FastAPI) -> None:
    """Serve the portal from ``app`` under ``/portal``."""
    modules = (
        sign_in,
        overview,
        pki,
        configurations,
        offers,
        users,
        status_lists,
        authentication,
        claims_sources,
        cwt,
        events,
        api_clients,
        settings,
        tenants,
    )
    for module in modules:
        app.include_router(module.router)

    async def on_sign_in_required(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequiredError)
        query = urlencode({"next": exc.next_path})
        return RedirectResponse(f"{PREFIX}/sign-in?{query}", status_code=303, headers=SECURITY_HEADERS)

    async def on_csrf_refused(request: Request, _exc: Exception) -> Response:
        context = {
            "title": "Form refused",
            "message": "This form was not sent from your portal session. Reload the page and try again.",
        }
        return render(None, request, "refused.html", context, status=403)

    async def on_management_error(request: Request, exc: Exception) -> Response:
        # A refusal that escaped a portal page (e.g. re-rendering a form after an error, for a role that may not
        # read the list it shows) is an HTML page with the portal's headers; elsewhere the API's JSON error.
        assert isinstance(exc, ManagementError)
        if request.url.path.startswith(PREFIX + "/"):
            return render(None, request, "error.html", {"title": exc.description, "error": exc}, status=exc.status)
        return render_error(name_path_parameter(exc, request.scope.get("path_params") or {}))

    app.add_exception_handler(SignInRequiredError, on_sign_in_required)
    app.add_exception_handler(CsrfRefusedError, on_csrf_refused)
    app.add_exception_handler(ManagementError, on_management_error)  # more specific than the API's IssuerError one
