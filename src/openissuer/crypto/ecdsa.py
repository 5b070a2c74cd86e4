"""ES256 signatures (RFC 7518 §3.4): the raw ``r || s`` form JOSE and COSE use, and its DER twin X.509 uses."""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from openissuer.crypto.jwk import P256_COORDINATE_SIZE, public_key_from_jwk

ES256_SIGNATURE_SIZE = 2 * P256_COORDINATE_SIZE

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())  # immutable: one for every verification


class InvalidSignatureError(ValueError):
    """The signature is malformed or does not verify with the given key."""


def raw_signature_from_der(der_signature: bytes) -> bytes:
    """Convert a DER ``ECDSA-Sig-Value`` into the 64-byte ``r || s`` form (RFC 7518 §3.4)."""
    r, s = decode_dss_signature(der_signature)
    return r.to_bytes(P256_COORDINATE_SIZE, "big") + s.to_bytes(P256_COORDINATE_SIZE, "big")


def der_signature_from_raw(raw_signature: bytes) -> bytes:
    """Convert a 64-byte ``r || s`` signature into a DER ``ECDSA-Sig-Value`` (RFC 5480 / X.509)."""
    if len(raw_signature) != ES256_SIGNATURE_SIZE:
        raise InvalidSignatureError(f"an ES256 signature is {ES256_SIGNATURE_SIZE} bytes")
    r = int.from_bytes(raw_signature[:P256_COORDINATE_SIZE], "big")
    s = int.from_bytes(raw_signature[P256_COORDINATE_SIZE:], "big")
    return encode_dss_signature(r, s)


def verify_es256_with_key(public_key: ec.EllipticCurvePublicKey, data: bytes, raw_signature: bytes) -> None:
    """Check a raw ES256 signature over ``data``; raise InvalidSignatureError when it does not verify."""
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise InvalidSignatureError("ES256 needs a P-256 key")
    try:
        public_key.verify(der_signature_from_raw(raw_signature), data, _ECDSA_SHA256)
    except InvalidSignature as exc:
        raise InvalidSignatureError("the signature does not verify") from exc


def verify_es256(public_jwk: Mapping[str, object], data: bytes, raw_signature: bytes) -> None:
    """Check a raw ES256 signature over ``data`` with a P-256 public JWK; raise InvalidSignatureError if not."""
    verify_es256_with_key(public_key_from_jwk(public_jwk), data, raw_signature)
