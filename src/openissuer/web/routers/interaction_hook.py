"""The interaction hook (reference platform §7): its configuration at ``/v1/openid/configuration``, and the
browser's return from it at ``/v1/oauth/interaction-hook/callback``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from openissuer.domain.interaction_hooks import DEFAULT_SESSION_TIMEOUT, MAX_SESSION_TIMEOUT
from openissuer.errors import AuthorizationPageError, InvalidRequestError
from openissuer.protocol.endpoints import INTERACTION_HOOK_CALLBACK_PATH
from openissuer.services.interaction_hooks import HookInput, HookView
from openissuer.web.deps import ContainerDep, PrincipalDep, WalletTenantDep
from openissuer.web.pages import render_page
from openissuer.web.routers.authorization import sign_in_redirect, single_values

log = logging.getLogger("openissuer.web")
router = APIRouter(prefix="/v1/openid/configuration", tags=["Interaction hook"])
public_router = APIRouter(tags=["OID4VCI (wallets)"])

DESCRIPTION = """One hook per tenant. After the holder signs in at the authentication provider (Authorization Code
flow), the browser is sent to `url?session_token=<JWT>` (HS256 with the base64-decoded `secret`; `iss` this issuer,
`aud` the hook URL, `state`, `redirectUrl`, the `claims` named here, `iat`, `exp`). The hook sends the browser
back to `redirectUrl?session_token=<JWT>` signed with the same secret: `iss` the hook URL (or its origin), `aud`
this issuer, the same `state`, `exp`, and `claims` / `claimsToPersist`, or `error: {message}` to end the sign-in
(the wallet gets `access_denied`). `disabled: true` skips the hook. `interactionHook: null` removes it.

`secret` (base64 of 32 random bytes) is generated when the hook is first configured and kept by later changes; it
is shown to admin and issuer clients and masked for auditors."""


class InteractionHookBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str = Field(description="https, a host name (not an IP address), no query string.")
    claims: list[str] = Field(default_factory=list, description="Claims copied into the outgoing session token.")
    sessionTimeoutInSec: int | None = Field(  # noqa: N815
        None,
        description=f"How long the holder may stay at the hook (1-{MAX_SESSION_TIMEOUT}; default "
        f"{DEFAULT_SESSION_TIMEOUT}).",
    )
    disabled: bool = False


class OpenIdConfigurationBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    interactionHook: InteractionHookBody | None = None  # noqa: N815


class InteractionHookOut(BaseModel):
    url: str
    claims: list[str]
    sessionTimeoutInSec: int  # noqa: N815
    disabled: bool
    secret: str = Field(description="base64 of 32 random bytes: the HS256 key is its decoded form.")


class OpenIdConfigurationOut(BaseModel):
    interactionHook: InteractionHookOut | None = None  # noqa: N815


def hook_input(hook: InteractionHookBody) -> HookInput:
    """The service's input of an ``interactionHook`` body."""
    return HookInput(
        url=hook.url, claims=tuple(hook.claims), session_timeout=hook.sessionTimeoutInSec, disabled=hook.disabled
    )


def _render(view: HookView | None) -> dict[str, Any]:
    if view is None:
        return {}
    hook = view.hook
    return {
        "interactionHook": {
            "url": hook.url,
            "claims": list(hook.claims),
            "sessionTimeoutInSec": hook.session_timeout,
            "disabled": hook.disabled,
            "secret": view.secret,
        }
    }


@router.put(
    "",
    response_model=OpenIdConfigurationOut,
    response_model_exclude_none=True,
    summary="Configure the interaction hook (admin, issuer)",
    description=DESCRIPTION,
)
async def put_openid_configuration(
    body: OpenIdConfigurationBody, principal: PrincipalDep, container: ContainerDep
) -> Any:
    data = None if body.interactionHook is None else hook_input(body.interactionHook)
    return _render(await container.interaction_hooks.put_as(principal, data))


@router.get(
    "",
    response_model=OpenIdConfigurationOut,
    response_model_exclude_none=True,
    summary="Retrieve the interaction hook configuration",
)
async def get_openid_configuration(principal: PrincipalDep, container: ContainerDep) -> Any:
    return _render(await container.interaction_hooks.get_as(principal))


@public_router.get(
    INTERACTION_HOOK_CALLBACK_PATH,
    summary="The interaction hook's redirect back to openissuer",
    description="`session_token`: the hook's HS256 JWT. Redirects the browser to the wallet with an authorization "
    "code (or `error=access_denied`); a token that fails a check ends on an HTML page.",
    response_class=Response,
    responses={302: {"description": "To the wallet"}, 400: {"description": "An HTML page"}},
)
async def interaction_hook_callback(request: Request, container: ContainerDep, tenant: WalletTenantDep) -> Response:
    try:
        query = single_values(list(request.query_params.multi_items()))
        step = await container.authorization.return_from_hook(query, tenant, request.cookies)
    except InvalidRequestError as exc:
        return render_page("This sign-in is not valid", exc.description)
    except AuthorizationPageError as exc:
        log.info("interaction step refused", extra={"reason": exc.detail or exc.description})
        return render_page(exc.title, exc.description, return_url=exc.return_url)
    return sign_in_redirect(request, tenant, step)
