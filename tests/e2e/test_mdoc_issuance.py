"""Issuing mDocs through the wallet endpoints with an IACA and a configuration made through the API.

Every credential is checked by an independent verifier (pymdoccbor) and its chain by openssl.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import ECKey
from pymdoccbor.mdoc.verifier import MobileDocument

from oi_wallet import Wallet
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.domain.issued import IssuedCredentialRecord

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


@dataclass
class Issued:
    """The outcome of one wallet flow: the credential response (or the error) and the stored records."""

    response: httpx.Response
    records: list[IssuedCredentialRecord]

    @property
    def credential(self) -> str:
        assert self.response.status_code == 200, self.response.text
        return str(self.response.json()["credentials"][0]["credential"])

    @property
    def error(self) -> str:
        assert self.response.status_code == 400, self.response.text
        return str(self.response.json()["error"])


class Issuer:
    def __init__(self, api: Any, headers: dict[str, str], iaca: dict[str, Any], configuration: dict[str, Any]):
        self.api, self.headers, self.iaca, self.configuration = api, headers, iaca, configuration

    async def issue(
        self,
        key: ECKey | None = None,
        claims: dict[str, Any] | None = None,
        configuration_id: str | None = None,
        *,
        then_configure: dict[str, Any] | None = None,
    ) -> Issued:
        """Run the Pre-authorized Code flow with the test wallet, holding ``key``; ``then_configure`` replaces the
        configuration after the offer was made (and checked), before the wallet claims it."""
        configuration_id = configuration_id or self.configuration["id"]
        offer = await self.api.http.post(
            "/v1/openid/offers/pre-authorized",
            headers=self.headers,
            json={"credentials": [configuration_id], "claims": CLAIMS if claims is None else claims},
        )
        assert offer.status_code == 200, offer.text
        if then_configure is not None:
            path = f"/v2/credentials/mobile/configurations/{configuration_id}"
            replaced = await self.api.http.put(path, headers=self.headers, json=then_configure)
            assert replaced.status_code == 200, replaced.text
        wallet = Wallet(self.api.http, key or ECKey.generate_key("P-256"))
        credential_offer = await wallet.read_offer(offer.json()["uri"])
        metadata, _ = await wallet.discover(credential_offer["credential_issuer"])
        token = await wallet.token(credential_offer)
        assert token.status_code == 200, token.text
        body = {
            "credential_configuration_id": configuration_id,
            "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata), iat=self._now())]},
        }
        response = await wallet.credential(metadata, token.json()["access_token"], body)
        user_id = offer.json()["userId"]
        async with self.api.container.uow_factory() as uow:
            page = await uow.issued_credentials.list(DEFAULT_TENANT_ID, limit=10, after=None, user_id=user_id)
        return Issued(response, list(page.items))

    def _now(self) -> int:
        return int(self.api.clock.now().timestamp())

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
    key = ECKey.generate_key("P-256")
    holder = key.as_dict(private=False)
    issuer_signed = decode((await issuer.issue(key)).credential)
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
    issuer_signed = decode((await issuer.issue()).credential)
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
    issuer_signed = decode((await issuer.issue()).credential)
    ds_der = issuer_signed["issuerAuth"][1][33]
    ds = x509.load_der_x509_certificate(ds_der)
    (tmp_path / "iaca.pem").write_text(issuer.iaca["certificatePem"])
    (tmp_path / "ds.pem").write_bytes(ds.public_bytes(encoding=serialization.Encoding.PEM))
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


async def test_the_record_is_format_neutral_and_has_no_claim_values(issuer: Issuer) -> None:
    key = ECKey.generate_key("P-256")
    issued = await issuer.issue(key)
    issuer_signed = decode(issued.credential)
    (record,) = issued.records
    assert (record.format, record.profile, record.credential_type) == ("mso_mdoc", "mobile", MDL)
    assert record.configuration_id == issuer.configuration["id"]
    assert record.holder_key_thumbprint == key.thumbprint()
    assert record.details["docType"] == MDL
    assert record.details["devicePublicKey"] == key.as_dict(private=False)
    payload = issuer_signed["issuerAuth"][2]
    assert record.details["msoHash"] == base64.urlsafe_b64encode(hashlib.sha256(payload).digest()).decode().rstrip("=")
    assert set(record.details["namespaces"][NS]) == {
        "given_name",
        "family_name",
        "birth_date",
        "portrait",
        "document_number",
        "issuing_country",
    }
    assert record.offer_id is not None and record.user_id is not None and record.signer_id is not None
    mso = mso_of(issuer_signed)
    assert (record.valid_from, record.valid_until) == (
        mso["validityInfo"]["validFrom"],
        mso["validityInfo"]["validUntil"],
    )
    text = repr(record)
    for value in ("Ana", "Ngata", "1990", "DL-123"):
        assert value not in text


async def test_signers_are_reused_then_rotated(issuer: Issuer) -> None:
    first = (await issuer.issue()).records[0]
    second = (await issuer.issue()).records[0]
    assert first.signer_id == second.signer_id
    issuer.api.clock.advance(days=91)
    issuer.headers = await issuer.api.auth()
    third = (await issuer.issue()).records[0]
    assert third.signer_id != first.signer_id


async def test_missing_required_claim_is_refused_at_the_offer_naming_the_claim(issuer: Issuer) -> None:
    offers = "/v1/openid/offers/pre-authorized"
    claims = {k: v for k, v in CLAIMS.items() if k != "family_name"}
    body = {"credentials": [issuer.configuration["id"]], "claims": claims}
    missing = await issuer.api.http.post(offers, headers=issuer.headers, json=body)
    assert missing.status_code == 400, missing.text
    (detail,) = missing.json()["details"]
    assert detail["param"] == "claims.family_name" and NS in detail["msg"] and detail["value"] is None
    body["claims"] = {**CLAIMS, "birth_date": "the second of January"}
    wrong = await issuer.api.http.post(offers, headers=issuer.headers, json=body)
    assert wrong.status_code == 400
    assert [d["param"] for d in wrong.json()["details"]] == ["claims.birth_date"]
    assert "second of January" not in wrong.text


async def test_missing_required_claim_is_denied_naming_the_claim(issuer: Issuer) -> None:
    """A configuration that changed after the offer was made: the credential request finds out, naming the claim."""
    stricter = mdl_configuration()
    stricter["claimMappings"][NS]["nickname"]["required"] = True
    missing = await issuer.issue(then_configure=stricter)
    assert missing.error == "credential_request_denied"
    description = missing.response.json()["error_description"]
    assert NS in description and "nickname" in description
    typed = mdl_configuration()
    typed["claimMappings"][NS]["given_name"]["type"] = "date"
    wrong = await issuer.issue(claims={**CLAIMS, "nickname": "Nana"}, then_configure=typed)
    assert wrong.error == "credential_request_denied"
    assert "given_name" in wrong.response.json()["error_description"]
    assert "Ana" not in wrong.response.text
    assert missing.records == wrong.records == []


async def test_validity_rules_at_signing_time(issuer: Issuer) -> None:
    headers = issuer.headers
    badge = await issuer.api.http.post(
        "/v2/credentials/mobile/configurations",
        headers=headers,
        json=mdl_configuration(type="org.example.badge", validUntil={"mapFrom": "claims.expiry"}),
    )
    badge_id = badge.json()["id"]
    soon = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    issued = await issuer.issue(claims={**CLAIMS, "expiry": soon.isoformat()}, configuration_id=badge_id)
    assert mso_of(decode(issued.credential))["validityInfo"]["validUntil"] == soon
    assert issued.records[0].valid_until == soon
    beyond_iaca = (datetime.now(UTC) + timedelta(days=3650 + 30)).isoformat()
    refused = await issuer.issue(claims={**CLAIMS, "expiry": beyond_iaca}, configuration_id=badge_id)
    assert refused.error == "credential_request_denied"
    not_a_time = await issuer.api.http.post(
        "/v1/openid/offers/pre-authorized",
        headers=headers,
        json={"credentials": [badge_id], "claims": {**CLAIMS, "expiry": "not a time"}},
    )
    assert not_a_time.status_code == 400  # checked when the offer is made
    assert [d["param"] for d in not_a_time.json()["details"]] == ["claims.expiry"]


async def test_no_active_iaca_is_denied(issuer: Issuer) -> None:
    await issuer.api.http.put(
        f"/v2/credentials/mobile/iacas/{issuer.iaca['id']}", headers=issuer.headers, json={"active": False}
    )
    assert (await issuer.issue()).error == "credential_request_denied"
