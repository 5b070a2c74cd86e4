"""The Authorization Code flow against a real OpenID provider process (oidc-provider-mock), with the test wallet.

The browser's part is played by two clients: the app's in-process client for openissuer's endpoints, and a real
HTTP client for the provider's login page.

The flows run on memory, SQLite and PostgreSQL; tests of request validation and provider failures, whose storage
use the flows already cover, run on memory only (``MEMORY_ONLY``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from oi_idp import IdP, pkce_pair, running_idp
from oi_issuer import MDL, Setup, make_setup
from oi_wallet import Wallet
from openissuer.adapters.sql import tables
from openissuer.adapters.sql.engine import create_sync_db_engine
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.services.wallet_secrets import digest_secret

pytestmark = pytest.mark.slow

WALLET_REDIRECT = "https://wallet.example/cb"
CALLBACK = "https://issuer.example/v1/oauth/authentication/callback"
ALICE = {"given_name": "Alice", "family_name": "Liddell", "birthdate": "1990-01-02"}
BOB = {"given_name": "Bob", "family_name": "Builder", "birthdate": "1985-07-14"}


@pytest.fixture(scope="module")
def idp() -> Iterator[IdP]:
    with running_idp() as provider:
        yield provider


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


# Overrides every_backend_url's own parameters: the test runs on memory only.
MEMORY_ONLY = pytest.mark.parametrize("every_backend_url", ["memory"], indirect=True)


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {"outbound_allow_private": True}


@dataclass
class Flow:
    setup: Setup
    idp: IdP
    client_id: str
    offer_uri: str

    @property
    def http(self) -> httpx.AsyncClient:
        return self.setup.api.http  # type: ignore[no-any-return]

    def authorize_params(self, **overrides: str) -> dict[str, str]:
        verifier, challenge = pkce_pair()
        self.verifier = verifier
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": WALLET_REDIRECT,
            "scope": MDL,
            "state": "wallet-state-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    async def start(self, params: dict[str, str]) -> httpx.Response:
        return await self.http.get("/v1/oauth/authorize", params=params)

    async def sign_in(self, response: httpx.Response, subject: str, claims: dict[str, Any]) -> httpx.Response:
        """Follow the redirect to the provider, log in there, and hand its redirect back to openissuer."""
        assert response.status_code == 302, response.text
        idp_url = response.headers["location"]
        assert idp_url.startswith(self.idp.authorization_endpoint)
        async with httpx.AsyncClient() as browser:
            callback = await self.idp.login(browser, idp_url, subject=subject, claims=claims)
        assert callback.startswith(CALLBACK)
        return await self.http.get(callback.removeprefix("https://issuer.example"))

    async def code_from(self, response: httpx.Response) -> str:
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(WALLET_REDIRECT + "?")
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == ["wallet-state-1"]
        assert query["iss"] == ["https://issuer.example"]
        return query["code"][0]

    async def token(
        self, authorization_code: str, *, headers: dict[str, str] | None = None, **overrides: str
    ) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": authorization_code,
            "redirect_uri": WALLET_REDIRECT,
            "client_id": self.client_id,
            "code_verifier": self.verifier,
        }
        form.update(overrides)
        data = {k: v for k, v in form.items() if v is not None}
        return await self.http.post("/v1/oauth/token", data=data, headers=headers)

    async def claim(self, subject: str, claims: dict[str, Any], **params: str) -> tuple[Wallet, list[str]]:
        code = await self.code_from(
            await self.sign_in(await self.start(self.authorize_params(**params)), subject, claims)
        )
        token = await self.token(code)
        assert token.status_code == 200, token.text
        wallet = Wallet(self.http)
        metadata, _ = await wallet.discover("https://issuer.example")
        body: dict[str, Any] = {"proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]}}
        details = token.json().get("authorization_details")
        if details:
            body["credential_identifier"] = details[0]["credential_identifiers"][0]
        else:
            body["credential_configuration_id"] = self.setup.configuration_id
        response = await wallet.credential(metadata, token.json()["access_token"], body)
        assert response.status_code == 200, response.text
        return wallet, [c["credential"] for c in response.json()["credentials"]]


async def make_flow(api: Any, idp: IdP, **provider: Any) -> Flow:
    setup = await make_setup(api)
    registered = idp.register_client([CALLBACK], token_endpoint_auth_method=provider.pop("auth", "client_secret_basic"))
    body = {
        "url": idp.issuer,
        "clientId": registered.client_id,
        "clientSecret": registered.client_secret,
        "tokenEndpointAuthMethod": registered.token_endpoint_auth_method,
        **provider,
    }
    created = await api.http.post("/v1/users/authentication-providers", headers=setup.headers, json=body)
    assert created.status_code == 201, created.text
    client = await api.http.post(
        "/v1/openid/clients",
        headers=setup.headers,
        json={"clientName": "Test wallet", "redirectUris": [WALLET_REDIRECT]},
    )
    assert client.status_code == 201, client.text
    offer = await api.http.post(
        "/v1/openid/offers",
        headers=setup.headers,
        json={"credentials": [setup.configuration_id], "request_parameters": {"prompt": "login"}},
    )
    assert offer.status_code == 200, offer.text
    return Flow(setup, idp, client.json()["clientId"], offer.json()["uri"])


@pytest.fixture
async def flow(api: Any, idp: IdP) -> Flow:
    return await make_flow(api, idp)


# Claims: the configuration maps given_name, family_name and birth_date from claims.*; the ID token says birthdate.
def _id_token_mapped(claims: dict[str, str]) -> dict[str, str]:
    return {**claims, "birth_date": claims["birthdate"]}


async def test_wallet_signs_in_and_receives_an_mdoc_from_id_token_claims(flow: Flow) -> None:
    offer = await Wallet(flow.http).read_offer(flow.offer_uri)
    assert offer["grants"]["authorization_code"]["issuer_state"]
    assert offer["request_parameters"] == {"prompt": "login"}
    wallet, (credential,) = await flow.claim(
        "alice", _id_token_mapped(ALICE), issuer_state=offer["grants"]["authorization_code"]["issuer_state"]
    )
    values = flow.setup.verify(credential, wallet)
    assert values["given_name"] == "Alice" and values["family_name"] == "Liddell"
    token_requests = flow.idp.requests(flow.idp.token_endpoint)
    assert token_requests and token_requests[-1]["form"]["code_verifier"]  # PKCE towards the provider too


async def test_a_webhook_receives_the_credential_and_the_events_name_the_wallet(flow: Flow) -> None:
    from oi_webhooks import running_receiver, verify_delivery

    with running_receiver() as receiver:
        created = await flow.http.post(
            "/v1/webhooks",
            headers=flow.setup.headers,
            json={"url": receiver.url, "events": ["OpenIdCredentialIssued"]},
        )
        assert created.status_code == 201, created.text
        wallet, (credential,) = await flow.claim("alice", _id_token_mapped(ALICE))
        assert await flow.setup.api.container.delivery.run_once() == 1
        jwks = (await flow.http.get("/v1/webhooks/jwks")).json()
    (received,) = receiver.received
    verify_delivery(received.method, received.url, received.headers, received.body, jwks)
    payload = received.envelope["event"]["payload"]
    assert received.envelope["event"]["type"] == "OpenIdCredentialIssued" and payload["credential"] == credential
    flow.setup.verify(payload["credential"], wallet)
    events = await flow.http.get(
        "/v1/events", params={"types": "OPENID_TOKEN_CREATE_SUCCESS"}, headers=flow.setup.headers
    )
    (token_event,) = events.json()["data"]
    assert token_event["clientId"] == flow.client_id
    assert token_event["data"] == {
        "grantType": "authorization_code",
        "userId": payload["userId"],
        "credentialConfigurationIds": [flow.setup.configuration_id],
    }


@MEMORY_ONLY  # on SQL: test_the_flow_state_is_used_up_in_the_configured_database takes a pushed request too
async def test_with_pushed_authorization_request(flow: Flow) -> None:
    params = flow.authorize_params()
    pushed = await flow.http.post("/v1/oauth/par", data=params)
    assert pushed.status_code == 201, pushed.text
    request_uri = pushed.json()["request_uri"]
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:")
    assert pushed.json()["expires_in"] == 60
    start = await flow.start({"client_id": flow.client_id, "request_uri": request_uri})
    code = await flow.code_from(await flow.sign_in(start, "alice", _id_token_mapped(ALICE)))
    assert (await flow.token(code)).status_code == 200
    again = await flow.start({"client_id": flow.client_id, "request_uri": request_uri})
    assert again.status_code == 400 and "expired" in again.text  # single use


async def test_the_flow_state_is_used_up_in_the_configured_database(flow: Flow, api_database_url: str) -> None:
    """PAR, sign-in, code, token and a replay: every single-use item is used up in the app's own database."""
    pushed = await flow.http.post("/v1/oauth/par", data=flow.authorize_params())
    request_uri = pushed.json()["request_uri"]
    start = await flow.start({"client_id": flow.client_id, "request_uri": request_uri})
    code = await flow.code_from(await flow.sign_in(start, "dora", _id_token_mapped(ALICE)))
    token = await flow.token(code)
    assert token.status_code == 200
    assert (await flow.token(code)).json()["error"] == "invalid_grant"
    async with flow.setup.api.container.uow_factory() as uow:
        stored_code = await uow.authorization.find_code(digest_secret(code))
        retaken = await uow.authorization.take_pushed_request(
            DEFAULT_TENANT_ID, digest_secret(request_uri), flow.setup.api.clock.now()
        )
    context = await flow.setup.api.container.wallet_store.load_grant(
        DEFAULT_TENANT_ID, digest_secret(token.json()["access_token"])
    )
    assert stored_code is not None and stored_code.consumed_at is not None and stored_code.subject_id == "dora"
    assert context is not None and context.grant.revoked_at is not None
    assert context.grant.authorization_code_hash == digest_secret(code)
    assert retaken is None
    if api_database_url == "memory://":
        return
    # Read the database behind the app's back: the rows are there, not in some in-memory store.
    engine = create_sync_db_engine(api_database_url)
    try:
        with engine.connect() as connection:
            used = {
                table.name: connection.execute(
                    select(func.count()).select_from(table).where(table.c[column].is_not(None))
                ).scalar()
                for table, column in (
                    (tables.pushed_requests, "consumed_at"),
                    (tables.authorization_sessions, "completed_at"),
                    (tables.authorization_codes, "consumed_at"),
                    (tables.access_grants, "revoked_at"),
                )
            }
            subjects = connection.execute(select(tables.users.c.subject_id)).scalars().all()
    finally:
        engine.dispose()
    assert used == {"pushed_requests": 1, "authorization_sessions": 1, "authorization_codes": 1, "access_grants": 1}
    assert subjects == ["dora"]


