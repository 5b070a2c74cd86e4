"""The Authorization Code flow (OID4VCI 1.0 §5, reference platform §3, §5): the upstream identity provider,
the wallets allowed to ask, reusable offers, and the short-lived state of one holder's sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
DEFAULT_PROVIDER_SCOPE = ("openid", "profile", "email")


@dataclass(frozen=True)
class AuthenticationProvider:
    """The tenant's upstream OpenID Connect provider (one per tenant). The client secret is sealed."""

    id: str
    tenant_id: str
    url: str
    scope: tuple[str, ...]
    client_id: str
    sealed_client_secret: bytes
    secret_hint: str
    token_endpoint_auth_method: str
    static_request_parameters: dict[str, Any]
    forwarded_request_parameters: tuple[str, ...]
    claims_to_persist: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class WalletClient:
    """An OAuth client (a wallet) that may use the authorization endpoint; public clients authenticate with PKCE.

    ``attestation_roots`` (DER certificates), when set, require a wallet attestation chaining to one of them at
    PAR and the token endpoint (reference: ``clientAttestation.rootCertificates``); ``dpop_required`` requires DPoP
    of its token requests (``clientAttestation.dpopRequired``).
    """

    id: str
    tenant_id: str
    client_id: str
    client_name: str | None
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    token_endpoint_auth_method: str
    created_at: datetime
    attestation_roots: tuple[bytes, ...] = ()
    dpop_required: bool = False


@dataclass(frozen=True)
class AuthorizationOffer:
    """A reusable offer for the Authorization Code flow; its ``issuer_state`` links sign-ins back to it."""

    id: str
    tenant_id: str
    configuration_ids: tuple[str, ...]
    request_parameters: dict[str, Any]
    issuer_state: str
    created_at: datetime


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request: who asks, where the answer goes, and for what."""

    client_id: str
    redirect_uri: str
    state: str | None
    code_challenge: str
    configuration_ids: tuple[str, ...]
    by_authorization_details: bool
    issuer_state: str | None
    forwarded_parameters: dict[str, str]
    scope: str | None = None
    """The requested scope values that named configurations (echoed in the token response), None when none."""
    response_mode: str = "query"
    dpop_jkt: str | None = None
    """The thumbprint of the DPoP key the code is bound to (RFC 9449 §10: ``dpop_jkt``, or the PAR request's DPoP
    proof), None when unbound."""


@dataclass(frozen=True)
class AuthorizationSession:
    """One holder's sign-in in progress: the wallet's request and what openissuer sent the identity provider.

    Looked up by the hash of the ``state`` sent to the provider; ``idp_nonce`` and ``idp_code_verifier`` are
    random per session. Lives a few minutes. ``provider_id`` and ``provider_url`` name the provider the holder was
    sent to (None: a session stored before they were recorded); the callback is refused when the tenant's provider
    is no longer that one. ``completed_at`` is set when the callback takes the session, before anything else.
    """

    id: str
    tenant_id: str
    request: AuthorizationRequest
    idp_state_hash: bytes
    idp_nonce: str
    idp_code_verifier: str
    expires_at: datetime
    created_at: datetime
    completed_at: datetime | None = None
    provider_id: str | None = None
    provider_url: str | None = None


@dataclass(frozen=True)
class AuthorizationCode:
    """The single-use code sent to the wallet after sign-in (valid 60 s), with everything the token needs."""

    code_hash: bytes
    tenant_id: str
    session_id: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    configuration_ids: tuple[str, ...]
    by_authorization_details: bool
    user_id: str
    claims: dict[str, Any]
    provider_url: str
    subject_id: str
    expires_at: datetime
    created_at: datetime
    consumed_at: datetime | None = None
    scope: str | None = None
    dpop_jkt: str | None = None
    """The thumbprint of the DPoP key whose proof the token request must carry (RFC 9449 §10), None when unbound."""


@dataclass(frozen=True)
class PushedRequest:
    """A pushed authorization request (RFC 9126): its parameters under a single-use ``request_uri``."""

    request_uri_hash: bytes
    tenant_id: str
    client_id: str
    parameters: dict[str, str]
    expires_at: datetime
    created_at: datetime
