"""Hashing of API client secrets with scrypt (RFC 7914), so a stolen database does not reveal them."""

from __future__ import annotations

import hashlib
import hmac

from openissuer.crypto.base64url import decode_base64url, encode_base64url

_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_SCHEME = "scrypt"


def hash_client_secret(secret: str, salt: bytes) -> str:
    """Return ``scrypt$n$r$p$salt$hash`` for ``secret``; ``salt`` must be random and at least 16 bytes."""
    if len(salt) < _SALT_BYTES:
        raise ValueError("salt must be at least 16 bytes")
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"{_SCHEME}${_N}${_R}${_P}${encode_base64url(salt)}${encode_base64url(digest)}"


def verify_client_secret(secret: str, stored: str) -> bool:
    """Tell whether ``secret`` matches ``stored``, comparing in constant time; a malformed hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = decode_base64url(digest)
        actual = hashlib.scrypt(
            secret.encode(), salt=decode_base64url(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
