"""Software Ed25519 keys (webhook signing): held in memory, stored only as sealed PKCS#8 under the master key."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from openissuer.crypto.envelope import open_sealed, seal
from openissuer.crypto.okp import EDDSA, compute_okp_thumbprint, create_ed25519_jwk


class SoftwareEd25519Signer:
    """Sign with an in-memory Ed25519 key (RFC 8032); implements ``openissuer.crypto.signer.Signer``.

    ``kid`` is the RFC 7638 thumbprint of the public JWK; the private key leaves only through ``export_sealed``.
    """

    __slots__ = ("_kid", "_private_key", "_public_jwk")

    def __init__(self, private_key: ed25519.Ed25519PrivateKey) -> None:
        self._private_key = private_key
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._public_jwk = create_ed25519_jwk(raw)
        self._kid = compute_okp_thumbprint(self._public_jwk)

    @classmethod
    def generate(cls) -> SoftwareEd25519Signer:
        """Return a signer for a fresh key from the operating system's CSPRNG."""
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_sealed(cls, master_key: bytes, sealed: bytes, *, aad: bytes) -> SoftwareEd25519Signer:
        """Return the signer of a key ``export_sealed`` sealed (EnvelopeError for a wrong key or ``aad``)."""
        private_key = serialization.load_der_private_key(open_sealed(master_key, sealed, aad=aad), password=None)
        if not isinstance(private_key, ed25519.Ed25519PrivateKey):
            raise ValueError("the sealed key is not an Ed25519 key")
        return cls(private_key)

    def export_sealed(self, master_key: bytes, *, aad: bytes) -> bytes:
        """Return the private key as PKCS#8 DER sealed with AES-256-GCM under ``master_key``, bound to ``aad``."""
        pkcs8 = self._private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return seal(master_key, pkcs8, aad=aad)

    @property
    def alg(self) -> str:
        """Always ``"EdDSA"`` (RFC 8037)."""
        return EDDSA

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint of the public JWK."""
        return self._kid

    @property
    def public_jwk(self) -> dict[str, str]:
        """The public JWK ``{kty, crv, x}``, a fresh dict each time."""
        return dict(self._public_jwk)

    @property
    def x5c(self) -> list[bytes]:
        """No certificate chain."""
        return []

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature over ``data``."""
        return self._private_key.sign(data)

    def __repr__(self) -> str:
        return f"SoftwareEd25519Signer(kid={self._kid!r})"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("SoftwareEd25519Signer cannot be pickled; use export_sealed")
