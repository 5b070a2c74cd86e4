"""The authentication provider and the wallet clients of the Authorization Code flow: list, create, edit, delete.

A form is shaped into the API's JSON body and read with the API's own body model and input function
(``web/routers/authorization_management.py``), then handed to the same service, so every rule is the API's. The
provider's client secret is write-only: a password field that is never filled in, left empty on edit to keep the
stored secret, and shown only as the API shows it (``****`` and its last four characters).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.crypto.certificate_info import encode_pem
from openissuer.domain.authorization import AuthenticationProvider, WalletClient
from openissuer.errors import ManagementError
from openissuer.protocol.metadata import PRE_AUTHORIZED_GRANT
from openissuer.services.access import ISSUERS
from openissuer.services.authentication_providers import mask_secret
from openissuer.services.wallet_clients import AUTHORIZATION_CODE
from openissuer.web.portal.core import (
    CurrentPortal,
    FormErrors,
    Paging,
    Portal,
    SubmittedPortal,
    error_page,
    json_object,
    lines,
    parse_body,
    pem_blocks,
    portal_router,
    redirect,
    render,
    words,
)
from openissuer.web.routers.authorization_management import (
    ProviderBody,
    WalletClientBody,
    authentication_callback,
    client_input,
    provider_input,
)

router = portal_router()
GRANTS = {"authorization_code": AUTHORIZATION_CODE, "pre-authorized_code": PRE_AUTHORIZED_GRANT}
AUTH_METHODS = [("client_secret_basic", "client_secret_basic"), ("client_secret_post", "client_secret_post")]
PROVIDER_LISTS = ("staticRequestParameters", "forwardedRequestParameters", "claimsToPersist", "scope")


@router.get("/authentication")
async def authentication(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        paging = Paging.of(request)
        providers = await portal.container.authentication_providers.list_as(portal.principal, limit=10, after=None)
        clients = await portal.container.wallet_clients.list_as(
            portal.principal, limit=paging.limit, after=paging.after
        )
    except ManagementError as exc:
        return error_page(portal, request, exc)
    context = {
        "title": "Sign-in and wallets",
        "providers": [{"p": p, "secret": mask_secret(p.secret_hint)} for p in providers.items],
        "wallet_clients": clients.items,
        "next_link": paging.next_link(request, clients),
        "can_write": portal.can(ISSUERS),
    }
    return render(portal, request, "authentication.html", context, section="access")


def _provider_values(provider: AuthenticationProvider) -> dict[str, Any]:
    static = provider.static_request_parameters
    return {
        "url": provider.url,
        "clientId": provider.client_id,
        "scope": " ".join(provider.scope),
        "tokenEndpointAuthMethod": provider.token_endpoint_auth_method,
        "staticRequestParameters": _json_text(static) if static else "",
        "forwardedRequestParameters": " ".join(provider.forwarded_request_parameters),
        "claimsToPersist": " ".join(provider.claims_to_persist),
    }


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


async def _provider_page(
    portal: Portal,
    request: Request,
    *,
    provider: AuthenticationProvider | None,
    values: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": "Edit the authentication provider" if provider else "New authentication provider",
        "provider": provider,
        "secret": None if provider is None else mask_secret(provider.secret_hint),
        "callback": await authentication_callback(portal.container, portal.principal),
        "auth_methods": AUTH_METHODS,
        "values": values,
        "errors": errors or FormErrors(),
        "can_write": portal.can(ISSUERS),
    }
    return render(portal, request, "provider_form.html", context, status=status, section="access")


def _provider_body(portal: Portal) -> ProviderBody:
    """The API's body of the provider form (the secret None when the field is left empty: keep the stored one)."""
    body: dict[str, Any] = {
        "url": portal.field("url"),
        "clientId": portal.field("clientId"),
        "clientSecret": portal.optional("clientSecret"),
        "scope": words(portal.field("scope")) or None,
        "tokenEndpointAuthMethod": portal.field("tokenEndpointAuthMethod") or "client_secret_basic",
        "staticRequestParameters": json_object(portal, "staticRequestParameters"),
        "forwardedRequestParameters": words(portal.field("forwardedRequestParameters")),
        "claimsToPersist": words(portal.field("claimsToPersist")),
    }
    return parse_body(ProviderBody, body)


