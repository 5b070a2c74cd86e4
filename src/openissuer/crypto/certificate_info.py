"""Read what the management API and the formats need from a DER certificate: validity, subject, key, PEM."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from openissuer.crypto.jwk import JwkError, jwk_from_public_key


@dataclass(frozen=True)
class CertificateInfo:
    """What the management API shows about a certificate (MATTR ``certificateData`` plus fingerprint)."""

    serial_number: int
    common_name: str | None
    country: str | None
    state_or_province: str | None
    not_before: datetime
    not_after: datetime
    sha256_fingerprint: str


@functools.lru_cache(maxsize=64)  # the hot path reads the same document-signer certificate on every issuance
def read_certificate_info(certificate: bytes) -> CertificateInfo:
    """Return serial, subject fields, validity and SHA-256 fingerprint of a DER certificate."""
    parsed = x509.load_der_x509_certificate(certificate)

    def first(oid: x509.ObjectIdentifier) -> str | None:
        values = parsed.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else None

    return CertificateInfo(
        serial_number=parsed.serial_number,
        common_name=first(NameOID.COMMON_NAME),
        country=first(NameOID.COUNTRY_NAME),
        state_or_province=first(NameOID.STATE_OR_PROVINCE_NAME),
        not_before=parsed.not_valid_before_utc,
        not_after=parsed.not_valid_after_utc,
        sha256_fingerprint=hashlib.sha256(certificate).hexdigest(),
    )


@functools.lru_cache(maxsize=64)
def read_subject_alternative_uris(certificate: bytes) -> tuple[str, ...]:
    """Return the uniformResourceIdentifier entries of a DER certificate's subjectAlternativeName (empty: none)."""
    parsed = x509.load_der_x509_certificate(certificate)
    try:
        names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(names.get_values_for_type(x509.UniformResourceIdentifier))


def public_jwk_from_certificate(certificate: bytes) -> dict[str, str]:
    """Return the P-256 public key of a DER certificate as a JWK."""
    public_key = x509.load_der_x509_certificate(certificate).public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise JwkError("the certificate key is not an EC key")
    return jwk_from_public_key(public_key)


def encode_pem(certificate: bytes) -> str:
    """Return the PEM text of a DER certificate."""
    return x509.load_der_x509_certificate(certificate).public_bytes(serialization.Encoding.PEM).decode("ascii")


def decode_pem(pem: str) -> bytes:
    """Return the DER bytes of a single PEM certificate."""
    return x509.load_pem_x509_certificate(pem.encode("ascii")).public_bytes(serialization.Encoding.DER)
