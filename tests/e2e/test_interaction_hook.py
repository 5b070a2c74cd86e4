"""The interaction hook end to end: a full Authorization Code flow with the real OpenID provider process
(``tests/oi_idp.py``) and a real hook web app (``tests/oi_hook_app.py``) that adds claims and persists one; every
check on the hook's answer; the configuration API; and the URL rules with the outbound guard on.

The browser is played by a real HTTP client for the provider and the hook, and by the app's in-process client for
openissuer. The main flow runs on memory, SQLite and PostgreSQL (on the SQL ones a second openissuer process
receives the hook's return); the checks run on memory.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from oi_claims_source import running_claims_source
from oi_hook_app import HookApp, running_hook_app
from oi_idp import IdP, pkce_pair, running_idp
from oi_issuer import MDL, NS, Setup, make_setup
from oi_testing import make_settings
from oi_wallet import Wallet
from openissuer.bootstrap import build
from openissuer.domain.api_clients import Role
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.web.app import create_app

pytestmark = pytest.mark.slow

ISSUER = "https://issuer.example"
WALLET_REDIRECT = "https://wallet.example/cb"
CALLBACK = ISSUER + "/v1/oauth/authentication/callback"
HOOK_CALLBACK = ISSUER + "/v1/oauth/interaction-hook/callback"
ALICE = {"given_name": "Alice", "family_name": "Liddell", "birth_date": "1990-01-02", "email": "alice@example.com"}
MEMORY_ONLY = pytest.mark.parametrize("every_backend_url", ["memory"], indirect=True)


@pytest.fixture(scope="module")
def idp() -> Iterator[IdP]:
    with running_idp() as provider:
        yield provider


@pytest.fixture
def hook_app() -> Iterator[HookApp]:
    with running_hook_app(ISSUER) as app:
        yield app


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {"outbound_allow_private": True}


MAPPINGS = {
    NS: {
        "given_name": {"mapFrom": "claims.given_name", "type": "string", "required": True},
        "family_name": {"mapFrom": "claims.family_name", "type": "string", "required": True},
        "birth_date": {"mapFrom": "claims.birth_date", "type": "date", "required": True},
        "document_number": {"mapFrom": "claims.loyalty_number", "type": "string"},
    }
}


@dataclass
class HookFlow:
    setup: Setup
    idp: IdP
    hook: HookApp
    client_id: str
    verifier: str = ""

    @property
    def http(self) -> httpx.AsyncClient:
        return self.setup.api.http  # type: ignore[no-any-return]

    async def to_hook(self, subject: str = "alice", claims: dict[str, Any] = ALICE) -> str:
        """Authorize, sign in at the provider, return to openissuer: the URL it sends the browser to next."""
        self.verifier, challenge = pkce_pair()
        start = await self.http.get(
            "/v1/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": WALLET_REDIRECT,
                "scope": MDL,
                "state": "wallet-state-1",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        assert start.status_code == 302, start.text
        async with httpx.AsyncClient() as browser:
            callback = await self.idp.login(browser, start.headers["location"], subject=subject, claims=claims)
        assert callback.startswith(CALLBACK)
        response = await self.http.get(callback.removeprefix(ISSUER))
        assert response.status_code == 302, response.text
        self.to_hook_response = response
        return str(response.headers["location"])

    async def visit(self, hook_url: str) -> str:
        """The browser at the hook: return where the hook sends it (openissuer's hook callback)."""
        assert hook_url.startswith(self.hook.url + "?session_token=")
        async with httpx.AsyncClient() as browser:
            response = await browser.get(hook_url)
        assert response.status_code == 302, response.text
        location = str(response.headers["location"])
        assert location.startswith(HOOK_CALLBACK + "?session_token=")
        return location

    async def back(self, return_url: str, http: httpx.AsyncClient | None = None) -> httpx.Response:
        return await (http or self.http).get(return_url.removeprefix(ISSUER))

    async def credential(self, response: httpx.Response) -> tuple[Wallet, dict[str, Any]]:
        """Take the code from the wallet redirect, redeem it, and get a verified credential's values."""
        query = wallet_query(response)
        assert query["state"] == "wallet-state-1" and query["iss"] == ISSUER
        token = await self.http.post(
            "/v1/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"],
                "redirect_uri": WALLET_REDIRECT,
                "client_id": self.client_id,
                "code_verifier": self.verifier,
            },
        )
        assert token.status_code == 200, token.text
        wallet = Wallet(self.http)
        metadata, _ = await wallet.discover(ISSUER)
        nonce = await wallet.nonce(metadata)
        proof = wallet.proof(metadata, nonce, iat=int(self.setup.api.clock.now().timestamp()))
        body = {"credential_configuration_id": self.setup.configuration_id, "proofs": {"jwt": [proof]}}
        issued = await wallet.credential(metadata, token.json()["access_token"], body)
        assert issued.status_code == 200, issued.text
        return wallet, self.setup.verify(issued.json()["credentials"][0]["credential"], wallet)


