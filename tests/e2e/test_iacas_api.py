"""IACAs: creation with the Annex B profile, activation, limits, the public list and the CRL."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

PATH = "/v2/credentials/mobile/iacas"


async def create_iaca(api: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await api.http.post(PATH, headers=headers, json={"country": "NZ", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_is_inactive_with_annex_b_profile(api: Any) -> None:
    headers = await api.auth()
    iaca = await create_iaca(api, headers, stateOrProvinceName="NZ-AUK")
    assert iaca["active"] is False
    assert iaca["isManaged"] is True
    assert iaca["certificateData"]["commonName"] == "issuer.example IACA"
    assert iaca["certificateData"]["country"] == "NZ"
    assert iaca["certificateData"]["stateOrProvinceName"] == "NZ-AUK"
    assert "PRIVATE" not in str(iaca)
    cert = x509.load_pem_x509_certificate(iaca["certificatePem"].encode())
    assert cert.fingerprint(hashes.SHA256()).hex() == iaca["certificateFingerprint"].replace(":", "").lower()
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    assert timedelta(days=3650) <= not_after - not_before <= timedelta(days=3653)
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    ian = cert.extensions.get_extension_for_class(x509.IssuerAlternativeName).value
    assert ian.get_values_for_type(x509.UniformResourceIdentifier) == ["https://issuer.example"]
    crl_dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crl_dp[0].full_name[0].value == f"https://issuer.example{PATH}/{iaca['id']}/crl"
    assert 63 <= cert.serial_number.bit_length() <= 160


async def test_activation_public_list_and_delete(api: Any) -> None:
    headers = await api.auth()
    first, second = await create_iaca(api, headers), await create_iaca(api, headers, commonName="Second IACA")
    assert (await api.http.get("/v1/openid/iacas")).json() == {"data": []}
    activated = await api.http.put(f"{PATH}/{first['id']}", headers=headers, json={"active": True})
    assert activated.status_code == 200
    assert activated.json()["active"] is True
    public = (await api.http.get("/v1/openid/iacas")).json()["data"]
    assert [p["id"] for p in public] == [first["id"]]
    assert public[0]["certificatePem"] == first["certificatePem"]
    assert (await api.http.get("/core/v1/openid/iacas")).json()["data"] == public
    listed = (await api.http.get(PATH, headers=headers)).json()["data"]
    assert {i["id"] for i in listed} == {first["id"], second["id"]}
    refused = await api.http.delete(f"{PATH}/{first['id']}", headers=headers)
    assert refused.status_code == 409
    assert (await api.http.delete(f"{PATH}/{second['id']}", headers=headers)).status_code == 204
    assert (await api.http.get(f"{PATH}/{second['id']}", headers=headers)).status_code == 404
    await api.http.put(f"{PATH}/{first['id']}", headers=headers, json={"active": False})
    assert (await api.http.get("/v1/openid/iacas")).json() == {"data": []}


async def test_at_most_three_per_tenant(api: Any) -> None:
    headers = await api.auth()
    for _ in range(3):
        await create_iaca(api, headers)
    fourth = await api.http.post(PATH, headers=headers, json={"country": "NZ"})
    assert fourth.status_code == 409  # the reference's status for "Maximum number of IACA certificates reached"
    assert "at most 3" in fourth.json()["details"][0]["msg"]


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "nz"}, "country"),
        ({}, "country"),
        ({"country": "US", "stateOrProvinceName": "NZ-AUK"}, "stateOrProvinceName"),
        ({"country": "US", "stateOrProvinceName": "Alabama"}, "stateOrProvinceName"),
        ({"country": "NZ", "commonName": ""}, "commonName"),
        ({"country": "NZ", "commonName": "Ünïcode IACA"}, "commonName"),
        ({"country": "NZ", "notBefore": _iso(timedelta(days=-1))}, "notBefore"),
        ({"country": "NZ", "notBefore": _iso(timedelta(days=2)), "notAfter": _iso(timedelta(days=1))}, "notAfter"),
        ({"country": "NZ", "notAfter": _iso(timedelta(days=366 * 20 + 5))}, "notAfter"),
        ({"country": "NZ", "notAfter": "2030-01-01T00:00:00"}, "notAfter"),
    ],
)
async def test_invalid_iacas_are_400(api: Any, body: dict[str, Any], param: str) -> None:
    response = await api.http.post(PATH, headers=await api.auth(), json=body)
    assert response.status_code == 400, response.text
    assert param in [d["param"] for d in response.json()["details"]]


async def test_crl_is_der_signed_by_the_iaca(api: Any, tmp_path: Path) -> None:
    iaca = await create_iaca(api, await api.auth())
    response = await api.http.get(f"{PATH}/{iaca['id']}/crl")  # public: no token
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    cert = x509.load_pem_x509_certificate(iaca["certificatePem"].encode())
    assert crl.is_signature_valid(cert.public_key())  # type: ignore[arg-type]
    assert crl.issuer == cert.subject
    assert len(list(crl)) == 0
    assert crl.next_update_utc is not None and crl.next_update_utc > datetime.now(UTC)
    (tmp_path / "crl.der").write_bytes(response.content)
    (tmp_path / "iaca.pem").write_text(iaca["certificatePem"])
    result = subprocess.run(
        [
            "openssl",
            "crl",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "crl.der"),
            "-CAfile",
            str(tmp_path / "iaca.pem"),
            "-noout",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "verify OK" in result.stdout + result.stderr, result.stderr
    assert (await api.http.get(f"{PATH}/00000000-0000-0000-0000-000000000000/crl")).status_code == 404
