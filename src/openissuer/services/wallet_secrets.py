"""Random wallet-facing secrets (codes, tokens, nonces) and how they are stored: as SHA-256 digests.

These values carry 256 bits of entropy, so a plain hash is enough to make a stolen table useless; low-entropy
transaction codes are keyed (``SecretBox.mac``) instead, and management API client secrets use scrypt
(``crypto/secret_hash.py``).
"""

from __future__ import annotations

import hashlib
import secrets

from openissuer.crypto.base64url import encode_base64url


def new_secret() -> str:
    """Return 256 random bits, base64url without padding (43 characters)."""
    return encode_base64url(secrets.token_bytes(32))


def digest_secret(value: str) -> bytes:
    """Return the SHA-256 of a secret, the only form in which it is stored."""
    return hashlib.sha256(value.encode()).digest()
