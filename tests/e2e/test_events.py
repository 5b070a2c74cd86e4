"""The audit event log: what is recorded, ``GET /v1/events`` filters and pages, no personal data or secrets in it,
no rows for requests that reach nothing, and retention pruning in bounded batches."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from oi_issuer import Setup, make_setup
from oi_testing import FakeClock
from oi_wallet import Wallet
from openissuer.domain.events import USER_CREATED, new_event
from openissuer.domain.ids import DEFAULT_TENANT_ID, new_id
from openissuer.services.housekeeping import Housekeeping

# Values no event may contain (claims of the person, and a document number).
SECRET_CLAIMS = {"given_name": "Zebediah", "family_name": "Quorrington", "birth_date": "1911-11-11"}
DOCUMENT_NUMBER = "DL-77331902"


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {"outbound_allow_private": True}


@pytest.fixture
async def setup(api: Any) -> Setup:
    return await make_setup(api)


async def events(setup: Setup, headers: dict[str, str] | None = None, **params: Any) -> list[dict[str, Any]]:
    """Every event matching ``params``, page by page."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await setup.api.http.get("/v1/events", params=query, headers=headers or setup.headers)
        assert response.status_code == 200, response.text
        found += response.json()["data"]
        cursor = response.json().get("nextCursor")
        if not cursor:
            return found


async def claim(setup: Setup, **offer: Any) -> tuple[Wallet, dict[str, Any], str]:
    """Redeem an offer with persisted claims and get one credential; return the wallet, the created offer and the
    access token."""
    claims = {**SECRET_CLAIMS, "document_number": DOCUMENT_NUMBER}
    created = await setup.offer(claims=claims, claimsToPersist=["family_name"], **offer)
    wallet = Wallet(setup.api.http)
    parsed = await wallet.read_offer(created["uri"])
    token = await wallet.token(parsed, created.get("transactionCode"))
    assert token.status_code == 200, token.text
    metadata, _ = await wallet.discover("https://issuer.example")
    body = {
        "credential_configuration_id": setup.configuration_id,
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]},
    }
    response = await wallet.credential(metadata, token.json()["access_token"], body)
    assert response.status_code == 200, response.text
    return wallet, created, token.json()["access_token"]