async def test_authorization_details_give_credential_identifiers(flow: Flow) -> None:
    details = json.dumps([{"type": "openid_credential", "credential_configuration_id": flow.setup.configuration_id}])
    wallet, (credential,) = await flow.claim(
        "alice", _id_token_mapped(ALICE), scope=None, authorization_details=details
    )
    assert flow.setup.verify(credential, wallet)["given_name"] == "Alice"


@MEMORY_ONLY  # on SQL: test_users_are_found_by_provider_and_subject_and_persist_claims signs in twice too
async def test_one_offer_two_holders_each_get_their_own_claims(flow: Flow) -> None:
    alice_wallet, (alice,) = await flow.claim("alice", _id_token_mapped(ALICE))
    bob_wallet, (bob,) = await flow.claim("bob", _id_token_mapped(BOB))
    assert flow.setup.verify(alice, alice_wallet)["given_name"] == "Alice"
    assert flow.setup.verify(bob, bob_wallet)["given_name"] == "Bob"


async def test_users_are_found_by_provider_and_subject_and_persist_claims(api: Any, idp: IdP) -> None:
    flow = await make_flow(api, idp, claimsToPersist=["family_name"])
    await flow.claim("carol", _id_token_mapped({**ALICE, "family_name": "Persisted"}))
    async with api.container.uow_factory() as uow:
        provider = await uow.authentication_providers.get_for_tenant("00000000-0000-4000-8000-000000000000")
        user = await uow.users.find_by_subject(provider.tenant_id, provider.id, "carol")
    assert user is not None and user.claims == {"family_name": "Persisted"}
    await flow.claim("carol", _id_token_mapped(ALICE))
    async with api.container.uow_factory() as uow:
        again = await uow.users.find_by_subject(provider.tenant_id, provider.id, "carol")
    assert again is not None and again.id == user.id


@MEMORY_ONLY
@pytest.mark.parametrize(
    "redirect_uri",
    [
        WALLET_REDIRECT + "/extra",
        WALLET_REDIRECT + "?x=1",
        "https://wallet.example:8443/cb",
        "https://other.example/cb",
        "https://wallet.example@evil.example/cb",
        "https://evil.example/cb#https://wallet.example/cb",
        None,
    ],
)
async def test_redirect_uri_must_match_exactly(flow: Flow, redirect_uri: str | None) -> None:
    response = await flow.start(flow.authorize_params(redirect_uri=redirect_uri))  # type: ignore[arg-type]
    # Reference §3.2: 403 for a known client asking with an unregistered redirect URI; 400 without one.
    assert response.status_code == (400 if redirect_uri is None else 403)
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text


