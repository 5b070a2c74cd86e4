"""Compact HS256 JWTs (RFC 7519) for tokens openissuer issues to itself, such as management access tokens.

The key is derived from the master key per purpose with HKDF (RFC 5869), so one leaked token key does not reveal
the master key or the keys of other purposes.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey


class HmacJwtError(ValueError):
    """The token is malformed or its signature does not verify."""


def derive_key(master_key: bytes, purpose: str) -> bytes:
    """Derive a 32-byte key for ``purpose`` from the master key (HKDF-SHA256, info = purpose)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master_key)


class HmacJwtCodec:
    """Sign and verify HS256 JWTs with one key; checks the signature only — callers check the claims."""

    def __init__(self, key: bytes) -> None:
        self._key = OctKey.import_key(key)

    def encode(self, claims: dict[str, Any]) -> str:
        """Return a compact JWS over ``claims``."""
        return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, self._key, algorithms=["HS256"])

    def decode(self, token: str) -> dict[str, Any]:
        """Return the claims of a token whose HS256 signature verifies; raise HmacJwtError otherwise."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=["HS256"])
        except (JoseError, ValueError, TypeError) as exc:
            raise HmacJwtError("token does not verify") from exc
        if decoded.header.get("alg") != "HS256" or not isinstance(decoded.claims, dict):
            raise HmacJwtError("unexpected token header")
        return dict(decoded.claims)
