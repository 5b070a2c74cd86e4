"""Wallet attestation (Attestation-Based Client Authentication) at the token endpoint and PAR: an accepted case and a
negative test per rule, with attestations the tests sign under their own test PKI; challenges; anchors per tenant
and per wallet client."""

from __future__ import annotations

import time
from typing import Any

import pytest

from oi_haip import Pki, WalletInstance, new_key, public, self_signed_x5c
from oi_issuer import Setup, make_setup
from oi_wallet import PRE_AUTHORIZED_GRANT, Wallet

ISSUER = "https://issuer.example"


def assert_error(response: Any, error: str, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert response.headers["cache-control"] == "no-store"


@pytest.fixture
def pki() -> Pki:
    return Pki()


@pytest.fixture
async def setup(api: Any, pki: Pki) -> Setup:
    setup = await make_setup(api)
    policy = {"clientAttestation": {"required": True, "rootCertificates": [pki.anchor_pem]}}
    response = await api.http.put("/v1/openid/wallet-security", headers=setup.headers, json=policy)
    assert response.status_code == 200, response.text
    return setup


async def token(setup: Setup, headers: dict[str, str], **form: str) -> Any:
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer((await setup.offer())["uri"])
    code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    data = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, **form}
    return await setup.api.http.post("/v1/oauth/token", data=data, headers=headers)


async def test_an_attested_wallet_gets_a_token_bound_to_its_client(setup: Setup, pki: Pki) -> None:
    instance = WalletInstance(pki)
    response = await token(setup, instance.headers(ISSUER))
    assert response.status_code == 200, response.text
    access_token = response.json()["access_token"]
    wallet = Wallet(setup.api.http)
    metadata, as_metadata = await wallet.discover(ISSUER)
    assert "attest_jwt_client_auth" in as_metadata["token_endpoint_auth_methods_supported"]
    assert "none" not in as_metadata["token_endpoint_auth_methods_supported"]
    assert as_metadata["pre-authorized_grant_anonymous_access_supported"] is False
    assert as_metadata["challenge_endpoint"] == f"{ISSUER}/v1/oauth/challenge"
    assert as_metadata["client_attestation_pop_signing_alg_values_supported"] == ["ES256"]

    async def credential(**claims: Any) -> Any:
        proof = wallet.proof(metadata, await wallet.nonce(metadata), **claims)
        body = {"credential_configuration_id": setup.configuration_id, "proofs": {"jwt": [proof]}}
        return await wallet.credential(metadata, access_token, body)

    # F.1: the proof's iss is the client's client_id (here: the attestation's sub), or absent
    assert_error(await credential(iss="someone-else"), "invalid_proof", 400)
    assert (await credential(iss=instance.client_id)).status_code == 200
    assert (await credential()).status_code == 200


async def test_an_anonymous_token_request_is_refused_where_attestation_is_required(setup: Setup) -> None:
    assert_error(await token(setup, {}), "invalid_client", 401)


def _with(instance: WalletInstance, **changes: Any) -> dict[str, str]:
    attestation = changes.pop("attestation", None) or instance.attestation()
    pop = changes.pop("pop", None) or instance.pop(ISSUER)
    return {"OAuth-Client-Attestation": attestation, "OAuth-Client-Attestation-PoP": pop}


