"""Test-side HAIP pieces, on joserfc and cryptography only (none of the server's code): a wallet provider's PKI
(trust anchor, intermediate, signer), DPoP proofs, wallet attestations with PoPs and key attestations, all signed
with keys the tests make."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.jwk import ECKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    not_after: datetime | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def _der_b64(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


@dataclass
class Pki:
    """A trust anchor, an intermediate CA and a signer (a wallet provider or key store) under it."""

    name: str = "Test Wallet Provider"
    anchor_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    intermediate_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    signer_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def __post_init__(self) -> None:
        self.anchor = _certificate(f"{self.name} Root", self.anchor_key, f"{self.name} Root", self.anchor_key, ca=True)
        self.intermediate = _certificate(
            f"{self.name} CA", self.intermediate_key, f"{self.name} Root", self.anchor_key, ca=True
        )
        self.signer = _certificate(
            f"{self.name} Signer", self.signer_key, f"{self.name} CA", self.intermediate_key, ca=False
        )

    @property
    def anchor_pem(self) -> str:
        return self.anchor.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def x5c(self) -> list[str]:
        """The chain a signer sends: signer first, then the intermediate, without the anchor (HAIP)."""
        return [_der_b64(self.signer), _der_b64(self.intermediate)]

    @property
    def signer_jwk(self) -> ECKey:
        return ECKey.import_key(self.signer_key)

    def sign(self, header: dict[str, Any], claims: dict[str, Any], *, x5c: list[str] | None = None) -> str:
        return jwt.encode({"alg": "ES256", "x5c": self.x5c if x5c is None else x5c, **header}, claims, self.signer_jwk)


def sign_raw(header: dict[str, Any], claims: dict[str, Any], key: ECKey) -> str:
    """ES256 over any header and claims, without a library's header checks (for malformed proofs)."""
    import json

    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    der = key.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def new_key() -> ECKey:
    return ECKey.generate_key("P-256")


def public(key: ECKey) -> dict[str, Any]:
    return dict(key.as_dict(private=False))


def access_token_hash(token: str) -> str:
    return b64url(hashlib.sha256(token.encode()).digest())


def dpop_proof(
    key: ECKey,
    url: str,
    *,
    method: str = "POST",
    nonce: str | None = None,
    access_token: str | None = None,
    header: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    **claims: Any,
) -> str:
    """A DPoP proof (RFC 9449 §4.2) for a request; ``header``/``claims`` override, ``drop`` removes claims."""
    head: dict[str, Any] = {"typ": "dpop+jwt", "alg": "ES256", "jwk": public(key), **(header or {})}
    body: dict[str, Any] = {"htm": method, "htu": url, "iat": int(time.time()), "jti": secrets.token_urlsafe(12)}
    if nonce is not None:
        body["nonce"] = nonce
    if access_token is not None:
        body["ath"] = access_token_hash(access_token)
    body.update(claims)
    for name in drop:
        body.pop(name, None)
    return sign_raw(head, body, key)


@dataclass
class WalletInstance:
    """A wallet app instance: its client id, its instance key and its provider's PKI."""

    pki: Pki
    client_id: str = "wallet-app"
    key: ECKey = field(default_factory=new_key)

    def attestation(self, *, header: dict[str, Any] | None = None, x5c: list[str] | None = None, **claims: Any) -> str:
        """The Client Attestation (``oauth-client-attestation+jwt``) of this instance's key."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": "https://wallet-provider.example",
            "sub": self.client_id,
            "iat": now,
            "exp": now + 3600,
            "cnf": {"jwk": public(self.key)},
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return self.pki.sign({"typ": "oauth-client-attestation+jwt", **(header or {})}, body, x5c=x5c)

    def pop(
        self, audience: str, *, key: ECKey | None = None, header: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        """The PoP (``oauth-client-attestation-pop+jwt``) for the authorization server ``audience``."""
        body: dict[str, Any] = {"iss": self.client_id, "aud": audience, "jti": secrets.token_urlsafe(12)}
        body["iat"] = int(time.time())
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        head = {"typ": "oauth-client-attestation-pop+jwt", "alg": "ES256", **(header or {})}
        return jwt.encode(head, body, key or self.key)

    def headers(self, audience: str, **pop_claims: Any) -> dict[str, str]:
        return {
            "OAuth-Client-Attestation": self.attestation(),
            "OAuth-Client-Attestation-PoP": self.pop(audience, **pop_claims),
        }


def key_attestation(
    pki: Pki,
    keys: list[ECKey],
    *,
    nonce: str | None = None,
    key_storage: list[str] | None = None,
    user_authentication: list[str] | None = None,
    exp: int | None = None,
    x5c: list[str] | None = None,
    **claims: Any,
) -> str:
    """A key attestation (``key-attestation+jwt``, OID4VCI Appendix D.1) of ``keys``."""
    now = int(time.time())
    body: dict[str, Any] = {"iat": now, "attested_keys": [public(k) for k in keys], "exp": exp or now + 600}
    if nonce is not None:
        body["nonce"] = nonce
    if key_storage is not None:
        body["key_storage"] = key_storage
    if user_authentication is not None:
        body["user_authentication"] = user_authentication
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return pki.sign({"typ": "key-attestation+jwt"}, body, x5c=x5c)


def self_signed_x5c(key: ec.EllipticCurvePrivateKey) -> list[str]:
    """An x5c of one self-signed certificate (a trust anchor sent in the chain, which HAIP forbids)."""
    return [_der_b64(_certificate("Self", key, "Self", key, ca=True))]


def jwt_proof(key: ECKey, audience: str, nonce: str | None, key_attestation: str | None = None, **claims: Any) -> str:
    """An ``openid4vci-proof+jwt`` with the key's JWK and, when given, a ``key_attestation`` header."""
    header: dict[str, Any] = {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": public(key)}
    if key_attestation is not None:
        header["key_attestation"] = key_attestation
    body: dict[str, Any] = {"aud": audience, "iat": int(time.time()), **claims}
    if nonce is not None:
        body["nonce"] = nonce
    return sign_raw(header, body, key)