def wallet_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(WALLET_REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def assert_page(response: httpx.Response, *, way_back: bool) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers
    assert ("Return to your wallet" in response.text) is way_back
    if way_back:
        assert "error=access_denied" in response.text and "state=wallet-state-1" in response.text
    assert "Traceback" not in response.text


async def put_hook(setup: Setup, hook: HookApp, **fields: Any) -> dict[str, Any]:
    body = {"url": hook.url, "claims": ["given_name", "email", "missing"], "sessionTimeoutInSec": 300, **fields}
    response = await setup.api.http.put(
        "/v1/openid/configuration", headers=setup.headers, json={"interactionHook": body}
    )
    assert response.status_code == 200, response.text
    hook.secret = response.json()["interactionHook"]["secret"]
    return dict(response.json()["interactionHook"])


async def make_hook_flow(api: Any, idp: IdP, hook: HookApp, **hook_fields: Any) -> HookFlow:
    setup = await make_setup(api)
    path = f"/v2/credentials/mobile/configurations/{setup.configuration_id}"
    body = {"type": MDL, "claimMappings": MAPPINGS, "expiresIn": {"days": 30}}
    assert (await api.http.put(path, headers=setup.headers, json=body)).status_code == 200
    registered = idp.register_client([CALLBACK])
    provider = await api.http.post(
        "/v1/users/authentication-providers",
        headers=setup.headers,
        json={"url": idp.issuer, "clientId": registered.client_id, "clientSecret": registered.client_secret},
    )
    assert provider.status_code == 201, provider.text
    client = await api.http.post("/v1/openid/clients", headers=setup.headers, json={"redirectUris": [WALLET_REDIRECT]})
    assert client.status_code == 201, client.text
    hook.now = lambda: api.clock.now().timestamp()  # the hook's clock is the issuer's (tests move it)
    await put_hook(setup, hook, **hook_fields)
    return HookFlow(setup, idp, hook, client.json()["clientId"])


@pytest.fixture
async def flow(api: Any, idp: IdP, hook_app: HookApp) -> HookFlow:
    return await make_hook_flow(api, idp, hook_app)


# --- the flow ----------------------------------------------------------------------------------------------------


async def test_a_hook_adds_claims_and_persists_one(
    api: Any, idp: IdP, hook_app: HookApp, api_database_url: str, tmp_path: Path
) -> None:
    """ID token < hook < claims source (reference §4.4), with the hook's return received by another worker."""
    flow = await make_hook_flow(api, idp, hook_app)
    hook_app.claims = {"loyalty_number": "LN-42", "given_name": "Alicia", "family_name": "FromHook"}
    with running_claims_source(api_key="k" * 16, people={ALICE["email"]: {"family_name": "FromSource"}}) as source:
        created = await api.http.post(
            "/v1/claim-sources",
            headers=flow.setup.headers,
            json={
                "name": "CRM",
                "url": f"{source.url}/claims",
                "requestParameters": {"email": {"mapFrom": "claims.email"}},
                "authorization": {"type": "api-key", "value": "k" * 16},
            },
        )
        path = f"/v2/credentials/mobile/configurations/{flow.setup.configuration_id}"
        body = {
            "type": MDL,
            "claimMappings": MAPPINGS,
            "expiresIn": {"days": 30},
            "claimSourceId": created.json()["id"],
        }
        assert (await api.http.put(path, headers=flow.setup.headers, json=body)).status_code == 200

        hook_url = await flow.to_hook()
        return_url = await flow.visit(hook_url)
        (visit,) = hook_app.visits
        assert visit["iss"] == ISSUER and visit["aud"] == hook_app.url and visit["redirectUrl"] == HOOK_CALLBACK
        assert visit["claims"] == {"given_name": "Alice", "email": "alice@example.com"}  # those configured, if any
        assert visit["exp"] - visit["iat"] == 300 and visit["state"]
        if api_database_url == "memory://":
            back = await flow.back(return_url)
        else:  # any worker may receive the return: the visit is in the database
            other = build(
                make_settings(tmp_path / "b", database_url=api_database_url, outbound_allow_private=True),  # type: ignore[arg-type]
                clock=api.clock,
            )
            await other.start()
            transport = httpx.ASGITransport(app=create_app(other))
            # The same browser (its cookies) at another worker, which checks the sign-in's cookie with its own keys:
            async with httpx.AsyncClient(
                transport=transport, base_url=ISSUER, cookies=flow.http.cookies
            ) as second_worker:
                back = await flow.back(return_url, second_worker)
            await other.aclose()
        _, values = await flow.credential(back)
        assert len(source.seen("/claims")) == 1
    assert values["given_name"] == "Alicia"  # the hook's claim wins over the ID token's
    assert values["family_name"] == "FromSource"  # the claims source's wins over the hook's
    assert values["document_number"] == "LN-42"  # a claim only the hook has
    assert values["birth_date"] == date(1990, 1, 2)  # the ID token's
    found = await api.http.post(
        "/v1/users/search", headers=flow.setup.headers, json={"claims": {"loyalty_number": "LN-42"}}
    )
    (user,) = found.json()["data"]
    assert user["claims"] == {"loyalty_number": "LN-42"}  # the hook's claimsToPersist, and nothing else
    assert user["authenticationProvider"]["subjectId"] == "alice"
    assert (await flow.back(return_url)).status_code == 400  # the visit was used up


@MEMORY_ONLY
async def test_a_persisted_hook_claim_serves_later_issuances(flow: HookFlow, hook_app: HookApp) -> None:
    _, first = await flow.credential(await flow.back(await flow.visit(await flow.to_hook())))
    assert first["document_number"] == "LN-42"
    hook_app.claims, hook_app.claims_to_persist = {}, []  # the hook adds nothing this time
    _, second = await flow.credential(await flow.back(await flow.visit(await flow.to_hook())))
    assert second["document_number"] == "LN-42"  # from the user's persisted claims


@MEMORY_ONLY
@pytest.mark.parametrize("mode", ["tamper", "wrong-state"])
async def test_untrusted_answers_end_on_a_page_and_leave_the_visit_open(
    flow: HookFlow, hook_app: HookApp, mode: str
) -> None:
    hook_app.mode = mode
    refused = await flow.back(await flow.visit(await flow.to_hook()))
    assert_page(refused, way_back=False)
    # Neither a forged signature nor another state can close the holder's visit: the real answer still works.
    _, values = await flow.credential(await flow.back(hook_app.return_url(hook_app.visits[-1])))
    assert values["family_name"] == "FromHook"


@MEMORY_ONLY
@pytest.mark.parametrize("mode", ["expired", "wrong-aud", "wrong-iss"])
async def test_answers_that_fail_a_check_end_the_sign_in_with_a_way_back(
    flow: HookFlow, hook_app: HookApp, mode: str
) -> None:
    hook_app.mode = mode
    assert_page(await flow.back(await flow.visit(await flow.to_hook())), way_back=True)
    late = await flow.back(hook_app.return_url(hook_app.visits[-1]))
    assert_page(late, way_back=False)  # the visit is over


@MEMORY_ONLY
async def test_a_replayed_answer_is_refused(flow: HookFlow) -> None:
    return_url = await flow.visit(await flow.to_hook())
    first = await flow.back(return_url)
    code = wallet_query(first)["code"]
    replay = await flow.back(return_url)
    assert_page(replay, way_back=False)
    assert code not in replay.text


async def test_the_return_in_another_browser_is_refused_and_spoils_nothing(flow: HookFlow) -> None:
    """The hook's return is bound to the browser that started the sign-in (its cookie): a leaked return URL opened
    elsewhere gets a page without a way back and uses nothing up; the holder's browser then finishes."""
    return_url = await flow.visit(await flow.to_hook())
    transport = flow.http._transport
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as stranger:
        refused = await flow.back(return_url, stranger)
    assert_page(refused, way_back=False)
    assert "started in another browser" in refused.text
    done = await flow.back(return_url)
    assert wallet_query(done)["code"]
    assert "Max-Age=0" in done.headers["set-cookie"]  # the sign-in is over: its cookie goes


@MEMORY_ONLY
async def test_the_cookie_outlives_the_visit_to_the_hook(flow: HookFlow) -> None:
    """The cookie set at /authorize lives as long as the sign-in (10 minutes); on the way to the hook it is renewed
    for the hook's own time (sessionTimeoutInSec, here the default 300 s) and a minute more, so a holder who
    takes the hook's whole time still comes back in time."""
    await flow.to_hook()
    renewed = flow.to_hook_response.headers["set-cookie"]
    assert renewed.startswith("__Host-oi-sign-in-") and "Max-Age=360" in renewed


@MEMORY_ONLY
async def test_the_hooks_error_reaches_the_wallet(flow: HookFlow, hook_app: HookApp) -> None:
    hook_app.mode = "error"
    return_url = await flow.visit(await flow.to_hook())
    query = wallet_query(await flow.back(return_url))
    assert query["error"] == "access_denied"
    assert query["state"] == "wallet-state-1" and query["iss"] == ISSUER
    assert "code" not in query
    assert_page(await flow.back(return_url), way_back=False)


@MEMORY_ONLY
async def test_a_provider_pointed_elsewhere_during_the_visit_ends_the_sign_in(flow: HookFlow) -> None:
    """A PUT keeps the provider's id but changes its issuer: the visit was made for the old one."""
    return_url = await flow.visit(await flow.to_hook())
    (provider,) = (await flow.http.get("/v1/users/authentication-providers", headers=flow.setup.headers)).json()["data"]
    with running_idp() as other:
        registered = other.register_client([CALLBACK])
        body = {"url": other.issuer, "clientId": registered.client_id, "clientSecret": registered.client_secret}
        path = f"/v1/users/authentication-providers/{provider['id']}"
        assert (await flow.http.put(path, headers=flow.setup.headers, json=body)).status_code == 200
    assert_page(await flow.back(return_url), way_back=True)


SIGN_IN_TABLES = ("pushed_requests", "authorization_sessions", "authorization_codes", "interaction_hook_sessions")


def sign_in_rows(database_url: str) -> dict[str, int]:
    """Rows of the flow's tables, read behind the app's back."""
    from sqlalchemy import func, select

    from openissuer.adapters.sql import tables
    from openissuer.adapters.sql.engine import create_sync_db_engine

    engine = create_sync_db_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                name: connection.execute(select(func.count()).select_from(getattr(tables, name))).scalar_one()
                for name in SIGN_IN_TABLES
            }
    finally:
        engine.dispose()


