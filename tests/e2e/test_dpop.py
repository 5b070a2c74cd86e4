"""DPoP (RFC 9449) at the token and credential endpoints: the nonce flow, binding, a negative test per rule, replay,
and the control that a correct proof still works with the same token after rejected ones."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt

from oi_haip import dpop_proof, new_key, public
from oi_issuer import Setup, make_setup
from oi_wallet import PRE_AUTHORIZED_GRANT, Wallet

ISSUER = "https://issuer.example"
TOKEN = f"{ISSUER}/v1/oauth/token"
CREDENTIAL = f"{ISSUER}/v1/openid/credential"


def assert_error(response: Any, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert response.headers["cache-control"] == "no-store"


class DpopWallet:
    """A wallet that binds its tokens with DPoP and follows the server's nonces."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.http = setup.api.http
        self.wallet = Wallet(self.http)
        self.dpop_key = new_key()
        self.dpop_nonce: str | None = None

    async def token_response(self, offer: dict[str, Any], proof: str | None = None, **extra: str) -> Any:
        code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
        headers = {"DPoP": proof or dpop_proof(self.dpop_key, TOKEN, nonce=self.dpop_nonce)}
        form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, **extra}
        response = await self.http.post("/v1/oauth/token", data=form, headers=headers)
        if "dpop-nonce" in response.headers:
            self.dpop_nonce = response.headers["dpop-nonce"]
        return response

    async def token(self) -> tuple[str, dict[str, Any]]:
        offer = await self.wallet.read_offer((await self.setup.offer())["uri"])
        first = await self.token_response(offer)
        assert_error(first, "use_dpop_nonce")  # RFC 9449 §8: the server wants its nonce in the proof
        assert first.headers["dpop-nonce"]
        response = await self.token_response(offer)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "DPoP"
        assert response.headers["dpop-nonce"]
        return body["access_token"], offer

    async def body(self) -> dict[str, Any]:
        metadata = {"credential_issuer": ISSUER, "nonce_endpoint": f"{ISSUER}/v1/openid/nonce"}
        nonce = await self.wallet.nonce(metadata)
        return {
            "credential_configuration_id": self.setup.configuration_id,
            "proofs": {"jwt": [self.wallet.proof(metadata, nonce)]},
        }

    async def credential(self, access_token: str, *, proof: str | None = None, scheme: str = "DPoP") -> Any:
        proof = proof or dpop_proof(self.dpop_key, CREDENTIAL, nonce=self.dpop_nonce, access_token=access_token)
        headers = {"Authorization": f"{scheme} {access_token}", "DPoP": proof}
        response = await self.http.post("/v1/openid/credential", json=await self.body(), headers=headers)
        if "dpop-nonce" in response.headers:
            self.dpop_nonce = response.headers["dpop-nonce"]
        return response


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


@pytest.fixture
async def wallet(api: Any) -> DpopWallet:
    return DpopWallet(await make_setup(api))


async def test_a_dpop_bound_flow_with_server_nonces(wallet: DpopWallet) -> None:
    access_token, _ = await wallet.token()
    response = await wallet.credential(access_token)
    assert response.status_code == 200, response.text
    assert len(response.json()["credentials"]) == 1
    assert response.headers["dpop-nonce"]
    wallet.setup.verify(response.json()["credentials"][0]["credential"], wallet.wallet)
    # the same token, a new proof: still good (repeat requests are allowed while the bound holds)
    assert (await wallet.credential(access_token)).status_code == 200