@MEMORY_ONLY
async def test_unknown_client_gets_a_page_not_a_redirect(flow: Flow) -> None:
    response = await flow.start(flow.authorize_params(client_id="who-knows"))
    assert response.status_code == 401  # reference §3.2: "401 client not recognised"
    assert "location" not in response.headers


@MEMORY_ONLY
@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "unknown-scope"}, "invalid_scope"),
        ({"scope": None, "authorization_details": '[{"type": "other"}]'}, "invalid_authorization_details"),
        (
            {
                "scope": None,
                "authorization_details": '[{"type": "openid_credential", "credential_configuration_id": []}]',
            },
            "invalid_authorization_details",
        ),
        ({"scope": None, "authorization_details": "[" * 3000 + "]" * 3000}, "invalid_authorization_details"),
        ({"response_mode": "form_post"}, "invalid_request"),
    ],
)
async def test_request_errors_go_back_to_the_wallet(flow: Flow, overrides: dict[str, Any], error: str) -> None:
    response = await flow.start(flow.authorize_params(**overrides))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert response.headers["location"].startswith(WALLET_REDIRECT)
    assert query["error"] == [error]
    assert query["state"] == ["wallet-state-1"]
    assert query["iss"] == ["https://issuer.example"]


async def test_token_endpoint_rules(flow: Flow) -> None:
    code = await flow.code_from(
        await flow.sign_in(await flow.start(flow.authorize_params()), "alice", _id_token_mapped(ALICE))
    )
    wrong = await flow.token(code, code_verifier="x" * 43)
    assert wrong.json()["error"] == "invalid_grant"
    # the code was used up by that attempt
    assert (await flow.token(code)).json()["error"] == "invalid_grant"


@MEMORY_ONLY
@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_verifier": None}, "invalid_grant"),
        ({"redirect_uri": WALLET_REDIRECT + "/other"}, "invalid_grant"),
        ({"client_id": "someone-else"}, "invalid_client"),
        ({"code": "not-a-code"}, "invalid_grant"),
        ({"redirect_uri": None}, "invalid_request"),
    ],
)
async def test_token_request_mismatches(flow: Flow, overrides: dict[str, Any], error: str) -> None:
    code = await flow.code_from(
        await flow.sign_in(await flow.start(flow.authorize_params()), "alice", _id_token_mapped(ALICE))
    )
    assert (await flow.token(code, **overrides)).json()["error"] == error


async def test_replayed_code_fails_and_revokes_its_tokens(flow: Flow) -> None:
    code = await flow.code_from(
        await flow.sign_in(await flow.start(flow.authorize_params()), "alice", _id_token_mapped(ALICE))
    )
    first = await flow.token(code)
    assert first.status_code == 200
    access = first.json()["access_token"]
    replay = await flow.token(code)
    assert replay.json()["error"] == "invalid_grant"
    wallet = Wallet(flow.http)
    metadata, _ = await wallet.discover("https://issuer.example")
    body = {
        "credential_configuration_id": flow.setup.configuration_id,
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]},
    }
    revoked = await wallet.credential(metadata, access, body)
    assert revoked.status_code == 401
    assert revoked.json()["error"] == "invalid_token"
    events = await flow.http.get("/v1/events", params={"types": "OPENID_TOKEN_CREATE_FAIL"}, headers=flow.setup.headers)
    (refused,) = events.json()["data"]
    assert refused["data"]["reason"] == "replayed" and refused["data"]["revokedGrants"] == 1
    assert refused["clientId"] == flow.client_id and code not in str(refused)


async def test_expired_code(flow: Flow) -> None:
    code = await flow.code_from(
        await flow.sign_in(await flow.start(flow.authorize_params()), "alice", _id_token_mapped(ALICE))
    )
    flow.setup.api.clock.advance(seconds=61)
    assert (await flow.token(code)).json()["error"] == "invalid_grant"


@MEMORY_ONLY
@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_id": None}, 400, "invalid_request"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, 400, "invalid_request"),
        ({"client_id": "unknown-wallet"}, 401, "invalid_client"),
        ({"client_id": "pre-authorized-only"}, 400, "unauthorized_client"),
        ({"client_id": "w" * 256}, 400, "invalid_request"),
        (
            {
                "scope": None,
                "authorization_details": '[{"type": "openid_credential", "credential_configuration_id": {}}]',
            },
            400,
            "invalid_authorization_details",
        ),
        ({"scope": None, "authorization_details": "[" * 3000 + "]" * 3000}, 400, "invalid_authorization_details"),
    ],
)
async def test_pushed_request_errors(flow: Flow, change: dict[str, str | None], status: int, error: str) -> None:
    created = await flow.http.post(
        "/v1/openid/clients",
        headers=flow.setup.headers,
        json={
            "clientId": "pre-authorized-only",
            "redirectUris": [WALLET_REDIRECT],
            "grantTypes": ["urn:ietf:params:oauth:grant-type:pre-authorized_code"],
        },
    )
    assert created.status_code == 201, created.text
    params = {k: v for k, v in {**flow.authorize_params(), **change}.items() if v is not None}
    response = await flow.http.post("/v1/oauth/par", data=params)
    assert (response.status_code, response.json()["error"]) == (status, error)


@MEMORY_ONLY
async def test_without_an_authentication_provider_the_wallet_gets_an_error(flow: Flow) -> None:
    (provider,) = (await flow.http.get("/v1/users/authentication-providers", headers=flow.setup.headers)).json()["data"]
    path = f"/v1/users/authentication-providers/{provider['id']}"
    assert (await flow.http.delete(path, headers=flow.setup.headers)).status_code == 204
    response = await flow.start(flow.authorize_params())
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["wallet-state-1"]


@MEMORY_ONLY
async def test_a_callback_without_a_code_ends_on_a_page(flow: Flow) -> None:
    start = await flow.start(flow.authorize_params())
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    _assert_failure_page(await flow.http.get("/v1/oauth/authentication/callback", params={"state": state}))
    # the failed sign-in is closed: its state cannot be used again
    again = await flow.http.get("/v1/oauth/authentication/callback", params={"state": state, "code": "x"})
    assert again.status_code == 400 and "error=access_denied" not in again.text


