"""Software keys: a P-256 private key held in process memory, stored only as sealed PKCS#8 (envelope encryption).

The storage side only ever sees ``export_sealed`` output: PKCS#8 DER encrypted with AES-256-GCM under the master
key (``crypto/envelope.py``). Trust assumption: whoever holds the master key can recover every software key; an
HSM-backed Signer removes that, and then certificates are obtained through a CSR instead of this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from openissuer.crypto.ecdsa import raw_signature_from_der
from openissuer.crypto.envelope import open_sealed, seal
from openissuer.crypto.jwk import compute_jwk_thumbprint, jwk_from_public_key
from openissuer.crypto.signer import ES256

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())  # immutable: one for every signature


class SoftwareKeyError(ValueError):
    """The key material is not a P-256 private key."""


class SoftwareSigner:
    """Sign with an in-memory P-256 key (ES256); implements ``openissuer.crypto.signer.Signer``.

    ``kid`` defaults to the RFC 7638 thumbprint of the public key. ``repr``/``str`` show only the algorithm and
    ``kid``; the private key is reachable only through ``export_sealed``.
    """

    __slots__ = ("_kid", "_private_key", "_public_jwk", "_x5c")

    def __init__(
        self, private_key: ec.EllipticCurvePrivateKey, *, kid: str | None = None, x5c: Sequence[bytes] = ()
    ) -> None:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(private_key.curve, ec.SECP256R1):
            raise SoftwareKeyError("a SoftwareSigner needs a P-256 private key")
        self._private_key = private_key
        self._public_jwk = jwk_from_public_key(private_key.public_key())
        self._kid = kid if kid is not None else compute_jwk_thumbprint(self._public_jwk)
        self._x5c = tuple(bytes(certificate) for certificate in x5c)

    @classmethod
    def generate(cls, *, kid: str | None = None) -> SoftwareSigner:
        """Return a signer for a freshly generated P-256 key (from the operating system's CSPRNG)."""
        return cls(ec.generate_private_key(ec.SECP256R1()), kid=kid)

    @classmethod
    def from_sealed(
        cls,
        master_key: bytes,
        sealed: bytes,
        *,
        aad: bytes,
        kid: str | None = None,
        x5c: Sequence[bytes] = (),
    ) -> SoftwareSigner:
        """Return the signer whose PKCS#8 key ``export_sealed`` sealed under ``master_key`` and ``aad``.

        Raises ``EnvelopeError`` for a wrong master key or ``aad``, SoftwareKeyError for a non-P-256 key.
        """
        pkcs8 = open_sealed(master_key, sealed, aad=aad)
        try:
            private_key = serialization.load_der_private_key(pkcs8, password=None)
        except ValueError as exc:
            raise SoftwareKeyError("the sealed data is not a PKCS#8 private key") from exc
        if not isinstance(private_key, ec.EllipticCurvePrivateKey):
            raise SoftwareKeyError("the sealed key is not an EC key")
        return cls(private_key, kid=kid, x5c=x5c)

    def export_sealed(
        self, master_key: bytes, *, aad: bytes, random_bytes: Callable[[int], bytes] = os.urandom
    ) -> bytes:
        """Return the private key as PKCS#8 DER sealed with AES-256-GCM under ``master_key``, bound to ``aad``."""
        pkcs8 = self._private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return seal(master_key, pkcs8, aad=aad, random_bytes=random_bytes)

    def with_x5c(self, x5c: Sequence[bytes]) -> SoftwareSigner:
        """Return a signer for the same key carrying ``x5c`` (DER, leaf first), e.g. once its DS cert exists."""
        return SoftwareSigner(self._private_key, kid=self._kid, x5c=x5c)

    @property
    def alg(self) -> str:
        """Always ``"ES256"``."""
        return ES256

    @property
    def kid(self) -> str:
        """The key identifier (RFC 7638 thumbprint unless given)."""
        return self._kid

    @property
    def public_jwk(self) -> dict[str, str]:
        """The public JWK ``{kty, crv, x, y}``, a fresh dict on each access."""
        return dict(self._public_jwk)

    @property
    def x5c(self) -> list[bytes]:
        """The certificate chain (DER, leaf first), a fresh list on each access."""
        return list(self._x5c)

    def sign(self, data: bytes) -> bytes:
        """Return the raw 64-byte ``r || s`` ES256 signature over ``data`` (RFC 7518 §3.4)."""
        return raw_signature_from_der(self._private_key.sign(data, _ECDSA_SHA256))

    def __repr__(self) -> str:
        return f"SoftwareSigner(alg={ES256!r}, kid={self._kid!r})"

    def __reduce__(self) -> str | tuple[object, ...]:
        # Pickling would write the private key in clear wherever the pickle goes; keys move only sealed.
        raise TypeError("SoftwareSigner cannot be pickled; use export_sealed")
