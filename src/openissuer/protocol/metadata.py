"""Credential Issuer metadata (OID4VCI 1.0 §12.2) and Authorization Server metadata (RFC 8414 + OID4VCI §12.3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openissuer.protocol.endpoints import IssuerEndpoints

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def create_issuer_metadata(
    endpoints: IssuerEndpoints,
    configurations: Mapping[str, Mapping[str, Any]],
    *,
    batch_size: int,
    display_name: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the issuer metadata document: only endpoints that work are listed.

    ``credential_issuer`` equals the identifier the wallet built the URL from (§12.2.3: compared as strings).
    ``extra`` holds what the tenant's credential formats add (e.g. ``mdoc_iacas_uri``).
    """
    metadata: dict[str, Any] = {
        "credential_issuer": endpoints.issuer,
        "credential_endpoint": endpoints.credential,
        "nonce_endpoint": endpoints.nonce,
        "notification_endpoint": endpoints.notification,
        "credential_configurations_supported": {key: dict(value) for key, value in configurations.items()},
    }
    if batch_size >= 2:  # §12.2.4: batch_size "MUST be 2 or greater"; absent means one proof per request
        metadata["batch_credential_issuance"] = {"batch_size": batch_size}
    if display_name:
        metadata["display"] = [{"name": display_name}]
    if extra:
        metadata.update(extra)
    return metadata


def create_authorization_server_metadata(
    endpoints: IssuerEndpoints, *, authorization_code_scopes: list[str] | None = None
) -> dict[str, Any]:
    """Return the AS metadata (RFC 8414) of the issuer acting as its own authorization server.

    ``authorization_code_scopes`` None means the Authorization Code flow is not available (no identity provider),
    so none of its endpoints are advertised.
    """
    metadata: dict[str, Any] = {
        "issuer": endpoints.issuer,
        "token_endpoint": endpoints.token,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": True,
        "authorization_details_types_supported": ["openid_credential"],
    }
    if authorization_code_scopes is not None:
        metadata.update(
            authorization_endpoint=endpoints.authorize,
            pushed_authorization_request_endpoint=endpoints.pushed_authorization_request,
            require_pushed_authorization_requests=False,
            response_types_supported=["code"],
            response_modes_supported=["query", "fragment"],
            code_challenge_methods_supported=["S256"],
            authorization_response_iss_parameter_supported=True,
            scopes_supported=authorization_code_scopes,
        )
        metadata["grant_types_supported"] = ["authorization_code", PRE_AUTHORIZED_GRANT]
    return metadata


def create_wallet_security_metadata(
    endpoints: IssuerEndpoints,
    *,
    haip: bool,
    attestation: bool,
    attestation_required: bool,
    par_required: bool,
    authorization_code: bool,
) -> dict[str, Any]:
    """Return the AS metadata members of DPoP (RFC 9449 §5.1), wallet attestation (ABCA §13.4) and PAR (RFC 9126
    §5) for a tenant's policy; ``attestation`` tells whether trust anchors exist (the method is usable)."""
    members: dict[str, Any] = {"dpop_signing_alg_values_supported": ["ES256"]}
    methods = [] if attestation_required else ["none"]
    if attestation:
        methods.append("attest_jwt_client_auth")
        members.update(
            client_attestation_signing_alg_values_supported=["ES256"],
            client_attestation_pop_signing_alg_values_supported=["ES256"],
            challenge_endpoint=endpoints.challenge,
        )
    members["token_endpoint_auth_methods_supported"] = methods
    members["pre-authorized_grant_anonymous_access_supported"] = not attestation_required
    if authorization_code:
        members["require_pushed_authorization_requests"] = par_required
    if haip:
        members["code_challenge_methods_supported"] = ["S256"]
    return members
