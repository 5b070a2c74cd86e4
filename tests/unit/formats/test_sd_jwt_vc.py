"""The dc+sd-jwt format on its own: the issuer certificate profile, which positions are disclosable, decoys, the
iat policy, claim values as JSON, and what it refuses to sign."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509

from openissuer.adapters.keys.software import SoftwareSigner
from openissuer.crypto.x509 import CertificateProfileError, build_sd_jwt_issuer_certificate
from openissuer.errors import CredentialRequestDeniedError
from openissuer.formats.base import ClaimDescription, FormatConfiguration, HolderKey, UnusableSignerError
from openissuer.formats.sd_jwt_vc import SdJwtVcFormat
from openissuer.formats.sd_jwt_vc.claim_values import encode_claim_value
from openissuer.formats.sd_jwt_vc.credential_format import SELECTIVELY_DISCLOSABLE, find_disclosability
from openissuer.formats.sd_jwt_vc.disclosures import compute_digest, conceal_claims
from openissuer.formats.sd_jwt_vc.validity import compute_credential_times

SD = SELECTIVELY_DISCLOSABLE
ISSUER = "https://issuer.example.com"


@pytest.fixture(scope="module")
def issuer_signer(iaca_signer: SoftwareSigner, iaca_certificate: bytes, now: datetime) -> SoftwareSigner:
    signer = SoftwareSigner.generate()
    certificate = build_sd_jwt_issuer_certificate(
        iaca_certificate,
        iaca_signer,
        signer.public_jwk,
        common_name="Example SD-JWT VC Issuer",
        issuer_uri=ISSUER,
        not_before=now - timedelta(hours=1),
        not_after=now + timedelta(days=450),
    )
    return signer.with_x5c([certificate])


def _claim(*path: Any, sd: bool | None = None, flags_only: bool = False) -> ClaimDescription:
    flags = () if sd is None else ((SD, sd),)
    return ClaimDescription(path=path, mapped=not flags_only, flags=flags, flags_only=flags_only)


def _config(*claims: ClaimDescription, decoys: int = 0, days: int = 30) -> FormatConfiguration:
    return FormatConfiguration(
        credential_type="https://issuer.example.com/vct/x",
        claims=claims,
        expires_in=timedelta(days=days),
        options={"decoyDigests": decoys},
        issuer=ISSUER,
    )


def _b64(text: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def test_the_issuer_certificate_profile(issuer_signer: SoftwareSigner, iaca_certificate: bytes) -> None:
    leaf = x509.load_der_x509_certificate(issuer_signer.x5c[0])
    iaca = x509.load_der_x509_certificate(iaca_certificate)
    leaf.verify_directly_issued_by(iaca)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [ISSUER]
    assert san.get_values_for_type(x509.DNSName) == ["issuer.example.com"]
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    with pytest.raises(x509.ExtensionNotFound):  # not an mDL document signer
        leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    basic = iaca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca and basic.path_length == 0
    assert leaf.issuer == iaca.subject
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = iaca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints)  # copied from the IACA


def test_the_issuer_certificate_names_an_ip_address_host(
    iaca_signer: SoftwareSigner, iaca_certificate: bytes, now: datetime
) -> None:
    certificate = build_sd_jwt_issuer_certificate(
        iaca_certificate,
        iaca_signer,
        SoftwareSigner.generate().public_jwk,
        common_name="x",
        issuer_uri="http://127.0.0.1:8000",
        not_before=now,
        not_after=now + timedelta(days=1),
    )
    san = x509.load_der_x509_certificate(certificate).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    with pytest.raises(CertificateProfileError):
        build_sd_jwt_issuer_certificate(
            iaca_certificate,
            iaca_signer,
            SoftwareSigner.generate().public_jwk,
            common_name="x",
            issuer_uri="urn:not-a-url",
            not_before=now,
            not_after=now + timedelta(days=1),
        )


def test_which_positions_are_disclosable() -> None:
    is_disclosable = find_disclosability(
        (
            _claim("given_name"),  # a claim with a value: disclosable unless it says otherwise
            _claim("member", sd=False),
            _claim("address", sd=True, flags_only=True),
            _claim("address", "country", sd=False),
            _claim("nationalities", sd=False),
            _claim("nationalities", None, sd=True, flags_only=True),
            _claim("degrees", None, "type", sd=True, flags_only=True),
            _claim("degrees", 0, "type", sd=False, flags_only=True),  # the specific entry wins over [*]
        )
    )
    assert is_disclosable(("given_name",)) and not is_disclosable(("member",))
    assert is_disclosable(("address",)) and not is_disclosable(("address", "country"))
    assert not is_disclosable(("address", "locality"))  # inside a value, unless configured
    assert not is_disclosable(("nationalities",)) and is_disclosable(("nationalities", 3))
    assert not is_disclosable(("degrees", 0, "type")) and is_disclosable(("degrees", 1, "type"))


def test_recursive_and_array_disclosures_with_decoys() -> None:
    claims = {"a": 1, "o": {"x": 2, "y": 3}, "l": ["p", "q"]}
    rules = {("a",): True, ("o",): True, ("o", "x"): True, ("l", 0): True}
    concealed = conceal_claims(claims, lambda p: rules.get(p, False), random.Random(1).randbytes, max_decoys=5)
    by_digest = {compute_digest(d): _b64(d) for d in concealed.disclosures}
    payload = concealed.payload
    assert set(payload) == {"_sd", "l"} and payload["_sd"] == sorted(payload["_sd"])
    assert payload["l"][1] == "q" and set(payload["l"][0]) == {"..."}
    assert by_digest[payload["l"][0]["..."]][1] == "p"
    (o,) = [d for d in by_digest.values() if len(d) == 3 and d[1] == "o"]
    assert o[2]["y"] == 3 and "x" not in o[2]
    ((x_digest, x),) = [(digest, d) for digest, d in by_digest.items() if len(d) == 3 and d[1] == "x"]
    assert x_digest in o[2]["_sd"] and x[2] == 2  # x's disclosure is inside o's (recursive)
    real = set(by_digest)
    digests_in_sd = set(payload["_sd"]) | set(o[2]["_sd"])
    assert real - {payload["l"][0]["..."]} <= digests_in_sd
    assert len(digests_in_sd - real) == concealed.decoys <= 10
    salts = [_b64(d)[0] for d in concealed.disclosures]
    assert len(set(salts)) == len(salts) and all(len(base64.urlsafe_b64decode(s + "==")) == 16 for s in salts)


def test_no_sd_claim_without_disclosable_claims_even_with_decoys() -> None:
    concealed = conceal_claims({"a": 1}, lambda p: False, random.Random(1).randbytes, max_decoys=5)
    assert concealed.payload == {"a": 1} and concealed.disclosures == [] and concealed.decoys == 0


def test_decoy_counts_vary_between_credentials() -> None:
    source = random.Random(3).randbytes
    counts = {conceal_claims({"a": 1}, lambda p: True, source, max_decoys=4).decoys for _ in range(40)}
    assert counts == {0, 1, 2, 3, 4}


def test_iat_is_a_random_second_in_the_day_before_issuance_and_exp_follows() -> None:
    now = datetime(2026, 12, 1, 12, 0, 0, 500000, tzinfo=UTC)
    source = random.Random(5).randbytes
    times = [compute_credential_times(now, timedelta(days=30), source) for _ in range(200)]
    issued = [t.issued_at for t in times]
    assert all(now - timedelta(days=1) <= t <= now and t.microsecond == 0 for t in issued)
    assert len(set(issued)) == 200
    assert max(issued) - min(issued) > timedelta(hours=20)  # spread over the day
    assert all(t.expires_at - t.issued_at == timedelta(days=30) for t in times)
    short = [compute_credential_times(now, timedelta(hours=10), source) for _ in range(50)]
    assert all(now - timedelta(hours=1) <= t.issued_at <= now for t in short)  # a tenth of a short validity


def test_claim_values_as_json() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC)
    assert encode_claim_value({"d": date(1990, 1, 2), "t": moment, "b": b"\xff\x00", "l": [date(2000, 1, 1)]}) == {
        "d": "1990-01-02",
        "t": "2026-01-02T03:04:05Z",
        "b": "_wA",
        "l": ["2000-01-01"],
    }
    with pytest.raises(ValueError):
        encode_claim_value(datetime(2026, 1, 1))


def test_issue_and_what_it_refuses(issuer_signer: SoftwareSigner, holder: SoftwareSigner, now: datetime) -> None:
    fmt = SdJwtVcFormat()
    key = HolderKey.from_jwk(holder.public_jwk)
    config = _config(_claim("given_name"), _claim("age", sd=False), decoys=2)
    issued = fmt.issue(
        {"given_name": "Ana", "age": 36}, key, config, issuer_signer, now, random_bytes=random.Random(9).randbytes
    )
    jwt, *disclosures, last = issued.credential.split("~")
    assert last == "" and len(disclosures) == 1
    header, payload = _b64(jwt.split(".")[0]), _b64(jwt.split(".")[1])
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256" and len(header["x5c"]) == 1
    assert payload["iss"] == ISSUER and payload["age"] == 36 and payload["cnf"] == {"jwk": key.jwk}
    assert payload["_sd_alg"] == "sha-256" and "given_name" not in payload
    assert issued.valid_from == datetime.fromtimestamp(payload["iat"], UTC)
    assert issued.valid_until == datetime.fromtimestamp(payload["exp"], UTC) and issued.signed_at == now
    assert issued.details["digests"] == [compute_digest(disclosures[0])]
    rng = random.Random(9).randbytes
    with pytest.raises(CredentialRequestDeniedError):
        fmt.issue({"given_name": "Ana"}, None, config, issuer_signer, now, random_bytes=rng)
    with pytest.raises(UnusableSignerError):
        fmt.issue({"given_name": "Ana"}, key, config, SoftwareSigner.generate(), now, random_bytes=rng)
    with pytest.raises(CredentialRequestDeniedError, match="outlive"):
        fmt.issue(
            {"given_name": "Ana"}, key, _config(_claim("given_name"), days=455), issuer_signer, now, random_bytes=rng
        )
    with pytest.raises(UnusableSignerError):
        fmt.issue(
            {"given_name": "Ana"},
            key,
            FormatConfiguration("https://x/vct/y", (), timedelta(days=1)),  # no issuer identifier given
            issuer_signer,
            now,
            random_bytes=rng,
        )


def test_configuration_rules() -> None:
    fmt = SdJwtVcFormat()
    ok = _config(_claim("given_name"))
    assert fmt.validate_configuration(ok) == []
    bad = FormatConfiguration(
        credential_type="no scheme",
        claims=(_claim("iss"), _claim("a", "_sd"), _claim("c", sd=True, flags_only=True)),
        expires_in=timedelta(days=456),
        options={"decoyDigests": 21},
    )
    params = {problem.param for problem in fmt.validate_configuration(bad)}
    assert params == {"vct", "claimMappings.iss", "claimMappings.a._sd", "expiresIn", "decoyDigests"}
    only_flags = _config(_claim("c", sd=True, flags_only=True))
    assert [p.param for p in fmt.validate_configuration(only_flags)] == ["claimMappings"]
