"""The error tree (DESIGN.md §3).

Every error openissuer raises on purpose is an ``IssuerError``. ``description`` is public and may be shown to the
client; ``detail`` is for the log only. Exactly one handler in ``web/`` renders them.

Two families render differently:

- ``OAuthError`` subclasses (OAuth 2.0 / OID4VCI) render as ``{"error", "error_description"}`` with
  ``Cache-Control: no-store``; ``code`` is the spec's error string verbatim.
- ``ManagementError`` subclasses (the management API) render as ``{"code", "message", "details"}`` like the
  reference platform; ``code`` is ``BadRequest``, ``NotFound``, ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar


class IssuerError(Exception):
    """Base of every deliberate error: a public description, a private detail, a status and a code."""

    code: ClassVar[str] = "server_error"
    status: ClassVar[int] = 500

    def __init__(
        self,
        description: str,
        *,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})


# --- OAuth 2.0 / OID4VCI errors -------------------------------------------------------------------------------


class OAuthError(IssuerError):
    """An error of the OAuth 2.0 family: ``{"error": code, "error_description": description}``."""

    code = "invalid_request"
    status = 400


class InvalidRequestError(OAuthError):
    code = "invalid_request"


class InvalidClientError(OAuthError):
    """RFC 6749 §5.2: client authentication failed; 401."""

    code = "invalid_client"
    status = 401


class InvalidGrantError(OAuthError):
    code = "invalid_grant"


class UnauthorizedClientError(OAuthError):
    code = "unauthorized_client"


class UnsupportedGrantTypeError(OAuthError):
    code = "unsupported_grant_type"


class InvalidScopeError(OAuthError):
    code = "invalid_scope"


class InvalidTokenError(OAuthError):
    """RFC 6750 §3.1: the access token is missing, expired, revoked or malformed; 401."""

    code = "invalid_token"
    status = 401


class AccessDeniedError(OAuthError):
    """RFC 6749 §4.1.2.1 ``access_denied``: the holder's sign-in did not succeed."""

    code = "access_denied"


class InsufficientScopeError(OAuthError):
    code = "insufficient_scope"
    status = 403


class InvalidCredentialRequestError(OAuthError):
    """OID4VCI §8.3.1.2 ``invalid_credential_request``."""

    code = "invalid_credential_request"


class UnknownCredentialConfigurationError(OAuthError):
    """OID4VCI §8.3.1.2 ``unknown_credential_configuration``: the issuer does not know the requested id."""

    code = "unknown_credential_configuration"


class InvalidProofError(OAuthError):
    """OID4VCI §8.3.1.2 ``invalid_proof``: the proof is missing or fails a check of Appendix F."""

    code = "invalid_proof"


class InvalidNonceError(OAuthError):
    """OID4VCI §8.3.1.2 ``invalid_nonce``: the proof's ``c_nonce`` is unknown, used or expired."""

    code = "invalid_nonce"


class UnknownCredentialIdentifierError(OAuthError):
    """OID4VCI §8.3.1.2 ``unknown_credential_identifier``."""

    code = "unknown_credential_identifier"


class InvalidEncryptionParametersError(OAuthError):
    """OID4VCI §8.3.1.2 ``invalid_encryption_parameters``: encryption was asked for and is not available."""

    code = "invalid_encryption_parameters"


class InvalidAuthorizationDetailsError(OAuthError):
    """RFC 9396 §5 ``invalid_authorization_details``."""

    code = "invalid_authorization_details"


class InvalidNotificationIdError(OAuthError):
    """OID4VCI §11.3 ``invalid_notification_id``."""

    code = "invalid_notification_id"


class InvalidNotificationRequestError(OAuthError):
    """OID4VCI §11.3 ``invalid_notification_request``."""

    code = "invalid_notification_request"


class CredentialRequestDeniedError(OAuthError):
    """OID4VCI §8.3.1.2 ``credential_request_denied``: the credential cannot be issued as configured.

    "The Wallet SHOULD treat this error as unrecoverable." Raised e.g. for a required claim that has no value, for
    validity windows the profile forbids, or when no signing certificate can cover the credential's validity.
    """

    code = "credential_request_denied"


class TemporarilyUnavailableError(OAuthError):
    """RFC 6749 §4.1.2.1 ``temporarily_unavailable``: the server cannot answer now (e.g. its database stays busy)."""

    code = "temporarily_unavailable"
    status = 503


class InvalidDpopProofError(OAuthError):
    """RFC 9449 §5 ``invalid_dpop_proof`` at the token endpoint (400): the DPoP proof is missing, malformed,
    replayed or does not fit the request."""

    code = "invalid_dpop_proof"


class InvalidDpopProofAtResourceError(InvalidDpopProofError):
    """RFC 9449 §7.1 ``invalid_dpop_proof`` at a protected resource (the credential endpoint): 401 with a
    ``WWW-Authenticate: DPoP`` challenge."""

    status = 401


class UseDpopNonceError(OAuthError):
    """RFC 9449 §8 ``use_dpop_nonce`` at the token endpoint (400): retry with the nonce in ``DPoP-Nonce``."""

    code = "use_dpop_nonce"