@MEMORY_ONLY
async def test_state_mismatch_at_the_callback(flow: Flow) -> None:
    await flow.start(flow.authorize_params())
    response = await flow.http.get("/v1/oauth/authentication/callback", params={"code": "x", "state": "forged"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers
    missing = await flow.http.get("/v1/oauth/authentication/callback", params={"code": "x"})
    assert missing.status_code == 400


def _assert_failure_page(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Return to your wallet" in response.text
    assert "error=access_denied" in response.text
    assert "Traceback" not in response.text


@MEMORY_ONLY
@pytest.mark.parametrize(
    "tampering",
    [
        {"sign_with": "foreign"},
        {"sign_with": "none"},
        {"claims": {"aud": "someone-else"}},
        {"claims": {"nonce": "not-ours"}},
        {"claims": {"exp": 1_000_000_000}},
        {"claims": {"iss": "https://evil.example"}},
        {"remove": ["nonce"]},
    ],
)
async def test_unacceptable_id_tokens_end_on_a_page(
    flow: Flow, tampering: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    flow.idp.tamper_id_token(times=1, **tampering)
    try:
        with caplog.at_level(logging.INFO, logger="openissuer.web"):
            response = await flow.sign_in(await flow.start(flow.authorize_params()), "alice", _id_token_mapped(ALICE))
    finally:
        flow.idp.clear_faults()
    _assert_failure_page(response)
    # The operator learns why (the page only says the sign-in failed):
    (record,) = [r for r in caplog.records if r.getMessage() == "sign-in refused"]
    assert record.reason and record.reason != "The identity provider's ID token is not acceptable"  # type: ignore[attr-defined]


async def test_provider_refusing_the_sign_in(flow: Flow) -> None:
    start = await flow.start(flow.authorize_params())
    async with httpx.AsyncClient() as browser:
        callback = await flow.idp.login(browser, start.headers["location"], subject="alice", claims=ALICE, deny=True)
    _assert_failure_page(await flow.http.get(callback.removeprefix("https://issuer.example")))


@MEMORY_ONLY
async def test_provider_token_endpoint_failing(flow: Flow) -> None:
    flow.idp.fail(flow.idp.token_endpoint, 503, times=1)
    try:
        response = await flow.sign_in(await flow.start(flow.authorize_params()), "alice", _id_token_mapped(ALICE))
    finally:
        flow.idp.clear_faults()
    _assert_failure_page(response)


@MEMORY_ONLY
async def test_provider_slow(flow: Flow) -> None:
    start = await flow.start(flow.authorize_params())
    flow.idp.delay(flow.idp.token_endpoint, 4.0, times=1)  # the outbound timeout is 3 s
    try:
        response = await flow.sign_in(start, "alice", _id_token_mapped(ALICE))
    finally:
        flow.idp.clear_faults()
    _assert_failure_page(response)


@MEMORY_ONLY
async def test_metadata_advertises_the_authorization_code_flow(flow: Flow) -> None:
    server = (await flow.http.get("/.well-known/oauth-authorization-server")).json()
    assert server["authorization_endpoint"] == "https://issuer.example/v1/oauth/authorize"
    assert server["pushed_authorization_request_endpoint"] == "https://issuer.example/v1/oauth/par"
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["authorization_response_iss_parameter_supported"] is True
    assert set(server["grant_types_supported"]) == {
        "authorization_code",
        "urn:ietf:params:oauth:grant-type:pre-authorized_code",
    }
    assert server["scopes_supported"] == [f"mso_mdoc:{MDL}"]  # reference §3.2: "<format>:<type>"
    assert server["response_modes_supported"] == ["query", "fragment"]
    assert server["token_endpoint_auth_methods_supported"] == ["none"]
    issuer = (await flow.http.get("/.well-known/openid-credential-issuer")).json()
    assert issuer["credential_configurations_supported"][flow.setup.configuration_id]["scope"] == f"mso_mdoc:{MDL}"
    assert issuer["authorization_endpoint"] == server["authorization_endpoint"]  # repeated, as the reference does


async def test_provider_api_masks_the_secret_and_reports_the_callback(flow: Flow) -> None:
    listed = (await flow.http.get("/v1/users/authentication-providers", headers=flow.setup.headers)).json()["data"]
    (provider,) = listed
    assert provider["redirectUrl"] == CALLBACK
    assert provider["clientSecret"].startswith("****")
    assert provider["scope"] == ["openid", "profile", "email"]
    second = await flow.http.post(
        "/v1/users/authentication-providers",
        headers=flow.setup.headers,
        json={"url": flow.idp.issuer, "clientId": "x", "clientSecret": "y" * 16},
    )
    assert second.status_code == 409
    assert "y" * 16 not in second.text


@MEMORY_ONLY
async def test_provider_down(flow: Flow) -> None:
    flow.idp.stop()
    try:
        response = await flow.start(flow.authorize_params())
    finally:
        flow.idp.start()  # a restarted provider forgets its clients: later tests register their own
    _assert_failure_page(response)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"url": "http://idp.example.com"}, "url"),
        ({"url": "https://10.0.0.1"}, "url"),
        ({"url": "https://idp.example.com?x=1"}, "url"),
        ({"url": "https://idp.example.com", "scope": ["profile"]}, "scope"),
        ({"url": "https://idp.example.com", "clientSecret": None}, "clientSecret"),
        (
            {"url": "https://idp.example.com", "staticRequestParameters": {"state": "x"}},
            "staticRequestParameters.state",
        ),
        ({"url": "https://idp.example.com", "staticRequestParameters": {"p": "x" * 1000}}, "staticRequestParameters.p"),
        (
            {"url": "https://idp.example.com", "forwardedRequestParameters": ["redirect_uri"]},
            "forwardedRequestParameters",
        ),
        *(
            ({"url": "https://idp.example.com", "forwardedRequestParameters": ["login_hint", name]}, name)
            for name in ("request", "request_uri", "response_mode", "registration")
        ),
        (
            {"url": "https://idp.example.com", "staticRequestParameters": {"request_uri": "urn:x"}},
            "staticRequestParameters.request_uri",
        ),
        ({"url": "https://idp.example.com", "tokenEndpointAuthMethod": "private_key_jwt"}, "tokenEndpointAuthMethod"),
        ({"url": "https://idp.example.com", "clientId": "c" * 1025}, "clientId"),
        ({"url": "https://idp.example.com", "clientSecret": "s" * 4097}, "clientSecret"),
    ],
)
async def test_provider_validation_with_the_outbound_guard_on(tmp_path: Any, body: dict[str, Any], param: str) -> None:
    from oi_testing import make_settings
    from openissuer.bootstrap import build
    from openissuer.web.app import create_app

    settings = make_settings(tmp_path, bootstrap_client_id="a", bootstrap_client_secret="a-long-enough-secret")
    container = build(settings)  # type: ignore[arg-type]
    await container.start()
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="https://issuer.example") as http:
        token = await http.post("/v1/auth/token", json={"client_id": "a", "client_secret": "a-long-enough-secret"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        payload = {"clientId": "c", "clientSecret": "s" * 16, **body}
        response = await http.post("/v1/users/authentication-providers", headers=headers, json=payload)
    await container.aclose()
    assert response.status_code == 400, response.text
    details = response.json()["details"]
    if param in ("request", "request_uri", "response_mode", "registration"):  # the field, naming the value
        assert [(d["param"], d["value"]) for d in details] == [("forwardedRequestParameters", param)]
    else:
        assert param in [d["param"] for d in details]
    assert "s" * 16 not in response.text


@MEMORY_ONLY
async def test_a_stored_provider_forwarding_a_reserved_name_does_not_forward_it(flow: Flow) -> None:
    """A provider stored before ``request`` & co. were reserved: the names are skipped at run time."""
    async with flow.setup.api.container.uow_factory() as uow:
        provider = await uow.authentication_providers.get_for_tenant(DEFAULT_TENANT_ID)
        assert provider is not None
        forwarded = ("login_hint", "request", "request_uri", "response_mode", "registration")
        static = {"prompt": "login", "request": "eyJhbGciOiJub25lIn0.e30.", "registration": "{}"}
        changed = dataclasses.replace(
            provider, forwarded_request_parameters=forwarded, static_request_parameters=static
        )
        assert await uow.authentication_providers.update(changed)
        await uow.commit()
    params = flow.authorize_params(login_hint="alice", request="eyJhbGciOiJub25lIn0.e30.", registration="{}")
    response = await flow.start(params)
    assert response.status_code == 302, response.text
    upstream = parse_qs(urlsplit(response.headers["location"]).query)
    assert upstream["login_hint"] == ["alice"] and upstream["prompt"] == ["login"]
    assert not {"request", "request_uri", "response_mode", "registration"} & set(upstream)


async def test_outbound_guard_refuses_a_loopback_provider_at_run_time(tmp_path: Any, idp: IdP) -> None:
    """A provider stored while the guard was off (a development database) is never called once it is on."""
    from oi_testing import make_settings
    from openissuer.bootstrap import build, migrate
    from openissuer.web.app import create_app

    base = make_settings(
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'g.db'}",
        outbound_allow_private=True,
        bootstrap_client_id="a",
        bootstrap_client_secret="a-long-enough-secret",
    )
    migrate(base)  # type: ignore[arg-type]
    responses: dict[bool, httpx.Response] = {}
    for allow_private in (True, False):
        container = build(base.model_copy(update={"outbound_allow_private": allow_private}))  # type: ignore[attr-defined]
        await container.start()
        transport = httpx.ASGITransport(app=create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="https://issuer.example") as http:
            token = await http.post("/v1/auth/token", json={"client_id": "a", "client_secret": "a-long-enough-secret"})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            if allow_private:
                await http.post(
                    "/v2/credentials/mobile/configurations",
                    headers=headers,
                    json={"type": MDL, "claimMappings": {"ns": {"a": {"defaultValue": "x"}}}, "expiresIn": {"days": 1}},
                )
                await http.post(
                    "/v1/users/authentication-providers",
                    headers=headers,
                    json={"url": idp.issuer, "clientId": "c", "clientSecret": "s" * 16},
                )
                await http.post(
                    "/v1/openid/clients", headers=headers, json={"redirectUris": [WALLET_REDIRECT], "clientId": "w"}
                )
            idp.clear_requests()
            _, challenge = pkce_pair()
            responses[allow_private] = await http.get(
                "/v1/oauth/authorize",
                params={
                    "response_type": "code",
                    "client_id": "w",
                    "redirect_uri": WALLET_REDIRECT,
                    "scope": MDL,
                    "state": "s",
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                },
            )
            reached = idp.requests(idp.discovery_url)
        await container.aclose()
        if allow_private:
            assert responses[True].status_code == 302 and reached  # guard off: the provider is used
        else:
            assert reached == []  # guard on: not a single request reached the loopback provider
    _assert_failure_page(responses[False])


@MEMORY_ONLY
@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"redirectUris": []}, "redirectUris"),
        ({"redirectUris": ["not a uri"]}, "redirectUris.0"),
        ({"redirectUris": ["https://wallet.example/cb#frag"]}, "redirectUris.0"),
        ({"redirectUris": ["http://wallet.example/cb"]}, "redirectUris.0"),
        ({"redirectUris": ["javascript:alert(document.domain)//"]}, "redirectUris.0"),
        ({"redirectUris": [WALLET_REDIRECT, "data:text/html,<script>alert(1)</script>"]}, "redirectUris.1"),
        ({"redirectUris": ["http://[::1"]}, "redirectUris.0"),
        ({"redirectUris": [WALLET_REDIRECT], "clientId": "w" * 256}, "clientId"),
        ({"redirectUris": [WALLET_REDIRECT], "grantTypes": ["password"]}, "grantTypes"),
        (
            {"redirectUris": [WALLET_REDIRECT], "tokenEndpointAuthMethod": "client_secret_basic"},
            "tokenEndpointAuthMethod",
        ),
    ],
)
async def test_wallet_client_validation(flow: Flow, body: dict[str, Any], param: str) -> None:
    response = await flow.http.post("/v1/openid/clients", headers=flow.setup.headers, json=body)
    assert response.status_code == 400, response.text
    assert param in [d["param"] for d in response.json()["details"]]


