"""IACA and document-signer certificates and the IACA CRL (crypto/x509.py, crypto/x509_signing.py)."""

from __future__ import annotations

import random
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

from openissuer.adapters.keys.software import SoftwareSigner
from openissuer.crypto.certificate_info import (
    decode_pem,
    encode_pem,
    public_jwk_from_certificate,
    read_certificate_info,
)
from openissuer.crypto.x509 import (
    MDL_DOCUMENT_SIGNER_EKU,
    CertificateProfileError,
    build_crl,
    build_document_signer_certificate,
    build_iaca_certificate,
    generate_serial_number,
)
from openissuer.crypto.x509_signing import SignerPrivateKey, X509SigningError

NOW = datetime.now(UTC).replace(microsecond=0)  # openssl checks validity against the real clock
ISSUER_URL = "https://issuer.example.com"
CRL_URL = "https://issuer.example.com/v2/credentials/mobile/iacas/1/crl"


@dataclass
class Pki:
    iaca_signer: SoftwareSigner
    iaca: bytes
    ds_signer: SoftwareSigner
    ds: bytes


def _iaca(signer: SoftwareSigner, **overrides: object) -> bytes:
    arguments: dict[str, object] = {
        "country": "NZ",
        "state_or_province": "NZ-AUK",
        "common_name": "Example IACA",
        "issuer_alternative_name_uri": ISSUER_URL,
        "crl_distribution_point_uri": CRL_URL,
        "not_before": NOW - timedelta(days=1),
        "not_after": NOW + timedelta(days=3650),
    }
    arguments.update(overrides)
    return build_iaca_certificate(signer, **arguments)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pki() -> Pki:
    iaca_signer = SoftwareSigner.generate()
    iaca = _iaca(iaca_signer)
    ds_signer = SoftwareSigner.generate()
    ds = build_document_signer_certificate(
        iaca,
        iaca_signer,
        ds_signer.public_jwk,
        common_name="example.com Document Signer",
        not_before=NOW - timedelta(hours=1),
        not_after=NOW + timedelta(days=365),
    )
    return Pki(iaca_signer, iaca, ds_signer, ds)


