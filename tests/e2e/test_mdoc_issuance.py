"""Issuing mDocs through the service with an IACA and a configuration made through the API.

Every credential is checked by an independent verifier (pymdoccbor) and its chain by openssl.
"""

from __future__ import annotations

import base64
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509
from joserfc.jwk import ECKey
from pymdoccbor.mdoc.verifier import MobileDocument

from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.errors import CredentialRequestDeniedError, InvalidProofError, UnknownCredentialConfigurationError
from openissuer.services.mdoc_issuance import MdocIssuanceRequest

MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"
PORTRAIT = bytes(range(256))
CLAIMS = {
    "given_name": "Ana",
    "family_name": "Ngata",
    "birth_date": "1990-01-02",
    "portrait": "data:image/jpeg;base64," + base64.b64encode(PORTRAIT).decode(),
    "licence": {"number": "DL-123"},
}


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


def mdl_configuration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": MDL,
        "claimMappings": {
            NS: {
                "given_name": {"mapFrom": "claims.given_name", "type": "string", "required": True},
                "family_name": {"mapFrom": "claims.family_name", "type": "string", "required": True},
                "birth_date": {"mapFrom": "claims.birth_date", "type": "date", "required": True},
                "portrait": {"mapFrom": "claims.portrait", "type": "bytes"},
                "document_number": {"mapFrom": "claims.licence.number", "type": "string"},
                "issuing_country": {"defaultValue": "NZ", "type": "string"},
                "nickname": {"mapFrom": "claims.nickname", "type": "string"},
            }
        },
        "expiresIn": {"days": 365},
    }
    body.update(overrides)
    return body


class Issuer:
    def __init__(self, api: Any, headers: dict[str, str], iaca: dict[str, Any], configuration: dict[str, Any]):
        self.api, self.headers, self.iaca, self.configuration = api, headers, iaca, configuration

    async def issue(self, holder: dict[str, Any], claims: dict[str, Any] | None = None, **kw: Any) -> Any:
        request = MdocIssuanceRequest(
            tenant_id=DEFAULT_TENANT_ID,
            configuration_id=kw.pop("configuration_id", self.configuration["id"]),
            claims=CLAIMS if claims is None else claims,
            **kw,
        )
        return await self.api.container.mdoc_issuance.issue(request, holder)

    @property
    def iaca_certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.iaca["certificatePem"].encode())


@pytest.fixture
async def issuer(api: Any) -> Issuer:
    headers = await api.auth()
    created = await api.http.post("/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"})
    iaca_id = created.json()["id"]
    await api.http.put(f"/v2/credentials/mobile/iacas/{iaca_id}", headers=headers, json={"active": True})
    iaca = (await api.http.get("/v1/openid/iacas")).json()["data"][0]
    configuration = await api.http.post(
        "/v2/credentials/mobile/configurations", headers=headers, json=mdl_configuration()
    )
    assert configuration.status_code == 201, configuration.text
    return Issuer(api, headers, iaca, configuration.json())


def holder_jwk() -> dict[str, Any]:
    return dict(ECKey.generate_key("P-256").as_dict(private=False))


def decode(credential: str) -> dict[str, Any]:
    issuer_signed = cbor2.loads(base64.urlsafe_b64decode(credential + "=" * (-len(credential) % 4)))
    assert set(issuer_signed) == {"nameSpaces", "issuerAuth"}
    return dict(issuer_signed)


def verify(issuer_signed: dict[str, Any], root: x509.Certificate) -> MobileDocument:
    document = MobileDocument(docType=MDL, issuerSigned=issuer_signed)
    document.verify(trusted_root_certs=[root])
    return document


def mso_of(issuer_signed: dict[str, Any]) -> dict[str, Any]:
    return dict(cbor2.loads(cbor2.loads(issuer_signed["issuerAuth"][2]).value))


async def test_issued_mdoc_verifies_independently_and_binds_the_holder_key(issuer: Issuer) -> None:
    holder = holder_jwk()
    issuance = await issuer.issue(holder)
    issuer_signed = decode(issuance.credential.credential)
    document = verify(issuer_signed, issuer.iaca_certificate)
    assert document.is_valid
    assert document.hash_verification["failed"] == []
    assert document.hash_verification["verified"] == 6  # nickname had no value and was left out
    values = {
        cbor2.loads(item.value)["elementIdentifier"]: cbor2.loads(item.value)["elementValue"]
        for item in issuer_signed["nameSpaces"][NS]
    }
    assert values == {
        "given_name": "Ana",
        "family_name": "Ngata",
        "birth_date": date(1990, 1, 2),
        "portrait": PORTRAIT,
        "document_number": "DL-123",
        "issuing_country": "NZ",
    }
    mso = mso_of(issuer_signed)
    device_key = mso["deviceKeyInfo"]["deviceKey"]
    assert device_key[-2] == base64.urlsafe_b64decode(holder["x"] + "==")
    assert device_key[-3] == base64.urlsafe_b64decode(holder["y"] + "==")
    assert mso["docType"] == MDL
    assert mso["digestAlgorithm"] == "SHA-256"
    validity = mso["validityInfo"]
    assert validity["validUntil"] - validity["validFrom"] == timedelta(days=365)