async def test_housekeeping_deletes_finished_sign_ins(flow: HookFlow, api_database_url: str) -> None:
    """Sign-in state holding ID token claims is not kept: once nobody can use it, housekeeping deletes it; a used
    code stays for the access token lifetime after it expired (a replay must still revoke its tokens)."""
    pushed = await flow.http.post(
        "/v1/oauth/par",
        data={
            "response_type": "code",
            "client_id": flow.client_id,
            "redirect_uri": WALLET_REDIRECT,
            "scope": MDL,
            "code_challenge": pkce_pair()[1],
            "code_challenge_method": "S256",
        },
    )
    assert pushed.status_code == 201, pushed.text
    await flow.credential(await flow.back(await flow.visit(await flow.to_hook())))
    if api_database_url != "memory://":
        assert sign_in_rows(api_database_url) == dict.fromkeys(SIGN_IN_TABLES, 1)
    clock, housekeeping = flow.setup.api.clock, flow.setup.api.container.housekeeping
    # 2 minutes on: the pushed request expired, the visit was used; the sign-in lives 10 minutes; the code
    # expired after 60 s, but tokens issued from it live 300 s (the default access token lifetime)
    clock.advance(minutes=2)
    first = await housekeeping.run_once()
    assert (first.pushed_requests, first.hook_sessions) == (1, 1)
    assert (first.authorization_sessions, first.authorization_codes) == (0, 0)
    clock.advance(minutes=9)
    second = await housekeeping.run_once()
    assert (second.pushed_requests, second.hook_sessions) == (0, 0)
    assert (second.authorization_sessions, second.authorization_codes) == (1, 1)
    if api_database_url != "memory://":
        assert sign_in_rows(api_database_url) == dict.fromkeys(SIGN_IN_TABLES, 0)


