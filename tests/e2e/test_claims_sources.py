"""Claims sources end to end: the management API, and issuance against a real claims source server on loopback
(``tests/oi_claims_source.py``) with each request method and authorization, its failures, ``strict``, the OAuth
token cache, and the outbound guard. Credentials are checked by the independent verifier (pymdoccbor).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from oi_claims_source import ClaimsSourceApp, running_claims_source
from oi_issuer import MDL, NS, Setup, make_setup
from oi_outbound import ExemptPortGuard, static_resolver
from oi_testing import free_port, make_settings
from oi_wallet import Wallet
from openissuer.adapters.http import GuardedHttpFetcher
from openissuer.bootstrap import build
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.web.app import create_app

API_KEY = "source-api-key-0123456789"
EMAIL = "ana@example.com"
OFFER_CLAIMS = {"given_name": "Ana", "family_name": "Offered", "birth_date": "1990-01-02", "email": EMAIL}
SOURCE_CLAIMS = {"family_name": "Ngata", "document_number": "DL-77"}
PARAMETERS = {
    "email": {"mapFrom": "claims.email"},
    "doctype": {"mapFrom": "credentialConfiguration.type"},
    "channel": {"defaultValue": "wallet"},
    "nickname": {"mapFrom": "claims.nickname"},  # the offer has none: never sent
}


def mappings(*, document_number_required: bool = False) -> dict[str, Any]:
    return {
        NS: {
            "given_name": {"mapFrom": "claims.given_name", "type": "string", "required": True},
            "family_name": {"mapFrom": "claims.family_name", "type": "string", "required": True},
            "birth_date": {"mapFrom": "claims.birth_date", "type": "date", "required": True},
            "document_number": {
                "mapFrom": "claims.document_number",
                "type": "string",
                "required": document_number_required,
            },
        }
    }


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {"outbound_allow_private": True, "claims_source_timeout": 2.0}  # well above a loaded machine's round trip


@pytest.fixture
def source() -> Iterator[ClaimsSourceApp]:
    with running_claims_source(api_key=API_KEY, people={EMAIL: SOURCE_CLAIMS}) as app:
        yield app


@pytest.fixture
async def setup(api: Any) -> Setup:
    return await make_setup(api)


def source_body(app: ClaimsSourceApp, *, method: str = "GET", auth: str = "api-key", **extra: Any) -> dict[str, Any]:
    if auth == "api-key":
        authorization: dict[str, Any] = {"type": "api-key", "value": API_KEY}
    else:
        authorization = {
            "type": "oauth-client-credentials",
            "tokenEndpoint": f"{app.url}/token",
            "clientId": app.client_id,
            "clientSecret": app.client_secret,
            "tokenEndpointAuthMethod": auth,
        }
    body = {
        "name": "CRM",
        "url": f"{app.url}/claims",
        "requestMethod": method,
        "requestParameters": PARAMETERS,
        "authorization": authorization,
    }
    body.update(extra)
    return body


async def add_source(setup: Setup, body: dict[str, Any], *, required: bool = False) -> str:
    """Create a claims source and make the mDL configuration use it."""
    created = await setup.api.http.post("/v1/claim-sources", headers=setup.headers, json=body)
    assert created.status_code == 201, created.text
    await configure(setup, created.json()["id"], required=required)
    return str(created.json()["id"])


async def configure(setup: Setup, source_id: str | None, *, required: bool = False) -> None:
    body = {
        "type": MDL,
        "claimMappings": mappings(document_number_required=required),
        "expiresIn": {"days": 365},
        "claimSourceId": source_id,
    }
    path = f"/v2/credentials/mobile/configurations/{setup.configuration_id}"
    replaced = await setup.api.http.put(path, headers=setup.headers, json=body)
    assert replaced.status_code == 200, replaced.text


async def claim(setup: Setup, *, headers: dict[str, str] | None = None) -> tuple[Wallet, httpx.Response]:
    """A pre-authorized offer with ``OFFER_CLAIMS``, claimed by a new wallet; the credential response."""
    wallet, metadata, access_token = await redeem(setup)
    return wallet, await request_credential(setup, wallet, metadata, access_token, headers=headers)


async def redeem(setup: Setup) -> tuple[Wallet, dict[str, Any], str]:
    offer = await setup.offer(claims=OFFER_CLAIMS)
    wallet = Wallet(setup.api.http)
    credential_offer = await wallet.read_offer(offer["uri"])
    metadata, _ = await wallet.discover(credential_offer["credential_issuer"])
    token = await wallet.token(credential_offer)
    assert token.status_code == 200, token.text
    return wallet, metadata, str(token.json()["access_token"])


async def request_credential(
    setup: Setup, wallet: Wallet, metadata: dict[str, Any], access_token: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    now = int(setup.api.clock.now().timestamp())
    body = {
        "credential_configuration_id": setup.configuration_id,
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata), iat=now)]},
    }
    return await setup.api.http.post(
        metadata["credential_endpoint"],
        json=body,
        headers={"Authorization": f"Bearer {access_token}", **(headers or {})},
    )


def issued_values(setup: Setup, wallet: Wallet, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return setup.verify(response.json()["credentials"][0]["credential"], wallet)


def denied(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "credential_request_denied"
    return str(response.json()["error_description"])


# --- issuance ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "auth"),
    [("GET", "api-key"), ("POST", "api-key"), ("GET", "client_secret_basic"), ("POST", "client_secret_post")],
)
async def test_the_sources_claims_are_in_the_credential(
    setup: Setup, source: ClaimsSourceApp, method: str, auth: str
) -> None:
    if auth != "api-key":
        source.api_key = None  # the source then accepts only bearer tokens from its token endpoint
    await add_source(setup, source_body(source, method=method, auth=auth))
    wallet, response = await claim(setup)
    values = issued_values(setup, wallet, response)
    assert values["document_number"] == "DL-77"  # only the source has it
    assert values["family_name"] == "Ngata"  # the source wins over the offer
    assert values["given_name"] == "Ana"
    (call,) = source.seen("/claims")
    declared = {"email": EMAIL, "doctype": MDL, "channel": "wallet"}  # exactly these: no nickname, no other claim
    if method == "GET":
        assert call.method == "GET" and call.body == b""
        assert call.query == {k: [v] for k, v in declared.items()}
    else:
        assert call.method == "POST" and call.query == {}
        assert call.json == declared
        assert call.headers["content-type"] == "application/json"
    if auth == "api-key":
        assert call.headers["x-api-key"] == API_KEY and "authorization" not in call.headers
    else:
        assert call.headers["authorization"].startswith("Bearer ") and "x-api-key" not in call.headers
        (token_request,) = source.seen("/token")
        assert token_request.form["grant_type"] == "client_credentials"
        assert ("client_secret" in token_request.form) == (auth == "client_secret_post")
        assert ("authorization" in token_request.headers) == (auth == "client_secret_basic")


async def test_the_oauth_token_is_reused_and_refetched_after_it_expires(setup: Setup, source: ClaimsSourceApp) -> None:
    source.api_key, source.expires_in = None, 60
    await add_source(setup, source_body(source, auth="client_secret_basic"))
    for _ in range(3):
        wallet, response = await claim(setup)
        assert issued_values(setup, wallet, response)["document_number"] == "DL-77"
    assert len(source.seen("/token")) == 1 and len(source.seen("/claims")) == 3
    tokens = {call.headers["authorization"] for call in source.seen("/claims")}
    assert len(tokens) == 1
    setup.api.clock.advance(seconds=55)  # within 6 s (a tenth of its lifetime) of expiry: refetched first
    wallet, response = await claim(setup)
    assert issued_values(setup, wallet, response)["document_number"] == "DL-77"
    assert len(source.seen("/token")) == 2
    assert source.seen("/claims")[-1].headers["authorization"] not in tokens


async def test_concurrent_issuances_share_one_token_request(setup: Setup, source: ClaimsSourceApp) -> None:
    source.api_key = None
    await add_source(setup, source_body(source, auth="client_secret_post"))
    sessions = [await redeem(setup) for _ in range(5)]
    responses = await asyncio.gather(*(request_credential(setup, *session) for session in sessions))
    events = await setup.api.http.get("/v1/events", params={"types": "CLAIM_SOURCE_CALL_FAIL"}, headers=setup.headers)
    failures = [event["data"]["reason"] for event in events.json()["data"]]
    assert failures == [], (failures, [seen.path for seen in source.requests])
    for (wallet, _, _), response in zip(sessions, responses, strict=True):
        assert issued_values(setup, wallet, response)["document_number"] == "DL-77"
    assert len(source.seen("/token")) == 1 and len(source.seen("/claims")) == 5


async def test_a_token_the_source_refuses_is_refetched_once(setup: Setup, source: ClaimsSourceApp) -> None:
    source.api_key = None
    await add_source(setup, source_body(source, auth="client_secret_basic"))
    wallet, response = await claim(setup)
    assert issued_values(setup, wallet, response)["document_number"] == "DL-77"
    source.mode = "401-once"  # the source forgets its tokens: the cached one is refused once
    wallet, response = await claim(setup)
    assert issued_values(setup, wallet, response)["document_number"] == "DL-77"
    assert len(source.seen("/token")) == 2
    assert [
        c.headers["authorization"] == source.seen("/claims")[0].headers["authorization"] for c in source.seen("/claims")
    ] == [True, True, False]


async def test_a_wrong_client_secret_is_a_failure_of_the_source(setup: Setup, source: ClaimsSourceApp) -> None:
    source.api_key = None
    body = source_body(source, auth="client_secret_basic")
    body["authorization"]["clientSecret"] = "not-the-secret"
    await add_source(setup, body)
    wallet, response = await claim(setup)
    assert "document_number" not in issued_values(setup, wallet, response)
    assert source.seen("/claims") == []


FAILURES = ["slow", "500", "not-json", "array", "unreachable", "wrong-key"]


def break_source(source: ClaimsSourceApp, failure: str, body: dict[str, Any]) -> None:
    if failure == "unreachable":
        body["url"] = f"http://127.0.0.1:{free_port()}/claims"
    elif failure == "wrong-key":
        body["authorization"]["value"] = "another-key-0123456789"
    else:
        source.mode = failure


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_failing_source_leaves_optional_claims_out_and_fails_required_ones(
    setup: Setup, source: ClaimsSourceApp, failure: str
) -> None:
    body = source_body(source)
    break_source(source, failure, body)
    source_id = await add_source(setup, body)
    wallet, response = await claim(setup)
    values = issued_values(setup, wallet, response)
    assert "document_number" not in values
    assert values["family_name"] == "Offered"  # the other sources' claims are used
    await configure(setup, source_id, required=True)
    description = denied((await claim(setup))[1])
    assert "document_number" in description and NS in description


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_strict_source_fails_issuance_on_any_failure(
    setup: Setup, source: ClaimsSourceApp, failure: str
) -> None:
    body = source_body(source, strict=True)
    break_source(source, failure, body)
    await add_source(setup, body)  # document_number stays optional
    description = denied((await claim(setup))[1])
    assert "claims" in description
    assert API_KEY not in description and "127.0.0.1" not in description


async def test_a_strict_source_that_answers_issues(setup: Setup, source: ClaimsSourceApp) -> None:
    await add_source(setup, source_body(source, strict=True))
    wallet, response = await claim(setup)
    assert issued_values(setup, wallet, response)["document_number"] == "DL-77"


class ContextCapture(logging.Handler):
    """Records each log record with the structlog context (the request id) bound when it was emitted."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[logging.LogRecord, dict[str, Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record, dict(structlog.contextvars.get_contextvars())))