class TestEventLog:
    """Recording and querying, on SQLite and PostgreSQL (and memory)."""

    @pytest.fixture
    def api_database_url(self, every_backend_url: str) -> str:
        return every_backend_url

    async def test_changes_and_wallet_steps_are_recorded_and_filtered_with_pages(self, setup: Setup) -> None:
        api, clock = setup.api, setup.api.clock
        issuer = (
            await api.http.post("/v1/api-clients", headers=setup.headers, json={"name": "i", "roles": ["issuer"]})
        ).json()
        auditor = (
            await api.http.post("/v1/api-clients", headers=setup.headers, json={"name": "a", "roles": ["auditor"]})
        ).json()
        issuer_headers = await api.auth(issuer["clientId"], issuer["clientSecret"])
        start = clock.now()
        clock.advance(seconds=1)
        as_issuer = Setup(
            api, {**issuer_headers, "X-Request-ID": "req-offer-1"}, setup.iaca_pem, setup.configuration_id
        )
        _, _, access_token = await claim(as_issuer)
        clock.advance(seconds=1)
        middle = clock.now()
        refused = await Wallet(api.http).credential(
            {"credential_endpoint": "https://issuer.example/v1/openid/credential"},
            access_token,
            {"credential_configuration_id": setup.configuration_id, "proofs": {"jwt": ["not-a-jwt"]}},
        )
        assert refused.status_code == 400
        await api.http.post(
            "/v1/webhooks",
            headers=setup.headers,
            json={"url": "https://h.example.com/a", "events": ["OpenIdCredentialIssued"]},
        )

        everything = await events(setup)
        types = [e["type"] for e in everything]
        setup_types = {"MOBILE_CREDENTIAL_IACA_CREATE_SUCCESS", "MOBILE_CREDENTIAL_IACA_UPDATE_SUCCESS"}
        assert setup_types | {"CREDENTIAL_CONFIGURATION_CREATE_SUCCESS", "API_CLIENT_CREATE_SUCCESS"} <= set(types)
        expected = {
            "OPENID_PRE_AUTHORIZED_OFFER_CREATE_SUCCESS",
            "USER_CREATE_SUCCESS",
            "OPENID_PRE_AUTHORIZED_OFFER_REDEEM_SUCCESS",
            "OPENID_CREDENTIAL_ISSUE_SUCCESS",
            "OPENID_CREDENTIAL_ISSUE_FAIL",
            "WEBHOOK_CREATE_SUCCESS",
        }
        assert expected <= set(types)
        offer_event = next(e for e in everything if e["type"] == "OPENID_PRE_AUTHORIZED_OFFER_CREATE_SUCCESS")
        assert offer_event["clientId"] == issuer["clientId"] and offer_event["requestId"] == "req-offer-1"
        assert offer_event["category"] == "openid" and offer_event["data"]["transactionCodeRequired"] is False
        issued = next(e for e in everything if e["type"] == "OPENID_CREDENTIAL_ISSUE_SUCCESS")
        redeemed = next(e for e in everything if e["type"] == "OPENID_PRE_AUTHORIZED_OFFER_REDEEM_SUCCESS")
        assert issued["data"]["offerId"] == redeemed["data"]["offerId"] == offer_event["data"]["offerId"]
        assert redeemed["data"]["grantType"] == "pre-authorized_code" and "OPENID_TOKEN_CREATE_SUCCESS" not in types
        assert issued["data"]["credentialConfigurationId"] == setup.configuration_id
        assert len(issued["data"]["credentialIds"]) == 1 and issued["data"]["format"] == "mso_mdoc"
        assert (
            next(e for e in everything if e["type"] == "OPENID_CREDENTIAL_ISSUE_FAIL")["data"]["error"]
            == "invalid_proof"
        )

        # pages of 3 make up the whole list, in order
        paged: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await api.http.get("/v1/events", params=params, headers=setup.headers)).json()
            assert len(page["data"]) <= 3
            paged += page["data"]
            cursor = page.get("nextCursor")
            if not cursor:
                break
        assert paged == everything
        # categories OR types; AND with the other filters; repeated or comma-separated
        either = await events(
            setup, categories="webhook", types=["OPENID_CREDENTIAL_ISSUE_FAIL", "USER_CREATE_SUCCESS"]
        )
        assert sorted(e["type"] for e in either) == [
            "OPENID_CREDENTIAL_ISSUE_FAIL",
            "USER_CREATE_SUCCESS",
            "WEBHOOK_CREATE_SUCCESS",
        ]
        by_issuer = await events(setup, clientIds=issuer["clientId"], categories="openid,user")
        assert {e["type"] for e in by_issuer} == {"OPENID_PRE_AUTHORIZED_OFFER_CREATE_SUCCESS", "USER_CREATE_SUCCESS"}
        window = await events(setup, dateFrom=(start + timedelta(seconds=1)).isoformat(), dateTo=middle.isoformat())
        assert {e["type"] for e in window} == expected - {"OPENID_CREDENTIAL_ISSUE_FAIL", "WEBHOOK_CREATE_SUCCESS"}
        # openissuer has no management users (reference §11.3's managementUserIds): no event has one.
        assert await events(setup, managementUserIds="none") == await events(setup)
        assert await events(setup, managementUserIds="*") == []
        naive = await events(setup, dateFrom=middle.replace(tzinfo=None).isoformat())
        assert {e["type"] for e in naive} == {"OPENID_CREDENTIAL_ISSUE_FAIL", "WEBHOOK_CREATE_SUCCESS"}

        auditor_headers = await api.auth(auditor["clientId"], auditor["clientSecret"])
        assert await events(setup, auditor_headers) == await events(setup)
        assert (await api.http.get("/v1/events", headers=issuer_headers)).status_code == 403
        for bad in (
            {"dateFrom": "yesterday"},
            {"cursor": "nope"},
            {"dateFrom": middle.isoformat(), "dateTo": start.isoformat()},
            {"limit": 0},
        ):
            response = await api.http.get("/v1/events", params=bad, headers=setup.headers)
            assert response.status_code == 400, (bad, response.text)


