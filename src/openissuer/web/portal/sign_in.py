"""Sign-in with a management API client's id and secret, and sign-out."""

from __future__ import annotations

import hmac
import logging
from importlib.resources import files

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openissuer.errors import InvalidClientCredentialsError
from openissuer.web.portal.core import (
    PREFIX,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    SubmittedPortal,
    from_this_origin,
    new_sign_in_token,
    portal_router,
    render,
    safe_next,
)

log = logging.getLogger("openissuer.portal")
router = portal_router()

# The same words whichever part was wrong: an unknown client id and a wrong secret are not told apart.
SIGN_IN_FAILED = "Sign-in failed: the client ID or the secret is not correct."
_STATIC = files("openissuer.web.portal") / "static"
_STATIC_TYPES = {"portal.css": "text/css; charset=utf-8", "portal.js": "text/javascript; charset=utf-8"}


def _secure(request: Request) -> bool:
    """Whether the portal's cookies are ``Secure``: when the request came over https, or when the issuer's public URL
    is https (TLS ended at a proxy whose ``X-Forwarded-Proto`` uvicorn does not believe: the browser still uses
    https, and a cookie without ``Secure`` would also go out over a plain-http request)."""
    public_url: str = request.app.state.container.public_url
    return request.url.scheme == "https" or public_url.startswith("https://")


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def _sign_in_page(request: Request, *, next_path: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    token = new_sign_in_token()
    response = render(
        None,
        request,
        "sign_in.html",
        {"sign_in_token": token, "next": next_path, "error": error, "client_id": ""},
        status=status,
    )
    _set_cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _sign_in_page(request, next_path=safe_next(next))


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    if any("\x00" in name or (isinstance(value, str) and "\x00" in value) for name, value in form.multi_items()):
        return _sign_in_page(
            request, next_path="/", error="The form contains a character that is not allowed.", status=400
        )

    def text(name: str, limit: int) -> str:
        value = form.get(name)
        return value[:limit] if isinstance(value, str) else ""

    client_id, client_secret = text("client_id", 200).strip(), text("client_secret", 500)
    csrf_token, next_path = text("csrf_token", 100), safe_next(text("next", 2000))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not from_this_origin(request) or not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _sign_in_page(
            request, next_path=next_path, error="The sign-in form expired. Please try again.", status=403
        )
    container = request.app.state.container
    try:
        started = await container.portal_sessions.sign_in(
            client_id, client_secret, replacing=request.cookies.get(SESSION_COOKIE)
        )
    except InvalidClientCredentialsError:
        # The client id the form named (as the API's token endpoint logs it), never the secret.
        log.info("portal sign-in failed", extra={"client_id": client_id[:100]})
        return _sign_in_page(request, next_path=next_path, error=SIGN_IN_FAILED, status=401)
    response = RedirectResponse(next_path, status_code=303, headers=SECURITY_HEADERS)
    _set_cookie(request, response, SESSION_COOKIE, started.session_id)
    response.delete_cookie(SIGN_IN_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, portal: SubmittedPortal) -> Response:
    await portal.container.portal_sessions.sign_out(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(f"{PREFIX}/sign-in?done=signed-out", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, secure=_secure(request), httponly=True)
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    media_type = _STATIC_TYPES.get(name)
    if media_type is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    body = (_STATIC / name).read_bytes()
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})