@router.get("/authentication/providers/new")
async def new_provider(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        return await _provider_page(portal, request, provider=None, values={"scope": "openid"})
    except ManagementError as exc:
        return error_page(portal, request, exc)


@router.post("/authentication/providers/new")
async def create_provider(request: Request, portal: SubmittedPortal) -> Response:
    service = portal.container.authentication_providers
    try:
        await service.create_as(portal.principal, provider_input(_provider_body(portal)))
    except ManagementError as exc:
        errors = FormErrors.of(exc, nested={name: name for name in PROVIDER_LISTS})
        return await _provider_page(
            portal, request, provider=None, values=portal.echo(), errors=errors, status=exc.status
        )
    return redirect("/authentication", "created")


@router.get("/authentication/providers/{provider_id}")
async def provider(request: Request, provider_id: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        found = await portal.container.authentication_providers.get_as(portal.principal, provider_id)
        return await _provider_page(portal, request, provider=found, values=_provider_values(found))
    except ManagementError as exc:
        return error_page(portal, request, exc)


@router.post("/authentication/providers/{provider_id}")
async def replace_provider(request: Request, provider_id: str, portal: SubmittedPortal) -> Response:
    service = portal.container.authentication_providers
    try:
        found = await service.get_as(portal.principal, provider_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    try:
        await service.replace_as(portal.principal, provider_id, provider_input(_provider_body(portal)))
    except ManagementError as exc:
        errors = FormErrors.of(exc, nested={name: name for name in PROVIDER_LISTS})
        return await _provider_page(
            portal, request, provider=found, values=portal.echo(), errors=errors, status=exc.status
        )
    return redirect(f"/authentication/providers/{provider_id}", "saved")


@router.post("/authentication/providers/{provider_id}/delete")
async def delete_provider(request: Request, provider_id: str, portal: SubmittedPortal) -> Response:
    try:
        await portal.container.authentication_providers.delete_as(portal.principal, provider_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect("/authentication", "deleted")


def _client_values(client: WalletClient) -> dict[str, Any]:
    values: dict[str, Any] = {
        "clientId": client.client_id,
        "clientName": client.client_name or "",
        "redirectUris": "\n".join(client.redirect_uris),
        "rootCertificates": "".join(encode_pem(der) for der in client.attestation_roots),
    }
    for key, grant in GRANTS.items():
        if grant in client.grant_types:
            values[f"grant-{key}"] = "on"
    if client.dpop_required:
        values["dpopRequired"] = "on"
    return values


def _client_page(
    portal: Portal,
    request: Request,
    *,
    client: WalletClient | None,
    values: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": f"Wallet client {client.client_id}" if client else "New wallet client",
        "client": client,
        "grants": GRANTS,
        "values": values,
        "errors": errors or FormErrors(),
        "can_write": portal.can(ISSUERS),
    }
    return render(portal, request, "wallet_client_form.html", context, status=status, section="access")


def _client_body(portal: Portal, *, creating: bool) -> WalletClientBody:
    roots = pem_blocks(portal.field("rootCertificates"))
    body: dict[str, Any] = {
        "clientName": portal.optional("clientName"),
        "redirectUris": lines(portal.field("redirectUris")),
        "grantTypes": [grant for key, grant in GRANTS.items() if portal.checked(f"grant-{key}")],
        "clientAttestation": {"rootCertificates": roots, "dpopRequired": portal.checked("dpopRequired")}
        if roots or portal.checked("dpopRequired")
        else None,
    }
    if creating:
        body["clientId"] = portal.optional("clientId")
    return parse_body(WalletClientBody, body)


# An error about ``clientAttestation`` as a whole (DPoP required without certificates) is about the certificates.
CLIENT_FIELDS = {
    "redirectUris": "redirectUris",
    "grantTypes": "grantTypes",
    "clientAttestation.rootCertificates": "rootCertificates",
    "clientAttestation.dpopRequired": "dpopRequired",
    "clientAttestation": "rootCertificates",
}


@router.get("/authentication/wallet-clients/new")
async def new_wallet_client(request: Request, portal: CurrentPortal) -> HTMLResponse:
    return _client_page(portal, request, client=None, values={"grant-authorization_code": "on"})


@router.post("/authentication/wallet-clients/new")
async def create_wallet_client(request: Request, portal: SubmittedPortal) -> Response:
    try:
        created = await portal.container.wallet_clients.create_as(
            portal.principal, client_input(_client_body(portal, creating=True))
        )
    except ManagementError as exc:
        errors = FormErrors.of(exc, nested=CLIENT_FIELDS)
        return _client_page(portal, request, client=None, values=portal.echo(), errors=errors, status=exc.status)
    return redirect(f"/authentication/wallet-clients/{created.id}", "created")


@router.get("/authentication/wallet-clients/{client_id}")
async def wallet_client(request: Request, client_id: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        found = await portal.container.wallet_clients.get_as(portal.principal, client_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return _client_page(portal, request, client=found, values=_client_values(found))


@router.post("/authentication/wallet-clients/{client_id}")
async def replace_wallet_client(request: Request, client_id: str, portal: SubmittedPortal) -> Response:
    service = portal.container.wallet_clients
    try:
        found = await service.get_as(portal.principal, client_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    try:
        await service.replace_as(portal.principal, client_id, client_input(_client_body(portal, creating=False)))
    except ManagementError as exc:
        errors = FormErrors.of(exc, nested=CLIENT_FIELDS)
        values = portal.echo() | {"clientId": found.client_id}
        return _client_page(portal, request, client=found, values=values, errors=errors, status=exc.status)
    return redirect(f"/authentication/wallet-clients/{client_id}", "saved")


@router.post("/authentication/wallet-clients/{client_id}/delete")
async def delete_wallet_client(request: Request, client_id: str, portal: SubmittedPortal) -> Response:
    try:
        await portal.container.wallet_clients.delete_as(portal.principal, client_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect("/authentication", "deleted")