class TestNoPersonalData:
    @pytest.fixture
    def api_database_url(self, every_backend_url: str) -> str:
        return every_backend_url

    async def test_events_hold_no_claim_values_codes_proofs_or_secrets(self, setup: Setup) -> None:
        """Run the steps that handle secrets and personal data, then scan every event for them."""
        http = setup.api.http
        secrets_seen: list[str] = [*SECRET_CLAIMS.values(), DOCUMENT_NUMBER]
        # an offer with a transaction code: two wrong codes, then the right one
        created = await setup.offer(
            claims={**SECRET_CLAIMS, "document_number": DOCUMENT_NUMBER},
            claimsToPersist=["given_name"],
            transactionCodeConfiguration={"length": 6},
        )
        wallet = Wallet(http)
        offer = await wallet.read_offer(created["uri"])
        code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        wrong = "000000" if created["transactionCode"] != "000000" else "111111"
        assert (await wallet.token(offer, wrong)).status_code == 400
        token = await wallet.token(offer, created["transactionCode"])
        access_token = token.json()["access_token"]
        metadata, _ = await wallet.discover("https://issuer.example")
        nonce = await wallet.nonce(metadata)
        proof = wallet.proof(metadata, nonce)
        body = {"credential_configuration_id": setup.configuration_id, "proofs": {"jwt": [proof]}}
        response = await wallet.credential(metadata, access_token, body)
        assert response.status_code == 200
        credential = response.json()["credentials"][0]["credential"]
        replayed = await wallet.credential(metadata, access_token, body)  # the nonce is used: refused, recorded
        assert replayed.json()["error"] == "invalid_nonce"
        # an offer locked by wrong codes
        locked = await setup.offer(claims=SECRET_CLAIMS, transactionCodeConfiguration={"length": 6})
        locked_offer = await wallet.read_offer(locked["uri"])
        for _ in range(3):
            await wallet.token(locked_offer, wrong if locked["transactionCode"] != wrong else "222222")
        # API client and webhook secrets
        client = (
            await http.post("/v1/api-clients", headers=setup.headers, json={"name": "x", "roles": ["issuer"]})
        ).json()
        management_token = setup.headers["Authorization"].split()[1]
        secrets_seen += [
            code,
            created["transactionCode"],
            access_token,
            nonce,
            proof,
            credential[:40],
            client["clientSecret"],
            management_token,
            locked["transactionCode"],
        ]
        recorded = await events(setup)
        types = {e["type"] for e in recorded}
        assert {
            "OPENID_TOKEN_CREATE_FAIL",
            "OPENID_PRE_AUTHORIZED_OFFER_LOCK_SUCCESS",
            "OPENID_CREDENTIAL_ISSUE_FAIL",
        } <= types
        text = json.dumps(recorded)
        leaked = [value for value in secrets_seen if value in text]
        assert leaked == []
        assert '"error": "invalid_nonce"' in text and '"reason": "wrong_tx_code"' in text
        names = sorted(e["data"]["claimNames"] for e in recorded if e["type"] == "USER_CREATE_SUCCESS")
        assert names == [[], ["given_name"]]  # names, never values


async def test_requests_that_reach_nothing_are_not_recorded(setup: Setup) -> None:
    before = await events(setup)
    http = setup.api.http
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": "guess"}
    for _ in range(5):
        assert (await http.post("/v1/oauth/token", data=form)).status_code == 400
        refused = await http.post(
            "/v1/openid/credential",
            json={"credential_configuration_id": "x"},
            headers={"Authorization": "Bearer guess"},
        )
        assert refused.status_code == 401
        assert (await http.post("/v1/oauth/token", data={"grant_type": "password"})).status_code == 400
    assert await events(setup) == before


