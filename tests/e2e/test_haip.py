"""The HAIP switch of a tenant: a flow without PAR, DPoP or wallet attestation is refused at the first step that
needs it; a flow with all of them issues; the metadata says so."""

from __future__ import annotations

from typing import Any

import pytest

from oi_haip import Pki, WalletInstance, dpop_proof, new_key
from oi_issuer import Setup, make_setup
from oi_wallet import PRE_AUTHORIZED_GRANT, Wallet

ISSUER = "https://issuer.example"
TOKEN = f"{ISSUER}/v1/oauth/token"
CREDENTIAL = f"{ISSUER}/v1/openid/credential"


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


@pytest.fixture
def pki() -> Pki:
    return Pki()


@pytest.fixture
async def setup(api: Any, pki: Pki) -> Setup:
    setup = await make_setup(api)
    policy = {"haip": True, "clientAttestation": {"rootCertificates": [pki.anchor_pem]}}
    response = await api.http.put("/v1/openid/wallet-security", headers=setup.headers, json=policy)
    assert response.status_code == 200, response.text
    assert response.json()["haip"] is True
    return setup


async def post_token(setup: Setup, code: str, headers: dict[str, str]) -> Any:
    form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code}
    return await setup.api.http.post("/v1/oauth/token", data=form, headers=headers)


async def test_each_missing_piece_is_refused_at_the_first_step_that_needs_it(setup: Setup, pki: Pki) -> None:
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer((await setup.offer())["uri"])
    code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    no_dpop = await post_token(setup, code, WalletInstance(pki).headers(ISSUER))
    assert no_dpop.status_code == 400 and no_dpop.json()["error"] == "invalid_dpop_proof"
    key = new_key()
    nonce = (await post_token(setup, code, {"DPoP": dpop_proof(key, TOKEN)})).headers["dpop-nonce"]
    no_attestation = await post_token(setup, code, {"DPoP": dpop_proof(key, TOKEN, nonce=nonce)})
    assert no_attestation.status_code == 401 and no_attestation.json()["error"] == "invalid_client"
    # the Authorization Code flow: no authorization request without PAR, no PAR without attestation
    authorize = await setup.api.http.get(
        "/v1/oauth/authorize",
        params={"client_id": "wallet-app", "response_type": "code", "redirect_uri": "https://wallet.example/cb"},
    )
    assert authorize.status_code == 400 and "PAR" in authorize.text
    headers = setup.headers
    client = {"clientId": "wallet-app", "redirectUris": ["https://wallet.example/cb"]}
    assert (await setup.api.http.post("/v1/openid/clients", headers=headers, json=client)).status_code == 201
    par = await setup.api.http.post(
        "/v1/oauth/par", data={"client_id": "wallet-app", "redirect_uri": "https://wallet.example/cb"}
    )
    assert par.status_code == 401 and par.json()["error"] == "invalid_client"
    # all of it: a credential
    attested = {**WalletInstance(pki).headers(ISSUER), "DPoP": dpop_proof(key, TOKEN, nonce=nonce)}
    response = await post_token(setup, code, attested)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    access_token = response.json()["access_token"]
    metadata, _ = await wallet.discover(ISSUER)
    body = {
        "credential_configuration_id": setup.configuration_id,
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata), iss="wallet-app")]},
    }
    proof = dpop_proof(key, CREDENTIAL, nonce=response.headers["dpop-nonce"], access_token=access_token)
    issued = await setup.api.http.post(
        "/v1/openid/credential", json=body, headers={"Authorization": f"DPoP {access_token}", "DPoP": proof}
    )
    assert issued.status_code == 200, issued.text
    setup.verify(issued.json()["credentials"][0]["credential"], wallet)


async def test_the_metadata_reflects_the_profile(setup: Setup) -> None:
    http = setup.api.http
    provider = {"url": "https://idp.example", "clientId": "c", "clientSecret": "s"}
    await http.post("/v1/users/authentication-providers", headers=setup.headers, json=provider)
    metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["token_endpoint_auth_methods_supported"] == ["attest_jwt_client_auth"]
    assert metadata["pre-authorized_grant_anonymous_access_supported"] is False
    assert metadata["dpop_signing_alg_values_supported"] == ["ES256"]
    assert metadata["client_attestation_signing_alg_values_supported"] == ["ES256"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    if "authorization_endpoint" in metadata:
        assert metadata["require_pushed_authorization_requests"] is True
    issuer = (await http.get("/.well-known/openid-credential-issuer")).json()
    entry = issuer["credential_configurations_supported"][setup.configuration_id]
    assert entry["scope"]
    assert entry["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] == ["ES256"]
    assert issuer["nonce_endpoint"]