async def test_wallet_client_crud(flow: Flow) -> None:
    headers = flow.setup.headers
    created = (
        await flow.http.post(
            "/v1/openid/clients",
            headers=headers,
            json={"clientId": "my-app", "redirectUris": ["myapp://cb", "http://127.0.0.1:7/cb", "myapp://cb"]},
        )
    ).json()
    assert created["clientId"] == "my-app" and created["tokenEndpointAuthMethod"] == "none"
    assert created["redirectUris"] == ["myapp://cb", "http://127.0.0.1:7/cb"]  # each once, in the order given
    clash = await flow.http.post(
        "/v1/openid/clients", headers=headers, json={"clientId": "my-app", "redirectUris": ["myapp://cb"]}
    )
    assert clash.status_code == 409
    path = f"/v1/openid/clients/{created['id']}"
    replaced = await flow.http.put(path, headers=headers, json={"redirectUris": ["myapp://other"]})
    assert replaced.json()["redirectUris"] == ["myapp://other"] and replaced.json()["clientId"] == "my-app"
    listed = (await flow.http.get("/v1/openid/clients", headers=headers)).json()["data"]
    assert {c["clientId"] for c in listed} == {"my-app", flow.client_id}
    assert (await flow.http.delete(path, headers=headers)).status_code == 204
    assert (await flow.http.get(path, headers=headers)).status_code == 404


