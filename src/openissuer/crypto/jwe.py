"""Compact JWE (RFC 7516) with ECDH-ES direct key agreement on P-256 and A128GCM / A256GCM (RFC 7518 §4.6, §5.3):
the encryption OID4VCI 1.0 §10 uses for credential requests and responses (the algorithms HAIP names).

Written on ``cryptography`` alone (ECDH, Concat KDF with SHA-256, AES-GCM) and checked in the tests against an
independent JOSE library. ``zip`` is neither produced nor accepted (it is not advertised).

``JweError`` messages are fixed texts that never quote the input.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

from openissuer.crypto.base64url import decode_base64url, encode_base64url
from openissuer.crypto.jwk import JwkError, compute_jwk_thumbprint, jwk_from_public_key, public_key_from_jwk
from openissuer.domain.json_input import JsonInputError, parse_json_input

ECDH_ES = "ECDH-ES"
KEY_BITS = {"A128GCM": 128, "A256GCM": 256}
MAX_JWE_LENGTH = 1024 * 1024
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class JweError(ValueError):
    """The JWE is malformed, uses what is not accepted, or does not decrypt; the message never quotes the input."""


def _length_prefixed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _content_key(shared: bytes, enc: str, apu: bytes = b"", apv: bytes = b"") -> bytes:
    # RFC 7518 §4.6.2: Concat KDF; for direct key agreement AlgorithmID is the "enc" value.
    bits = KEY_BITS[enc]
    other = (
        _length_prefixed(enc.encode("ascii")) + _length_prefixed(apu) + _length_prefixed(apv) + bits.to_bytes(4, "big")
    )
    return ConcatKDFHash(algorithm=hashes.SHA256(), length=bits // 8, otherinfo=other).derive(shared)


def encrypt_jwe(plaintext: bytes, recipient_jwk: Mapping[str, Any], *, enc: str, kid: str | None = None) -> str:
    """Encrypt ``plaintext`` to a P-256 public JWK with ECDH-ES and ``enc``; return the compact JWE."""
    if enc not in KEY_BITS:
        raise JweError("the enc is not supported")
    try:
        recipient = public_key_from_jwk(recipient_jwk)
    except JwkError as exc:
        raise JweError("the recipient key must be a public EC P-256 JWK") from exc
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    key = _content_key(ephemeral.exchange(ec.ECDH(), recipient), enc)
    header: dict[str, Any] = {"alg": ECDH_ES, "enc": enc, "epk": jwk_from_public_key(ephemeral.public_key())}
    if kid is not None:
        header["kid"] = kid
    protected = encode_base64url(json.dumps(header, separators=(",", ":")).encode())
    iv = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(iv, plaintext, protected.encode("ascii"))
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return ".".join((protected, "", encode_base64url(iv), encode_base64url(ciphertext), encode_base64url(tag)))


@dataclass(frozen=True)
class JweDecrypter:
    """A P-256 key agreement key (for requests wallets encrypt to the issuer) and its public JWK with ``kid``."""

    private_key: ec.EllipticCurvePrivateKey
    public_jwk: dict[str, str]

    @property
    def kid(self) -> str:
        return self.public_jwk["kid"]

    def decrypt(self, token: str, *, allowed_enc: Collection[str]) -> tuple[dict[str, Any], bytes]:
        """Return the protected header and the plaintext of a compact JWE made to this key."""
        if not isinstance(token, str) or len(token) > MAX_JWE_LENGTH:
            raise JweError("the JWE must be a compact JWE string within the size limit")
        parts = token.split(".")
        if len(parts) != 5:
            raise JweError("the JWE must have five parts")
        protected, encrypted_key, iv_b64, ciphertext_b64, tag_b64 = parts
        try:
            header = parse_json_input(decode_base64url(protected))
            iv, ciphertext, tag = (decode_base64url(p) for p in (iv_b64, ciphertext_b64, tag_b64))
        except (ValueError, JsonInputError) as exc:
            raise JweError("the JWE parts are not base64url, or its header not strict JSON") from exc
        if not isinstance(header, dict) or header.get("alg") != ECDH_ES or header.get("enc") not in allowed_enc:
            raise JweError("the JWE must use alg ECDH-ES and a supported enc")
        if encrypted_key or "zip" in header or "crit" in header:
            raise JweError("the JWE must have no encrypted key, no zip and no crit")
        if "kid" in header and header["kid"] != self.kid:
            raise JweError("the JWE kid is not the issuer's request encryption key")
        epk = header.get("epk")
        try:
            sender = public_key_from_jwk(epk if isinstance(epk, dict) else {})
        except JwkError as exc:
            raise JweError("the JWE epk must be a public EC P-256 key") from exc
        if len(iv) != 12 or len(tag) != 16:
            raise JweError("the JWE iv and tag must be 96 and 128 bits")
        try:
            apu, apv = (decode_base64url(_text(header.get(name, ""))) for name in ("apu", "apv"))
        except ValueError as exc:
            raise JweError("the JWE apu and apv must be base64url") from exc
        key = _content_key(self.private_key.exchange(ec.ECDH(), sender), header["enc"], apu, apv)
        try:
            plaintext = AESGCM(key).decrypt(iv, ciphertext + tag, protected.encode("ascii"))
        except InvalidTag as exc:
            raise JweError("the JWE does not decrypt with the issuer's key") from exc
        return header, plaintext


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def derive_jwe_decrypter(seed: bytes) -> JweDecrypter:
    """Return the P-256 key agreement key derived from 32 secret bytes (a scalar in [1, n-1])."""
    if len(seed) < 32:
        raise ValueError("the seed must be at least 32 bytes")
    scalar = int.from_bytes(seed[:32], "big") % (_P256_ORDER - 1) + 1
    private_key = ec.derive_private_key(scalar, ec.SECP256R1())
    public = jwk_from_public_key(private_key.public_key())
    jwk = {**public, "kid": compute_jwk_thumbprint(public), "use": "enc", "alg": ECDH_ES}
    return JweDecrypter(private_key, jwk)
