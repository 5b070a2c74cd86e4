"""The two signer-certificate flows end to end on memory, SQLite and PostgreSQL: an unmanaged IACA signing through
a document signer its holder certified (reference §8.3), and a managed document signer revoked into the CRL.
The rules on uploaded certificates: ``test_compat_pki.py``."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from oi_external_ca import DS, IACAS, ExternalIaca, claim, document_signer_of, mdl_configuration, upload
from oi_issuer import make_setup


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
