"""The authorization endpoints wallets and browsers use: authorize, PAR and the identity provider's callback."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from openissuer.bootstrap import Container
from openissuer.errors import AuthorizationPageError, InvalidRequestError
from openissuer.protocol.endpoints import AUTHORIZE_PATH, CALLBACK_PATH, CHALLENGE_PATH, PAR_PATH
from openissuer.services.dpop import DPOP_NONCE_HEADER
from openissuer.services.rate_limits import ADDRESS, CLIENT
from openissuer.services.sign_in_binding import SECURE_PREFIX, SignInRedirect, uses_secure_cookies
from openissuer.services.tenancy import WalletTenant
from openissuer.services.wallet_auth import ATTESTATION_HEADER, ATTESTATION_POP_HEADER
from openissuer.web.deps import ContainerDep, WalletTenantDep
from openissuer.web.errors import NO_STORE
from openissuer.web.pages import render_page
from openissuer.web.strict_input import FormInputError, parse_form_fields

router = APIRouter(tags=["OID4VCI (wallets)"])
log = logging.getLogger("openissuer.web")


def single_values(items: list[tuple[str, str]]) -> dict[str, str]:
    """RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once"."""
    values: dict[str, str] = {}
    for key, value in items:
        if key in values:
            raise InvalidRequestError(f"{key} appears more than once")
        values[key] = value
    return values


def _source_address(container: Container, request: Request) -> str | None:
    """The connection's address, or (behind a trusted proxy) the last ``X-Forwarded-For`` entry."""
    address = request.client.host if request.client else None
    if container.trust_forwarded_for and request.headers.get("x-forwarded-for"):
        address = request.headers["x-forwarded-for"].rpartition(",")[2].strip() or address
    return address


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=302, headers={"Cache-Control": "no-store"})


def sign_in_redirect(request: Request, tenant: WalletTenant, step: SignInRedirect) -> RedirectResponse:
    """The redirect of a sign-in step, setting or clearing the sign-in's browser cookie (``SignInBinding``).

    ``SameSite=Lax``: the identity provider's redirect back is a cross-site top-level GET, which Lax cookies go
    with and Strict ones do not. ``Secure`` with the ``__Host-`` prefix (host-only, ``Path=/``: the ``/core`` path
    aliases too) whenever the issuer's URL is https; a plain-http development issuer gets neither."""
    response = _redirect(step.location)
    cookie = step.cookie
    if cookie is not None:
        secure = uses_secure_cookies(tenant.issuer)
        response.set_cookie(
            (SECURE_PREFIX if secure else "") + cookie.name,
            cookie.value,
            max_age=cookie.max_age,
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )
    return response


@router.get(
    AUTHORIZE_PATH,
    summary="Authorization endpoint (Authorization Code flow)",
    description="`response_type=code`, `client_id`, `redirect_uri`, `scope` and/or `authorization_details`, "
    "`state`, `code_challenge` with `code_challenge_method=S256`, optional `issuer_state` and `dpop_jkt` (RFC 9449 "
    "§10: the code is then bound to that DPoP key), or `client_id` + `request_uri` from PAR. Redirects the browser "
    "to the identity provider.",
    response_class=Response,
    responses={
        302: {"description": "To the identity provider, or back to the wallet with an error"},
        400: {"description": "An HTML page: a malformed request, or an unknown or used request_uri"},
        401: {"description": "An HTML page: the client_id is not a registered client"},
        403: {"description": "An HTML page: the client may not use this redirect URI or the authorization code grant"},
        429: {"description": "Too many requests from this address (`rate_limit_per_address`)"},
    },
)
async def authorize(request: Request, container: ContainerDep, tenant: WalletTenantDep) -> Response:
    # Anonymous, and each request stores a sign-in: counted per address like PAR (429 when over the limit).
    await container.rate_limits.check(tenant.id, [(ADDRESS, _source_address(container, request))])
    try:
        query = single_values(list(request.query_params.multi_items()))
        scopes = await container.metadata.scope_map(tenant)
        return sign_in_redirect(request, tenant, await container.authorization.authorize(query, scopes, tenant))
    except InvalidRequestError as exc:
        return render_page("This sign-in link is not valid", exc.description)
    except AuthorizationPageError as exc:
        return render_page(exc.title, exc.description, return_url=exc.return_url, status=exc.status)


@router.post(
    PAR_PATH,
    status_code=201,
    summary="Pushed authorization request (RFC 9126)",
    description="Form-encoded authorization request parameters; answers `{request_uri, expires_in}` (60 s, "
    "single use). A `DPoP` proof sent with it (RFC 9449 §10.1), or a `dpop_jkt` parameter, binds the authorization "
    "code to that key: the token request must then carry a DPoP proof by it.",
)
async def pushed_authorization_request(
    request: Request, container: ContainerDep, tenant: WalletTenantDep
) -> JSONResponse:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise InvalidRequestError("The request must be application/x-www-form-urlencoded")
    await container.rate_limits.check(tenant.id, [(ADDRESS, _source_address(container, request))])
    try:
        params = parse_form_fields(await request.body())
    except FormInputError as exc:
        raise InvalidRequestError(str(exc)) from exc
    await container.rate_limits.check(tenant.id, [(CLIENT, params.get("client_id"))])
    scopes = await container.metadata.scope_map(tenant)
    presented = await container.wallet_auth.present(
        tenant,
        dpop_proofs=request.headers.getlist("dpop"),
        attestation=request.headers.get(ATTESTATION_HEADER),
        attestation_pop=request.headers.get(ATTESTATION_POP_HEADER),
        url=tenant.endpoints.pushed_authorization_request,
    )
    body = await container.authorization.push_authorization_request(params, scopes, tenant, presented)
    if presented.dpop is None:
        return JSONResponse(body, status_code=201, headers=NO_STORE)
    nonce = container.wallet_auth.dpop.create_nonce(tenant.id)
    return JSONResponse(body, status_code=201, headers={**NO_STORE, DPOP_NONCE_HEADER: nonce})


@router.post(
    CHALLENGE_PATH,
    summary="Attestation challenge endpoint (OAuth 2.0 Attestation-Based Client Authentication)",
    description="No body. Answers `{attestation_challenge}`: a fresh, single-use value (5 minutes) a wallet may put "
    "in the `challenge` claim of its OAuth-Client-Attestation-PoP.",
)
async def attestation_challenge(container: ContainerDep, tenant: WalletTenantDep) -> JSONResponse:
    challenge = container.wallet_auth.create_challenge(tenant.id)
    return JSONResponse({"attestation_challenge": challenge}, headers=NO_STORE)


@router.get(CALLBACK_PATH, summary="The identity provider's redirect back to openissuer", response_class=Response)
async def authentication_callback(request: Request, container: ContainerDep, tenant: WalletTenantDep) -> Response:
    try:
        query = single_values(list(request.query_params.multi_items()))
        step = await container.authorization.complete(query, tenant, request.cookies)
        return sign_in_redirect(request, tenant, step)
    except InvalidRequestError as exc:
        return render_page("This sign-in is not valid", exc.description)
    except AuthorizationPageError as exc:
        # Why (the ID token's failed check, the provider's error): the page says only what the holder can act on.
        log.info("sign-in refused", extra={"reason": exc.detail or exc.description})
        return render_page(exc.title, exc.description, return_url=exc.return_url)
