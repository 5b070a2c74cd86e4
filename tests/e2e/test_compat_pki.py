"""Unmanaged IACAs and the signer certificate flows of reference §8.3 / §8.4, revocation into the CRL, and the
per-tenant IACA country: every rule on uploaded certificates has a test that breaks it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from oi_external_ca import DS, IACAS, SLS, ExternalIaca, client, upload, usage_of


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ({"curve": ec.SECP384R1()}, "P-256"),
        ({"ca": False}, "basicConstraints"),
        ({"path_length": 1}, "pathLenConstraint"),
        ({"key_usage": usage_of(digital_signature=True)}, "keyCertSign"),
        ({"not_before": datetime.now(UTC) - timedelta(days=400), "days": 30}, "expired"),
        ({"not_before": datetime.now(UTC) + timedelta(days=2)}, "not valid yet"),
        ({"country": None}, "countryName"),
        ({"issuer_key": ec.generate_private_key(ec.SECP256R1())}, "self-signature"),
    ],
)
async def test_an_uploaded_iaca_must_be_an_iso_iaca(api: Any, variant: dict[str, Any], message: str) -> None:
    response = await upload(api, await api.auth(), ExternalIaca.create(**variant))
    assert response.status_code == 400, response.text
    details = response.json()["details"]
    assert any(d["param"] == "certificatePem" and message in d["msg"] for d in details), details


@pytest.mark.parametrize(
    "pem",
    [
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ExternalIaca.create().pem * 2,
        "A" * 20000,
    ],
)
async def test_an_uploaded_iaca_is_one_pem_certificate(api: Any, pem: str) -> None:
    response = await api.http.post(IACAS, headers=await api.auth(), json={"certificatePem": pem})
    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["param"] == "certificatePem"


async def test_an_uploaded_iaca_is_not_mixed_with_fields_or_uploaded_twice(api: Any) -> None:
    headers, external = await api.auth(), ExternalIaca.create()
    mixed = await upload(api, headers, external, country="NZ", commonName="Other")
    assert mixed.status_code == 400
    assert {d["param"] for d in mixed.json()["details"]} == {"country", "commonName"}
    assert (await upload(api, headers, external)).status_code == 201
    duplicate = await upload(api, headers, external)
    assert duplicate.status_code == 409


async def _unmanaged_signer(api: Any, headers: dict[str, str], path: str = DS) -> tuple[ExternalIaca, dict[str, Any]]:
    external = ExternalIaca.create()
    iaca = (await upload(api, headers, external)).json()
    created = await api.http.post(path, headers=headers, json={"iacaId": iaca["id"]})
    assert created.status_code == 201, created.text
    return external, dict(created.json())


def _stranger_pem(signer: dict[str, Any], external: ExternalIaca, **kw: Any) -> str:
    return external.issue(signer["csrPem"], **kw)


async def test_an_uploaded_signer_certificate_must_certify_the_request_under_the_iaca(api: Any) -> None:
    headers = await api.auth()
    external, signer = await _unmanaged_signer(api, headers)
    other_ca = ExternalIaca.create()
    now = datetime.now(UTC)
    wrong = {
        "another key": _stranger_pem(signer, external, public_key=ec.generate_private_key(ec.SECP256R1()).public_key()),
        "signed by another CA": _stranger_pem(signer, external, signing_key=other_ca.key),
        "another issuer name": _stranger_pem(signer, other_ca),
        "a CA certificate": _stranger_pem(signer, external, ca=True),
        "no digitalSignature": _stranger_pem(signer, external, digital_signature=False),
        "no mDL extended key usage": _stranger_pem(signer, external, eku=None),
        "expired": _stranger_pem(signer, external, not_before=now - timedelta(days=40), days=30),
        "too long": _stranger_pem(signer, external, days=458),
        "beyond the IACA": _stranger_pem(signer, external, not_before=now + timedelta(days=3300), days=400),
        "the IACA itself": external.pem,
    }
    for reason, pem in wrong.items():
        response = await api.http.put(
            f"{DS}/{signer['id']}", headers=headers, json={"active": True, "certificatePem": pem}
        )
        assert response.status_code == 400, reason
        assert response.json()["details"][0]["param"] == "certificatePem", reason
    still = await api.http.get(f"{DS}/{signer['id']}", headers=headers)
    assert "csrPem" in still.json()  # nothing was certified


async def test_signer_requests_need_an_unmanaged_iaca_of_the_tenant_and_are_limited(api: Any) -> None:
    headers = await api.auth()
    managed = (await api.http.post(IACAS, headers=headers, json={"country": "NZ"})).json()
    refused = await api.http.post(DS, headers=headers, json={"iacaId": managed["id"]})
    assert refused.status_code == 400 and refused.json()["details"][0]["param"] == "iacaId"
    unknown = await api.http.post(DS, headers=headers, json={"iacaId": "00000000-0000-4000-8000-00000000beef"})
    assert unknown.status_code == 400 and unknown.json()["details"][0]["param"] == "iacaId"
    iaca = (await upload(api, headers, ExternalIaca.create())).json()
    for _ in range(5):
        assert (await api.http.post(DS, headers=headers, json={"iacaId": iaca["id"]})).status_code == 201
    sixth = await api.http.post(DS, headers=headers, json={"iacaId": iaca["id"]})
    assert sixth.status_code == 409  # the reference: "Maximum number of document signer certificates reached"
    for _ in range(3):
        assert (await api.http.post(SLS, headers=headers, json={"iacaId": iaca["id"]})).status_code == 201
    assert (await api.http.post(SLS, headers=headers, json={"iacaId": iaca["id"]})).status_code == 409
    first_page = (await api.http.get(DS, headers=headers, params={"limit": 2})).json()
    second_page = (await api.http.get(DS, headers=headers, params={"cursor": first_page["nextCursor"]})).json()
    assert len(first_page["data"]) == 2 and len(second_page["data"]) == 3
    assert (await api.http.get(f"{DS}/not-a-uuid", headers=headers)).json()["details"][0]["param"] == (
        "documentSignerId"
    )


async def test_status_list_signers_use_the_same_flow_without_the_mdl_usage(api: Any) -> None:
    headers = await api.auth()
    external, signer = await _unmanaged_signer(api, headers, SLS)
    request = x509.load_pem_x509_csr(signer["csrPem"].encode())
    assert request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Holder Status List Signer"
    certified = await api.http.put(
        f"{SLS}/{signer['id']}",
        headers=headers,
        json={"active": True, "certificatePem": external.issue(signer["csrPem"], eku=None)},
    )
    assert certified.status_code == 200, certified.text
    listed = (await api.http.get(SLS, headers=headers)).json()["data"]
    assert [s["id"] for s in listed] == [signer["id"]] and (await api.http.get(DS, headers=headers)).json()[
        "data"
    ] == []
    revoked = await api.http.post(f"{SLS}/{signer['id']}/revoke", headers=headers, json={})
    assert revoked.status_code == 200 and set(revoked.json()) == {"revoked", "revocationDate"}
    missing = await api.http.get(f"{SLS}/00000000-0000-4000-8000-00000000beef", headers=headers)
    assert missing.status_code == 404 and missing.json()["details"][0]["param"] == "statusListSignerId"


async def test_signer_roles_and_tenants(api: Any) -> None:
    headers = await api.auth()
    _external, signer = await _unmanaged_signer(api, headers)
    auditor = await client(api, headers, "auditor")
    managed_issuer = await client(api, headers, "managed-issuer")
    assert (await api.http.get(DS, headers=auditor)).status_code == 200
    for who in (auditor, managed_issuer):
        assert (await api.http.post(DS, headers=who, json={"iacaId": signer["iacaId"]})).status_code == 403
        assert (await api.http.post(f"{DS}/{signer['id']}/revoke", headers=who, json={})).status_code == 403
        assert (await api.http.put(f"{DS}/{signer['id']}", headers=who, json={"active": False})).status_code == 403
        assert (await upload(api, who, ExternalIaca.create())).status_code == 403
    created = await api.container.tenant_admin.create("Other", "https://other.example")
    other = await api.auth(created.admin_client.client_id, created.admin_client_secret)
    assert (await api.http.get(f"{DS}/{signer['id']}", headers=other)).status_code == 404
    assert (await api.http.post(DS, headers=other, json={"iacaId": signer["iacaId"]})).status_code == 400
    assert (await api.http.get(DS, headers=other)).json() == {"data": []}


async def test_the_iaca_country_defaults_per_tenant(api: Any) -> None:
    headers = await api.auth()
    without = await api.http.post(IACAS, headers=headers, json={})
    assert without.status_code == 400 and without.json()["details"][0]["param"] == "country"
    settings = await api.http.put("/v1/config/tenant", headers=headers, json={"defaultCountry": "AU"})
    assert settings.status_code == 200 and settings.json()["defaultCountry"] == "AU"
    assert (await api.http.get("/v1/config/tenant", headers=headers)).json()["defaultCountry"] == "AU"
    created = await api.http.post(IACAS, headers=headers, json={})
    assert created.status_code == 201 and created.json()["certificateData"]["country"] == "AU"
    explicit = await api.http.post(IACAS, headers=headers, json={"country": "NZ", "notAfter": "2034-09-26"})
    assert explicit.status_code == 201 and explicit.json()["certificateData"]["country"] == "NZ"
    assert explicit.json()["certificateData"]["notAfter"].startswith("2034-09-26T00:00:00")
    wrong = await api.http.put("/v1/config/tenant", headers=headers, json={"defaultCountry": "Aotearoa"})
    assert wrong.status_code == 400 and wrong.json()["details"][0]["param"] == "defaultCountry"
    auditor = await client(api, headers, "auditor")
    assert (await api.http.put("/v1/config/tenant", headers=auditor, json={})).status_code == 403
