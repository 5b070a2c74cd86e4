"""Authorization requests (RFC 6749 §4.1.1, OID4VCI 1.0 §5.1, RFC 9396, RFC 9126) and their error redirects.

Parsing happens in two steps, as RFC 6749 §4.1.2.1 demands: first the client and the redirect URI (failures are
shown to the person, never redirected), then everything else (failures go back to the validated redirect URI).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from openissuer.errors import InvalidAuthorizationDetailsError, InvalidRequestError, InvalidScopeError, OAuthError
from openissuer.protocol.pkce import verify_challenge_parameters
from openissuer.protocol.token_request import parse_authorization_details

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
QUERY = "query"
FRAGMENT = "fragment"
RESPONSE_MODES = (QUERY, FRAGMENT)
# The longest ``state`` and ``issuer_state`` taken: both are stored with the sign-in (or the pushed request) and
# echoed in redirects; a wallet's state is a short random value, and an anonymous caller must not be able to store
# kilobytes per request.
MAX_STATE_LENGTH = 2048
# An RFC 7638 JWK SHA-256 thumbprint, base64url without padding: 32 bytes are 43 characters, the last one holding
# 4 bits (so one of AEIMQUYcgkosw048).
_JKT = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")


class UnsupportedResponseTypeError(OAuthError):
    """RFC 6749 §4.1.2.1 ``unsupported_response_type``."""

    code = "unsupported_response_type"


class UnregisteredRedirectUriError(InvalidRequestError):
    """The client is registered, but not with this redirect URI."""


@dataclass(frozen=True)
class RequestedCredentials:
    """What the wallet asked for: configuration ids, and whether through ``authorization_details``."""

    configuration_ids: tuple[str, ...]
    by_authorization_details: bool


# Schemes a browser runs or reads locally instead of handing to an application: never a redirect URI (a link to
# one on an issuer page would run in the issuer's origin).
_FORBIDDEN_SCHEMES = frozenset({"javascript", "vbscript", "data", "file", "blob", "about", "filesystem"})


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be a redirect URI (RFC 6749 §3.1.2: absolute, no fragment; RFC 9700 §4.1: nothing a
    browser would run), or None when it can be one."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return "must be an absolute URI"
    if not parts.scheme or parts.fragment or (parts.scheme in ("http", "https") and not parts.netloc):
        return "must be an absolute URI without a fragment"
    if parts.scheme in _FORBIDDEN_SCHEMES:
        return f"the {parts.scheme} scheme cannot be a redirect URI"
    return None


def verify_redirect_uri(requested: str | None, registered: tuple[str, ...] | None) -> str:
    """Return the redirect URI if it exactly equals a registered one (RFC 9700 §4.1.3: exact string matching).

    ``registered`` None means an unregistered public client is allowed (development): any absolute URI without a
    fragment is accepted, except one a browser would run (``javascript:``, ``data:``, ...).
    """
    if not requested:
        raise InvalidRequestError("redirect_uri is required")
    if registered is not None:
        if requested not in registered:
            raise UnregisteredRedirectUriError("redirect_uri is not registered for this client")
        return requested
    problem = redirect_uri_problem(requested)
    if problem is not None:
        raise InvalidRequestError(f"redirect_uri {problem}")
    return requested


def parse_requested_credentials(
    params: Mapping[str, str], scopes: Mapping[str, str], known_configuration_ids: frozenset[str]
) -> RequestedCredentials:
    """Resolve ``authorization_details`` (wins) and ``scope`` to configuration ids (OID4VCI §5.1.1-5.1.2).

    Unknown scope values are ignored ("each scope interpreted individually"); nothing known at all is invalid_scope.
    """
    details = params.get("authorization_details")
    if details:
        ids = _parse_details(details, known_configuration_ids)
        return RequestedCredentials(configuration_ids=ids, by_authorization_details=True)
    requested = (params.get("scope") or "").split()
    ids = tuple(dict.fromkeys(scopes[s] for s in requested if s in scopes))
    if not ids:
        raise InvalidScopeError("Ask for a credential with a scope or authorization_details from the metadata")
    return RequestedCredentials(configuration_ids=ids, by_authorization_details=False)


def _parse_details(raw: str, known: frozenset[str]) -> tuple[str, ...]:
    """The token request's parser (strict JSON: depth, duplicates, a string id per entry), then known ids only."""
    ids = parse_authorization_details(raw)
    if any(configuration_id not in known for configuration_id in ids):
        raise InvalidAuthorizationDetailsError("Unknown credential_configuration_id in authorization_details")
    return ids


def verify_state_lengths(params: Mapping[str, str]) -> None:
    """Refuse a ``state`` or ``issuer_state`` longer than ``MAX_STATE_LENGTH`` characters (``invalid_request``)."""
    for name in ("state", "issuer_state"):
        value = params.get(name)
        if value is not None and len(value) > MAX_STATE_LENGTH:
            raise InvalidRequestError(f"{name} is longer than {MAX_STATE_LENGTH} characters")


def verify_response_type(params: Mapping[str, str]) -> None:
    """Only the authorization code flow is offered."""
    if params.get("response_type") != "code":
        raise UnsupportedResponseTypeError("response_type must be code")


def verify_pkce_parameters(params: Mapping[str, str]) -> str:
    """Return the S256 code challenge (PKCE is mandatory, plain refused)."""
    return verify_challenge_parameters(params.get("code_challenge"), params.get("code_challenge_method"))


def parse_response_mode(params: Mapping[str, str]) -> str:
    """Return the response mode (OAuth 2.0 Multiple Response Type Encoding Practices §2.1): ``query`` (the
    default for ``code``) or ``fragment``; any other is ``invalid_request``."""
    mode = params.get("response_mode") or QUERY
    if mode not in RESPONSE_MODES:
        raise InvalidRequestError(f"response_mode must be one of {', '.join(RESPONSE_MODES)}")
    return mode


def parse_dpop_jkt(params: Mapping[str, str]) -> str | None:
    """Return the ``dpop_jkt`` parameter (RFC 9449 §10): the JWK SHA-256 thumbprint of the DPoP key the
    authorization code is to be bound to; None when absent."""
    jkt = params.get("dpop_jkt")
    if jkt is None:
        return None
    if _JKT.fullmatch(jkt) is None:
        raise InvalidRequestError("dpop_jkt must be the base64url JWK SHA-256 thumbprint of a DPoP key (RFC 9449)")
    return jkt


def create_redirect(redirect_uri: str, parameters: Mapping[str, str | None], *, response_mode: str = "query") -> str:
    """Return ``redirect_uri`` with ``parameters`` added to its query (RFC 6749 §4.1.2; existing query kept), or
    as its fragment when ``response_mode`` is ``fragment``."""
    parts = urlsplit(redirect_uri)
    extra = urlencode({k: v for k, v in parameters.items() if v is not None})
    if response_mode == FRAGMENT:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, extra))
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def create_error_redirect(
    redirect_uri: str, error: OAuthError, *, state: str | None, issuer: str, response_mode: str = "query"
) -> str:
    """Return the error redirect of RFC 6749 §4.1.2.1 with ``iss`` (RFC 9207)."""
    return create_redirect(
        redirect_uri,
        {"error": error.code, "error_description": error.description, "state": state, "iss": issuer},
        response_mode=response_mode,
    )
