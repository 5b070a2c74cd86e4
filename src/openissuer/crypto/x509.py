"""X.509 for mdoc issuance: IACA and document-signer certificates (ISO/IEC 18013-5 Annex B) and the IACA CRL.

All builders sign through a ``Signer`` (see ``x509_signing``), take and return DER bytes, and take time and
randomness as arguments; ``certificate_info`` reads certificates back. Profiles, in short:

- IACA (Table B.1): self-signed; subject C, optional ST, CN; basicConstraints CA:TRUE pathlen 0 (critical);
  keyUsage keyCertSign + cRLSign (critical); subjectKeyIdentifier; issuerAlternativeName; CRL distribution point.
- Document signer (Table B.3): issued by the IACA; subject C and ST copied from the IACA, CN; validity at most
  457 days and inside the IACA's; AKI = IACA SKI; SKI; keyUsage digitalSignature (critical); extKeyUsage
  1.0.18013.5.1.2 (critical); issuerAlternativeName and CRL distribution point copied from the IACA.
- SD-JWT VC issuer (openissuer's profile, docs/sd-jwt-vc.md): the document-signer profile without the mDL
  extKeyUsage (so an mDL verifier never takes it for a document signer), plus subjectAlternativeName with the
  credential issuer identifier as uniformResourceIdentifier and its host as dNSName (or iPAddress), which is what
  SD-JWT VC verifiers match the credential's ``iss`` against.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from openissuer.crypto.jwk import jwk_from_public_key, public_key_from_jwk
from openissuer.crypto.signer import Signer
from openissuer.crypto.x509_signing import sign_certificate, sign_crl

MDL_DOCUMENT_SIGNER_EKU = x509.ObjectIdentifier("1.0.18013.5.1.2")
MAX_IACA_VALIDITY = timedelta(days=20 * 365 + 5)  # 20 years including leap days
MAX_DOCUMENT_SIGNER_VALIDITY = timedelta(days=457)  # Table B.3 / reference §8.7
SERIAL_NUMBER_SIZE = 16  # 127 random bits; ISO 18013-5 asks for at least 63 bits from a CSPRNG, at most 20 octets

RandomBytes = Callable[[int], bytes]
_E = TypeVar("_E", bound=x509.ExtensionType)

_COUNTRY = re.compile(r"[A-Z]{2}")
_URI = re.compile(r"https?://[^\s]+")


class CertificateProfileError(ValueError):
    """The requested certificate or CRL would break the ISO/IEC 18013-5 Annex B profile."""


def build_iaca_certificate(
    signer: Signer,
    *,
    country: str,
    common_name: str,
    issuer_alternative_name_uri: str,
    crl_distribution_point_uri: str,
    not_before: datetime,
    not_after: datetime,
    state_or_province: str | None = None,
    random_bytes: RandomBytes = os.urandom,
) -> bytes:
    """Return a self-signed IACA certificate (DER) for the signer's P-256 key, per ISO 18013-5 Table B.1."""
    name = _iaca_name(country, state_or_province, common_name)
    for uri in (issuer_alternative_name_uri, crl_distribution_point_uri):
        if not _URI.fullmatch(uri):
            raise CertificateProfileError(f"{uri!r} is not an http(s) URI")
    start, end = _validity(not_before, not_after, MAX_IACA_VALIDITY)
    public_key = public_key_from_jwk(signer.public_jwk)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(generate_serial_number(random_bytes))
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.IssuerAlternativeName([x509.UniformResourceIdentifier(issuer_alternative_name_uri)]), critical=False
        )
        .add_extension(_crl_distribution_points(crl_distribution_point_uri), critical=False)
    )
    return sign_certificate(builder, signer).public_bytes(serialization.Encoding.DER)


def build_document_signer_certificate(
    iaca_certificate: bytes,
    iaca_signer: Signer,
    document_signer_public_jwk: Mapping[str, object],
    *,
    common_name: str,
    not_before: datetime,
    not_after: datetime,
    random_bytes: RandomBytes = os.urandom,
) -> bytes:
    """Return a document-signer certificate (DER) for a P-256 public key, issued by the IACA (Table B.3).

    Only the DS public key is needed, so the DS private key may live anywhere. Raises CertificateProfileError
    when the validity exceeds 457 days or leaves the IACA's validity, or when ``iaca_signer`` is not the IACA key.
    """
    return _end_entity_certificate(
        iaca_certificate,
        iaca_signer,
        document_signer_public_jwk,
        common_name=common_name,
        not_before=not_before,
        not_after=not_after,
        random_bytes=random_bytes,
        role="document signer",
        extra=[x509.ExtendedKeyUsage([MDL_DOCUMENT_SIGNER_EKU])],
    )


