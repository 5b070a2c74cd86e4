"""Issuing an mso_mdoc and verifying it independently (pymdoccbor, python-cwt) (formats/mso_mdoc)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cwt import COSE, COSEKey
from pymdoccbor.mdoc.verifier import MdocCbor, MobileDocument

from openissuer.adapters.keys.software import SoftwareSigner
from openissuer.crypto.base64url import decode_base64url, encode_base64url
from openissuer.crypto.cose import cose_key_from_jwk, jwk_from_cose_key
from openissuer.crypto.x509 import build_iaca_certificate
from openissuer.errors import ClaimMappingError, CredentialRequestDeniedError
from openissuer.formats.base import (
    ClaimDescription,
    CredentialFormat,
    FormatConfiguration,
    HolderKey,
    IssuedCredential,
    MappedClaims,
    StatusListReference,
    UnusableSignerError,
)
from openissuer.formats.mso_mdoc import MsoMdocFormat

MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"
AAMVA = "org.iso.18013.5.1.aamva"
CONFIG = FormatConfiguration(
    credential_type=MDL,
    claims=(ClaimDescription((NS, "given_name"), mandatory=True), ClaimDescription((NS, "birth_date"))),
    expires_in=timedelta(days=365),
)
CLAIMS: MappedClaims = {
    NS: {
        "given_name": "Ana",
        "family_name": "Ngata",
        "birth_date": date(1990, 1, 2),
        "issue_date": datetime(2025, 1, 1, 8, 30, tzinfo=UTC),
        "age_over_18": True,
        "portrait": b"\xff\xd8\xff\xe0",
        "driving_privileges": [{"vehicle_category_code": "B", "issue_date": date(2010, 1, 1)}],
    },
    AAMVA: {"DHS_compliance": "F", "sex": 2},
}
ELEMENT_COUNT = 9
FORMAT: CredentialFormat = MsoMdocFormat()

Issue = Callable[..., IssuedCredential]


@pytest.fixture
def issue(document_signer: SoftwareSigner, holder: SoftwareSigner, now: datetime) -> Issue:
    """Issue CLAIMS for ``holder``; keyword arguments override the call (``claims``, ``signer``, ``status``...)."""

    def run(seed: int = 1, **overrides: Any) -> IssuedCredential:
        arguments: dict[str, Any] = {
            "claims": CLAIMS,
            "holder_key": HolderKey.from_jwk(holder.public_jwk),
            "config": CONFIG,
            "signer": document_signer,
            "now": now,
            "random_bytes": random.Random(seed).randbytes,
        }
        arguments.update(overrides)
        return FORMAT.issue(**arguments)

    return run


def _issuer_signed(issued: IssuedCredential) -> dict[str, Any]:
    decoded = cbor2.loads(decode_base64url(issued.credential))
    assert isinstance(decoded, dict)
    return decoded


def _mso(issuer_signed: dict[str, Any]) -> dict[str, Any]:
    payload = cbor2.loads(issuer_signed["issuerAuth"][2])
    assert payload.tag == 24
    mso = cbor2.loads(payload.value)
    assert isinstance(mso, dict)
    return mso


def _verify_with_pymdoccbor(issuer_signed: dict[str, Any], iaca_certificate: bytes) -> MobileDocument:
    document = MobileDocument(docType=MDL, issuerSigned=issuer_signed)
    document.verify(trusted_root_certs=[x509.load_der_x509_certificate(iaca_certificate)])
    return document


def test_pymdoccbor_verifies_signature_digests_and_chain(issue: Issue, iaca_certificate: bytes) -> None:
    document = _verify_with_pymdoccbor(_issuer_signed(issue()), iaca_certificate)
    assert document.is_valid
    assert document.hash_verification == {"valid": True, "total": 9, "verified": 9, "failed": []}
    assert document.issuersigned.issuer_auth.verified_root is not None


def test_pymdoccbor_verifies_it_inside_a_device_response(issue: Issue, iaca_certificate: bytes) -> None:
    issuer_signed = _issuer_signed(issue())
    response = {"version": "1.0", "documents": [{"docType": MDL, "issuerSigned": issuer_signed}], "status": 0}
    mdoc = MdocCbor()
    mdoc.loads(cbor2.dumps(response))
    assert mdoc.verify(trusted_root_certs=[x509.load_der_x509_certificate(iaca_certificate)])
    assert mdoc.disclosure_map[NS]["given_name"] == "Ana"
    assert mdoc.disclosure_map[NS]["birth_date"] == date(1990, 1, 2)


def test_pymdoccbor_refuses_it_under_another_iaca(issue: Issue) -> None:
    other_signer = SoftwareSigner.generate()
    today = datetime.now(UTC)
    other_iaca = build_iaca_certificate(
        other_signer,
        country="NZ",
        common_name="Other IACA",
        issuer_alternative_name_uri="https://other.example.com",
        crl_distribution_point_uri="https://other.example.com/crl",
        not_before=today - timedelta(days=1),
        not_after=today + timedelta(days=10),
    )
    with pytest.raises(ValueError, match="not signed by any trusted root"):
        _verify_with_pymdoccbor(_issuer_signed(issue()), other_iaca)


def test_the_document_signer_certificate_chains_to_the_iaca(issue: Issue, iaca_certificate: bytes) -> None:
    x5chain = _issuer_signed(issue())["issuerAuth"][1][33]
    assert isinstance(x5chain, bytes)  # one certificate: a bare bstr (RFC 9360 §2)
    document_signer = x509.load_der_x509_certificate(x5chain)
    document_signer.verify_directly_issued_by(x509.load_der_x509_certificate(iaca_certificate))


def test_changing_one_element_value_breaks_its_digest(issue: Issue, iaca_certificate: bytes) -> None:
    issuer_signed = _issuer_signed(issue())
    items = issuer_signed["nameSpaces"][NS]
    item = cbor2.loads(items[0].value)
    assert item["elementIdentifier"] == "given_name"
    item["elementValue"] = "Eve"
    items[0] = cbor2.CBORTag(24, cbor2.dumps(item))
    document = _verify_with_pymdoccbor(issuer_signed, iaca_certificate)
    assert not document.is_valid
    assert document.hash_verification is not None
    failures = [(failure["elementIdentifier"], failure["reason"]) for failure in document.hash_verification["failed"]]
    assert failures == [("given_name", "hash mismatch")]


def test_changing_the_mso_breaks_the_signature(issue: Issue, iaca_certificate: bytes) -> None:
    issuer_signed = _issuer_signed(issue())
    mso = _mso(issuer_signed)
    mso["docType"] = "org.example.other"
    issuer_signed["issuerAuth"][2] = cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(mso)))
    assert not _verify_with_pymdoccbor(issuer_signed, iaca_certificate).is_valid


def test_python_cwt_verifies_the_issuer_auth(issue: Issue, document_signer: SoftwareSigner) -> None:
    issuer_auth = _issuer_signed(issue())["issuerAuth"]
    key = COSEKey.from_jwk({**document_signer.public_jwk, "alg": "ES256"})
    payload = COSE.new().decode(cbor2.dumps(cbor2.CBORTag(18, issuer_auth)), keys=key)
    assert cbor2.loads(cbor2.loads(payload).value)["docType"] == MDL


def test_the_holder_key_is_the_device_key(issue: Issue, holder: SoftwareSigner) -> None:
    issued = issue()
    device_key = _mso(_issuer_signed(issued))["deviceKeyInfo"]["deviceKey"]
    assert device_key == cose_key_from_jwk(holder.public_jwk)
    assert jwk_from_cose_key(device_key) == holder.public_jwk
    assert issued.details["devicePublicKey"] == holder.public_jwk
    assert issued.holder_key_thumbprint == HolderKey.from_jwk(holder.public_jwk).thumbprint


def test_structure_follows_iso_18013_5(issue: Issue, now: datetime) -> None:
    issued = issue()
    assert "=" not in issued.credential
    assert encode_base64url(decode_base64url(issued.credential)) == issued.credential
    issuer_signed = _issuer_signed(issued)
    assert set(issuer_signed) == {"nameSpaces", "issuerAuth"}
    protected, unprotected, _, signature = issuer_signed["issuerAuth"]
    assert cbor2.loads(protected) == {1: -7}
    assert set(unprotected) == {33}
    assert len(signature) == 64
    mso = _mso(issuer_signed)
    assert set(mso) == {"version", "digestAlgorithm", "valueDigests", "deviceKeyInfo", "docType", "validityInfo"}
    assert (mso["version"], mso["digestAlgorithm"], mso["docType"]) == ("1.0", "SHA-256", MDL)

    assert mso["validityInfo"] == {"signed": now, "validFrom": now, "validUntil": now + timedelta(days=365)}
    # cbor2 decodes tag 0 into datetime, so check the encoding itself: tag 0, whole seconds, "Z".
    mso_bytes = cbor2.loads(issuer_signed["issuerAuth"][2]).value
    for moment in (now, now + timedelta(days=365)):
        assert cbor2.dumps(cbor2.CBORTag(0, moment.strftime("%Y-%m-%dT%H:%M:%SZ"))) in mso_bytes


def test_items_have_fresh_salts_random_digest_ids_and_matching_digests(issue: Issue) -> None:
    issued = issue()
    issuer_signed = _issuer_signed(issued)
    value_digests = _mso(issuer_signed)["valueDigests"]
    assert set(value_digests) == {NS, AAMVA}
    salts: set[bytes] = set()
    digest_ids: list[int] = []
    for namespace, items in issuer_signed["nameSpaces"].items():
        for tagged in items:
            assert tagged.tag == 24
            item = cbor2.loads(tagged.value)
            assert set(item) == {"digestID", "random", "elementIdentifier", "elementValue"}
            assert len(item["random"]) >= 16
            salts.add(item["random"])
            digest_ids.append(item["digestID"])
            # ISO 18013-5 §9.1.2.5: the digest is over the tag-24-wrapped IssuerSignedItemBytes.
            digest = hashlib.sha256(cbor2.dumps(tagged)).digest()
            assert value_digests[namespace][item["digestID"]] == digest
            recorded = issued.details["namespaces"][namespace][item["elementIdentifier"]]
            assert recorded == {"digestID": item["digestID"], "digest": encode_base64url(digest)}
    assert len(salts) == len(set(digest_ids)) == len(digest_ids) == ELEMENT_COUNT
    assert all(0 <= digest_id < 2**31 for digest_id in digest_ids)
    assert sorted(digest_ids) != list(range(min(digest_ids), min(digest_ids) + ELEMENT_COUNT))


def test_element_values_use_iso_encodings(issue: Issue) -> None:
    encoded = {}
    for tagged in _issuer_signed(issue())["nameSpaces"][NS]:
        item = cbor2.loads(tagged.value)
        encoded[item["elementIdentifier"]] = tagged.value
        assert item["elementValue"] == CLAIMS[NS][item["elementIdentifier"]]
    # cbor2 decodes tags 0 and 1004 into datetime/date, so check the encodings in the item bytes.
    assert cbor2.dumps(cbor2.CBORTag(1004, "1990-01-02")) in encoded["birth_date"]
    assert cbor2.dumps(cbor2.CBORTag(0, "2025-01-01T08:30:00Z")) in encoded["issue_date"]
    assert cbor2.dumps(cbor2.CBORTag(1004, "2010-01-01")) in encoded["driving_privileges"]
    assert cbor2.dumps(b"\xff\xd8\xff\xe0") in encoded["portrait"]
    assert b"\xf5" in encoded["age_over_18"]  # CBOR true


def test_the_record_holds_digests_and_hashes_but_no_claim_values(issue: Issue, now: datetime) -> None:
    issued = issue()
    payload = _issuer_signed(issued)["issuerAuth"][2]
    assert issued.details["msoHash"] == encode_base64url(hashlib.sha256(payload).digest())
    assert issued.details["docType"] == MDL
    assert (issued.signed_at, issued.valid_from, issued.valid_until) == (now, now, now + timedelta(days=365))
    assert (issued.format_id, issued.credential_type) == ("mso_mdoc", MDL)
    record = repr({name: value for name, value in vars(issued).items() if name != "credential"})
    assert "Ana" not in record
    assert "Ngata" not in record


def test_randomness_comes_only_from_the_injected_source(issue: Issue) -> None:
    first, second = _issuer_signed(issue(seed=7)), _issuer_signed(issue(seed=7))
    assert first["nameSpaces"] == second["nameSpaces"]
    assert _mso(first) == _mso(second)
    assert _issuer_signed(issue(seed=8))["nameSpaces"] != first["nameSpaces"]


def test_a_status_reference_goes_into_the_mso(issue: Issue) -> None:
    status = StatusListReference(uri="https://issuer.example.com/status-lists/1/token", idx=412)
    issued = issue(status=status)
    assert _mso(_issuer_signed(issued))["status"] == {"status_list": {"idx": 412, "uri": status.uri}}
    assert issued.status == status


def test_an_mdoc_needs_a_holder_key(issue: Issue) -> None:
    with pytest.raises(CredentialRequestDeniedError):
        issue(holder_key=None)


def test_an_mdoc_needs_a_signer_with_a_certificate(issue: Issue) -> None:
    with pytest.raises(UnusableSignerError):
        issue(signer=SoftwareSigner.generate())


def test_an_mdoc_needs_at_least_one_claim(issue: Issue) -> None:
    with pytest.raises(CredentialRequestDeniedError, match="no claims"):
        issue(claims={NS: {}})


def test_an_unencodable_value_names_the_claim_but_not_the_value(issue: Issue) -> None:
    with pytest.raises(ClaimMappingError) as caught:
        issue(claims={NS: {"given_name": "Ana", "expiry": datetime(2030, 1, 1, 12, 34)}})
    assert (caught.value.namespace, caught.value.claim) == (NS, "expiry")
    assert "12:34" not in caught.value.description


def test_holder_keys_must_be_p256_public_jwks(holder: SoftwareSigner) -> None:
    with pytest.raises(ValueError):
        HolderKey.from_jwk({**holder.public_jwk, "crv": "P-384"})
