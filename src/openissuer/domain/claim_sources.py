"""Claims sources (reference platform §6): an issuer's own HTTP endpoint that openissuer asks for claims while it
issues a credential, and how openissuer authenticates to it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class RequestMethod(enum.StrEnum):
    """How the parameters travel: GET in the query string, POST as a JSON object body."""

    GET = "GET"
    POST = "POST"


class AuthorizationType(enum.StrEnum):
    """Reference §6.1 ``authorization.type``."""

    API_KEY = "api-key"
    OAUTH_CLIENT_CREDENTIALS = "oauth-client-credentials"


@dataclass(frozen=True)
class ApiKeyAuthorization:
    """``x-api-key: <value>`` on every call; the value is sealed under the master key."""

    sealed_value: bytes
    hint: str


@dataclass(frozen=True)
class OAuthClientCredentials:
    """An access token obtained by client credentials (RFC 6749 §4.4) from ``token_endpoint``, sent as
    ``Authorization: <token_type> <access_token>``; the client secret is sealed under the master key."""

    token_endpoint: str
    client_id: str
    sealed_client_secret: bytes
    hint: str
    token_endpoint_auth_method: str = "client_secret_basic"
    audience: str | None = None


ClaimSourceAuthorization = ApiKeyAuthorization | OAuthClientCredentials


@dataclass(frozen=True)
class ClaimSource:
    """One tenant's claims source.

    ``request_parameters`` keeps the submitted wire form (``{name: {mapFrom?, defaultValue?}}``), validated on the
    way in and parsed again where it is used. ``strict`` (an openissuer extension) makes any failure of the source
    fail the issuance, instead of the reference behaviour of carrying on without its claims.
    """

    id: str
    tenant_id: str
    name: str
    url: str
    request_method: RequestMethod
    request_parameters: dict[str, Any]
    authorization: ClaimSourceAuthorization
    created_at: datetime
    updated_at: datetime
    strict: bool = False

    @property
    def authorization_type(self) -> AuthorizationType:
        """The wire name of the authorization kind."""
        if isinstance(self.authorization, ApiKeyAuthorization):
            return AuthorizationType.API_KEY
        return AuthorizationType.OAUTH_CLIENT_CREDENTIALS
