"""Claims sources (create, edit, delete) and the interaction hook (configure, remove).

Forms are shaped into the API's JSON bodies and read with the API's body models (``web/routers/claim_sources.py``,
``web/routers/interaction_hook.py``), then handed to the same services. Secrets are write-only: a claims source's API
key or OAuth client secret is a password field that is never filled in (left empty on edit, the stored one is kept,
as on PUT), shown only masked. The hook's secret is shown once, on the page that configured a new hook, and never
again (the API shows it to operators on every read; the portal does not, so a page left open does not carry it).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.errors import ManagementError
from openissuer.services.access import OPERATORS
from openissuer.services.interaction_hooks import HookView
from openissuer.web.portal.core import (
    CurrentPortal,
    FormErrors,
    Paging,
    Portal,
    SubmittedPortal,
    error_page,
    json_object,
    parse_body,
    portal_router,
    redirect,
    render,
    words,
)
from openissuer.web.routers.claim_sources import ClaimSourceBody, claim_source_input, render_claim_source
from openissuer.web.routers.interaction_hook import InteractionHookBody, hook_input

router = portal_router()
API_KEY = "api-key"
OAUTH = "oauth-client-credentials"
AUTH_TYPES = [(API_KEY, "API key (x-api-key header)"), (OAUTH, "OAuth 2.0 client credentials")]
AUTH_METHODS = [("client_secret_basic", "client_secret_basic"), ("client_secret_post", "client_secret_post")]
# The API's parameters of a claims source's authorization, and the form's fields for them.
SOURCE_FIELDS = {
    "authorization": "authType",
    "authorization.type": "authType",
    "authorization.value": "apiKey",
    "authorization.tokenEndpoint": "tokenEndpoint",
    "authorization.clientId": "oauthClientId",
    "authorization.clientSecret": "oauthClientSecret",
    "authorization.audience": "audience",
    "authorization.tokenEndpointAuthMethod": "oauthTokenEndpointAuthMethod",
}

HOOK_FIELDS = {f"interactionHook.{name}": name for name in ("url", "claims", "sessionTimeoutInSec", "disabled")}


@router.get("/claims-sources")
async def claims_sources(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        paging = Paging.of(request)
        page = await portal.container.claim_sources.list_as(portal.principal, limit=paging.limit, after=paging.after)
        hook = await portal.container.interaction_hooks.get_as(portal.principal)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    context = {
        "title": "Claims sources and interaction hook",
        "sources": [render_claim_source(s) for s in page.items],  # secrets masked, as the API reads them
        "hook": None if hook is None else hook.hook,
        "next_link": paging.next_link(request, page),
        "can_write": portal.can(OPERATORS),
    }
    return render(portal, request, "claims_sources.html", context, section="claims")


def _source_values(source: dict[str, Any]) -> dict[str, Any]:
    auth = source["authorization"]
    values: dict[str, Any] = {
        "name": source["name"],
        "url": source["url"],
        "requestMethod": source["requestMethod"],
        "requestParameters": json.dumps(source["requestParameters"], indent=2, ensure_ascii=False)
        if source["requestParameters"]
        else "",
        "authType": auth["type"],
    }
    if source["strict"]:
        values["strict"] = "on"
    if auth["type"] == OAUTH:
        values |= {
            "tokenEndpoint": auth["tokenEndpoint"],
            "oauthClientId": auth["clientId"],
            "audience": auth.get("audience", ""),
            "oauthTokenEndpointAuthMethod": auth["tokenEndpointAuthMethod"],
        }
    return values


def _source_page(
    portal: Portal,
    request: Request,
    *,
    source: dict[str, Any] | None,
    values: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    stored = None if source is None else source["authorization"]
    context = {
        "title": f"Claims source {source['name']}" if source else "New claims source",
        "source": source,
        "stored_key": stored.get("value") if stored else None,
        "stored_secret": stored.get("clientSecret") if stored else None,
        "auth_types": AUTH_TYPES,
        "auth_methods": AUTH_METHODS,
        "methods": [("GET", "GET (query string)"), ("POST", "POST (JSON body)")],
        "values": values,
        "errors": errors or FormErrors(),
        "can_write": portal.can(OPERATORS),
    }
    return render(portal, request, "claims_source_form.html", context, status=status, section="claims")


def _source_body(portal: Portal) -> ClaimSourceBody:
    """The API's body of the form; an empty secret field is None (on edit: keep the stored secret)."""
    kind = portal.field("authType")
    authorization: dict[str, Any] = {"type": kind}
    if kind == OAUTH:
        authorization |= {
            "tokenEndpoint": portal.field("tokenEndpoint"),
            "clientId": portal.field("oauthClientId"),
            "clientSecret": portal.optional("oauthClientSecret"),
            "audience": portal.optional("audience"),
            "tokenEndpointAuthMethod": portal.field("oauthTokenEndpointAuthMethod") or "client_secret_basic",
        }
    else:
        authorization["value"] = portal.optional("apiKey")
    body = {
        "name": portal.field("name"),
        "url": portal.field("url"),
        "requestMethod": portal.field("requestMethod") or "GET",
        "requestParameters": json_object(portal, "requestParameters"),
        "authorization": authorization,
        "strict": portal.checked("strict"),
    }
    return parse_body(ClaimSourceBody, body)


