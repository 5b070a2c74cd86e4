"""PKCE (RFC 7636) with S256 only: "plain" offers no protection against a stolen code and is refused."""

from __future__ import annotations

import hashlib
import hmac
import re

from openissuer.crypto.base64url import encode_base64url
from openissuer.errors import InvalidGrantError, InvalidRequestError

S256 = "S256"
# §4.1: code_verifier = 43*128unreserved; a challenge is base64url(SHA-256(verifier)) = 43 characters.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def create_code_challenge(verifier: str) -> str:
    """Return the S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return encode_base64url(digest)


def verify_challenge_parameters(challenge: str | None, method: str | None) -> str:
    """Check the authorization request's PKCE parameters; return the challenge (RFC 7636 §4.4.1)."""
    if not challenge:
        raise InvalidRequestError("code_challenge is required (PKCE)")
    if method != S256:
        raise InvalidRequestError("code_challenge_method must be S256")
    if not _CHALLENGE.match(challenge):
        raise InvalidRequestError("code_challenge is not a base64url SHA-256 value")
    return challenge


def verify_code_verifier(verifier: str | None, challenge: str) -> None:
    """Check the token request's verifier against the stored challenge (RFC 7636 §4.6), in constant time."""
    if not verifier or not _VERIFIER.match(verifier):
        raise InvalidGrantError("code_verifier is missing or malformed")
    if not hmac.compare_digest(create_code_challenge(verifier), challenge):
        raise InvalidGrantError("code_verifier does not match the code_challenge")