async def test_a_failure_is_logged_with_the_request_id(setup: Setup, source: ClaimsSourceApp) -> None:
    source.mode = "500"
    source_id = await add_source(setup, source_body(source))
    capture = ContextCapture()
    logger = logging.getLogger("openissuer.issuance")
    logger.addHandler(capture)
    try:
        _, response = await claim(setup, headers={"X-Request-ID": "req-claims-source-1"})
    finally:
        logger.removeHandler(capture)
    assert response.status_code == 200
    ((record, context),) = [(r, c) for r, c in capture.records if r.getMessage() == "claims source failed"]
    assert context["request_id"] == "req-claims-source-1"
    assert record.claim_source_id == source_id  # type: ignore[attr-defined]
    assert record.reason == "the claims source answered 500"  # type: ignore[attr-defined]
    assert API_KEY not in str(record.__dict__)


async def test_a_changed_source_is_used_from_the_next_request(setup: Setup, source: ClaimsSourceApp) -> None:
    source_id = await add_source(setup, source_body(source))
    wallet, response = await claim(setup)
    assert issued_values(setup, wallet, response)["document_number"] == "DL-77"
    with running_claims_source(api_key=API_KEY, people={EMAIL: {"document_number": "DL-88"}}) as other:
        path = f"/v1/claim-sources/{source_id}"
        replaced = await setup.api.http.put(path, headers=setup.headers, json=source_body(other))
        assert replaced.status_code == 200, replaced.text
        wallet, response = await claim(setup)
        assert issued_values(setup, wallet, response)["document_number"] == "DL-88"
        assert len(other.seen("/claims")) == 1
    assert len(source.seen("/claims")) == 1


