"""Encrypted credential requests and responses (OID4VCI 1.0 §8.2, §8.3, §10): the wallet encrypts with joserfc to
the key the metadata publishes; the response is decrypted with jwcrypto using the wallet's key; every rule refused
with invalid_encryption_parameters; errors are never encrypted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc import jwe
from joserfc.jwk import ECKey
from jwcrypto import jwe as jwcrypto_jwe
from jwcrypto import jwk as jwcrypto_jwk

from oi_haip import new_key, public
from oi_issuer import Setup, make_setup
from oi_wallet import Wallet

ISSUER = "https://issuer.example"


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


class Session:
    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.wallet = Wallet(setup.api.http)
        self.response_key = new_key()

    async def start(self) -> Session:
        offer = await self.wallet.read_offer((await self.setup.offer())["uri"])
        self.metadata, _ = await self.wallet.discover(ISSUER)
        self.access_token = (await self.wallet.token(offer)).json()["access_token"]
        return self

    async def body(self, *, encrypt_response: bool = True, **extra: Any) -> dict[str, Any]:
        nonce = await self.wallet.nonce(self.metadata)
        body: dict[str, Any] = {
            "credential_configuration_id": self.setup.configuration_id,
            "proofs": {"jwt": [self.wallet.proof(self.metadata, nonce)]},
        }
        if encrypt_response:
            jwk = {**public(self.response_key), "alg": "ECDH-ES", "kid": "wallet-key-1", "use": "enc"}
            body["credential_response_encryption"] = {"jwk": jwk, "enc": "A256GCM"}
        body.update(extra)
        return body

    def encrypt(self, body: dict[str, Any], enc: str = "A128GCM") -> str:
        request_encryption = self.metadata["credential_request_encryption"]
        jwk = request_encryption["jwks"]["keys"][0]
        header = {"alg": "ECDH-ES", "enc": enc, "kid": jwk["kid"], "typ": "JWT"}
        return str(jwe.encrypt_compact(header, json.dumps(body).encode(), ECKey.import_key(jwk)))

    async def post(self, content: bytes | str, media_type: str = "application/jwt") -> Any:
        headers = {"Authorization": f"Bearer {self.access_token}", "Content-Type": media_type}
        return await self.setup.api.http.post("/v1/openid/credential", content=content, headers=headers)


@pytest.fixture
async def session(api: Any) -> Session:
    return await Session(await make_setup(api)).start()


def decrypt_with_jwcrypto(token: str, key: ECKey) -> dict[str, Any]:
    private = jwcrypto_jwk.JWK(**key.as_dict(private=True))
    message = jwcrypto_jwe.JWE()
    message.deserialize(token, key=private)
    assert message.jose_header["kid"] == "wallet-key-1"
    assert message.jose_header["alg"] == "ECDH-ES" and message.jose_header["enc"] == "A256GCM"
    return dict(json.loads(message.payload))


async def test_an_encrypted_request_gets_an_encrypted_response(session: Session) -> None:
    metadata = session.metadata
    assert metadata["credential_response_encryption"] == {
        "alg_values_supported": ["ECDH-ES"],
        "enc_values_supported": ["A128GCM", "A256GCM"],
        "encryption_required": False,
    }
    assert metadata["credential_request_encryption"]["encryption_required"] is False
    key = metadata["credential_request_encryption"]["jwks"]["keys"][0]
    assert key["kid"] and key["alg"] == "ECDH-ES" and "d" not in key
    for enc in ("A128GCM", "A256GCM"):
        response = await session.post(session.encrypt(await session.body(), enc))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/jwt"
        decrypted = decrypt_with_jwcrypto(response.text, session.response_key)
        session.setup.verify(decrypted["credentials"][0]["credential"], session.wallet)
        assert decrypted["notification_id"]
    plain = await session.post(session.encrypt(await session.body(encrypt_response=False)))
    assert plain.status_code == 200 and plain.headers["content-type"] == "application/json"


class TestEachRule:
    @pytest.fixture
    def api_database_url(self) -> str:
        return "memory://"

    async def test_response_encryption_in_a_plain_request_is_refused(self, session: Session) -> None:
        response = await session.setup.api.http.post(
            "/v1/openid/credential",
            json=await session.body(),
            headers={"Authorization": f"Bearer {session.access_token}"},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_encryption_parameters"
        assert response.headers["content-type"] == "application/json"  # errors are never encrypted

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"enc": "A192GCM"}, "enc"),
            ({"zip": "DEF"}, "zip"),
            ({"jwk": {"kty": "EC", "crv": "P-256"}}, "alg"),
            ({"jwk": "not an object"}, "jwk"),
            ({"alg": None}, "alg"),
            ({"private": True}, "public"),
        ],
    )
    async def test_bad_parameters_are_refused(self, session: Session, change: dict[str, Any], reason: str) -> None:
        body = await session.body()
        parameters = body["credential_response_encryption"]
        if change.pop("alg", "keep") is None:
            parameters["jwk"].pop("alg")
        if change.pop("private", False):
            parameters["jwk"] = {**session.response_key.as_dict(private=True), "alg": "ECDH-ES"}
        parameters.update(change)
        response = await session.post(session.encrypt(body))
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_encryption_parameters"
        assert reason in response.json()["error_description"]
        assert (await session.post(session.encrypt(await session.body()))).status_code == 200  # control

    @pytest.mark.parametrize(
        "content",
        [
            "not-a-jwe",
            "a.b.c.d.e",
            lambda s: s.encrypt({"x": 1})[:-6] + "AAAAAA",  # tag altered
            lambda s: str(jwe.encrypt_compact({"alg": "ECDH-ES", "enc": "A128GCM"}, b"{}", new_key())),  # another key
            lambda s: str(
                jwe.encrypt_compact(
                    {"alg": "ECDH-ES+A128KW", "enc": "A128GCM"},
                    b"{}",
                    ECKey.import_key(s.metadata["credential_request_encryption"]["jwks"]["keys"][0]),
                )
            ),
        ],
    )
    async def test_a_request_that_does_not_decrypt_is_refused(self, session: Session, content: Any) -> None:
        token = content(session) if callable(content) else content
        response = await session.post(token)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_credential_request"

    async def test_an_error_of_an_encrypted_request_is_plain_json(self, session: Session) -> None:
        body = await session.body()
        body["proofs"] = {"jwt": [session.wallet.proof(session.metadata, "unknown-nonce")]}
        response = await session.post(session.encrypt(body))
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"] == "invalid_nonce"

    async def test_a_tenant_can_require_encryption(self, session: Session) -> None:
        api = session.setup.api
        headers = session.setup.headers
        policy = {"credentialResponseEncryption": {"required": True}}
        assert (await api.http.put("/v1/openid/wallet-security", headers=headers, json=policy)).status_code == 200
        metadata = (await api.http.get("/.well-known/openid-credential-issuer")).json()
        assert metadata["credential_response_encryption"]["encryption_required"] is True
        assert metadata["credential_request_encryption"]["encryption_required"] is True
        plain = await session.post(session.encrypt(await session.body(encrypt_response=False)))
        assert plain.status_code == 400 and plain.json()["error"] == "invalid_encryption_parameters"
        assert (await session.post(session.encrypt(await session.body()))).status_code == 200