def build_status_list_signer_certificate(
    iaca_certificate: bytes,
    iaca_signer: Signer,
    signer_public_jwk: Mapping[str, object],
    *,
    common_name: str,
    not_before: datetime,
    not_after: datetime,
    random_bytes: RandomBytes = os.urandom,
) -> bytes:
    """Return a status list signer certificate (DER) for a P-256 public key, issued by the IACA (reference §8.4).

    The document signer's profile (Table B.3: the IACA's country, an end-entity digitalSignature key, AKI/SKI, the
    IACA's issuerAltName and CRL) without the mdlDS extended key usage: the status list draft's
    ``id-kp-oauthStatusSigning`` has no assigned number yet, and a document signer's EKU would let it sign MSOs.
    """
    return _end_entity_certificate(
        iaca_certificate,
        iaca_signer,
        signer_public_jwk,
        common_name=common_name,
        not_before=not_before,
        not_after=not_after,
        random_bytes=random_bytes,
        role="status list signer",
        extra=[],
    )


def build_sd_jwt_issuer_certificate(
    iaca_certificate: bytes,
    iaca_signer: Signer,
    issuer_public_jwk: Mapping[str, object],
    *,
    common_name: str,
    issuer_uri: str,
    not_before: datetime,
    not_after: datetime,
    random_bytes: RandomBytes = os.urandom,
) -> bytes:
    """Return an SD-JWT VC issuer certificate (DER) for a P-256 public key, issued by the IACA (profile above).

    ``issuer_uri`` is the credential issuer identifier the credentials carry as ``iss``. Raises
    CertificateProfileError when the validity exceeds 457 days or leaves the IACA's, when ``issuer_uri`` is not an
    http(s) URL with a host, or when ``iaca_signer`` is not the IACA key.
    """
    host = urlsplit(issuer_uri).hostname if _URI.fullmatch(issuer_uri) else None
    if not host:
        raise CertificateProfileError(f"{issuer_uri!r} is not an http(s) URL with a host")
    return _end_entity_certificate(
        iaca_certificate,
        iaca_signer,
        issuer_public_jwk,
        common_name=common_name,
        not_before=not_before,
        not_after=not_after,
        random_bytes=random_bytes,
        role="issuer certificate",
        extra=[x509.SubjectAlternativeName(_issuer_names(issuer_uri, host))],
    )


def _end_entity_certificate(
    iaca_certificate: bytes,
    iaca_signer: Signer,
    public_jwk: Mapping[str, object],
    *,
    common_name: str,
    not_before: datetime,
    not_after: datetime,
    random_bytes: RandomBytes,
    role: str,
    extra: list[x509.ExtensionType],
) -> bytes:
    """Return an end-entity certificate (DER) under the IACA with Table B.3's common part: the IACA's country (and
    state), ``common_name``, at most 457 days inside the IACA's validity, AKI/SKI, a critical digitalSignature key
    usage, then ``extra`` (critical when it is an extended key usage), the IACA's issuerAltName and CRL point."""
    iaca = x509.load_der_x509_certificate(iaca_certificate)
    _check_signer_matches(iaca, iaca_signer)
    if not common_name.strip():
        raise CertificateProfileError("commonName must not be empty")
    start, end = _validity(not_before, not_after, MAX_DOCUMENT_SIGNER_VALIDITY)
    if start < iaca.not_valid_before_utc or end > iaca.not_valid_after_utc:
        raise CertificateProfileError(f"the {role}'s validity must lie inside the IACA's validity")
    public_key = public_key_from_jwk(public_jwk)
    # Table B.3: the countryName (and stateOrProvinceName, when present) are those of the IACA.
    inherited = [a for a in iaca.subject if a.oid in (NameOID.COUNTRY_NAME, NameOID.STATE_OR_PROVINCE_NAME)]
    subject = x509.Name([*inherited, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(iaca.subject)
        .public_key(public_key)
        .serial_number(generate_serial_number(random_bytes))
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(_authority_key_identifier(iaca), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_key_usage(digital_signature=True), critical=True)
    )
    for extension in extra:
        builder = builder.add_extension(extension, critical=isinstance(extension, x509.ExtendedKeyUsage))
    builder = builder.add_extension(_required_extension(iaca, x509.IssuerAlternativeName), critical=False)
    builder = builder.add_extension(_required_extension(iaca, x509.CRLDistributionPoints), critical=False)
    return sign_certificate(builder, iaca_signer).public_bytes(serialization.Encoding.DER)


def _issuer_names(issuer_uri: str, host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(issuer_uri)]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    return names


def build_crl(
    iaca_certificate: bytes,
    iaca_signer: Signer,
    revoked_serials: Mapping[int, datetime],
    this_update: datetime,
    next_update: datetime,
    *,
    crl_number: int | None = None,
) -> bytes:
    """Return the IACA's CRL (DER) listing ``revoked_serials`` (serial number -> revocation time).

    RFC 5280 §5.2.3 requires a monotonically increasing cRLNumber; by default it is ``this_update`` in Unix
    seconds, which increases as long as each CRL is built later than the previous one.
    """
    iaca = x509.load_der_x509_certificate(iaca_certificate)
    _check_signer_matches(iaca, iaca_signer)
    start, end = _validity(this_update, next_update, MAX_IACA_VALIDITY)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(iaca.subject)
        .last_update(start)
        .next_update(end)
        .add_extension(_authority_key_identifier(iaca), critical=False)
        .add_extension(x509.CRLNumber(int(start.timestamp()) if crl_number is None else crl_number), critical=False)
    )
    for serial, revoked_at in sorted(revoked_serials.items()):
        _check_aware(revoked_at)
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at).build()
        )
    return sign_crl(builder, iaca_signer).public_bytes(serialization.Encoding.DER)


