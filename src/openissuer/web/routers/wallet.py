"""Wallet-facing OID4VCI endpoints: token, nonce, credential, notification and offers by reference.

Thin: each parses the HTTP request into the protocol's typed request, calls one service, renders the result.
Errors are OID4VCI/OAuth error bodies with ``Cache-Control: no-store`` (web/errors.py).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from openissuer.errors import (
    InvalidCredentialRequestError,
    InvalidNotificationRequestError,
    InvalidRequestError,
    InvalidTokenError,
    OAuthError,
    OAuthNotFoundError,
)
from openissuer.protocol.credential_request import CredentialRequest, parse_credential_request
from openissuer.protocol.endpoints import (
    CREDENTIAL_OFFER_PATH,
    CREDENTIAL_PATH,
    NONCE_PATH,
    NOTIFICATION_PATH,
    TOKEN_PATH,
)
from openissuer.protocol.notification import parse_notification_request
from openissuer.protocol.token_request import parse_token_request
from openissuer.web.deps import ContainerDep, WalletTenantDep
from openissuer.web.errors import NO_STORE

router = APIRouter(tags=["OID4VCI (wallets)"])

_TOKEN_FORM = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {
            "type": "string",
            "enum": ["urn:ietf:params:oauth:grant-type:pre-authorized_code", "authorization_code"],
        },
        "pre-authorized_code": {"type": "string"},
        "tx_code": {"type": "string"},
        "authorization_details": {"type": "string", "description": "JSON array of openid_credential entries"},
        "code": {"type": "string"},
        "redirect_uri": {"type": "string"},
        "client_id": {"type": "string"},
        "code_verifier": {"type": "string"},
    },
}
_CREDENTIAL_REQUEST = {
    "type": "object",
    "required": ["proofs"],
    "properties": {
        "credential_configuration_id": {"type": "string"},
        "credential_identifier": {"type": "string"},
        "proofs": {
            "type": "object",
            "properties": {"jwt": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
            "description": "One openid4vci-proof+jwt per credential",
        },
    },
}
_NOTIFICATION_REQUEST = {
    "type": "object",
    "required": ["notification_id", "event"],
    "properties": {
        "notification_id": {"type": "string"},
        "event": {"type": "string", "enum": ["credential_accepted", "credential_failure", "credential_deleted"]},
        "event_description": {"type": "string"},
    },
}


def _body(media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}


_OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "OAuth / OID4VCI error `{error, error_description}`"},
    401: {"description": "`invalid_token`"},
}


def _form_field_errors(form: Any) -> None:
    """RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once"."""
    for key in form:
        if len(form.getlist(key)) > 1:
            raise InvalidRequestError(f"{key} appears more than once")


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


@router.post(
    TOKEN_PATH,
    summary="Token endpoint",
    description="`application/x-www-form-urlencoded`. Pre-authorized Code: `grant_type=urn:ietf:params:oauth:"
    "grant-type:pre-authorized_code`, `pre-authorized_code`, `tx_code` (when the offer has one), optional "
    "`authorization_details`; anonymous. Authorization Code: `grant_type=authorization_code`, `code`, "
    "`redirect_uri`, `client_id`, `code_verifier`.",
    responses=_OAUTH_ERRORS,
    openapi_extra=_body("application/x-www-form-urlencoded", _TOKEN_FORM),
)
async def token(request: Request, container: ContainerDep, tenant: WalletTenantDep) -> JSONResponse:
    if _media_type(request) != "application/x-www-form-urlencoded":
        raise InvalidRequestError("The token request must be application/x-www-form-urlencoded")
    form = await request.form()
    _form_field_errors(form)
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    parsed = parse_token_request(fields, authorization_code_enabled=True)
    response = await container.tokens.exchange(parsed, tenant.id)
    return JSONResponse(response, headers={**NO_STORE, "Pragma": "no-cache"})


@router.post(NONCE_PATH, summary="Nonce endpoint: a fresh c_nonce for proofs")
async def nonce(container: ContainerDep, tenant: WalletTenantDep) -> JSONResponse:
    return JSONResponse({"c_nonce": container.nonces.create_nonce(tenant.id)}, headers=NO_STORE)


def _bearer(request: Request) -> str | None:
    """Return the bearer token of the Authorization header (RFC 6750 §2.1; never from the query or body)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError(
            "Use Authorization: Bearer <access token>", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    return token.strip()


async def _json_body(request: Request, error: type[OAuthError]) -> Any:
    if _media_type(request) != "application/json":
        raise error("The request must be application/json")
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise error("The request body is not valid JSON") from exc


@router.post(
    CREDENTIAL_PATH,
    summary="Credential endpoint",
    description="`Authorization: Bearer <access token>`; JSON `{credential_configuration_id | "
    "credential_identifier, proofs: {jwt: [...]}}`. One credential per proof, up to `batch_size`.",
    responses=_OAUTH_ERRORS,
    openapi_extra=_body("application/json", _CREDENTIAL_REQUEST),
)
async def credential(request: Request, container: ContainerDep, tenant: WalletTenantDep) -> JSONResponse:
    access_token = _bearer(request)
    parsed: CredentialRequest | OAuthError
    try:
        body = await _json_body(request, InvalidCredentialRequestError)
        parsed = parse_credential_request(body, batch_size=container.batch_size)
    except OAuthError as exc:  # reported after the token is checked, as RFC 6750 orders it
        parsed = exc
    return JSONResponse(await container.issuance.issue_credential(tenant, access_token, parsed), headers=NO_STORE)


@router.post(
    NOTIFICATION_PATH,
    status_code=204,
    summary="Notification endpoint",
    responses=_OAUTH_ERRORS,
    openapi_extra=_body("application/json", _NOTIFICATION_REQUEST),
)
async def notification(request: Request, container: ContainerDep, tenant: WalletTenantDep) -> Response:
    context = await container.issuance.grant_state(tenant, _bearer(request))
    body = await _json_body(request, InvalidNotificationRequestError)
    await container.notifications.notify(context, parse_notification_request(body))
    return Response(status_code=204, headers=NO_STORE)


@router.get(
    CREDENTIAL_OFFER_PATH + "/{reference}",
    summary="A Credential Offer passed by reference (credential_offer_uri)",
    responses={404: {"description": "Unknown, redeemed, revoked or expired"}},
)
async def credential_offer(reference: str, container: ContainerDep, tenant: WalletTenantDep) -> JSONResponse:
    offer = await container.offers.offer_by_reference(tenant, reference)
    if offer is None:
        raise OAuthNotFoundError("Unknown, redeemed, revoked or expired offer")
    return JSONResponse(offer, headers=NO_STORE)