async def hook_events(flow: HookFlow) -> list[dict[str, Any]]:
    types = "OPENID_INTERACTION_HOOK_COMPLETE_SUCCESS,OPENID_INTERACTION_HOOK_COMPLETE_FAIL"
    response = await flow.http.get("/v1/events", params={"types": types}, headers=flow.setup.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])  # oldest first


@MEMORY_ONLY
async def test_each_return_from_the_hook_is_recorded(flow: HookFlow, hook_app: HookApp) -> None:
    """A return that gives a code, one where the hook ended the sign-in, and one that failed a check; an untrusted
    answer (a forged signature) reaches no visit and records nothing. Claim names only, never values."""
    _, values = await flow.credential(await flow.back(await flow.visit(await flow.to_hook())))
    (done,) = await hook_events(flow)
    assert done["type"] == "OPENID_INTERACTION_HOOK_COMPLETE_SUCCESS" and done["clientId"] == flow.client_id
    assert done["data"]["claimNames"] == sorted(hook_app.claims) and done["data"]["userId"]
    assert done["data"]["sessionId"]
    for mode, reason in (("error", "ended the sign-in"), ("wrong-aud", "aud"), ("tamper", None)):
        flow.setup.api.clock.advance(seconds=1)
        hook_app.mode = mode
        await flow.back(await flow.visit(await flow.to_hook()))
        latest = (await hook_events(flow))[-1]
        if reason is None:
            assert latest["id"] != done["id"] and latest["type"].endswith("_FAIL")  # nothing new
            continue
        assert latest["type"] == "OPENID_INTERACTION_HOOK_COMPLETE_FAIL" and reason in latest["data"]["reason"]
    recorded = await hook_events(flow)
    assert len(recorded) == 3
    text = json.dumps(recorded)
    assert [v for v in (*map(str, hook_app.claims.values()), "Alice", str(values["birth_date"])) if v in text] == []


