"""Where the wallet-facing endpoints live, relative to the credential issuer's public URL."""

from __future__ import annotations

from dataclasses import dataclass

TOKEN_PATH = "/v1/oauth/token"
AUTHORIZE_PATH = "/v1/oauth/authorize"
PAR_PATH = "/v1/oauth/par"
CALLBACK_PATH = "/v1/oauth/authentication/callback"
INTERACTION_HOOK_CALLBACK_PATH = "/v1/oauth/interaction-hook/callback"
NONCE_PATH = "/v1/openid/nonce"
CREDENTIAL_PATH = "/v1/openid/credential"
NOTIFICATION_PATH = "/v1/openid/notification"
CREDENTIAL_OFFER_PATH = "/v1/openid/credential-offers"
ISSUER_METADATA_NAME = "openid-credential-issuer"
AS_METADATA_NAME = "oauth-authorization-server"


@dataclass(frozen=True)
class IssuerEndpoints:
    """Absolute URLs of one credential issuer's endpoints (its identifier is ``issuer``, no trailing slash)."""

    issuer: str

    @property
    def token(self) -> str:
        return self.issuer + TOKEN_PATH

    @property
    def authorize(self) -> str:
        return self.issuer + AUTHORIZE_PATH

    @property
    def pushed_authorization_request(self) -> str:
        return self.issuer + PAR_PATH

    @property
    def authentication_callback(self) -> str:
        return self.issuer + CALLBACK_PATH

    @property
    def interaction_hook_callback(self) -> str:
        return self.issuer + INTERACTION_HOOK_CALLBACK_PATH

    @property
    def nonce(self) -> str:
        return self.issuer + NONCE_PATH

    @property
    def credential(self) -> str:
        return self.issuer + CREDENTIAL_PATH

    @property
    def notification(self) -> str:
        return self.issuer + NOTIFICATION_PATH

    def credential_offer(self, reference: str) -> str:
        """Return the ``credential_offer_uri`` of an offer reference."""
        return f"{self.issuer}{CREDENTIAL_OFFER_PATH}/{reference}"