@MEMORY_ONLY
@pytest.mark.parametrize("scope", [f"mso_mdoc:{MDL}", MDL, f"openid mso_mdoc:{MDL} unknown"])
async def test_scopes_of_either_form_and_the_token_responses_scope(flow: Flow, scope: str) -> None:
    """Reference §3.2: scopes are "<format>:<type>"; the bare type still works; the token response carries the
    scope values that named a configuration (§3.5 "{access_token, token_type, expires_in, scope}")."""
    response = await flow.sign_in(
        await flow.start(flow.authorize_params(scope=scope)), "alice", _id_token_mapped(ALICE)
    )
    token = await flow.token(await flow.code_from(response))
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == (MDL if scope == MDL else f"mso_mdoc:{MDL}")


@MEMORY_ONLY
async def test_no_scope_in_the_token_response_of_authorization_details(flow: Flow) -> None:
    details = json.dumps([{"type": "openid_credential", "credential_configuration_id": flow.setup.configuration_id}])
    params = flow.authorize_params(scope=None, authorization_details=details)  # type: ignore[arg-type]
    code = await flow.code_from(await flow.sign_in(await flow.start(params), "alice", _id_token_mapped(ALICE)))
    token = (await flow.token(code)).json()
    assert "scope" not in token and token["authorization_details"]


@MEMORY_ONLY
async def test_the_fragment_response_mode(flow: Flow) -> None:
    """AS metadata lists ["query", "fragment"] as the reference does, and both work."""
    start = await flow.start(flow.authorize_params(response_mode="fragment"))
    back = await flow.sign_in(start, "alice", _id_token_mapped(ALICE))
    location = urlsplit(back.headers["location"])
    assert location.query == ""
    fragment = parse_qs(location.fragment)
    assert fragment["state"] == ["wallet-state-1"] and fragment["iss"] == ["https://issuer.example"]
    assert (await flow.token(fragment["code"][0])).status_code == 200
    refused = await flow.start(flow.authorize_params(response_mode="fragment", scope="unknown-scope"))
    assert parse_qs(urlsplit(refused.headers["location"]).fragment)["error"] == ["invalid_scope"]


@MEMORY_ONLY
async def test_a_client_without_the_authorization_code_grant_gets_403(flow: Flow) -> None:
    created = await flow.http.post(
        "/v1/openid/clients",
        headers=flow.setup.headers,
        json={
            "redirectUris": [WALLET_REDIRECT],
            "grantTypes": ["urn:ietf:params:oauth:grant-type:pre-authorized_code"],
        },
    )
    response = await flow.start(flow.authorize_params(client_id=created.json()["clientId"]))
    assert response.status_code == 403 and "location" not in response.headers


async def test_the_haip_flow_par_attestation_dpop_and_a_bound_token(flow: Flow) -> None:
    """HAIP on: PAR with wallet attestation (the client's sub), a DPoP-bound token from the Authorization Code
    exchange (attested again), a credential with a DPoP proof; the proof's iss is the client."""
    from oi_haip import Pki, WalletInstance, dpop_proof, new_key

    issuer = "https://issuer.example"
    pki = Pki()
    policy = {"haip": True, "clientAttestation": {"rootCertificates": [pki.anchor_pem]}}
    response = await flow.http.put("/v1/openid/wallet-security", headers=flow.setup.headers, json=policy)
    assert response.status_code == 200, response.text
    instance = WalletInstance(pki, client_id=flow.client_id)
    params = flow.authorize_params()
    assert (await flow.start(params)).status_code == 400  # no PAR
    pushed = await flow.http.post("/v1/oauth/par", data=params, headers=instance.headers(issuer))
    assert pushed.status_code == 201, pushed.text
    start = await flow.start({"client_id": flow.client_id, "request_uri": pushed.json()["request_uri"]})
    code = await flow.code_from(await flow.sign_in(start, "alice", _id_token_mapped(ALICE)))
    key = new_key()
    token_url = f"{issuer}/v1/oauth/token"
    first = await flow.http.post(
        "/v1/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WALLET_REDIRECT,
            "client_id": flow.client_id,
            "code_verifier": flow.verifier,
        },
        headers={**instance.headers(issuer), "DPoP": dpop_proof(key, token_url)},
    )
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"  # before the code is used
    nonce = first.headers["dpop-nonce"]
    token = await flow.http.post(
        "/v1/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WALLET_REDIRECT,
            "client_id": flow.client_id,
            "code_verifier": flow.verifier,
        },
        headers={**instance.headers(issuer), "DPoP": dpop_proof(key, token_url, nonce=nonce)},
    )
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "DPoP"
    access_token = token.json()["access_token"]
    wallet = Wallet(flow.http)
    metadata, _ = await wallet.discover(issuer)
    body = {
        "credential_configuration_id": flow.setup.configuration_id,
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata), iss=flow.client_id)]},
    }
    proof = dpop_proof(
        key, f"{issuer}/v1/openid/credential", nonce=token.headers["dpop-nonce"], access_token=access_token
    )
    issued = await flow.http.post(
        "/v1/openid/credential", json=body, headers={"Authorization": f"DPoP {access_token}", "DPoP": proof}
    )
    assert issued.status_code == 200, issued.text
    flow.setup.verify(issued.json()["credentials"][0]["credential"], wallet)


# RFC 9449 §10: authorization codes bound to a DPoP key, by dpop_jkt or by a DPoP proof at PAR.

ISSUER = "https://issuer.example"
TOKEN_URL = f"{ISSUER}/v1/oauth/token"
PAR_URL = f"{ISSUER}/v1/oauth/par"


async def _token_with_dpop(flow: Flow, code: str, key: Any) -> httpx.Response:
    """A token request with a DPoP proof by ``key``, after fetching the server's DPoP nonce."""
    from oi_haip import dpop_proof

    asked = await flow.http.post(
        "/v1/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": flow.client_id},
        headers={"DPoP": dpop_proof(key, TOKEN_URL)},
    )
    assert asked.json()["error"] == "use_dpop_nonce", asked.text
    proof = dpop_proof(key, TOKEN_URL, nonce=asked.headers["dpop-nonce"])
    return await flow.token(code, headers={"DPoP": proof})


async def _refusals(flow: Flow) -> list[str]:
    events = await flow.http.get("/v1/events", params={"types": "OPENID_TOKEN_CREATE_FAIL"}, headers=flow.setup.headers)
    return [event["data"]["reason"] for event in events.json()["data"]]