async def test_an_offer_is_not_checked_against_claims_a_source_may_supply(
    setup: Setup, source: ClaimsSourceApp
) -> None:
    await add_source(setup, source_body(source), required=True)
    offer = await setup.api.http.post(
        "/v1/openid/offers/pre-authorized",
        headers=setup.headers,
        json={"credentials": [setup.configuration_id], "claims": {"email": EMAIL}},
    )
    assert offer.status_code == 200, offer.text
    await configure(setup, None, required=True)
    refused = await setup.api.http.post(
        "/v1/openid/offers/pre-authorized",
        headers=setup.headers,
        json={"credentials": [setup.configuration_id], "claims": OFFER_CLAIMS},
    )
    assert refused.status_code == 400
    assert [d["param"] for d in refused.json()["details"]] == ["claims.document_number"]
    body = {"credentials": [setup.configuration_id], "claims": {**OFFER_CLAIMS, "document_number": 1, "n": [-1e999]}}
    infinite = await setup.api.http.post(  # Infinity is not JSON, but Python's parser lets it in
        "/v1/openid/offers/pre-authorized",
        headers={**setup.headers, "Content-Type": "application/json"},
        content=json.dumps(body),
    )
    assert infinite.status_code == 400  # refused at the edge, before any service reads it (docs/security.md)
    (detail,) = infinite.json()["details"]
    assert detail["location"] == "body" and detail["msg"].startswith("is not valid JSON: "), detail


