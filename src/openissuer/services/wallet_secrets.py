"""Random wallet-facing secrets (codes, tokens, nonces) and how they are stored: as SHA-256 hashes.

These values carry 256 bits of entropy, so a plain hash is enough to make a stolen table useless; low-entropy
transaction codes are keyed (``SecretBox.mac``) instead.
"""

from __future__ import annotations

import base64
import hashlib
import secrets


def new_secret() -> str:
    """Return 256 random bits, base64url without padding (43 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def hash_secret(value: str) -> bytes:
    """Return the SHA-256 of a secret, the only form in which it is stored."""
    return hashlib.sha256(value.encode()).digest()
