"""Sign X.509 certificates and CRLs with a ``Signer``, so the issuing key may live in an HSM or KMS.

``cryptography`` only signs with a private key object it holds. So the structure is first built and signed with a
throwaway P-256 placeholder key, which fixes the to-be-signed bytes (their ``signature`` AlgorithmIdentifier is
ecdsa-with-SHA256 whatever P-256 key signs); then the placeholder signature is discarded and the outer
``SEQUENCE { tbs, signatureAlgorithm, signatureValue }`` (RFC 5280 §4.1 / §5.1) is re-assembled around the
Signer's signature over the same to-be-signed bytes. The result is parsed back and verified against the
Signer's public key before it is returned, so a misbehaving Signer cannot produce a broken certificate.
"""

from __future__ import annotations

import functools

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from openissuer.crypto.ecdsa import der_signature_from_raw
from openissuer.crypto.jwk import public_key_from_jwk
from openissuer.crypto.signer import ES256, Signer

# AlgorithmIdentifier ::= SEQUENCE { algorithm ecdsa-with-SHA256 (1.2.840.10045.4.3.2) }, no parameters
# (RFC 5758 §3.2: "the encoding MUST omit the parameters field").
_ECDSA_WITH_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
_TAG_SEQUENCE = 0x30
_TAG_BIT_STRING = 0x03


class X509SigningError(ValueError):
    """The Signer cannot sign X.509 structures, or its signature does not verify with its public key."""


def sign_certificate(builder: x509.CertificateBuilder, signer: Signer) -> x509.Certificate:
    """Return the certificate ``builder`` describes, signed by ``signer`` (ES256 only)."""
    _check_algorithm(signer)
    placeholder = builder.sign(_placeholder_key(), hashes.SHA256())
    der = _assemble(placeholder.tbs_certificate_bytes, signer)
    certificate = x509.load_der_x509_certificate(der)
    _verify(signer, certificate.signature, certificate.tbs_certificate_bytes)
    return certificate


def sign_crl(builder: x509.CertificateRevocationListBuilder, signer: Signer) -> x509.CertificateRevocationList:
    """Return the CRL ``builder`` describes, signed by ``signer`` (ES256 only)."""
    _check_algorithm(signer)
    placeholder = builder.sign(_placeholder_key(), hashes.SHA256())
    der = _assemble(placeholder.tbs_certlist_bytes, signer)
    crl = x509.load_der_x509_crl(der)
    _verify(signer, crl.signature, crl.tbs_certlist_bytes)
    return crl


@functools.cache
def _placeholder_key() -> ec.EllipticCurvePrivateKey:
    # Its signatures are always thrown away; it only lets cryptography serialise the to-be-signed structure.
    return ec.generate_private_key(ec.SECP256R1())


def _check_algorithm(signer: Signer) -> None:
    if signer.alg != ES256:
        raise X509SigningError(f"unsupported signer algorithm {signer.alg!r}; only ES256 is supported")


def _assemble(tbs: bytes, signer: Signer) -> bytes:
    signature = der_signature_from_raw(signer.sign(tbs))
    bit_string = _der(_TAG_BIT_STRING, b"\x00" + signature)  # 0 unused bits
    return _der(_TAG_SEQUENCE, tbs + _ECDSA_WITH_SHA256 + bit_string)


def _verify(signer: Signer, der_signature: bytes, tbs: bytes) -> None:
    try:
        public_key_from_jwk(signer.public_jwk).verify(der_signature, tbs, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise X509SigningError("the signer's signature does not verify with its public key") from exc


def _der(tag: int, content: bytes) -> bytes:
    # X.690 §8.1.3: short form below 128, otherwise 0x80 | number of length octets, then the length big-endian.
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + content