# --- management API ----------------------------------------------------------------------------------------------


async def test_claims_source_crud_masks_secrets_and_has_the_legacy_path(setup: Setup, source: ClaimsSourceApp) -> None:
    http, headers = setup.api.http, setup.headers
    created = await http.post("/v1/claimsources", headers=headers, json=source_body(source))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["authorization"] == {"type": "api-key", "value": "****6789"}
    assert body["requestParameters"] == PARAMETERS and body["requestMethod"] == "GET" and body["strict"] is False
    path = f"/v1/claim-sources/{body['id']}"
    assert (await http.get(path, headers=headers)).json() == body
    assert (await http.get(f"/v1/claimsources/{body['id']}", headers=headers)).json() == body
    oauth = source_body(source, method="POST", auth="client_secret_post", strict=True)
    oauth["authorization"]["audience"] = "https://claims.example.com"
    replaced = (await http.put(path, headers=headers, json=oauth)).json()
    assert replaced["authorization"] == {
        "type": "oauth-client-credentials",
        "tokenEndpoint": f"{source.url}/token",
        "clientId": "openissuer",
        "clientSecret": "****cret",
        "tokenEndpointAuthMethod": "client_secret_post",
        "audience": "https://claims.example.com",
    }
    assert replaced["strict"] is True and replaced["createdAt"] == body["createdAt"]
    del oauth["authorization"]["clientSecret"]  # omitted: the stored secret is kept
    assert (await http.put(path, headers=headers, json=oauth)).json()["authorization"]["clientSecret"] == "****cret"
    switched = source_body(source)
    del switched["authorization"]["value"]  # another kind of authorization needs its own secret
    refused = await http.put(path, headers=headers, json=switched)
    assert refused.status_code == 400 and refused.json()["details"][0]["param"] == "authorization.value"
    listed = (await http.get("/v1/claim-sources", headers=headers)).json()
    assert [s["id"] for s in listed["data"]] == [body["id"]]
    for text in (created.text, replaced.__repr__(), listed.__repr__()):
        assert API_KEY not in text and source.client_secret not in text
    assert (await http.delete(path, headers=headers)).status_code == 204
    assert (await http.get(path, headers=headers)).status_code == 404