class TestEachRule:
    """One negative test per rule (the conformance suite's six and the others), each followed by a control."""

    @pytest.mark.parametrize(
        ("make", "reason"),
        [
            # the attestation
            (lambda i, p: _with(i, attestation=i.attestation()[:-4] + "AAAA"), "signature"),
            (lambda i, p: _with(i, attestation=i.attestation(exp=int(time.time()) - 300)), "expired"),
            (lambda i, p: _with(i, attestation=i.attestation(sub=None)), "sub"),
            (lambda i, p: _with(i, attestation=i.attestation(iss=None)), "iss"),
            (lambda i, p: _with(i, attestation=i.attestation(exp=None)), "exp"),
            (lambda i, p: _with(i, attestation=i.attestation(nbf=int(time.time()) + 3600)), "not valid yet"),
            (lambda i, p: _with(i, attestation=i.attestation(cnf=None)), "cnf"),
            (lambda i, p: _with(i, attestation=i.attestation(cnf={"jwk": i.key.as_dict(private=True)})), "private"),
            (lambda i, p: _with(i, attestation=i.attestation(header={"typ": "JWT"})), "typ"),
            (lambda i, p: _with(i, attestation=WalletInstance(Pki()).attestation()), "trusted"),
            (lambda i, p: _with(i, attestation=i.attestation(x5c=self_signed_x5c(p.signer_key))), "self-signed"),
            (lambda i, p: _with(i, attestation=i.attestation(x5c=p.x5c[:1])), "trusted"),  # intermediate missing
            (lambda i, p: _with(i, attestation=i.attestation(x5c=[])), "x5c"),
            # the PoP
            (lambda i, p: _with(i, pop=i.pop(ISSUER)[:-4] + "AAAA"), "signature"),
            (lambda i, p: _with(i, pop=i.pop("https://other.example")), "aud"),
            (lambda i, p: _with(i, pop=i.pop(ISSUER, key=new_key())), "signature"),  # PoP key is not cnf
            (lambda i, p: _with(i, pop=i.pop(ISSUER, jti=None)), "jti"),
            (lambda i, p: _with(i, pop=i.pop(ISSUER, iat=int(time.time()) - 3600)), "too old"),
            (lambda i, p: _with(i, pop=i.pop(ISSUER, iat=None)), "iat"),
            (lambda i, p: _with(i, pop=i.pop(ISSUER, exp=int(time.time()) - 300)), "expired"),
            (lambda i, p: _with(i, pop=i.pop(ISSUER, iss="other")), "iss"),
            (lambda i, p: _with(i, pop=i.pop(ISSUER, header={"typ": "JWT"})), "typ"),
            (lambda i, p: _with(i, pop=i.pop(ISSUER, challenge="made-up")), "challenge"),
            # the pair
            (lambda i, p: {"OAuth-Client-Attestation": i.attestation()}, "both"),
            (lambda i, p: {"OAuth-Client-Attestation-PoP": i.pop(ISSUER)}, "both"),
        ],
    )
    async def test_refused(self, setup: Setup, pki: Pki, make: Any, reason: str) -> None:
        instance = WalletInstance(pki)
        response = await token(setup, make(instance, pki))
        assert_error(response, "invalid_client", 401)
        assert reason in response.json()["error_description"], response.text
        assert (await token(setup, instance.headers(ISSUER))).status_code == 200  # control

    async def test_the_request_client_id_must_be_the_attestations_sub(self, setup: Setup, pki: Pki) -> None:
        instance = WalletInstance(pki)
        response = await token(setup, instance.headers(ISSUER), client_id="another-wallet")
        assert_error(response, "invalid_client", 401)
        assert (await token(setup, instance.headers(ISSUER), client_id=instance.client_id)).status_code == 200

    async def test_a_pop_is_used_once(self, setup: Setup, pki: Pki) -> None:
        instance = WalletInstance(pki)
        headers = instance.headers(ISSUER)
        assert (await token(setup, headers)).status_code == 200
        replay = await token(setup, headers)
        assert_error(replay, "invalid_client", 401)
        assert "already used" in replay.json()["error_description"]

    async def test_a_challenge_is_fresh_and_used_once(self, setup: Setup, pki: Pki) -> None:
        instance = WalletInstance(pki)
        response = await setup.api.http.post("/v1/oauth/challenge")
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
        challenge = response.json()["attestation_challenge"]
        assert (await token(setup, instance.headers(ISSUER, challenge=challenge))).status_code == 200
        replay = await token(setup, instance.headers(ISSUER, challenge=challenge))  # a new PoP, the same challenge
        assert_error(replay, "invalid_client", 401)
        fresh = (await setup.api.http.post("/v1/oauth/challenge")).json()["attestation_challenge"]
        setup.api.clock.advance(minutes=6)
        late = instance.headers(ISSUER, challenge=fresh, iat=int(setup.api.clock.now().timestamp()))
        late["OAuth-Client-Attestation"] = instance.attestation(
            iat=int(setup.api.clock.now().timestamp()), exp=int(setup.api.clock.now().timestamp()) + 600
        )
        assert_error(await token(setup, late), "invalid_client", 401)


async def test_the_policy_needs_anchors_when_attestation_is_required(api: Any) -> None:
    headers = await api.auth()
    for body in ({"haip": True}, {"clientAttestation": {"required": True}}):
        response = await api.http.put("/v1/openid/wallet-security", headers=headers, json=body)
        assert response.status_code == 400, response.text
    bad = {"clientAttestation": {"rootCertificates": ["-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"]}}
    response = await api.http.put("/v1/openid/wallet-security", headers=headers, json=bad)
    assert response.status_code == 400
    assert response.json()["details"][0]["param"] == "clientAttestation.0"
    auditor = (await api.http.post("/v1/api-clients", headers=headers, json={"name": "a", "roles": ["auditor"]})).json()
    theirs = await api.auth(auditor["clientId"], auditor["clientSecret"])
    assert (await api.http.get("/v1/openid/wallet-security", headers=theirs)).status_code == 200
    assert (await api.http.put("/v1/openid/wallet-security", headers=theirs, json={})).status_code == 403


async def test_a_wallet_clients_own_anchors_apply_at_par(api: Any) -> None:
    """A registered client with clientAttestation: PAR refuses it without an attestation from its anchors."""
    headers = await api.auth()
    pki, other = Pki(), Pki()
    client = {
        "clientId": "wallet-app",
        "redirectUris": ["https://wallet.example/cb"],
        "clientAttestation": {"rootCertificates": [pki.anchor_pem], "dpopRequired": True},
    }
    created = await api.http.post("/v1/openid/clients", headers=headers, json=client)
    assert created.status_code == 201, created.text
    assert created.json()["clientAttestation"]["dpopRequired"] is True
    form = {
        "client_id": "wallet-app",
        "redirect_uri": "https://wallet.example/cb",
        "response_type": "code",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "authorization_details": '[{"type": "openid_credential", "credential_configuration_id": "x"}]',
    }
    assert_error(await api.http.post("/v1/oauth/par", data=form), "invalid_client", 401)
    wrong = WalletInstance(other, client_id="wallet-app").headers(ISSUER)
    assert_error(await api.http.post("/v1/oauth/par", data=form, headers=wrong), "invalid_client", 401)
    right = WalletInstance(pki, client_id="wallet-app").headers(ISSUER)
    response = await api.http.post("/v1/oauth/par", data=form, headers=right)
    assert response.status_code != 401, response.text  # authenticated; the request itself is checked next
    assert public(new_key())["kty"] == "EC"


async def test_an_attestation_sent_to_an_issuer_without_anchors_is_ignored(api: Any) -> None:
    setup = await make_setup(api)
    response = await token(setup, WalletInstance(Pki()).headers(ISSUER))
    assert response.status_code == 200, response.text
    metadata = (await api.http.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["token_endpoint_auth_methods_supported"] == ["none"]
    assert metadata["pre-authorized_grant_anonymous_access_supported"] is True
