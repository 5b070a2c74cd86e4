"""The ``cwt`` format: the exact structure of reference §9.2, python-cwt as the independent verifier, the text
form's strictness, configuration rules and the revocation list's wire format."""

from __future__ import annotations

import base64
import gzip
import os
from datetime import UTC, datetime, timedelta

import cbor2
import cwt
import pytest
from cwt import COSEKey

from openissuer.adapters.keys.software import SoftwareSigner
from openissuer.domain.compact_credentials import CompactCredentialError, VerificationFailure
from openissuer.domain.dids import FAR_FUTURE
from openissuer.errors import CredentialRequestDeniedError
from openissuer.formats.base import ClaimDescription, FormatConfiguration, StatusListReference, UnusableSignerError
from openissuer.formats.cwt import CwtFormat

NOW = datetime.now(UTC).replace(microsecond=500000)  # python-cwt checks exp against the real clock
DID = "did:web:issuer.example"
CONFIG = FormatConfiguration(credential_type="Course Credential", claims=(), expires_in=timedelta(days=30))


@pytest.fixture(scope="module")
def key() -> SoftwareSigner:
    return SoftwareSigner.generate()


@pytest.fixture(scope="module")
def signer(key: SoftwareSigner) -> SoftwareSigner:
    return SoftwareSigner(key._private_key, kid=f"{DID}#abcdefgh")


def _raw(encoded: str) -> bytes:
    body = encoded.removeprefix("CSC:/1/")
    return base64.b32decode(body + "=" * (-len(body) % 8))


def test_issue_builds_the_structure_of_the_reference(signer: SoftwareSigner, key: SoftwareSigner) -> None:
    status = StatusListReference("https://issuer.example/v2/credentials/compact/revocation-lists/l1", 604)
    issued = CwtFormat().issue(
        {"name": "Ana", "level": 4, "ok": True, "born": datetime(1990, 1, 2, tzinfo=UTC)},
        None,
        CONFIG,
        signer,
        NOW,
        random_bytes=lambda n: b"\x07" * n,
        status=status,
    )
    assert issued.credential.startswith("CSC:/1/") and "=" not in issued.credential
    assert issued.credential == issued.credential.upper()
    sign1 = cbor2.loads(_raw(issued.credential))
    assert sign1.tag == 18
    protected, unprotected, payload, signature = sign1.value
    assert cbor2.loads(protected) == {1: -7, 4: b"abcdefgh"} and unprotected == {} and len(signature) == 64
    claims = cbor2.loads(payload)
    seconds = int(NOW.timestamp())
    assert claims == {
        1: DID,
        4: seconds + 30 * 86400,
        5: seconds,
        6: seconds,
        7: cbor2.CBORTag(64, b"\x07" * 16),
        -65539: "Course Credential",
        "name": "Ana",
        "level": 4,
        "ok": True,
        "born": "1990-01-02T00:00:00Z",
        -65537: {2: 604, 3: status.uri},
    }
    verified = cwt.decode(_raw(issued.credential), keys=[COSEKey.from_jwk({**key.public_jwk, "kid": "abcdefgh"})])
    assert verified["name"] == "Ana"
    jti = base64.urlsafe_b64encode(b"\x07" * 16).decode().rstrip("=")
    assert issued.credential_id == jti and issued.details == {
        "jti": jti,
        "kid": "abcdefgh",
        "claimNames": sorted(["name", "level", "ok", "born"]),
    }
    assert issued.holder_key_thumbprint is None and issued.valid_until == NOW + timedelta(days=30)


def test_without_expires_in_there_is_no_exp_and_the_record_never_expires(signer: SoftwareSigner) -> None:
    config = FormatConfiguration(credential_type="T", claims=(), expires_in=None)
    issued = CwtFormat().issue({}, None, config, signer, NOW, random_bytes=os.urandom)
    assert 4 not in cbor2.loads(cbor2.loads(_raw(issued.credential)).value[2])
    assert issued.valid_until == FAR_FUTURE


def test_claims_that_are_not_primitive_and_unusable_signers_are_refused(
    signer: SoftwareSigner, key: SoftwareSigner
) -> None:
    with pytest.raises(CredentialRequestDeniedError):
        CwtFormat().issue({"address": {"street": "x"}}, None, CONFIG, signer, NOW, random_bytes=os.urandom)
    with pytest.raises(UnusableSignerError, match="did:web"):
        CwtFormat().issue({}, None, CONFIG, key, NOW, random_bytes=os.urandom)  # its kid is a thumbprint


