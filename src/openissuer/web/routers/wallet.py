"""Wallet-facing OID4VCI endpoints: token, nonce, credential, notification and offers by reference.

The hot ones are answered by the plain handlers of ``web/wallet_http.py`` before a request reaches FastAPI; these
routes describe them in OpenAPI and call the same handlers. Errors are OID4VCI/OAuth error bodies with
``Cache-Control: no-store`` (web/errors.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openissuer.bootstrap import Container
from openissuer.errors import InvalidNotificationRequestError
from openissuer.protocol.endpoints import (
    CREDENTIAL_OFFER_PATH,
    CREDENTIAL_PATH,
    NONCE_PATH,
    NOTIFICATION_PATH,
    TOKEN_PATH,
)
from openissuer.protocol.notification import parse_notification_request
from openissuer.services.dpop import SenderConstraint, verify_sender_constraint
from openissuer.web import wallet_http
from openissuer.web.deps import ContainerDep, WalletTenantDep
from openissuer.web.errors import NO_STORE
from openissuer.web.wallet_http import Handler, access_token_of, header_list, parse_json, request_of

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
    "properties": {
        "credential_configuration_id": {"type": "string"},
        "credential_identifier": {"type": "string"},
        "format": {"type": "string", "description": "Draft-era request: the format, with doctype or vct"},
        "doctype": {"type": "string"},
        "vct": {"type": "string"},
        "proof": {
            "type": "object",
            "properties": {"proof_type": {"const": "jwt"}, "jwt": {"type": "string"}},
            "description": "Draft-era request: one proof",
        },
        "proofs": {
            "type": "object",
            "properties": {
                "jwt": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "attestation": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 1},
            },
            "description": "One openid4vci-proof+jwt per credential (a key_attestation header: one per attested "
            "key), or one key attestation (one credential per attested key)",
        },
        "credential_response_encryption": {
            "type": "object",
            "properties": {"jwk": {"type": "object"}, "enc": {"type": "string", "enum": ["A128GCM", "A256GCM"]}},
            "description": "Only in an encrypted request (application/jwt); the response is then a JWE",
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


def _body(media_type: str, schema: dict[str, Any], *, encrypted: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {media_type: {"schema": schema}}
    if encrypted:
        content["application/jwt"] = {"schema": {"type": "string", "description": "A JWE of the JSON request"}}
    return {"requestBody": {"required": True, "content": content}}


_OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "OAuth / OID4VCI error `{error, error_description}`"},
    401: {"description": "`invalid_token`"},
}


async def serve(handler: Handler, request: Request, container: Container) -> Response:
    """Answer through a plain wallet handler (``web/wallet_http.py``); requests normally reach it before FastAPI,
    so these routes are its OpenAPI description and a fallback."""
    wallet_request = request_of(request.scope, await request.body())
    response = await handler(container, wallet_request)
    return Response(response.body, response.status, response.headers, media_type=response.media_type.decode())


@router.post(
    TOKEN_PATH,
    summary="Token endpoint",
    description="`application/x-www-form-urlencoded`. Pre-authorized Code: `grant_type=urn:ietf:params:oauth:"
    "grant-type:pre-authorized_code`, `pre-authorized_code`, `tx_code` (when the offer has one), optional "
    "`authorization_details` and `client_id`; anonymous unless the tenant requires wallet attestation. "
    "Authorization Code: `grant_type=authorization_code`, `code`, `redirect_uri`, `client_id`, `code_verifier`. "
    "A `DPoP` header binds the token (`token_type: DPoP`, RFC 9449; `use_dpop_nonce` asks for the nonce in "
    "`DPoP-Nonce`); `OAuth-Client-Attestation` and `-PoP` authenticate the client. See docs/security.md.",
    responses=_OAUTH_ERRORS,
    openapi_extra=_body("application/x-www-form-urlencoded", _TOKEN_FORM),
)
async def token(request: Request, container: ContainerDep) -> Response:
    return await serve(wallet_http.token, request, container)


@router.post(NONCE_PATH, summary="Nonce endpoint: a fresh c_nonce for proofs", response_class=Response)
async def nonce(request: Request, container: ContainerDep) -> Response:
    return await serve(wallet_http.nonce, request, container)


@router.post(
    CREDENTIAL_PATH,
    summary="Credential endpoint",
    description="`Authorization: Bearer <access token>`, or `DPoP <access token>` with a `DPoP` proof for a "
    "DPoP-bound token; JSON `{credential_configuration_id | credential_identifier, proofs: {jwt: [...]} | "
    "{attestation: [...]}}`, or that JSON encrypted as `application/jwt` (then `credential_response_encryption` "
    "may ask for an encrypted response). One credential per proof (or attested key), up to `batch_size`; a bearer "
    "credential format needs no proof. The draft-era request of the reference platform's SDKs, `{format, "
    "doctype | vct, proof: {proof_type: jwt, jwt}}`, is answered with `{format, credential}`. Every 401 carries "
    "`WWW-Authenticate`.",
    responses=_OAUTH_ERRORS,
    openapi_extra=_body("application/json", _CREDENTIAL_REQUEST, encrypted=True),
    response_class=Response,
)
async def credential(request: Request, container: ContainerDep) -> Response:
    return await serve(wallet_http.credential, request, container)


@router.post(
    NOTIFICATION_PATH,
    status_code=204,
    summary="Notification endpoint",
    responses=_OAUTH_ERRORS,
    openapi_extra=_body("application/json", _NOTIFICATION_REQUEST),
)
async def notification(request: Request, container: ContainerDep, tenant: WalletTenantDep) -> Response:
    wallet_request = request_of(request.scope, await request.body())
    scheme, access_token = access_token_of(wallet_request)
    sender = None
    if scheme == "dpop":
        proof = container.wallet_auth.dpop.verify(
            tenant.id,
            header_list(wallet_request, "dpop"),
            method="POST",
            url=tenant.endpoints.notification,
            access_token=access_token,
            at_resource=True,
        )
        sender = SenderConstraint("dpop", proof)
    context = await container.issuance.grant_state(tenant, access_token)
    policy = await container.wallet_policies.at_version(tenant.id, context.config_version)
    verify_sender_constraint(context.grant, sender, policy, frozenset())  # notifications are idempotent
    body = parse_json(wallet_request, InvalidNotificationRequestError)
    await container.notifications.notify(context, parse_notification_request(body))
    return Response(status_code=204, headers=NO_STORE)


@router.get(
    CREDENTIAL_OFFER_PATH + "/{reference}",
    summary="A Credential Offer passed by reference (credential_offer_uri)",
    responses={404: {"description": "Unknown, redeemed, revoked or expired"}},
    response_class=Response,
)
async def credential_offer(reference: str, request: Request, container: ContainerDep) -> Response:
    return await serve(wallet_http.credential_offer, request, container)