async def test_changing_one_element_value_breaks_verification(issuer: Issuer) -> None:
    issuer_signed = decode((await issuer.issue(holder_jwk())).credential.credential)
    items = issuer_signed["nameSpaces"][NS]
    for index, item in enumerate(items):
        element = cbor2.loads(item.value)
        if element["elementIdentifier"] == "family_name":
            element["elementValue"] = "Smith"
            items[index] = cbor2.CBORTag(24, cbor2.dumps(element))
    document = verify(issuer_signed, issuer.iaca_certificate)
    assert not document.is_valid
    assert len(document.hash_verification["failed"]) == 1


async def test_document_signer_chains_to_the_iaca_with_openssl(issuer: Issuer, tmp_path: Path) -> None:
    issuer_signed = decode((await issuer.issue(holder_jwk())).credential.credential)
    ds_der = issuer_signed["issuerAuth"][1][33]
    ds = x509.load_der_x509_certificate(ds_der)
    (tmp_path / "iaca.pem").write_text(issuer.iaca["certificatePem"])
    (tmp_path / "ds.pem").write_bytes(
        ds.public_bytes(encoding=__import__("cryptography").hazmat.primitives.serialization.Encoding.PEM)
    )
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "iaca.pem"), str(tmp_path / "ds.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK")
    eku = ds.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and [oid.dotted_string for oid in eku.value] == ["1.0.18013.5.1.2"]
    usage = ds.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert ds.not_valid_after_utc - ds.not_valid_before_utc <= timedelta(days=457)
    assert ds.not_valid_after_utc <= issuer.iaca_certificate.not_valid_after_utc
    assert ds.issuer == issuer.iaca_certificate.subject


async def test_the_record_has_no_claim_values(issuer: Issuer) -> None:
    holder = holder_jwk()
    issuance = await issuer.issue(holder, user_id="user-1", offer_id="offer-1")
    async with issuer.api.container.uow_factory() as uow:
        record = await uow.issued_credentials.get(DEFAULT_TENANT_ID, issuance.record.id)
        page = await uow.issued_credentials.list(DEFAULT_TENANT_ID, limit=10, after=None, user_id="user-1")
    assert record == issuance.record
    assert page.items == [record]
    assert record.doctype == MDL
    assert record.profile == "mobile"
    assert record.device_key == holder
    assert record.mso_hash == issuance.credential.credential_hash
    assert set(record.digests[NS]) == {
        "given_name",
        "family_name",
        "birth_date",
        "portrait",
        "document_number",
        "issuing_country",
    }
    text = repr(record)
    for value in ("Ana", "Ngata", "1990", "DL-123"):
        assert value not in text


async def test_signers_are_reused_then_rotated(issuer: Issuer) -> None:
    first = await issuer.issue(holder_jwk())
    second = await issuer.issue(holder_jwk())
    assert first.record.signer_id == second.record.signer_id
    issuer.api.clock.advance(days=91)
    third = await issuer.issue(holder_jwk())
    assert third.record.signer_id != first.record.signer_id


async def test_missing_required_claim_is_denied_naming_the_claim(issuer: Issuer) -> None:
    claims = {k: v for k, v in CLAIMS.items() if k != "family_name"}
    with pytest.raises(CredentialRequestDeniedError) as raised:
        await issuer.issue(holder_jwk(), claims)
    assert NS in raised.value.description and "family_name" in raised.value.description
    with pytest.raises(CredentialRequestDeniedError) as raised:
        await issuer.issue(holder_jwk(), {**CLAIMS, "birth_date": "the second of January"})
    assert "birth_date" in raised.value.description
    assert "second of January" not in raised.value.description
    async with issuer.api.container.uow_factory() as uow:
        assert (await uow.issued_credentials.list(DEFAULT_TENANT_ID, limit=10, after=None)).items == []


async def test_validity_rules_at_signing_time(issuer: Issuer) -> None:
    headers = issuer.headers
    badge = await issuer.api.http.post(
        "/v2/credentials/mobile/configurations",
        headers=headers,
        json=mdl_configuration(type="org.example.badge", validUntil={"mapFrom": "claims.expiry"}),
    )
    badge_id = badge.json()["id"]
    soon = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    issued = await issuer.issue(holder_jwk(), {**CLAIMS, "expiry": soon.isoformat()}, configuration_id=badge_id)
    assert issued.credential.valid_until == soon
    beyond_iaca = (datetime.now(UTC) + timedelta(days=3650 + 30)).isoformat()
    with pytest.raises(CredentialRequestDeniedError):
        await issuer.issue(holder_jwk(), {**CLAIMS, "expiry": beyond_iaca}, configuration_id=badge_id)
    with pytest.raises(CredentialRequestDeniedError):
        await issuer.issue(holder_jwk(), {**CLAIMS, "expiry": "not a time"}, configuration_id=badge_id)


async def test_no_active_iaca_is_denied(issuer: Issuer) -> None:
    await issuer.api.http.put(
        f"/v2/credentials/mobile/iacas/{issuer.iaca['id']}", headers=issuer.headers, json={"active": False}
    )
    with pytest.raises(CredentialRequestDeniedError):
        await issuer.issue(holder_jwk())


async def test_unknown_configuration_and_bad_holder_keys(issuer: Issuer) -> None:
    with pytest.raises(UnknownCredentialConfigurationError):
        await issuer.issue(holder_jwk(), configuration_id="00000000-0000-0000-0000-000000000001")
    private = dict(ECKey.generate_key("P-256").as_dict(private=True))
    with pytest.raises(InvalidProofError):
        await issuer.issue(private)
    p384 = dict(ECKey.generate_key("P-384").as_dict(private=False))
    with pytest.raises(InvalidProofError):
        await issuer.issue(p384)
