"""Sign X.509 certificates and CRLs with a ``Signer``, so the issuing key may live in an HSM or KMS.

``cryptography``'s builders sign with an ``EllipticCurvePrivateKey``; ``SignerPrivateKey`` is one whose ``sign``
is the Signer's, so the builders produce the whole structure themselves (no re-assembled DER). The result is
checked against the Signer's public key before it is returned, so a misbehaving Signer cannot produce a broken
certificate or CRL.
"""

from __future__ import annotations

from typing import Any, NoReturn

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from openissuer.crypto.ecdsa import der_signature_from_raw
from openissuer.crypto.jwk import public_key_from_jwk
from openissuer.crypto.signer import ES256, Signer


class X509SigningError(ValueError):
    """The Signer cannot sign X.509 structures, or its signature does not verify with its public key."""


class SignerPrivateKey(ec.EllipticCurvePrivateKey):
    """A P-256 private key whose only operation is ``sign``, done by a ``Signer`` (ES256: ECDSA with SHA-256).

    Everything that would need the private key itself (key agreement, export) raises X509SigningError.
    """

    def __init__(self, signer: Signer) -> None:
        if signer.alg != ES256:
            raise X509SigningError(f"unsupported signer algorithm {signer.alg!r}; only ES256 is supported")
        self._signer = signer
        self._public_key = public_key_from_jwk(signer.public_jwk)

    def sign(self, data: Any, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        """Return the DER ECDSA signature over ``data`` (only ECDSA with SHA-256, what ES256 is)."""
        if not isinstance(signature_algorithm, ec.ECDSA) or not isinstance(
            signature_algorithm.algorithm, hashes.SHA256
        ):
            raise X509SigningError("the signer only produces ECDSA signatures with SHA-256")
        return der_signature_from_raw(self._signer.sign(bytes(data)))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The Signer's public key."""
        return self._public_key

    @property
    def curve(self) -> ec.EllipticCurve:
        """P-256."""
        return ec.SECP256R1()

    @property
    def key_size(self) -> int:
        """256 bits."""
        return 256

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> NoReturn:
        raise X509SigningError("a Signer key cannot be used for key agreement")

    def private_numbers(self) -> NoReturn:
        raise X509SigningError("a Signer key cannot be exported")

    def private_bytes(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise X509SigningError("a Signer key cannot be exported")

    def __copy__(self) -> SignerPrivateKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SignerPrivateKey:
        return self


def sign_certificate(builder: x509.CertificateBuilder, signer: Signer) -> x509.Certificate:
    """Return the certificate ``builder`` describes, signed by ``signer`` (ES256 only)."""
    certificate = builder.sign(SignerPrivateKey(signer), hashes.SHA256())
    _verify(signer, certificate.signature, certificate.tbs_certificate_bytes)
    return certificate


def sign_crl(builder: x509.CertificateRevocationListBuilder, signer: Signer) -> x509.CertificateRevocationList:
    """Return the CRL ``builder`` describes, signed by ``signer`` (ES256 only)."""
    crl = builder.sign(SignerPrivateKey(signer), hashes.SHA256())
    _verify(signer, crl.signature, crl.tbs_certlist_bytes)
    return crl


def _verify(signer: Signer, der_signature: bytes, tbs: bytes) -> None:
    try:
        public_key_from_jwk(signer.public_jwk).verify(der_signature, tbs, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise X509SigningError("the signer's signature does not verify with its public key") from exc