async def test_dpop_jkt_binds_the_authorization_code_to_the_key(flow: Flow) -> None:
    """A code asked for with dpop_jkt is exchanged only with a proof by that key; the refusals leave it unused."""
    from oi_haip import new_key

    key, other = new_key(), new_key()
    params = flow.authorize_params(dpop_jkt=key.thumbprint())
    code = await flow.code_from(await flow.sign_in(await flow.start(params), "alice", _id_token_mapped(ALICE)))
    bearer = await flow.token(code)  # no DPoP proof at all
    assert bearer.status_code == 400 and bearer.json()["error"] == "invalid_dpop_proof", bearer.text
    stolen = await _token_with_dpop(flow, code, other)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_dpop_proof", stolen.text
    assert "access_token" not in stolen.text
    token = await _token_with_dpop(flow, code, key)
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "DPoP"
    assert (await _refusals(flow)).count("dpop_key_mismatch") == 2
    assert (await _token_with_dpop(flow, code, key)).json()["error"] == "invalid_grant"  # used up now


async def test_a_dpop_proof_at_par_binds_the_authorization_code(flow: Flow) -> None:
    """RFC 9449 §10.1: the PAR request's proof (with the server's nonce) binds the code; the 201 carries a nonce."""
    from oi_haip import dpop_proof, new_key

    key, other = new_key(), new_key()
    params = flow.authorize_params()
    first = await flow.http.post("/v1/oauth/par", data=params, headers={"DPoP": dpop_proof(key, PAR_URL)})
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce", first.text
    proof = dpop_proof(key, PAR_URL, nonce=first.headers["dpop-nonce"])
    pushed = await flow.http.post("/v1/oauth/par", data=params, headers={"DPoP": proof})
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["dpop-nonce"]
    start = await flow.start({"client_id": flow.client_id, "request_uri": pushed.json()["request_uri"]})
    code = await flow.code_from(await flow.sign_in(start, "alice", _id_token_mapped(ALICE)))
    assert (await _token_with_dpop(flow, code, other)).json()["error"] == "invalid_dpop_proof"
    token = await _token_with_dpop(flow, code, key)
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "DPoP"


@MEMORY_ONLY
async def test_par_refuses_a_dpop_jkt_that_is_not_its_proofs_key_and_a_replayed_proof(flow: Flow) -> None:
    from oi_haip import dpop_proof, new_key

    key, other = new_key(), new_key()
    first = await flow.http.post(
        "/v1/oauth/par", data=flow.authorize_params(), headers={"DPoP": dpop_proof(key, PAR_URL)}
    )
    nonce = first.headers["dpop-nonce"]
    mismatched = await flow.http.post(
        "/v1/oauth/par",
        data=flow.authorize_params(dpop_jkt=other.thumbprint()),
        headers={"DPoP": dpop_proof(key, PAR_URL, nonce=nonce)},
    )
    assert mismatched.status_code == 400 and mismatched.json()["error"] == "invalid_dpop_proof", mismatched.text
    assert "request_uri" not in mismatched.text
    proof = dpop_proof(key, PAR_URL, nonce=nonce)
    assert (
        await flow.http.post("/v1/oauth/par", data=flow.authorize_params(), headers={"DPoP": proof})
    ).status_code == 201
    replayed = await flow.http.post("/v1/oauth/par", data=flow.authorize_params(), headers={"DPoP": proof})
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_dpop_proof", replayed.text
    for_the_token_endpoint = dpop_proof(key, TOKEN_URL, nonce=nonce)
    wrong_htu = await flow.http.post(
        "/v1/oauth/par", data=flow.authorize_params(), headers={"DPoP": for_the_token_endpoint}
    )
    assert wrong_htu.status_code == 400 and wrong_htu.json()["error"] == "invalid_dpop_proof", wrong_htu.text
    # The same key, sent as both: accepted.
    both = await flow.http.post(
        "/v1/oauth/par",
        data=flow.authorize_params(dpop_jkt=key.thumbprint()),
        headers={"DPoP": dpop_proof(key, PAR_URL, nonce=nonce)},
    )
    assert both.status_code == 201, both.text


@MEMORY_ONLY
@pytest.mark.parametrize("jkt", ["", "short", "A" * 44, "A" * 42 + "B", "A" * 42 + "=", "A" * 41 + "+A"])
async def test_a_malformed_dpop_jkt_is_invalid_request(flow: Flow, jkt: str) -> None:
    redirected = await flow.start(flow.authorize_params(dpop_jkt=jkt))
    assert redirected.status_code == 302, redirected.text
    assert parse_qs(urlsplit(redirected.headers["location"]).query)["error"] == ["invalid_request"]
    pushed = await flow.http.post("/v1/oauth/par", data=flow.authorize_params(dpop_jkt=jkt))
    assert pushed.status_code == 400 and pushed.json()["error"] == "invalid_request", pushed.text


# --- the callback: one delivery wins, and only from the provider the sign-in started with --------------------------


@pytest.fixture(scope="module")
def other_idp() -> Iterator[IdP]:
    with running_idp() as provider:
        yield provider


async def _callback(flow: Flow, subject: str = "alice") -> str:
    """Authorize and sign in at the provider; return the callback path (not yet delivered)."""
    start = await flow.start(flow.authorize_params())
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient() as browser:
        callback = await flow.idp.login(browser, start.headers["location"], subject=subject, claims=ALICE)
    assert callback.startswith(CALLBACK)
    return callback.removeprefix("https://issuer.example")


async def test_two_deliveries_of_one_callback_give_exactly_one_code(flow: Flow) -> None:
    """The session is taken before the provider is called: one delivery exchanges the code and gets the wallet
    its code, the other gets a page and calls nobody (before, the loser's failed exchange closed the session and
    often nobody got a code)."""
    callback = await _callback(flow)
    flow.idp.clear_requests()
    flow.idp.delay(flow.idp.token_endpoint, 0.3)  # both deliveries in flight while the provider answers
    try:
        responses = await asyncio.gather(flow.http.get(callback), flow.http.get(callback))
    finally:
        flow.idp.clear_faults()
    winners = [r for r in responses if r.status_code == 302]
    (loser,) = [r for r in responses if r.status_code != 302]
    (winner,) = winners
    await flow.code_from(winner)
    assert loser.status_code == 400 and loser.headers["content-type"].startswith("text/html")
    assert "already used" in loser.text and "error=access_denied" not in loser.text
    assert len(flow.idp.requests(flow.idp.token_endpoint)) == 1


