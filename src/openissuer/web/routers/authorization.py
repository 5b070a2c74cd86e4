"""The authorization endpoints wallets and browsers use: authorize, PAR and the identity provider's callback."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from openissuer.errors import AuthorizationPageError, InvalidRequestError
from openissuer.protocol.endpoints import AUTHORIZE_PATH, CALLBACK_PATH, PAR_PATH
from openissuer.web.deps import ContainerDep, WalletTenantDep
from openissuer.web.errors import NO_STORE
from openissuer.web.pages import render_page

router = APIRouter(tags=["OID4VCI (wallets)"])


def single_values(items: list[tuple[str, str]]) -> dict[str, str]:
    """RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once"."""
    values: dict[str, str] = {}
    for key, value in items:
        if key in values:
            raise InvalidRequestError(f"{key} appears more than once")
        values[key] = value
    return values


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=302, headers={"Cache-Control": "no-store"})


@router.get(
    AUTHORIZE_PATH,
    summary="Authorization endpoint (Authorization Code flow)",
    description="`response_type=code`, `client_id`, `redirect_uri`, `scope` and/or `authorization_details`, "
    "`state`, `code_challenge` with `code_challenge_method=S256`, optional `issuer_state`, or `client_id` + "
    "`request_uri` from PAR. Redirects the browser to the identity provider.",
    response_class=Response,
    responses={
        302: {"description": "To the identity provider, or back to the wallet with an error"},
        400: {"description": "An HTML page: unknown client, redirect URI or request_uri"},
    },
)
async def authorize(request: Request, container: ContainerDep, tenant: WalletTenantDep) -> Response:
    try:
        query = single_values(list(request.query_params.multi_items()))
        scopes = await container.metadata.scope_map(tenant)
        return _redirect(await container.authorization.authorize(query, scopes, tenant))
    except InvalidRequestError as exc:
        return render_page("This sign-in link is not valid", exc.description)
    except AuthorizationPageError as exc:
        return render_page(exc.title, exc.description, return_url=exc.return_url)


@router.post(
    PAR_PATH,
    status_code=201,
    summary="Pushed authorization request (RFC 9126)",
    description="Form-encoded authorization request parameters; answers `{request_uri, expires_in}` (60 s, "
    "single use).",
)
async def pushed_authorization_request(
    request: Request, container: ContainerDep, tenant: WalletTenantDep
) -> JSONResponse:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise InvalidRequestError("The request must be application/x-www-form-urlencoded")
    form = await request.form()
    params = single_values([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    scopes = await container.metadata.scope_map(tenant)
    body = await container.authorization.push_authorization_request(params, scopes, tenant)
    return JSONResponse(body, status_code=201, headers=NO_STORE)


@router.get(CALLBACK_PATH, summary="The identity provider's redirect back to openissuer", response_class=Response)
@router.get("/core" + CALLBACK_PATH, include_in_schema=False, response_class=Response)
async def authentication_callback(request: Request, container: ContainerDep, tenant: WalletTenantDep) -> Response:
    try:
        query = single_values(list(request.query_params.multi_items()))
        return _redirect(await container.authorization.complete(query, tenant))
    except InvalidRequestError as exc:
        return render_page("This sign-in is not valid", exc.description)
    except AuthorizationPageError as exc:
        return render_page(exc.title, exc.description, return_url=exc.return_url)