def _errors(exc: ManagementError) -> FormErrors:
    return FormErrors.of(exc, aliases=SOURCE_FIELDS, nested={"requestParameters": "requestParameters"})


@router.get("/claims-sources/new")
async def new_claims_source(request: Request, portal: CurrentPortal) -> HTMLResponse:
    return _source_page(portal, request, source=None, values={"authType": API_KEY, "requestMethod": "GET"})


@router.post("/claims-sources/new")
async def create_claims_source(request: Request, portal: SubmittedPortal) -> Response:
    try:
        body = _source_body(portal)
        created = await portal.container.claim_sources.create_as(portal.principal, claim_source_input(body))
    except ManagementError as exc:
        return _source_page(portal, request, source=None, values=portal.echo(), errors=_errors(exc), status=exc.status)
    return redirect(f"/claims-sources/{created.id}", "created")


@router.get("/claims-sources/{source_id}")
async def claims_source(request: Request, source_id: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        found = render_claim_source(await portal.container.claim_sources.get_as(portal.principal, source_id))
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return _source_page(portal, request, source=found, values=_source_values(found))


@router.post("/claims-sources/{source_id}")
async def replace_claims_source(request: Request, source_id: str, portal: SubmittedPortal) -> Response:
    service = portal.container.claim_sources
    try:
        found = render_claim_source(await service.get_as(portal.principal, source_id))
    except ManagementError as exc:
        return error_page(portal, request, exc)
    try:
        await service.replace_as(portal.principal, source_id, claim_source_input(_source_body(portal)))
    except ManagementError as exc:
        return _source_page(portal, request, source=found, values=portal.echo(), errors=_errors(exc), status=exc.status)
    return redirect(f"/claims-sources/{source_id}", "saved")


@router.post("/claims-sources/{source_id}/delete")
async def delete_claims_source(request: Request, source_id: str, portal: SubmittedPortal) -> Response:
    try:
        await portal.container.claim_sources.delete_as(portal.principal, source_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect("/claims-sources", "deleted")


def _hook_values(view: HookView | None) -> dict[str, Any]:
    if view is None:
        return {}
    hook = view.hook
    values: dict[str, Any] = {
        "url": hook.url,
        "claims": " ".join(hook.claims),
        "sessionTimeoutInSec": str(hook.session_timeout),
    }
    if hook.disabled:
        values["disabled"] = "on"
    return values


def _hook_page(
    portal: Portal,
    request: Request,
    *,
    view: HookView | None,
    values: dict[str, Any],
    new_secret: str | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": "Interaction hook",
        "hook": None if view is None else view.hook,
        "new_secret": new_secret,
        "values": values,
        "errors": errors or FormErrors(),
        "can_write": portal.can(OPERATORS),
    }
    return render(portal, request, "interaction_hook.html", context, status=status, section="claims")


@router.get("/interaction-hook")
async def interaction_hook(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        view = await portal.container.interaction_hooks.get_as(portal.principal)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return _hook_page(portal, request, view=view, values=_hook_values(view))


@router.post("/interaction-hook")
async def configure_interaction_hook(request: Request, portal: SubmittedPortal) -> Response:
    service = portal.container.interaction_hooks
    try:
        before = await service.get_as(portal.principal)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    try:
        timeout = portal.field("sessionTimeoutInSec")
        body = parse_body(
            InteractionHookBody,
            {
                "url": portal.field("url"),
                "claims": words(portal.field("claims")),
                "sessionTimeoutInSec": timeout or None,
                "disabled": portal.checked("disabled"),
            },
        )
        view = await service.put_as(portal.principal, hook_input(body))
    except ManagementError as exc:
        errors = FormErrors.of(exc, aliases=HOOK_FIELDS, nested={"claims": "claims"})
        return _hook_page(portal, request, view=before, values=portal.echo(), errors=errors, status=exc.status)
    assert view is not None
    if before is None:
        # A new hook has a new secret: shown in this response only (never logged, never on a later page).
        return _hook_page(portal, request, view=view, values=_hook_values(view), new_secret=view.secret, status=201)
    return redirect("/interaction-hook", "saved")


@router.post("/interaction-hook/delete")
async def remove_hook(request: Request, portal: SubmittedPortal) -> Response:
    try:
        await portal.container.interaction_hooks.put_as(portal.principal, None)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect("/interaction-hook", "deleted")