@MEMORY_ONLY
async def test_a_hook_that_never_returns_times_the_session_out(flow: HookFlow, hook_app: HookApp) -> None:
    await put_hook(flow.setup, hook_app, sessionTimeoutInSec=60)
    hook_app.mode = "hold"
    hook_url = await flow.to_hook()
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(hook_url)).status_code == 200  # the holder stays at the hook
    flow.setup.api.clock.advance(seconds=61)
    late = await flow.back(hook_app.return_url(hook_app.visits[-1]))  # a valid answer, after the timeout
    assert_page(late, way_back=True)


@MEMORY_ONLY
async def test_a_disabled_hook_is_skipped(flow: HookFlow, hook_app: HookApp) -> None:
    await put_hook(flow.setup, hook_app, disabled=True)
    flow.verifier, challenge = pkce_pair()
    start = await flow.http.get(
        "/v1/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": flow.client_id,
            "redirect_uri": WALLET_REDIRECT,
            "scope": MDL,
            "state": "wallet-state-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    async with httpx.AsyncClient() as browser:
        callback = await flow.idp.login(browser, start.headers["location"], subject="bob", claims=ALICE)
    _, values = await flow.credential(await flow.http.get(callback.removeprefix(ISSUER)))
    assert values["family_name"] == "Liddell" and "document_number" not in values
    assert hook_app.visits == []


@MEMORY_ONLY
async def test_the_hook_callback_without_a_usable_token(flow: HookFlow) -> None:
    assert_page(await flow.http.get("/v1/oauth/interaction-hook/callback"), way_back=False)
    assert_page(
        await flow.http.get("/v1/oauth/interaction-hook/callback", params={"session_token": "not.a.jwt"}),
        way_back=False,
    )


# --- configuration -----------------------------------------------------------------------------------------------


@MEMORY_ONLY
async def test_the_configuration_api(api: Any, hook_app: HookApp) -> None:
    setup = await make_setup(api)
    http, headers = api.http, setup.headers
    assert (await http.get("/v1/openid/configuration", headers=headers)).json() == {}
    first = await put_hook(setup, hook_app)
    assert len(base64.b64decode(first["secret"], validate=True)) == 32
    assert first == {
        "url": hook_app.url,
        "claims": ["given_name", "email", "missing"],
        "sessionTimeoutInSec": 300,
        "disabled": False,
        "secret": first["secret"],
    }
    assert (await http.get("/v1/openid/configuration", headers=headers)).json() == {"interactionHook": first}
    changed = await put_hook(setup, hook_app, claims=[], disabled=True, sessionTimeoutInSec=None)
    assert changed["secret"] == first["secret"]  # kept: the hook's operator need not change it
    assert changed["sessionTimeoutInSec"] == 600 and changed["disabled"] is True
    auditor = await api.container.api_clients.create_client(DEFAULT_TENANT_ID, name="aud", roles=(Role.AUDITOR,))
    auditor_headers = await api.auth(auditor.client.client_id, auditor.client_secret)
    seen = (await http.get("/v1/openid/configuration", headers=auditor_headers)).json()["interactionHook"]
    assert seen["secret"] == "****"
    put = await http.put("/v1/openid/configuration", headers=auditor_headers, json={"interactionHook": None})
    assert put.status_code == 403
    removed = await http.put("/v1/openid/configuration", headers=headers, json={"interactionHook": None})
    assert removed.status_code == 200 and removed.json() == {}
    assert (await http.get("/v1/openid/configuration", headers=headers)).json() == {}
    again = await put_hook(setup, hook_app)
    assert again["secret"] != first["secret"]  # a new hook, a new secret
    other = await api.container.tenant_admin.create("Other", "https://other.example")
    other_headers = await api.auth(other.admin_client.client_id, other.admin_client_secret)
    assert (await http.get("/v1/openid/configuration", headers=other_headers)).json() == {}


@MEMORY_ONLY
@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"sessionTimeoutInSec": 0}, "interactionHook.sessionTimeoutInSec"),
        ({"sessionTimeoutInSec": 86_401}, "interactionHook.sessionTimeoutInSec"),
        ({"claims": [""]}, "interactionHook.claims"),
        ({"url": "https://hook.example.com/step?x=1"}, "interactionHook.url"),
        ({"url": "https://hook.example.com/step#f"}, "interactionHook.url"),
    ],
)
async def test_configuration_validation(api: Any, hook_app: HookApp, fields: dict[str, Any], param: str) -> None:
    setup = await make_setup(api)
    body = {"url": hook_app.url, **fields}
    response = await api.http.put("/v1/openid/configuration", headers=setup.headers, json={"interactionHook": body})
    assert response.status_code == 400, response.text
    assert param in [d["param"] for d in response.json()["details"]]


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/hook",
        "https://localhost/hook",
        "https://metadata.google.internal/hook",
        "https://hook.internal/step",
        "http://hook.example.com/step",
    ],
)
async def test_private_loopback_and_metadata_hook_urls_are_refused_with_the_guard_on(tmp_path: Path, url: str) -> None:
    """The hook is reached by the holder's browser, never by openissuer; still, with the guard on, its URL must be a
    public https name, so a tenant cannot send holders to addresses inside the issuer's network."""
    settings = make_settings(tmp_path, bootstrap_client_id="a", bootstrap_client_secret="a-long-enough-secret")
    container = build(settings)  # type: ignore[arg-type]
    await container.start()
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
        token = await http.post("/v1/auth/token", json={"client_id": "a", "client_secret": "a-long-enough-secret"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        response = await http.put("/v1/openid/configuration", headers=headers, json={"interactionHook": {"url": url}})
        accepted = await http.put(
            "/v1/openid/configuration", headers=headers, json={"interactionHook": {"url": "https://hook.example.com/s"}}
        )
    await container.aclose()
    assert response.status_code == 400, response.text
    assert [d["param"] for d in response.json()["details"]] == ["interactionHook.url"]
    assert accepted.status_code == 200


# --- the documentation's example ---------------------------------------------------------------------------------


@MEMORY_ONLY
async def test_the_documented_hook_works(api: Any, idp: IdP, hook_app: HookApp, tmp_path: Path) -> None:
    """docs/interaction-hook.md's smallest hook, copied as a reader would, in a full flow."""
    from oi_docs import running_example

    flow = await make_hook_flow(api, idp, hook_app)
    configured = await api.http.get("/v1/openid/configuration", headers=flow.setup.headers)
    secret = configured.json()["interactionHook"]["secret"]
    with running_example("interaction-hook.md", "hook.py", tmp_path, HOOK_SECRET=secret, ISSUER=ISSUER) as port:
        url = f"http://127.0.0.1:{port}/hook"
        body = {"interactionHook": {"url": url, "claims": ["given_name", "email"], "sessionTimeoutInSec": 600}}
        assert (
            await api.http.put("/v1/openid/configuration", headers=flow.setup.headers, json=body)
        ).status_code == 200
        hook_url = await flow.to_hook()
        assert hook_url.startswith(url + "?session_token=")
        async with httpx.AsyncClient() as browser:
            answer = await browser.get(hook_url)
        assert answer.status_code == 302, answer.text
        _, values = await flow.credential(await flow.back(answer.headers["location"]))
    assert values["document_number"] == "LN-42"
