"""Ed25519 public JWKs (RFC 8037 §2): the ``OKP`` key type and its RFC 7638 thumbprint."""

from __future__ import annotations

import hashlib

from openissuer.crypto.base64url import encode_base64url

ED25519_PUBLIC_KEY_SIZE = 32
EDDSA = "EdDSA"


def create_ed25519_jwk(public_key: bytes) -> dict[str, str]:
    """Return the public JWK ``{kty: OKP, crv: Ed25519, x}`` of a raw 32-byte Ed25519 public key."""
    if len(public_key) != ED25519_PUBLIC_KEY_SIZE:
        raise ValueError(f"an Ed25519 public key is {ED25519_PUBLIC_KEY_SIZE} bytes")
    return {"kty": "OKP", "crv": "Ed25519", "x": encode_base64url(public_key)}


def compute_okp_thumbprint(jwk: dict[str, str]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of an OKP public JWK (RFC 8037 §2: members crv, kty, x)."""
    members = f'{{"crv":"{jwk["crv"]}","kty":"OKP","x":"{jwk["x"]}"}}'
    return encode_base64url(hashlib.sha256(members.encode("ascii")).digest())