class UseDpopNonceAtResourceError(UseDpopNonceError):
    """RFC 9449 §9 ``use_dpop_nonce`` at a protected resource: 401 with a ``WWW-Authenticate: DPoP`` challenge."""

    status = 401


class InvalidClientAttestationError(InvalidClientError):
    """Attestation-Based Client Authentication failed (``invalid_client``, 401): the wallet attestation or its
    proof of possession is missing, untrusted, expired, replayed or does not match."""


class UseAttestationChallengeError(OAuthError):
    """ABCA ``use_attestation_challenge`` (400): retry with the challenge in ``OAuth-Client-Attestation-Challenge``."""

    code = "use_attestation_challenge"


class TooManyRequestsError(OAuthError):
    """RFC 6585 §4: too many requests from this address, client or offer; 429 with ``Retry-After``."""

    code = "too_many_requests"
    status = 429


class OAuthNotFoundError(OAuthError):
    """A wallet-facing resource that does not exist, or no longer: e.g. a ``credential_offer_uri`` after the offer
    was redeemed, revoked or expired; 404 with an OAuth-shaped body (the caller is a wallet, not an API client).
    """

    code = "not_found"
    status = 404


class IdentityProviderError(IssuerError):
    """The upstream identity provider failed or answered something unacceptable; shown to the person as a page."""

    code = "access_denied"
    status = 502


class AuthorizationPageError(IssuerError):
    """An authorization request that cannot be answered by redirect (RFC 6749 §4.1.2.1: unknown client or
    redirect URI, unknown sign-in); shown to the person as a page. ``return_url`` is a link back to the wallet
    when one can safely be given.
    """

    code = "invalid_request"
    status = 400

    def __init__(self, title: str, description: str, *, return_url: str | None = None, detail: str | None = None):
        super().__init__(description, detail=detail)
        self.title = title
        self.return_url = return_url


class UnknownClientPageError(AuthorizationPageError):
    """The authorization request's ``client_id`` is not a registered client: 401 (reference §3.2: "401 client not
    recognised")."""

    status = 401


class ClientNotAllowedPageError(AuthorizationPageError):
    """A registered client asked with a redirect URI or grant it did not register: 403 (reference §3.2: "403
    client recognised but not allowed")."""

    status = 403


# --- Management API errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of a management error's ``details``: where the problem is and what it is."""

    location: str
    param: str
    msg: str
    value: Any = None


class ManagementError(IssuerError):
    """An error of the management API: ``{"code", "message", "details": [...]}``.

    ``oauth_error``, when set, adds RFC 6749 ``error`` / ``error_description`` members to the same body, for the
    management token endpoint whose callers may be generic OAuth 2.0 client-credentials libraries.
    """

    code = "BadRequest"
    status = 400
    oauth_error: ClassVar[str | None] = None

    def __init__(
        self,
        description: str,
        *,
        details: Sequence[ErrorDetail] = (),
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description, detail=detail, headers=headers)
        self.details: tuple[ErrorDetail, ...] = tuple(details)


class ValidationError(ManagementError):
    code = "BadRequest"
    status = 400


class UnauthorizedError(ManagementError):
    """Missing, invalid or expired management credentials; 401."""

    code = "Unauthorized"
    status = 401


class InvalidClientCredentialsError(UnauthorizedError):
    """The management token endpoint could not authenticate the client (RFC 6749 ``invalid_client``)."""

    oauth_error = "invalid_client"


class InvalidTokenRequestError(ValidationError):
    """The management token request is malformed (RFC 6749 ``invalid_request``)."""

    oauth_error = "invalid_request"


class UnsupportedManagementGrantError(ValidationError):
    """The management token endpoint only supports ``client_credentials``."""

    oauth_error = "unsupported_grant_type"


class ForbiddenError(ManagementError):
    """Authenticated, but the client's role does not permit the operation; 403."""

    code = "Forbidden"
    status = 403


class NotFoundError(ManagementError):
    """The resource does not exist in the caller's tenant (another tenant's object is also 404, never 403)."""

    code = "NotFound"
    status = 404

    @classmethod
    def for_id(cls, id: str) -> NotFoundError:
        """The reference platform's body for an unknown path id."""
        return cls("Resource Not Found", details=[ErrorDetail("params", "id", "Resource Not Found", id)])


class ConflictError(ManagementError):
    code = "Conflict"
    status = 409


class PayloadTooLargeError(ManagementError):
    """The request body is larger than the server accepts; 413."""

    code = "PayloadTooLarge"
    status = 413


class ServiceUnavailableError(ManagementError):
    code = "ServiceUnavailable"
    status = 503


# --- Claim mapping ----------------------------------------------------------------------------------------------


class ClaimMappingError(IssuerError):
    """A claim mapping could not produce a value: a required value is missing or cannot be coerced.

    ``namespace`` and ``claim`` name the mapping; the service that applies mappings decides how this reaches a
    client (a management ``ValidationError`` at configuration time, an OID4VCI error at issuance time).
    """

    code = "invalid_claims"
    status = 400

    def __init__(self, description: str, *, namespace: str | None, claim: str, detail: str | None = None) -> None:
        super().__init__(description, detail=detail)
        self.namespace = namespace
        self.claim = claim
