"""P-256 public JWKs (RFC 7517/7518 §6.2): validation, conversion to key objects and RFC 7638 thumbprints."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric import ec

from openissuer.crypto.base64url import decode_base64url, encode_base64url

P256_COORDINATE_SIZE = 32

_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class JwkError(ValueError):
    """The JWK is not an acceptable P-256 public key."""


def parse_p256_public_jwk(jwk: Mapping[str, object]) -> tuple[bytes, bytes]:
    """Return the ``(x, y)`` coordinates of a P-256 public JWK after checking it is one.

    RFC 7518 §6.2.1: ``kty`` "EC", ``crv`` "P-256", ``x`` and ``y`` the full-length (32-byte) coordinates. A JWK
    carrying private members is refused, so a private key never travels where a public one is expected, and the
    point must lie on the curve.
    """
    x, y = read_p256_coordinates(jwk)
    public_key_from_coordinates(x, y)  # rejects points that are not on the curve
    return x, y


def read_p256_coordinates(jwk: Mapping[str, object]) -> tuple[bytes, bytes]:
    """Return the ``(x, y)`` of a P-256 public JWK, checking every member but not yet that the point is on the
    curve (``parse_p256_public_jwk`` and ``P256PublicKey`` do that, once)."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise JwkError("the JWK must have kty 'EC' and crv 'P-256'")
    if _PRIVATE_MEMBERS & set(jwk):
        raise JwkError("the JWK must not contain private key members")
    coordinates = []
    for name in ("x", "y"):
        value = jwk.get(name)
        if not isinstance(value, str):
            raise JwkError(f"the JWK member '{name}' must be a string")
        try:
            raw = decode_base64url(value)
        except ValueError as exc:
            raise JwkError(f"the JWK member '{name}' is not base64url") from exc
        if len(raw) != P256_COORDINATE_SIZE:
            raise JwkError(f"the JWK member '{name}' must encode {P256_COORDINATE_SIZE} bytes")
        coordinates.append(raw)
    x, y = coordinates
    return x, y


def public_key_from_coordinates(x: bytes, y: bytes) -> ec.EllipticCurvePublicKey:
    """Return the P-256 public key at ``(x, y)``; raise JwkError when the point is not on the curve."""
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except ValueError as exc:
        raise JwkError("the point is not on the P-256 curve") from exc


def public_key_from_jwk(jwk: Mapping[str, object]) -> ec.EllipticCurvePublicKey:
    """Return the ``cryptography`` public key of a validated P-256 public JWK."""
    return public_key_from_coordinates(*parse_p256_public_jwk(jwk))


def jwk_from_coordinates(x: bytes, y: bytes) -> dict[str, str]:
    """Return the public JWK ``{kty, crv, x, y}`` of the P-256 point ``(x, y)``."""
    if len(x) != P256_COORDINATE_SIZE or len(y) != P256_COORDINATE_SIZE:
        raise JwkError(f"P-256 coordinates must be {P256_COORDINATE_SIZE} bytes each")
    return {"kty": "EC", "crv": "P-256", "x": encode_base64url(x), "y": encode_base64url(y)}


def jwk_from_public_key(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """Return the public JWK of a P-256 ``cryptography`` public key."""
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise JwkError("only P-256 keys are supported")
    numbers = public_key.public_numbers()
    return jwk_from_coordinates(
        numbers.x.to_bytes(P256_COORDINATE_SIZE, "big"), numbers.y.to_bytes(P256_COORDINATE_SIZE, "big")
    )


def compute_jwk_thumbprint(jwk: Mapping[str, object]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint (base64url) of a P-256 public JWK."""
    return compute_p256_thumbprint(*parse_p256_public_jwk(jwk))


def compute_p256_thumbprint(x: bytes, y: bytes) -> str:
    """Return the RFC 7638 SHA-256 thumbprint (base64url) of the P-256 public key ``(x, y)``.

    RFC 7638 §3.2: the hash input is the JSON object of the required members only, in lexicographic order, with
    no whitespace. Every member value is a fixed name or base64url text, which JSON needs no escape for, so the
    object is written directly.
    """
    members = f'{{"crv":"P-256","kty":"EC","x":"{encode_base64url(x)}","y":"{encode_base64url(y)}"}}'
    return encode_base64url(hashlib.sha256(members.encode("ascii")).digest())
