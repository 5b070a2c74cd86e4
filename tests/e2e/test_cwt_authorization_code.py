"""A CWT through the Authorization Code flow (the only flow the reference platform offers for CWTs), with the
test wallet and a real OpenID provider process: the scope of the CWT configuration, sign-in, the ID token's claims
in the credential, no proof needed; verified by python-cwt with the served DID document. On memory, SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from oi_cwt import create_cwt_configuration, verify_with_python_cwt
from oi_idp import IdP, pkce_pair, running_idp
from oi_wallet import Wallet

pytestmark = pytest.mark.slow

WALLET_REDIRECT = "https://wallet.example/cb"
CALLBACK = "https://issuer.example/v1/oauth/authentication/callback"


@pytest.fixture(scope="module")
def idp() -> Iterator[IdP]:
    with running_idp() as provider:
        yield provider


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {"outbound_allow_private": True}


async def test_a_wallet_signs_in_and_receives_a_cwt(api: Any, idp: IdP) -> None:
    headers = await api.auth()
    configuration = await create_cwt_configuration(
        api,
        headers,
        claimMappings={
            "name": {"mapFrom": "claims.given_name", "required": True},
            "subject": {"mapFrom": "authenticationProvider.subjectId"},
        },
    )
    registered = idp.register_client([CALLBACK])
    provider = await api.http.post(
        "/v1/users/authentication-providers",
        headers=headers,
        json={"url": idp.issuer, "clientId": registered.client_id, "clientSecret": registered.client_secret},
    )
    assert provider.status_code == 201, provider.text
    client = await api.http.post(
        "/v1/openid/clients", headers=headers, json={"clientName": "Test wallet", "redirectUris": [WALLET_REDIRECT]}
    )
    offer = await api.http.post("/v1/openid/offers", headers=headers, json={"credentials": [configuration["id"]]})
    assert offer.status_code == 200, offer.text
    wallet = Wallet(api.http)
    credential_offer = await wallet.read_offer(offer.json()["uri"])
    metadata, _ = await wallet.discover(credential_offer["credential_issuer"])
    scope = metadata["credential_configurations_supported"][configuration["id"]]["scope"]
    assert scope == "cwt:Course%20Credential"  # a space is not allowed in a scope token

    verifier, challenge = pkce_pair()
    start = await api.http.get(
        "/v1/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client.json()["clientId"],
            "redirect_uri": WALLET_REDIRECT,
            "scope": scope,
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "issuer_state": credential_offer["grants"]["authorization_code"]["issuer_state"],
        },
    )
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient() as browser:
        callback = await idp.login(browser, start.headers["location"], subject="ana", claims={"given_name": "Ana"})
    back = await api.http.get(callback.removeprefix("https://issuer.example"))
    assert back.status_code == 302 and back.headers["location"].startswith(WALLET_REDIRECT)
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    token = await api.http.post(
        "/v1/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WALLET_REDIRECT,
            "client_id": client.json()["clientId"],
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    response = await wallet.credential(
        metadata, token.json()["access_token"], {"credential_configuration_id": configuration["id"]}
    )
    assert response.status_code == 200, response.text
    claims = await verify_with_python_cwt(api.http, response.json()["credentials"][0]["credential"])
    assert claims["name"] == "Ana" and claims["subject"] == "ana"
    assert claims[1] == "did:web:issuer.example" and -65537 in claims