async def test_a_bound_token_is_refused_as_bearer_with_another_key_and_for_a_replayed_proof(
    wallet: DpopWallet,
) -> None:
    access_token, _ = await wallet.token()
    bearer = await wallet.http.post(
        "/v1/openid/credential", json=await wallet.body(), headers={"Authorization": f"Bearer {access_token}"}
    )
    assert_error(bearer, "invalid_token", 401)
    assert bearer.headers["www-authenticate"].startswith("DPoP")
    other = dpop_proof(new_key(), CREDENTIAL, nonce=wallet.dpop_nonce, access_token=access_token)
    response = await wallet.credential(access_token, proof=other)
    assert_error(response, "invalid_dpop_proof", 401)
    assert response.headers["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')
    proof = dpop_proof(wallet.dpop_key, CREDENTIAL, nonce=wallet.dpop_nonce, access_token=access_token)
    assert (await wallet.credential(access_token, proof=proof)).status_code == 200
    replay = await wallet.credential(access_token, proof=proof)
    assert_error(replay, "invalid_dpop_proof", 401)
    assert "already used" in replay.json()["error_description"]
    # control: after every refusal, a correct proof with the same token works
    assert (await wallet.credential(access_token)).status_code == 200


async def test_a_proof_at_the_credential_endpoint_is_remembered_while_it_could_be_accepted(wallet: DpopWallet) -> None:
    """RFC 9449 §11.1: a proof's jti is kept as long as the proof is acceptable (its iat within max age and skew),
    even when the request's c_nonce expires sooner and the used rows are purged meanwhile."""
    api = wallet.setup.api
    metadata = {"credential_issuer": ISSUER, "nonce_endpoint": f"{ISSUER}/v1/openid/nonce"}
    early_nonce = await wallet.wallet.nonce(metadata)  # lives 300 s from now
    api.clock.advance(seconds=200)
    access_token, _ = await wallet.token()
    issued_at = int(api.clock.now().timestamp())
    proof = dpop_proof(wallet.dpop_key, CREDENTIAL, nonce=wallet.dpop_nonce, access_token=access_token, iat=issued_at)
    body = {
        "credential_configuration_id": wallet.setup.configuration_id,
        "proofs": {"jwt": [wallet.wallet.proof(metadata, early_nonce, iat=issued_at)]},
    }
    headers = {"Authorization": f"DPoP {access_token}", "DPoP": proof}
    assert (await wallet.http.post("/v1/openid/credential", json=body, headers=headers)).status_code == 200
    api.clock.advance(seconds=101)  # the c_nonce has expired; the DPoP proof (iat 101 s ago) is still acceptable
    await api.container.wallet_store.purge_used_nonces(api.clock.now())
    fresh = await wallet.wallet.nonce(metadata)
    body["proofs"] = {"jwt": [wallet.wallet.proof(metadata, fresh, iat=int(api.clock.now().timestamp()))]}
    replayed = await wallet.http.post("/v1/openid/credential", json=body, headers=headers)
    assert_error(replayed, "invalid_dpop_proof", 401)
    assert "already used" in replayed.json()["error_description"]


async def test_a_bound_token_without_its_keys_proof_is_refused_before_the_body_is_judged(wallet: DpopWallet) -> None:
    """RFC 9449 §7.1: how the token was presented is checked before the request's body, so that a malformed body
    does not tell someone who holds a bound token but not its key that the token is live."""
    access_token, _ = await wallet.token()
    malformed = {"credential_configuration_id": 7}
    bearer = await wallet.http.post(
        "/v1/openid/credential", json=malformed, headers={"Authorization": f"Bearer {access_token}"}
    )
    assert_error(bearer, "invalid_token", 401)
    other = dpop_proof(new_key(), CREDENTIAL, nonce=wallet.dpop_nonce, access_token=access_token)
    headers = {"Authorization": f"DPoP {access_token}", "DPoP": other}
    assert_error(
        await wallet.http.post("/v1/openid/credential", json=malformed, headers=headers), "invalid_dpop_proof", 401
    )
    # with its key's proof, the body's own error
    own = dpop_proof(wallet.dpop_key, CREDENTIAL, nonce=wallet.dpop_nonce, access_token=access_token)
    headers = {"Authorization": f"DPoP {access_token}", "DPoP": own}
    response = await wallet.http.post("/v1/openid/credential", json=malformed, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_credential_request", response.text


async def test_a_client_id_longer_than_a_grant_keeps_is_refused_and_leaves_the_offer(wallet: DpopWallet) -> None:
    """On PostgreSQL a grant's client_id column holds 255 characters; a longer one was a 500. Refused as a bad
    request on every store, without using the offer up."""
    offer = await wallet.wallet.read_offer((await wallet.setup.offer())["uri"])
    code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "client_id": "w" * 256}
    assert_error(await wallet.http.post("/v1/oauth/token", data=form), "invalid_request")
    form["client_id"] = "w" * 255
    assert (await wallet.http.post("/v1/oauth/token", data=form)).status_code == 200


async def test_a_proof_is_used_once_at_the_token_endpoint(wallet: DpopWallet) -> None:
    await wallet.token()  # learns a nonce
    offers = [await wallet.wallet.read_offer((await wallet.setup.offer())["uri"]) for _ in range(2)]
    proof = dpop_proof(wallet.dpop_key, TOKEN, nonce=wallet.dpop_nonce)
    assert (await wallet.token_response(offers[0], proof)).status_code == 200
    assert_error(await wallet.token_response(offers[1], proof), "invalid_dpop_proof")
    assert (await wallet.token_response(offers[1])).status_code == 200  # the offer was not used up


async def test_an_unbound_token_is_refused_with_the_dpop_scheme(wallet: DpopWallet) -> None:
    offer = await wallet.wallet.read_offer((await wallet.setup.offer())["uri"])
    access_token = (await wallet.wallet.token(offer)).json()["access_token"]
    await wallet.token()
    response = await wallet.credential(access_token)
    assert_error(response, "invalid_token", 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    import base64
    import json

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


class TestEachRuleAtTheTokenEndpoint:
    """One negative test per check of RFC 9449 §4.3 at the token endpoint (memory only: the rules are pure)."""

    @pytest.fixture
    def api_database_url(self) -> str:
        return "memory://"

    @pytest.fixture
    async def ready(self, wallet: DpopWallet) -> tuple[DpopWallet, dict[str, Any]]:
        await wallet.token()  # a nonce
        return wallet, await wallet.wallet.read_offer((await wallet.setup.offer())["uri"])

    @pytest.mark.parametrize(
        ("make", "reason"),
        [
            (lambda w: dpop_proof(w.dpop_key, TOKEN, nonce=w.dpop_nonce, header={"typ": "JWT"}), "typ"),
            (lambda w: dpop_proof(w.dpop_key, TOKEN, nonce=w.dpop_nonce, method="GET"), "htm"),
            (lambda w: dpop_proof(w.dpop_key, f"{ISSUER}/v1/oauth/par", nonce=w.dpop_nonce), "htu"),
            (lambda w: dpop_proof(w.dpop_key, "https://other.example/v1/oauth/token", nonce=w.dpop_nonce), "htu"),
            (lambda w: dpop_proof(w.dpop_key, TOKEN, nonce=w.dpop_nonce, iat=int(time.time()) - 3600), "too old"),
            (lambda w: dpop_proof(w.dpop_key, TOKEN, nonce=w.dpop_nonce, iat=int(time.time()) + 3600), "future"),
            (lambda w: dpop_proof(w.dpop_key, TOKEN, nonce=w.dpop_nonce, drop=("iat",)), "iat"),
            (lambda w: dpop_proof(w.dpop_key, TOKEN, nonce=w.dpop_nonce, drop=("jti",)), "jti"),
            (lambda w: dpop_proof(w.dpop_key, TOKEN, nonce=w.dpop_nonce, jti="x" * 300), "jti"),
            (lambda w: dpop_proof(w.dpop_key, TOKEN, nonce=w.dpop_nonce, header={"jwk": None}), "jwk"),
            (
                lambda w: dpop_proof(
                    w.dpop_key, TOKEN, nonce=w.dpop_nonce, header={"jwk": w.dpop_key.as_dict(private=True)}
                ),
                "private",
            ),
            (
                lambda w: dpop_proof(w.dpop_key, TOKEN, nonce=w.dpop_nonce, header={"jwk": public(new_key())}),
                "signature",
            ),
            (lambda w: _unsigned({"typ": "dpop+jwt", "alg": "none", "jwk": public(w.dpop_key)}, {}), "alg"),
            (
                lambda w: jwt.encode(
                    {"typ": "dpop+jwt", "alg": "HS256", "jwk": public(w.dpop_key)},
                    {"htm": "POST", "htu": TOKEN, "iat": int(time.time()), "jti": "j"},
                    __import__("joserfc.jwk", fromlist=["OctKey"]).OctKey.generate_key(256),
                    algorithms=["HS256"],
                ),
                "alg",
            ),
            (lambda w: "not.a.jwt", "valid JWT"),
            (lambda w: dpop_proof(w.dpop_key, TOKEN, nonce=w.dpop_nonce, header={"crit": ["x"]}), "crit"),
        ],
    )
    async def test_refused(self, ready: tuple[DpopWallet, dict[str, Any]], make: Any, reason: str) -> None:
        wallet, offer = ready
        response = await wallet.token_response(offer, make(wallet))
        assert_error(response, "invalid_dpop_proof")
        assert reason in response.json()["error_description"], response.text
        assert (await wallet.token_response(offer)).status_code == 200  # control: the offer is still redeemable

    @pytest.mark.parametrize("nonce", [None, "made-up", "A" * 63])
    async def test_a_missing_or_foreign_nonce_asks_for_the_servers(
        self, ready: tuple[DpopWallet, dict[str, Any]], nonce: str | None
    ) -> None:
        wallet, offer = ready
        response = await wallet.token_response(offer, dpop_proof(wallet.dpop_key, TOKEN, nonce=nonce))
        assert_error(response, "use_dpop_nonce")
        assert response.headers["dpop-nonce"] != nonce

    async def test_an_expired_nonce_asks_for_a_new_one(self, ready: tuple[DpopWallet, dict[str, Any]]) -> None:
        wallet, offer = ready
        old = wallet.dpop_nonce
        clock = wallet.setup.api.clock
        clock.advance(seconds=301)
        proof = dpop_proof(wallet.dpop_key, TOKEN, nonce=old, iat=int(clock.now().timestamp()))
        response = await wallet.token_response(offer, proof)
        assert_error(response, "use_dpop_nonce")

    async def test_two_dpop_headers_are_refused(self, ready: tuple[DpopWallet, dict[str, Any]]) -> None:
        wallet, offer = ready
        code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
        proof = dpop_proof(wallet.dpop_key, TOKEN, nonce=wallet.dpop_nonce)
        response = await wallet.http.post(
            "/v1/oauth/token",
            data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code},
            headers=[("DPoP", proof), ("DPoP", proof)],
        )
        assert_error(response, "invalid_dpop_proof")

    async def test_a_query_and_fragment_in_htu_are_ignored_and_case_is_normalised(
        self, ready: tuple[DpopWallet, dict[str, Any]]
    ) -> None:
        wallet, offer = ready
        url = "HTTPS://Issuer.Example:443/v1/oauth/%74oken?x=1#f"
        assert (
            await wallet.token_response(offer, dpop_proof(wallet.dpop_key, url, nonce=wallet.dpop_nonce))
        ).status_code == 200


class TestEachRuleAtTheCredentialEndpoint:
    @pytest.fixture
    def api_database_url(self) -> str:
        return "memory://"

    @pytest.mark.parametrize(
        ("make", "error", "reason"),
        [
            (lambda w, t: dpop_proof(w.dpop_key, CREDENTIAL, nonce=w.dpop_nonce), "invalid_dpop_proof", "ath"),
            (
                lambda w, t: dpop_proof(w.dpop_key, CREDENTIAL, nonce=w.dpop_nonce, access_token=t + "x"),
                "invalid_dpop_proof",
                "ath",
            ),
            (
                lambda w, t: dpop_proof(w.dpop_key, TOKEN, nonce=w.dpop_nonce, access_token=t),
                "invalid_dpop_proof",
                "htu",
            ),
            (lambda w, t: dpop_proof(w.dpop_key, CREDENTIAL, access_token=t), "use_dpop_nonce", "nonce"),
        ],
    )
    async def test_refused_with_a_dpop_challenge(self, wallet: DpopWallet, make: Any, error: str, reason: str) -> None:
        access_token, _ = await wallet.token()
        response = await wallet.credential(access_token, proof=make(wallet, access_token))
        assert_error(response, error, 401)
        assert response.headers["www-authenticate"].startswith(f'DPoP error="{error}"')
        assert reason in response.json()["error_description"]
        assert (await wallet.credential(access_token)).status_code == 200  # control


async def test_a_tenant_that_requires_dpop_refuses_bearer_tokens(api: Any, wallet: DpopWallet) -> None:
    plain = Wallet(api.http)
    offer = await plain.read_offer((await wallet.setup.offer())["uri"])
    earlier = (await plain.token(offer)).json()["access_token"]  # issued before the requirement
    headers = await api.auth()
    response = await api.http.put("/v1/openid/wallet-security", headers=headers, json={"dpopRequired": True})
    assert response.status_code == 200, response.text
    assert response.json()["dpopRequired"] is True
    offer = await plain.read_offer((await wallet.setup.offer())["uri"])
    assert_error(await plain.token(offer), "invalid_dpop_proof")
    refused = await wallet.http.post(
        "/v1/openid/credential", json=await wallet.body(), headers={"Authorization": f"Bearer {earlier}"}
    )
    assert_error(refused, "invalid_token", 401)
    assert refused.headers["www-authenticate"].startswith("DPoP")
    access_token, _ = await wallet.token()
    assert (await wallet.credential(access_token)).status_code == 200
    metadata = (await api.http.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["dpop_signing_alg_values_supported"] == ["ES256"]