def generate_serial_number(random_bytes: RandomBytes = os.urandom) -> int:
    """Return a positive serial number of at most 16 octets with 127 random bits (RFC 5280 §4.1.2.2)."""
    while True:
        raw = bytearray(random_bytes(SERIAL_NUMBER_SIZE))
        if len(raw) != SERIAL_NUMBER_SIZE:
            raise ValueError(f"random_bytes must return {SERIAL_NUMBER_SIZE} bytes")
        raw[0] &= 0x7F  # positive without a leading zero octet
        serial = int.from_bytes(raw, "big")
        if serial:  # zero is not a valid serial number; any other value keeps all 127 random bits
            return serial


def _iaca_name(country: str, state_or_province: str | None, common_name: str) -> x509.Name:
    if not _COUNTRY.fullmatch(country):
        raise CertificateProfileError("country must be an ISO 3166-1 alpha-2 code, e.g. 'NZ'")
    if not common_name.strip() or (state_or_province is not None and not state_or_province.strip()):
        raise CertificateProfileError("commonName and stateOrProvinceName must not be empty")
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)]
    if state_or_province is not None:
        attributes.append(x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, state_or_province))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _validity(not_before: datetime, not_after: datetime, maximum: timedelta) -> tuple[datetime, datetime]:
    _check_aware(not_before)
    _check_aware(not_after)
    start, end = not_before.replace(microsecond=0), not_after.replace(microsecond=0)
    if end <= start:
        raise CertificateProfileError("notAfter (nextUpdate) must be later than notBefore (thisUpdate)")
    if end - start > maximum:
        raise CertificateProfileError(f"the validity period must not exceed {maximum.days} days")
    return start, end


def _check_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CertificateProfileError("times must be timezone-aware")


def _check_signer_matches(iaca: x509.Certificate, signer: Signer) -> None:
    iaca_key = iaca.public_key()
    if not isinstance(iaca_key, ec.EllipticCurvePublicKey) or jwk_from_public_key(iaca_key) != jwk_from_public_key(
        public_key_from_jwk(signer.public_jwk)
    ):
        raise CertificateProfileError("the signer's key is not the IACA certificate's key")


def _key_usage(*, key_cert_sign: bool = False, digital_signature: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _crl_distribution_points(uri: str) -> x509.CRLDistributionPoints:
    point = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(uri)], relative_name=None, reasons=None, crl_issuer=None
    )
    return x509.CRLDistributionPoints([point])


def _authority_key_identifier(iaca: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = iaca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound as exc:
        raise CertificateProfileError("the IACA certificate has no subjectKeyIdentifier") from exc
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _required_extension(iaca: x509.Certificate, kind: type[_E]) -> _E:
    try:
        return iaca.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound as exc:
        raise CertificateProfileError(f"the IACA certificate lacks the {kind.__name__} extension") from exc