def _extension(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.Extension[x509.ExtensionType]:
    return certificate.extensions.get_extension_for_oid(oid)


def test_iaca_follows_the_annex_b_profile(pki: Pki) -> None:
    iaca = x509.load_der_x509_certificate(pki.iaca)
    assert iaca.subject == iaca.issuer
    assert iaca.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "NZ"
    assert iaca.subject.get_attributes_for_oid(NameOID.STATE_OR_PROVINCE_NAME)[0].value == "NZ-AUK"
    assert iaca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Example IACA"
    assert iaca.version == x509.Version.v3
    assert isinstance(iaca.public_key(), ec.EllipticCurvePublicKey)
    assert iaca.signature_algorithm_oid == x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256
    basic = _extension(iaca, ExtensionOID.BASIC_CONSTRAINTS)
    assert basic.critical
    assert basic.value == x509.BasicConstraints(ca=True, path_length=0)
    usage = _extension(iaca, ExtensionOID.KEY_USAGE)
    assert usage.critical
    assert isinstance(usage.value, x509.KeyUsage)
    assert usage.value.key_cert_sign and usage.value.crl_sign and not usage.value.digital_signature
    assert not _extension(iaca, ExtensionOID.SUBJECT_KEY_IDENTIFIER).critical
    ian = _extension(iaca, ExtensionOID.ISSUER_ALTERNATIVE_NAME)
    assert not ian.critical
    assert ian.value == x509.IssuerAlternativeName([x509.UniformResourceIdentifier(ISSUER_URL)])
    crl_dp = _extension(iaca, ExtensionOID.CRL_DISTRIBUTION_POINTS)
    assert isinstance(crl_dp.value, x509.CRLDistributionPoints)
    assert crl_dp.value[0].full_name == [x509.UniformResourceIdentifier(CRL_URL)]
    iaca.verify_directly_issued_by(iaca)
    assert public_jwk_from_certificate(pki.iaca) == pki.iaca_signer.public_jwk


def test_document_signer_follows_the_annex_b_profile(pki: Pki) -> None:
    iaca = x509.load_der_x509_certificate(pki.iaca)
    ds = x509.load_der_x509_certificate(pki.ds)
    ds.verify_directly_issued_by(iaca)
    assert ds.issuer == iaca.subject
    assert [a.value for a in ds.subject] == ["NZ", "NZ-AUK", "example.com Document Signer"]
    eku = _extension(ds, ExtensionOID.EXTENDED_KEY_USAGE)
    assert eku.critical
    assert list(eku.value) == [MDL_DOCUMENT_SIGNER_EKU]  # type: ignore[call-overload]
    usage = _extension(ds, ExtensionOID.KEY_USAGE)
    assert usage.critical
    assert isinstance(usage.value, x509.KeyUsage)
    assert usage.value.digital_signature and not usage.value.key_cert_sign and not usage.value.crl_sign
    aki = _extension(ds, ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    ski = _extension(iaca, ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
    assert isinstance(aki, x509.AuthorityKeyIdentifier) and isinstance(ski, x509.SubjectKeyIdentifier)
    assert aki.key_identifier == ski.digest
    assert _extension(ds, ExtensionOID.SUBJECT_KEY_IDENTIFIER).value == x509.SubjectKeyIdentifier.from_public_key(
        ds.public_key()
    )
    assert (
        _extension(ds, ExtensionOID.ISSUER_ALTERNATIVE_NAME).value
        == _extension(iaca, ExtensionOID.ISSUER_ALTERNATIVE_NAME).value
    )
    assert (
        _extension(ds, ExtensionOID.CRL_DISTRIBUTION_POINTS).value
        == _extension(iaca, ExtensionOID.CRL_DISTRIBUTION_POINTS).value
    )
    assert public_jwk_from_certificate(pki.ds) == pki.ds_signer.public_jwk


def test_serial_numbers_are_random_positive_and_at_most_20_octets(pki: Pki) -> None:
    for der in (pki.iaca, pki.ds):
        serial = x509.load_der_x509_certificate(der).serial_number
        assert 0 < serial < 2**159
    assert read_certificate_info(pki.iaca).serial_number != read_certificate_info(pki.ds).serial_number


def test_serial_numbers_come_from_the_injected_randomness() -> None:
    first = generate_serial_number(random.Random(1).randbytes)
    assert first == generate_serial_number(random.Random(1).randbytes)
    assert first.bit_length() <= 127
    assert generate_serial_number(lambda n: b"\xff" * n) == 2**127 - 1
    signer = SoftwareSigner.generate()
    certificate = x509.load_der_x509_certificate(_iaca(signer, random_bytes=lambda n: b"\x80" + b"\x01" * (n - 1)))
    assert certificate.serial_number == int.from_bytes(b"\x00" + b"\x01" * 15, "big")


openssl = shutil.which("openssl")


def _openssl_verify(tmp_path: Path, pki: Pki, *extra: str) -> subprocess.CompletedProcess[str]:
    assert openssl is not None
    (tmp_path / "iaca.pem").write_text(encode_pem(pki.iaca))
    (tmp_path / "ds.pem").write_text(encode_pem(pki.ds))
    command = [openssl, "verify", "-CAfile", str(tmp_path / "iaca.pem"), *extra, str(tmp_path / "ds.pem")]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)


@pytest.mark.skipif(openssl is None, reason="the openssl binary is not installed")
def test_openssl_verifies_the_document_signer_against_the_iaca(tmp_path: Path, pki: Pki) -> None:
    result = _openssl_verify(tmp_path, pki)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(": OK")


@pytest.mark.skipif(openssl is None, reason="the openssl binary is not installed")
def test_openssl_honours_the_crl(tmp_path: Path, pki: Pki) -> None:
    ds_serial = read_certificate_info(pki.ds).serial_number
    for revoked, expected_ok in (({}, True), ({ds_serial: NOW - timedelta(minutes=5)}, False)):
        crl = build_crl(pki.iaca, pki.iaca_signer, revoked, NOW - timedelta(minutes=1), NOW + timedelta(days=7))
        (tmp_path / "crl.pem").write_bytes(x509.load_der_x509_crl(crl).public_bytes(serialization.Encoding.PEM))
        result = _openssl_verify(tmp_path, pki, "-crl_check", "-CRLfile", str(tmp_path / "crl.pem"))
        assert (result.returncode == 0) is expected_ok, result.stdout + result.stderr
        if not expected_ok:
            assert "revoked" in (result.stdout + result.stderr)


def test_crl_parses_and_its_signature_verifies_with_the_iaca_key(pki: Pki) -> None:
    revoked_at = NOW - timedelta(days=1)
    revoked = {7: revoked_at, 5: revoked_at}
    der = build_crl(pki.iaca, pki.iaca_signer, revoked, NOW, NOW + timedelta(days=7), crl_number=3)
    crl = x509.load_der_x509_crl(der)
    iaca = x509.load_der_x509_certificate(pki.iaca)
    assert crl.is_signature_valid(iaca.public_key())  # type: ignore[arg-type]
    assert crl.issuer == iaca.subject
    assert crl.last_update_utc == NOW
    assert crl.next_update_utc == NOW + timedelta(days=7)
    assert sorted(entry.serial_number for entry in crl) == [5, 7]
    assert crl.get_revoked_certificate_by_serial_number(7).revocation_date_utc == revoked_at  # type: ignore[union-attr]
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 3
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == iaca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def test_crl_number_defaults_to_this_update_seconds(pki: Pki) -> None:
    crl = x509.load_der_x509_crl(build_crl(pki.iaca, pki.iaca_signer, {}, NOW, NOW + timedelta(days=1)))
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == int(NOW.timestamp())


def _ds(pki: Pki, **overrides: object) -> bytes:
    arguments: dict[str, object] = {
        "common_name": "DS",
        "not_before": NOW,
        "not_after": NOW + timedelta(days=30),
    }
    arguments.update(overrides)
    return build_document_signer_certificate(
        pki.iaca,
        pki.iaca_signer,
        SoftwareSigner.generate().public_jwk,
        **arguments,  # type: ignore[arg-type]
    )


def test_document_signer_validity_is_at_most_457_days(pki: Pki) -> None:
    _ds(pki, not_after=NOW + timedelta(days=457))
    with pytest.raises(CertificateProfileError, match="457"):
        _ds(pki, not_after=NOW + timedelta(days=458))


def test_document_signer_never_outlives_or_predates_the_iaca() -> None:
    signer = SoftwareSigner.generate()
    short_iaca = Pki(signer, _iaca(signer, not_after=NOW + timedelta(days=100)), signer, b"")
    with pytest.raises(CertificateProfileError, match="inside the IACA"):
        _ds(short_iaca, not_after=NOW + timedelta(days=101))
    with pytest.raises(CertificateProfileError, match="inside the IACA"):
        _ds(short_iaca, not_before=NOW - timedelta(days=2))


def test_document_signer_must_be_signed_by_the_iaca_key(pki: Pki) -> None:
    stranger = Pki(SoftwareSigner.generate(), pki.iaca, pki.ds_signer, pki.ds)
    with pytest.raises(CertificateProfileError, match="not the IACA"):
        _ds(stranger)
    with pytest.raises(CertificateProfileError, match="not the IACA"):
        build_crl(pki.iaca, stranger.iaca_signer, {}, NOW, NOW + timedelta(days=1))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"country": "nz"}, "alpha-2"),
        ({"common_name": " "}, "empty"),
        ({"crl_distribution_point_uri": "ftp://x"}, "http"),
        ({"not_after": NOW - timedelta(days=2)}, "later than"),
        ({"not_after": NOW + timedelta(days=20 * 366)}, "exceed"),
        ({"not_before": datetime(2030, 1, 1)}, "timezone-aware"),
    ],
)
def test_iaca_inputs_are_checked(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(CertificateProfileError, match=message):
        _iaca(SoftwareSigner.generate(), **overrides)


class _LyingSigner:
    """Claims one key, signs with another."""

    def __init__(self) -> None:
        self._claimed, self._actual = SoftwareSigner.generate(), SoftwareSigner.generate()
        self.alg, self.kid = "ES256", "liar"
        self.x5c: list[bytes] = []

    @property
    def public_jwk(self) -> dict[str, str]:
        return self._claimed.public_jwk

    def sign(self, data: bytes) -> bytes:
        return self._actual.sign(data)


def test_a_signature_that_does_not_match_the_signer_key_is_refused() -> None:
    with pytest.raises(X509SigningError):
        _iaca(_LyingSigner())  # type: ignore[arg-type]


def test_the_signer_key_adapter_signs_through_the_signer_and_never_exports() -> None:
    signer = SoftwareSigner.generate()
    calls: list[bytes] = []

    class Counting:
        alg, kid, x5c = signer.alg, signer.kid, signer.x5c
        public_jwk = signer.public_jwk

        def sign(self, data: bytes) -> bytes:
            calls.append(data)
            return signer.sign(data)

    certificate = x509.load_der_x509_certificate(_iaca(Counting()))  # type: ignore[arg-type]
    assert calls == [certificate.tbs_certificate_bytes]
    key = SignerPrivateKey(signer)
    with pytest.raises(X509SigningError):
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(X509SigningError):
        key.private_numbers()
    with pytest.raises(X509SigningError):
        key.sign(b"data", ec.ECDSA(hashes.SHA384()))


def test_certificate_info_and_pem_round_trip(pki: Pki) -> None:
    info = read_certificate_info(pki.ds)
    assert (info.country, info.state_or_province, info.common_name) == ("NZ", "NZ-AUK", "example.com Document Signer")
    assert info.not_before == NOW - timedelta(hours=1)
    assert info.not_after == NOW + timedelta(days=365)
    assert len(info.sha256_fingerprint) == 64
    pem = encode_pem(pki.ds)
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert decode_pem(pem) == pki.ds