async def test_a_source_in_use_cannot_be_deleted(setup: Setup, source: ClaimsSourceApp) -> None:
    source_id = await add_source(setup, source_body(source))
    path = f"/v1/claim-sources/{source_id}"
    refused = await setup.api.http.delete(path, headers=setup.headers)
    assert refused.status_code == 409
    assert refused.json()["details"][0]["msg"] == f"used by credential configuration {setup.configuration_id}"
    await configure(setup, None)
    assert (await setup.api.http.delete(path, headers=setup.headers)).status_code == 204


async def test_configurations_name_only_existing_sources_of_their_tenant(setup: Setup, source: ClaimsSourceApp) -> None:
    api = setup.api
    other = await api.container.tenant_admin.create("Other", "https://other.example")
    other_headers = await api.auth(other.admin_client.client_id, other.admin_client_secret)
    theirs = await api.http.post("/v1/claim-sources", headers=other_headers, json=source_body(source))
    theirs_id = theirs.json()["id"]
    for missing in (theirs_id, "00000000-0000-4000-8000-00000000dead"):
        body = {"type": MDL, "claimMappings": mappings(), "expiresIn": {"days": 1}, "claimSourceId": missing}
        path = f"/v2/credentials/mobile/configurations/{setup.configuration_id}"
        response = await api.http.put(path, headers=setup.headers, json=body)
        assert response.status_code == 400
        assert response.json()["details"][0]["param"] == "claimSourceId"
    for method in ("GET", "PUT", "DELETE"):
        kwargs: dict[str, Any] = {"json": source_body(source)} if method == "PUT" else {}
        response = await api.http.request(method, f"/v1/claim-sources/{theirs_id}", headers=setup.headers, **kwargs)
        assert response.status_code == 404, method
    assert (await api.http.get("/v1/claim-sources", headers=setup.headers)).json()["data"] == []


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"name": " "}, "name"),
        ({"url": "https://claims.example.com/c?x=1"}, "url"),
        ({"requestMethod": "PUT"}, "requestMethod"),
        ({"requestParameters": {"p": {"mapFrom": "authenticationProvider.subjectId"}}}, "requestParameters.p.mapFrom"),
        ({"requestParameters": {"p": {}}}, "requestParameters.p"),
        ({"authorization": {"type": "api-key"}}, "authorization.value"),
        ({"authorization": {"type": "basic", "value": "x"}}, "authorization"),
        (
            {"authorization": {"type": "oauth-client-credentials", "tokenEndpoint": "ftp://x", "clientId": "c"}},
            "authorization.tokenEndpoint",
        ),
        (
            {
                "authorization": {
                    "type": "oauth-client-credentials",
                    "tokenEndpoint": "https://a.example.com/t",
                    "clientId": "c",
                }
            },
            "authorization.clientSecret",
        ),
    ],
)
async def test_claims_source_validation(
    setup: Setup, source: ClaimsSourceApp, change: dict[str, Any], param: str
) -> None:
    response = await setup.api.http.post(
        "/v1/claim-sources", headers=setup.headers, json={**source_body(source), **change}
    )
    assert response.status_code == 400, response.text
    assert param in [d["param"] for d in response.json()["details"]]