def test_read_and_verify_round_trip_and_refuse_what_is_not_a_credential(
    signer: SoftwareSigner, key: SoftwareSigner
) -> None:
    cwt_format = CwtFormat()
    issued = cwt_format.issue({"name": "Ana"}, None, CONFIG, signer, NOW, random_bytes=os.urandom)
    credential = cwt_format.read_compact(issued.credential)
    assert credential.kid == "abcdefgh" and credential.to_json()["name"] == "Ana"
    cwt_format.verify_compact(credential, key.public_jwk)
    with pytest.raises(CompactCredentialError) as refused:
        cwt_format.verify_compact(credential, SoftwareSigner.generate().public_jwk)
    assert refused.value.failure is VerificationFailure.SIGNATURE_INVALID
    body = issued.credential.removeprefix("CSC:/1/")
    for text in ("CSS:/1/" + body, "CSC:/1/" + body.lower(), "CSC:/1/" + body + "=", "CSC:/1/A", "CSC:/1/"):
        with pytest.raises(CompactCredentialError) as malformed:
            cwt_format.read_compact(text)
        assert malformed.value.failure is VerificationFailure.PAYLOAD_INVALID, text
    for claims in ({1: 5}, {7: b"x"}, {1: DID, 7: b"x", -1: "unknown label"}, {1: DID, 7: b"x", "iss": "twice"}):
        sign1 = cbor2.loads(_raw(issued.credential))
        sign1.value[2] = cbor2.dumps(claims)
        text = "CSC:/1/" + base64.b32encode(cbor2.dumps(sign1)).decode().rstrip("=")
        with pytest.raises(CompactCredentialError):
            cwt_format.read_compact(text)


def _claim(name: str, **kw: object) -> ClaimDescription:
    return ClaimDescription(path=(name,), **kw)  # type: ignore[arg-type]


def test_configuration_rules() -> None:
    def params(config: FormatConfiguration) -> set[str]:
        return {problem.param for problem in CwtFormat().validate_configuration(config)}

    good = FormatConfiguration("Course", (_claim("name", mapped=True), _claim("n", value_type="number")), None)
    assert params(good) == set()
    assert params(FormatConfiguration("VerifiableCredential", (), None)) == {"type"}
    assert params(FormatConfiguration("x" * 1025, (), None)) == {"type"}
    bad_claims = (
        _claim("iss", mapped=True),
        _claim("photo", value_type="bytes"),
        _claim("tags", default_type="array"),
        ClaimDescription(path=("ns", "name")),
    )
    assert params(FormatConfiguration("T", bad_claims, None)) == {
        "claimMappings.iss",
        "claimMappings.photo.type",
        "claimMappings.tags.defaultValue",
        "claimMappings",
    }
    assert params(FormatConfiguration("T", (), None, options={"pdfTemplateId": "nope"})) == {"pdfTemplateId"}
    assert CwtFormat().scope(good) == "cwt:Course"
    assert CwtFormat().scope(FormatConfiguration("Course Credential", (), None)) == "cwt:Course%20Credential"


def test_the_revocation_list_wire_format(signer: SoftwareSigner, key: SoftwareSigner) -> None:
    cwt_format = CwtFormat()
    url = "https://issuer.example/v2/credentials/compact/revocation-lists/l1"
    data = cwt_format.sign_revocation_list(signer, url, NOW, NOW + timedelta(days=1), 1_000_000, [0, 9, 999_999])
    claims = cwt.decode(data, keys=[COSEKey.from_jwk({**key.public_jwk, "kid": "abcdefgh"})], no_verify=False)
    bits = gzip.decompress(claims[-65538])
    assert len(bits) == 125_000 and (claims[1], claims[2]) == (DID, url)
    assert bits[0] == 0b1000_0000 and bits[1] == 0b0100_0000 and bits[-1] == 0b0000_0001  # MSB first
    document = cwt_format.read_revocation_list(data)
    assert [i for i in (0, 1, 8, 9, 999_998, 999_999) if document.is_revoked(i)] == [0, 9, 999_999]
    assert not document.is_revoked(5_000_000)
    cwt_format.verify_revocation_list(document, key.public_jwk)


def test_a_list_that_inflates_past_a_million_entries_is_refused(signer: SoftwareSigner) -> None:
    bomb = cbor2.dumps({1: DID, 2: "u", 6: 0, 4: 1, -65538: gzip.compress(b"\0" * 10_000_000)})
    sign1 = cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: b"abcdefgh"}), {}, bomb, b"\0" * 64])
    with pytest.raises(CompactCredentialError, match="1,000,000"):
        CwtFormat().read_revocation_list(cbor2.dumps(sign1))
