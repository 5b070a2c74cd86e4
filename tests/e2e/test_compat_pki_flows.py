"""The two signer-certificate flows end to end on memory, SQLite and PostgreSQL: an unmanaged IACA signing through
a document signer its holder certified (reference §8.3) and status list tokens through a status list signer its
holder certified (§8.4), and a managed document signer revoked into the CRL.
The rules on uploaded certificates: ``test_compat_pki.py``."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import cbor2
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from oi_external_ca import DS, IACAS, SLS, ExternalIaca, claim, document_signer_of, mdl_configuration, upload
from oi_issuer import make_setup
from oi_status_list import read_status_cwt


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


async def test_an_unmanaged_iaca_signs_through_a_document_signer_certified_by_its_holder(api: Any) -> None:
    headers = await api.auth()
    external = ExternalIaca.create()
    uploaded = await upload(api, headers, external)
    assert uploaded.status_code == 201, uploaded.text
    iaca = uploaded.json()
    assert iaca["isManaged"] is False and iaca["active"] is False
    assert iaca["certificateData"]["country"] == "NZ" and iaca["certificateData"]["commonName"] == "Holder IACA"
    assert (await api.http.get(f"{IACAS}/{iaca['id']}/crl")).status_code == 404  # its holder publishes the CRL
    await api.http.put(f"{IACAS}/{iaca['id']}", headers=headers, json={"active": True})
    configuration_id = await mdl_configuration(api, headers)
    # Without a certified document signer nothing can be signed: an unmanaged IACA's key is not here.
    refused = await claim(api, headers, configuration_id)
    assert refused.status_code == 400 and refused.json()["error"] == "credential_request_denied"

    created = await api.http.post(DS, headers=headers, json={"iacaId": iaca["id"]})
    assert created.status_code == 201, created.text
    signer = created.json()
    assert set(signer) == {"id", "iacaId", "active", "isManaged", "csrPem"}
    assert signer["iacaId"] == iaca["id"] and signer["active"] is True and signer["isManaged"] is False
    request = x509.load_pem_x509_csr(signer["csrPem"].encode())
    assert request.is_signature_valid
    assert request.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "NZ"
    assert request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Holder Document Signer"
    assert request.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value[0].dotted_string == "1.0.18013.5.1.2"
    assert (await api.http.get(f"{DS}/{signer['id']}", headers=headers)).json() == signer

    certificate_pem = external.issue(signer["csrPem"])
    updated = await api.http.put(
        f"{DS}/{signer['id']}", headers=headers, json={"active": True, "certificatePem": certificate_pem}
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["certificatePem"].strip() == certificate_pem.strip() and "csrPem" not in body
    assert body["certificateData"]["commonName"] == "Holder Document Signer"
    assert len(body["certificateFingerprint"]) == 64
    issued = await claim(api, headers, configuration_id)
    assert issued.status_code == 200, issued.text
    used = document_signer_of(issued.json()["credentials"][0]["credential"], external.pem)
    assert used == x509.load_pem_x509_certificate(certificate_pem.encode())

    # Deactivated, it stops signing; active again, it signs; revoked, never again.
    await api.http.put(f"{DS}/{signer['id']}", headers=headers, json={"active": False})
    assert (await claim(api, headers, configuration_id)).json()["error"] == "credential_request_denied"
    await api.http.put(f"{DS}/{signer['id']}", headers=headers, json={"active": True})
    assert (await claim(api, headers, configuration_id)).status_code == 200
    revoked = await api.http.post(f"{DS}/{signer['id']}/revoke", headers=headers, json={})
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert (await claim(api, headers, configuration_id)).json()["error"] == "credential_request_denied"
    again = await api.http.put(f"{DS}/{signer['id']}", headers=headers, json={"active": True})
    assert again.status_code == 400
    assert (await api.http.delete(f"{DS}/{signer['id']}", headers=headers)).status_code == 204
    assert (await api.http.get(f"{DS}/{signer['id']}", headers=headers)).status_code == 404


async def _certify(
    api: Any, headers: dict[str, str], path: str, iaca_id: str, external: ExternalIaca, **kw: Any
) -> str:
    created = await api.http.post(path, headers=headers, json={"iacaId": iaca_id})
    assert created.status_code == 201, created.text
    certificate_pem = external.issue(created.json()["csrPem"], **kw)
    body = {"active": True, "certificatePem": certificate_pem}
    updated = await api.http.put(f"{path}/{created.json()['id']}", headers=headers, json=body)
    assert updated.status_code == 200, updated.text
    return certificate_pem


async def test_an_unmanaged_iaca_signs_status_list_tokens_through_a_signer_certified_by_its_holder(api: Any) -> None:
    headers = await api.auth()
    external = ExternalIaca.create()
    iaca = (await upload(api, headers, external)).json()
    await api.http.put(f"{IACAS}/{iaca['id']}", headers=headers, json={"active": True})
    await _certify(api, headers, DS, iaca["id"], external)
    configuration_id = await mdl_configuration(api, headers)
    url = f"/v2/credentials/mobile/configurations/{configuration_id}"
    current = (await api.http.get(url, headers=headers)).json()
    body = {k: v for k, v in current.items() if k != "id"} | {"includeStatus": True}
    assert (await api.http.put(url, headers=headers, json=body)).status_code == 200
    issued = await claim(api, headers, configuration_id)
    assert issued.status_code == 200, issued.text
    credential = issued.json()["credentials"][0]["credential"]
    document_signer_of(credential, external.pem)  # pymdoccbor verifies it under the uploaded IACA
    issuer_signed = cbor2.loads(base64.urlsafe_b64decode(credential + "=" * (-len(credential) % 4)))
    reference = cbor2.loads(cbor2.loads(issuer_signed["issuerAuth"][2]).value)["status"]["status_list"]
    token_path = urlsplit(reference["uri"]).path
    # No status list signer yet: the key of an unmanaged IACA is not here, so the list cannot be signed.
    assert (await api.http.get(token_path)).status_code == 404

    signer_pem = await _certify(api, headers, SLS, iaca["id"], external, eku=None)
    served = await api.http.get(token_path)
    assert served.status_code == 200, served.text
    read = read_status_cwt(served.content, uri=reference["uri"], index=reference["idx"], iaca_pem=external.pem)
    assert read.status == "valid" and read.signer == x509.load_pem_x509_certificate(signer_pem.encode())


async def test_a_revoked_managed_document_signer_is_in_the_crl_and_replaced(api: Any) -> None:
    setup = await make_setup(api)
    headers = setup.headers
    first = await claim(api, headers, setup.configuration_id)
    assert first.status_code == 200, first.text
    signers = (await api.http.get(DS, headers=headers)).json()["data"]
    assert len(signers) == 1 and signers[0]["isManaged"] is True and "csrPem" not in signers[0]
    managed = signers[0]
    for method, body in (("PUT", {"active": False}), ("DELETE", None)):
        refused = await api.http.request(method, f"{DS}/{managed['id']}", headers=headers, json=body)
        assert refused.status_code == 400, method
    revoked = await api.http.post(f"{DS}/{managed['id']}/revoke", headers=headers, json={})
    assert revoked.status_code == 200, revoked.text
    iaca_id = (await api.http.get(IACAS, headers=headers)).json()["data"][0]["id"]
    crl = x509.load_der_x509_crl((await api.http.get(f"{IACAS}/{iaca_id}/crl")).content)
    serial = x509.load_pem_x509_certificate(managed["certificatePem"].encode()).serial_number
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    second = await claim(api, headers, setup.configuration_id)
    assert second.status_code == 200, second.text
    replacement = document_signer_of(second.json()["credentials"][0]["credential"], setup.iaca_pem)
    assert replacement.serial_number != serial