@MEMORY_ONLY
async def test_a_callback_after_the_provider_changed_is_refused(flow: Flow, other_idp: IdP) -> None:
    """A PUT that points the tenant's provider at another issuer mid-sign-in: the first provider's code and PKCE
    verifier never go to the second provider's token endpoint."""
    callback = await _callback(flow)
    (provider,) = (await flow.http.get("/v1/users/authentication-providers", headers=flow.setup.headers)).json()["data"]
    registered = other_idp.register_client([CALLBACK])
    body = {"url": other_idp.issuer, "clientId": registered.client_id, "clientSecret": registered.client_secret}
    path = f"/v1/users/authentication-providers/{provider['id']}"
    assert (await flow.http.put(path, headers=flow.setup.headers, json=body)).status_code == 200
    flow.idp.clear_requests()
    other_idp.clear_requests()
    _assert_failure_page(await flow.http.get(callback))
    assert other_idp.requests(other_idp.token_endpoint) == []
    assert flow.idp.requests(flow.idp.token_endpoint) == []
    # a sign-in started with the new provider works
    flow.idp = other_idp
    await flow.claim("alice", _id_token_mapped(ALICE))


@MEMORY_ONLY
async def test_the_callbacks_iss_must_name_the_sessions_provider(flow: Flow, other_idp: IdP) -> None:
    """RFC 9207 §2.4: an ``iss`` in the callback is the issuer of the provider the sign-in went to."""
    callback = await _callback(flow)
    flow.idp.clear_requests()
    _assert_failure_page(await flow.http.get(f"{callback}&{urlencode({'iss': other_idp.issuer})}"))
    assert flow.idp.requests(flow.idp.token_endpoint) == []
    callback = await _callback(flow)
    await flow.code_from(await flow.http.get(f"{callback}&{urlencode({'iss': flow.idp.issuer})}"))


@MEMORY_ONLY
@pytest.mark.parametrize("name", ["state", "issuer_state"])
async def test_a_state_over_2048_characters_is_refused(flow: Flow, name: str) -> None:
    """400 anonymous requests with 16 kB of state each grew the database by 5.8 MB: state is capped."""
    accepted = await flow.start(flow.authorize_params(**{name: "s" * 2048}))
    assert accepted.status_code == 302 and accepted.headers["location"].startswith(flow.idp.authorization_endpoint)
    refused = await flow.start(flow.authorize_params(**{name: "s" * 2049}))
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("text/html")
    assert "location" not in refused.headers and f"{name} is longer than 2048 characters" in refused.text
    assert "s" * 2049 not in refused.text
    pushed = await flow.http.post("/v1/oauth/par", data=flow.authorize_params(**{name: "s" * 2049}))
    assert (pushed.status_code, pushed.json()["error"]) == (400, "invalid_request")
    assert name in pushed.json()["error_description"]
    assert (await flow.http.post("/v1/oauth/par", data=flow.authorize_params(**{name: "s" * 2048}))).status_code == 201


class TestTheBrowserThatStarted:
    """The sign-in is bound to the browser that started it (a cookie set at /authorize): the provider's callback in
    another browser (a leaked callback URL, or a provider link an attacker started and a victim finished) is refused
    and spoils nothing, and the right browser then finishes it."""

    async def _at_callback(self, flow: Flow, **params: str) -> tuple[httpx.Response, str]:
        start = await flow.start(flow.authorize_params(**params))
        assert start.status_code == 302, start.text
        async with httpx.AsyncClient() as browser:
            callback = await flow.idp.login(browser, start.headers["location"], subject="alice", claims=ALICE)
        return start, callback.removeprefix("https://issuer.example")

    @MEMORY_ONLY
    async def test_the_cookie_is_host_only_secure_lax_and_lives_as_long_as_the_sign_in(self, flow: Flow) -> None:
        start, callback = await self._at_callback(flow)
        (set_cookie,) = start.headers.get_list("set-cookie")
        name, _, attributes = set_cookie.partition(";")
        assert name.startswith("__Host-oi-sign-in-")
        parts = {p.strip().split("=")[0].lower(): p.strip() for p in attributes.split(";")}
        assert {"secure", "httponly", "path", "samesite", "max-age"} <= set(parts) and "domain" not in parts
        assert parts["path"] == "Path=/" and parts["samesite"].lower() == "samesite=lax"
        assert parts["max-age"] == "Max-Age=600"
        done = await flow.http.get(callback)
        await flow.code_from(done)
        (cleared,) = done.headers.get_list("set-cookie")
        assert cleared.startswith(name.split("=")[0] + "=") and "Max-Age=0" in cleared

    async def test_another_browser_is_refused_and_the_right_one_finishes(self, flow: Flow) -> None:
        _, callback = await self._at_callback(flow)
        transport = flow.http._transport
        async with httpx.AsyncClient(transport=transport, base_url="https://issuer.example") as stranger:
            refused = await stranger.get(callback)
            assert refused.status_code == 400 and "started in another browser" in refused.text
            assert "location" not in refused.headers and "Return to your wallet" not in refused.text
            ((name, value),) = flow.http.cookies.items()
            stranger.cookies.set(name, "A" * len(value), domain="issuer.example")
            forged = await stranger.get(callback)
            assert forged.status_code == 400 and "started in another browser" in forged.text
            stranger.cookies.set(name, value, domain="issuer.example")  # the cookie is what tells the browser
            code = await flow.code_from(await stranger.get(callback))  # nothing was used up
        assert (await flow.token(code)).status_code == 200

    @MEMORY_ONLY
    async def test_the_cookie_without_its_prefix_is_refused_on_an_https_issuer(self, flow: Flow) -> None:
        """A cookie without ``__Host-`` could have been planted by a sibling host or over plain http (an attacker
        who started a sign-in of their own knows its name and value)."""
        _, callback = await self._at_callback(flow)
        ((name, value),) = flow.http.cookies.items()
        assert name.startswith("__Host-")
        async with httpx.AsyncClient(transport=flow.http._transport, base_url="https://issuer.example") as victim:
            victim.cookies.set(name.removeprefix("__Host-"), value, domain="issuer.example")
            refused = await victim.get(callback)
        assert refused.status_code == 400 and "started in another browser" in refused.text

    @MEMORY_ONLY
    async def test_one_sign_ins_cookie_does_not_finish_another(self, flow: Flow) -> None:
        _, first = await self._at_callback(flow)
        first_cookies = dict(flow.http.cookies)
        flow.http.cookies.clear()
        _, second = await self._at_callback(flow, state="wallet-state-2")
        flow.http.cookies.clear()
        flow.http.cookies.update(first_cookies)
        refused = await flow.http.get(second)
        assert refused.status_code == 400 and "started in another browser" in refused.text
        await flow.code_from(await flow.http.get(first))