# --- the outbound guard ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/claims",
        "https://127.0.0.1/claims",
        "https://[::1]/claims",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/claims",
        "https://metadata.google.internal/computeMetadata",
        "https://claims.internal/lookup",
        "http://claims.example.com/lookup",
    ],
)
async def test_private_loopback_and_metadata_urls_are_refused_with_the_guard_on(tmp_path: Path, url: str) -> None:
    settings = make_settings(tmp_path, bootstrap_client_id="a", bootstrap_client_secret="a-long-enough-secret")
    container = build(settings)  # type: ignore[arg-type]
    await container.start()
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="https://issuer.example") as http:
        token = await http.post("/v1/auth/token", json={"client_id": "a", "client_secret": "a-long-enough-secret"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        body = {
            "name": "x",
            "url": url,
            "requestParameters": {},
            "authorization": {
                "type": "oauth-client-credentials",
                "tokenEndpoint": url,
                "clientId": "c",
                "clientSecret": "s" * 16,
            },
        }
        response = await http.post("/v1/claim-sources", headers=headers, json=body)
    await container.aclose()
    assert response.status_code == 400, response.text
    assert {d["param"] for d in response.json()["details"]} == {"url", "authorization.tokenEndpoint"}
    assert "s" * 16 not in response.text


async def test_the_guard_refuses_private_targets_and_redirects_to_them_at_issuance(tmp_path: Path) -> None:
    """Sources stored while the guard was off (a development database) are never reached once it is on: names
    that resolve to private, loopback or metadata addresses, and redirects to them from an allowed server."""
    with (
        running_claims_source(api_key=API_KEY, people={EMAIL: SOURCE_CLAIMS}) as target,
        running_claims_source(api_key=API_KEY) as redirector,
    ):
        resolver = static_resolver(
            {
                "private.example.com": ["10.0.0.5"],
                "loop.example.com": ["127.0.0.1"],
                "meta.example.com": ["169.254.169.254"],
                "mapped.example.com": ["::ffff:127.0.0.1"],
            },
            fallback=True,  # the redirector's 127.0.0.1
        )
        fetcher = GuardedHttpFetcher(allow_private=False, guard=ExemptPortGuard(redirector.port, resolver=resolver))
        settings = make_settings(
            tmp_path,
            bootstrap_client_id="test-admin",
            bootstrap_client_secret="test-admin-secret-0123456789",
            claims_source_timeout=0.5,
        )
        container = build(settings, fetcher=fetcher)  # type: ignore[arg-type]
        await container.start()
        targets = [
            f"https://private.example.com:{target.port}/claims",
            f"https://loop.example.com:{target.port}/claims",
            f"https://meta.example.com:{target.port}/claims",
            f"https://mapped.example.com:{target.port}/claims",
            *(f"{redirector.url}/redirect#{hop}" for hop in ("loopback", "metadata", "private")),
        ]
        redirects = {
            "loopback": f"http://127.0.0.1:{target.port}/claims",
            "metadata": "http://169.254.169.254/latest/meta-data",
            "private": f"https://private.example.com:{target.port}/claims",
        }
        try:
            transport = httpx.ASGITransport(app=create_app(container))
            async with httpx.AsyncClient(transport=transport, base_url="https://issuer.example") as http:
                from oi_testing import FakeClock

                api = _Api(http, container, FakeClock())
                setup = await make_setup(api)
                for url in targets:
                    redirector.redirect_to = redirects.get(url.rpartition("#")[2])
                    source_id = await _store_source(container, url.partition("#")[0])
                    await configure(setup, source_id)
                    wallet, response = await claim(setup)
                    assert "document_number" not in issued_values(setup, wallet, response), url
        finally:
            await container.aclose()
            await fetcher.aclose()
    assert target.requests == []  # not one request reached the loopback server behind those names
    assert len(redirector.seen("/redirect")) == 3  # the allowed server was asked, its redirects were not followed


class _Api:
    """The parts of the ``api`` fixture ``make_setup`` and ``Setup`` use, over a container built here."""

    def __init__(self, http: httpx.AsyncClient, container: Any, clock: Any) -> None:
        self.http, self.container, self.clock = http, container, clock

    async def auth(self) -> dict[str, str]:
        token = await self.http.post(
            "/v1/auth/token", json={"client_id": "test-admin", "client_secret": "test-admin-secret-0123456789"}
        )
        return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def _store_source(container: Any, url: str) -> str:
    """Store a source behind the API's back (its URL validation would refuse these with the guard on)."""
    from datetime import UTC, datetime

    from oi_testing import TEST_MASTER_KEY
    from openissuer.adapters.keys.secret_box import SoftwareSecretBox
    from openissuer.config import decode_master_key
    from openissuer.domain.claim_sources import ApiKeyAuthorization, ClaimSource, RequestMethod
    from openissuer.domain.ids import new_id
    from openissuer.services.claim_sources import claim_source_secret_aad

    id = new_id()
    box = SoftwareSecretBox(decode_master_key(TEST_MASTER_KEY))
    now = datetime.now(UTC)
    source = ClaimSource(
        id=id,
        tenant_id=DEFAULT_TENANT_ID,
        name="stored while the guard was off",
        url=url,
        request_method=RequestMethod.GET,
        request_parameters=PARAMETERS,
        authorization=ApiKeyAuthorization(box.seal(API_KEY.encode(), aad=claim_source_secret_aad(id)), ""),
        created_at=now,
        updated_at=now,
    )
    async with container.uow_factory() as uow:
        await uow.claim_sources.add(source)
        await uow.commit()
    return id


# --- the documentation's example ---------------------------------------------------------------------------------


async def test_the_documented_claims_source_works(setup: Setup, tmp_path: Path) -> None:
    """docs/claims-sources.md's smallest claims source, copied as a reader would, with the documented source."""
    from oi_docs import running_example

    with running_example("claims-sources.md", "claims_source.py", tmp_path) as port:
        body = {
            "name": "Licence register",
            "url": f"http://127.0.0.1:{port}/claims",
            "requestMethod": "GET",
            "requestParameters": {
                "email": {"mapFrom": "claims.email"},
                "doctype": {"mapFrom": "credentialConfiguration.type"},
                "channel": {"defaultValue": "wallet"},
            },
            "authorization": {"type": "api-key", "value": "change-me-to-a-long-random-key"},
        }
        await add_source(setup, body)
        wallet, response = await claim(setup)
    values = issued_values(setup, wallet, response)
    assert values["document_number"] == "DL-77" and values["family_name"] == "Ngata"


async def test_a_source_answering_json_nested_beyond_the_parser_is_a_failure(
    setup: Setup, source: ClaimsSourceApp
) -> None:
    source.people[EMAIL] = {}
    source.mode = "ok"
    await add_source(setup, source_body(source, strict=True))
    original = source.answer

    def deep(seen: Any) -> tuple[int, dict[str, str], bytes]:
        if seen.path == "/claims":
            return 200, {"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000
        return original(seen)

    source.answer = deep  # type: ignore[method-assign]
    assert "claims" in denied((await claim(setup))[1])  # refused, not a server error


async def test_each_call_is_recorded_with_the_outcome_of_its_issuance(setup: Setup, source: ClaimsSourceApp) -> None:
    """``CLAIM_SOURCE_CALL_SUCCESS`` / ``_FAIL`` with the ids and, for a failure, the reason; never a claim, a
    parameter value or the key. Written with the issuance (or the refusal) it belongs to."""
    http, headers = setup.api.http, setup.headers
    source_id = await add_source(setup, source_body(source))
    await claim(setup)
    setup.api.clock.advance(seconds=1)
    source.mode = "500"
    await claim(setup)  # document_number is optional: issued without it
    setup.api.clock.advance(seconds=1)
    await http.put(f"/v1/claim-sources/{source_id}", headers=headers, json=source_body(source, strict=True))
    denied((await claim(setup))[1])
    response = await http.get("/v1/events", params={"categories": "claim-source,openid"}, headers=headers)
    recorded = [e for e in response.json()["data"] if e["type"].startswith(("CLAIM_SOURCE_CALL", "OPENID_CREDENTIAL"))]
    recorded.sort(key=lambda e: e["timestamp"])
    types = [e["type"] for e in recorded]
    assert types.count("CLAIM_SOURCE_CALL_SUCCESS") == 1 and types.count("CLAIM_SOURCE_CALL_FAIL") == 2
    assert types.count("OPENID_CREDENTIAL_ISSUE_SUCCESS") == 2 and types.count("OPENID_CREDENTIAL_ISSUE_FAIL") == 1
    calls = [e for e in recorded if e["type"].startswith("CLAIM_SOURCE_CALL")]
    assert {e["data"]["claimSourceId"] for e in calls} == {source_id}
    assert {e["data"]["credentialConfigurationId"] for e in calls} == {setup.configuration_id}
    assert all(e["category"] == "claim-source" and e["data"]["offerId"] for e in calls)
    assert [("reason" in e["data"]) for e in calls] == [False, True, True]
    assert "500" in calls[1]["data"]["reason"]
    text = json.dumps(recorded)
    assert [v for v in (API_KEY, EMAIL, "Ngata", "DL-77", "wallet") if v in text] == []
