"""Certificates that come from outside (reference §8.1 unmanaged IACAs): parse, check, and ask for them.

- ``parse_pem_certificate``: exactly one PEM certificate, nothing else.
- ``find_iaca_problems``: an uploaded IACA must be usable as ISO/IEC 18013-5 Annex B.1.2 describes one: self-signed
  with ECDSA P-256 / SHA-256, basicConstraints CA (critical, pathLenConstraint 0), keyUsage keyCertSign and cRLSign
  (critical), a subject with a two-letter countryName and a commonName, valid now.
- ``create_certificate_request``: a PKCS#10 request for a signer key held here (signed through its ``Signer``).
- ``find_signer_certificate_problems``: a certificate uploaded for such a request must be issued by the IACA
  (name and signature), certify the request's key, be an end-entity certificate for digitalSignature, carry the
  extended key usage the signer kind needs, be valid now, lie inside the IACA's validity and last at most the
  kind's maximum.

Problems are short public sentences; nothing here echoes certificate bytes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from openissuer.crypto.signer import Signer
from openissuer.crypto.x509_signing import SignerPrivateKey

CLOCK_SKEW = timedelta(minutes=5)
MAX_PEM_LENGTH = 16 * 1024
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_COUNTRY = re.compile(r"[A-Z]{2}")
_E = TypeVar("_E", bound=x509.ExtensionType)


class CertificateCheckError(ValueError):
    """The uploaded text is not one certificate, or the certificate is not acceptable."""


def parse_pem_certificate(pem: str) -> bytes:
    """Return the DER bytes of ``pem``, which must hold exactly one certificate and nothing else."""
    if len(pem) > MAX_PEM_LENGTH:
        raise CertificateCheckError(f"must be at most {MAX_PEM_LENGTH} characters")
    blocks = _PEM_BLOCK.findall(pem)
    if blocks != ["CERTIFICATE"]:
        raise CertificateCheckError("must be exactly one PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        certificate = x509.load_pem_x509_certificate(pem.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise CertificateCheckError("is not a readable PEM certificate") from exc
    return certificate.public_bytes(serialization.Encoding.DER)


def find_iaca_problems(certificate_der: bytes, now: datetime) -> list[str]:
    """List what keeps ``certificate_der`` from serving as an IACA now (empty: nothing)."""
    certificate = x509.load_der_x509_certificate(certificate_der)
    problems = _key_problems(certificate)
    if certificate.issuer != certificate.subject:
        problems.append("must be self-signed (issuer equal to subject)")
    elif not problems and not _signed_by(certificate, certificate.public_key()):
        problems.append("its self-signature does not verify")
    constraints = _extension(certificate, x509.BasicConstraints)
    if constraints is None or not constraints.critical or not constraints.value.ca:
        problems.append("must have a critical basicConstraints extension with CA true")
    elif constraints.value.path_length != 0:
        problems.append("basicConstraints pathLenConstraint must be 0")
    usage = _extension(certificate, x509.KeyUsage)
    if usage is None or not usage.critical or not (usage.value.key_cert_sign and usage.value.crl_sign):
        problems.append("must have a critical keyUsage with keyCertSign and cRLSign")
    countries = certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    if len(countries) != 1 or not _COUNTRY.fullmatch(str(countries[0].value)):
        problems.append("its subject must have one countryName of two upper-case letters")
    if not certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        problems.append("its subject must have a commonName")
    problems += _validity_problems(certificate, now)
    return problems


def create_certificate_request(
    signer: Signer,
    *,
    country: str,
    common_name: str,
    state_or_province: str | None = None,
    extended_key_usage: str | None = None,
) -> bytes:
    """Return a PKCS#10 certificate request (DER) for ``signer``'s key, asking for a digitalSignature
    end-entity certificate (and ``extended_key_usage``, a dotted OID, when given), signed through the Signer."""
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)]
    if state_or_province:
        attributes.append(x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, state_or_province))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attributes))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if extended_key_usage is not None:
        oid = x509.ObjectIdentifier(extended_key_usage)
        builder = builder.add_extension(x509.ExtendedKeyUsage([oid]), critical=True)
    request = builder.sign(SignerPrivateKey(signer), hashes.SHA256())
    return request.public_bytes(serialization.Encoding.DER)


def encode_certificate_request_pem(request_der: bytes) -> str:
    """Return the PEM text (``CERTIFICATE REQUEST``) of a DER certificate request."""
    request = x509.load_der_x509_csr(request_der)
    return request.public_bytes(serialization.Encoding.PEM).decode("ascii")


def find_signer_certificate_problems(
    certificate_der: bytes,
    *,
    iaca_der: bytes,
    request_der: bytes,
    now: datetime,
    max_validity: timedelta,
    extended_key_usage: str | None,
) -> list[str]:
    """List what keeps ``certificate_der`` from certifying the request ``request_der`` under the IACA."""
    certificate = x509.load_der_x509_certificate(certificate_der)
    iaca = x509.load_der_x509_certificate(iaca_der)
    request = x509.load_der_x509_csr(request_der)
    problems = _key_problems(certificate)
    if problems:
        return problems
    if _public_bytes(certificate.public_key()) != _public_bytes(request.public_key()):
        problems.append("does not certify the key of this signer's certificate request")
    if certificate.issuer != iaca.subject or not _signed_by(certificate, iaca.public_key()):
        problems.append("is not issued and signed by the signer's IACA")
    constraints = _extension(certificate, x509.BasicConstraints)
    if constraints is not None and constraints.value.ca:
        problems.append("must not be a CA certificate")
    usage = _extension(certificate, x509.KeyUsage)
    if usage is None or not usage.value.digital_signature or usage.value.key_cert_sign:
        problems.append("must have keyUsage digitalSignature (and not keyCertSign)")
    if extended_key_usage is not None:
        extended = _extension(certificate, x509.ExtendedKeyUsage)
        if extended is None or x509.ObjectIdentifier(extended_key_usage) not in extended.value:
            problems.append(f"must have extendedKeyUsage {extended_key_usage}")
    problems += _validity_problems(certificate, now)
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if start < iaca.not_valid_before_utc or end > iaca.not_valid_after_utc:
        problems.append("its validity must lie inside the IACA's validity")
    if end - start > max_validity:
        problems.append(f"its validity must not exceed {max_validity.days} days")
    return problems


def _key_problems(certificate: x509.Certificate) -> list[str]:
    key = certificate.public_key()
    problems = []
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        problems.append("must have a P-256 (secp256r1) key")
    if certificate.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        problems.append("must be signed with ecdsa-with-SHA256")
    return problems


def _signed_by(certificate: x509.Certificate, public_key: object) -> bool:
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return False
    try:
        public_key.verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _validity_problems(certificate: x509.Certificate, now: datetime) -> list[str]:
    if certificate.not_valid_after_utc <= now:
        return ["has expired"]
    if certificate.not_valid_before_utc > now + CLOCK_SKEW:
        return ["is not valid yet"]
    return []


def _extension(certificate: x509.Certificate, kind: type[_E]) -> x509.Extension[_E] | None:
    try:
        return certificate.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def _public_bytes(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return b""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
