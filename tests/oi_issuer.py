"""An issuer set up through the management API for wallet tests: an active IACA and an mDL configuration."""

from __future__ import annotations

import base64
from typing import Any

import cbor2
from cryptography import x509
from pymdoccbor.mdoc.verifier import MobileDocument

from oi_wallet import Wallet

MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"
CLAIMS = {"given_name": "Ana", "family_name": "Ngata", "birth_date": "1990-01-02"}


class Setup:
    def __init__(self, api: Any, headers: dict[str, str], iaca_pem: str, configuration_id: str) -> None:
        self.api, self.headers, self.iaca_pem, self.configuration_id = api, headers, iaca_pem, configuration_id

    async def offer(self, **body: Any) -> dict[str, Any]:
        payload = {"credentials": [self.configuration_id], "claims": CLAIMS, **body}
        response = await self.api.http.post("/v1/openid/offers/pre-authorized", headers=self.headers, json=payload)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def verify(self, credential: str, wallet: Wallet) -> dict[str, Any]:
        raw = base64.urlsafe_b64decode(credential + "=" * (-len(credential) % 4))
        issuer_signed = cbor2.loads(raw)
        document = MobileDocument(docType=MDL, issuerSigned=issuer_signed)
        document.verify(trusted_root_certs=[x509.load_pem_x509_certificate(self.iaca_pem.encode())])
        assert document.is_valid
        assert document.hash_verification["failed"] == []
        mso = cbor2.loads(cbor2.loads(issuer_signed["issuerAuth"][2]).value)
        device_key = mso["deviceKeyInfo"]["deviceKey"]
        public = wallet.key.as_dict(private=False)
        assert device_key[-2] == base64.urlsafe_b64decode(public["x"] + "==")
        assert device_key[-3] == base64.urlsafe_b64decode(public["y"] + "==")
        return {
            cbor2.loads(item.value)["elementIdentifier"]: cbor2.loads(item.value)["elementValue"]
            for item in issuer_signed["nameSpaces"][NS]
        }


async def make_setup(api: Any) -> Setup:
    headers = await api.auth()
    iaca = (await api.http.post("/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"})).json()
    await api.http.put(f"/v2/credentials/mobile/iacas/{iaca['id']}", headers=headers, json={"active": True})
    configuration = await api.http.post(
        "/v2/credentials/mobile/configurations",
        headers=headers,
        json={
            "type": MDL,
            "claimMappings": {
                NS: {
                    "given_name": {"mapFrom": "claims.given_name", "type": "string", "required": True},
                    "family_name": {"mapFrom": "claims.family_name", "type": "string", "required": True},
                    "birth_date": {"mapFrom": "claims.birth_date", "type": "date", "required": True},
                    "document_number": {"mapFrom": "claims.document_number", "type": "string"},
                }
            },
            "expiresIn": {"days": 365},
            "branding": {"name": "Driver licence"},
        },
    )
    assert configuration.status_code == 201, configuration.text
    return Setup(api, headers, iaca["certificatePem"], configuration.json()["id"])