async def test_old_events_and_deliveries_are_pruned_in_bounded_batches(setup: Setup) -> None:
    api = setup.api
    clock: FakeClock = api.clock
    now = clock.now()
    old = [
        new_event(USER_CREATED, id=new_id(), tenant_id=DEFAULT_TENANT_ID, now=now - timedelta(days=91, minutes=i))
        for i in range(5)
    ]
    async with api.container.uow_factory() as uow:
        for event in old:
            await uow.events.add(event)
        await uow.commit()
    kept = {e["id"] for e in await events(setup)} - {e.id for e in old}
    housekeeping = Housekeeping(
        api.container.uow_factory,
        clock,
        event_retention=timedelta(days=90),
        delivery_retention=timedelta(days=7),
        holder="test",
        lease=timedelta(seconds=15),
        batch_size=2,
        pause=0,
    )
    pruned = await housekeeping.run_once()
    assert pruned.events == 5
    assert {e["id"] for e in await events(setup)} == kept
    other = Housekeeping(
        api.container.uow_factory,
        clock,
        event_retention=timedelta(days=1),
        delivery_retention=timedelta(days=1),
        holder="other",
        lease=timedelta(seconds=15),
    )
    assert (await other.run_once()).events == 0  # "test" holds the housekeeping lease
    clock.advance(seconds=16)
    clock.advance(days=2)
    assert (await other.run_once()).events == len(kept)


async def test_users_claims_sources_and_the_hook_are_recorded_without_values_or_secrets(setup: Setup) -> None:
    http, headers = setup.api.http, setup.headers
    user = await http.post("/v1/users", headers=headers, json={"claims": {"email": "zeb@quorrington.example"}})
    assert user.status_code == 201, user.text
    user_id = user.json()["id"]
    replaced = await http.put(f"/v1/users/{user_id}", headers=headers, json={"claims": {"given_name": "Zebediah"}})
    assert replaced.status_code == 200, replaced.text
    assert (await http.delete(f"/v1/users/{user_id}", headers=headers)).status_code == 204
    source = await http.post(
        "/v1/claim-sources",
        headers=headers,
        json={
            "name": "Register",
            "url": "https://claims.example.com/claims",
            "requestMethod": "GET",
            "requestParameters": {"channel": {"defaultValue": "wallet-7731"}},
            "authorization": {"type": "api-key", "value": "source-api-key-0123456789"},
        },
    )
    assert source.status_code == 201, source.text
    hook = await http.put(
        "/v1/openid/configuration",
        headers=headers,
        json={"interactionHook": {"url": "https://hook.example.com/hook", "claims": ["given_name"]}},
    )
    assert hook.status_code == 200, hook.text
    recorded = await events(setup, categories="user,claim-source", types="OPENID_CONFIGURATION_UPDATE_SUCCESS")
    by_type = {e["type"]: e["data"] for e in recorded}
    assert by_type["USER_CREATE_SUCCESS"] == {"userId": user_id, "claimNames": ["email"], "subjectLinked": False}
    assert by_type["USER_UPDATE_SUCCESS"]["claimNames"] == ["given_name"]
    assert by_type["USER_DELETE_SUCCESS"] == {"userId": user_id}
    assert by_type["CLAIM_SOURCE_CREATE_SUCCESS"]["claimSourceId"] == source.json()["id"]
    assert by_type["OPENID_CONFIGURATION_UPDATE_SUCCESS"]["claimNames"] == ["given_name"]
    text = json.dumps(recorded)
    secret = hook.json()["interactionHook"]["secret"]
    assert [v for v in ("zeb@quorrington", "Zebediah", "wallet-7731", "source-api-key", secret) if v in text] == []
