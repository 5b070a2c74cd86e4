"""Webhooks end to end: subscriptions, signed deliveries to a real loopback receiver, retries with backoff, failed
deliveries listed and redelivered, key rotation, and the outbound guard. The worker runs one round at a time
(``delivery.run_once``) under the test's clock, so backoff is observed without waiting."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from typing import Any

import pytest

from oi_issuer import CLAIMS, Setup, make_setup
from oi_testing import FakeClock
from oi_wallet import Wallet
from oi_webhooks import Receiver, running_receiver, verify_delivery
from openissuer.adapters.sql.engine import sqlite_path
from openissuer.adapters.sql.migrate import upgrade_database
from openissuer.domain.ids import new_id

ISSUED, SUMMARY, REDEEMED = "OpenIdCredentialIssued", "OpenIdCredentialIssuedSummary", "OpenIdOfferRedeemed"


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {
        "outbound_allow_private": True,
        "webhook_max_attempts": 3,
        "webhook_retry_base_seconds": 10,
        "webhook_retry_max_seconds": 60,
    }


@pytest.fixture
async def setup(api: Any) -> Setup:
    return await make_setup(api)


async def create_webhook(setup: Setup, url: str, *events: str, **extra: Any) -> dict[str, Any]:
    response = await setup.api.http.post(
        "/v1/webhooks", headers=setup.headers, json={"url": url, "events": list(events), **extra}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def deliver(setup: Setup) -> int:
    """Run worker rounds until one finds nothing due; return how many deliveries were attempted."""
    total = 0
    while count := await setup.api.container.delivery.run_once():
        total += count
    return total


async def jwks(setup: Setup) -> dict[str, Any]:
    response = await setup.api.http.get("/v1/webhooks/jwks")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "public, max-age=300"
    return dict(response.json())


async def issue(setup: Setup) -> tuple[Wallet, str]:
    wallet = Wallet(setup.api.http)
    (credential,) = await wallet.claim((await setup.offer())["uri"])
    return wallet, credential


def check_signed(received: Any, keys: dict[str, Any], webhook: dict[str, Any]) -> dict[str, Any]:
    """Verify signature and digest independently; check the headers and envelope; return the envelope."""
    verify_delivery(received.method, received.url, received.headers, received.body, keys)
    envelope = received.envelope
    assert received.headers["x-mattr-webhook-id"] == webhook["id"] == envelope["webhookId"]
    assert received.headers["x-mattr-event-type"] == envelope["event"]["type"]
    assert received.headers["content-type"] == "application/json"
    assert set(envelope) == {"deliveryId", "deliveryTimestamp", "webhookId", "event"}
    assert set(envelope["event"]) == {"id", "type", "payload", "timestamp"}
    return envelope


class TestDelivery:
    """The whole path on every storage backend: a credential issued -> signed deliveries to three webhooks."""

    @pytest.fixture
    def api_database_url(self, every_backend_url: str) -> str:
        return every_backend_url

    async def test_each_subscriber_receives_its_event_signed(self, setup: Setup) -> None:
        with running_receiver() as receiver:
            full = await create_webhook(setup, receiver.url, ISSUED)
            summary = await create_webhook(setup, receiver.url.replace("/hook", "/summary"), SUMMARY, REDEEMED)
            await create_webhook(setup, receiver.url.replace("/hook", "/off"), ISSUED, disabled=True)
            wallet, credential = await issue(setup)
            assert await deliver(setup) == 3
            keys = await jwks(setup)
            by_path = {r.url.rsplit("/", 1)[1]: r for r in receiver.received}
            assert sorted(r.url.rsplit("/", 1)[1] for r in receiver.received) == ["hook", "summary", "summary"]
            envelope = check_signed(by_path["hook"], keys, full)
            payload = envelope["event"]["payload"]
            assert envelope["event"]["type"] == ISSUED and payload["credential"] == credential
            assert payload["credentialConfigurationId"] == setup.configuration_id
            assert payload["format"] == "mso_mdoc" and payload["credentialProfile"] == "mobile"
            setup.verify(payload["credential"], wallet)  # the delivered credential is the issued one
            summaries = [check_signed(r, keys, summary) for r in receiver.received if r.url.endswith("/summary")]
            types = {e["event"]["type"]: e["event"]["payload"] for e in summaries}
            assert set(types) == {SUMMARY, REDEEMED}
            assert "credential" not in types[SUMMARY] and types[SUMMARY]["credentialId"] == payload["credentialId"]
            assert types[REDEEMED]["credentialConfigurationIds"] == [setup.configuration_id]
            assert types[REDEEMED]["userId"] == payload["userId"] and types[REDEEMED]["offerId"]
            assert await deliver(setup) == 0  # nothing twice

    async def test_events_and_messages_add_no_round_trip_to_an_issuance(self, setup: Setup) -> None:
        """DESIGN.md §1: a full issuance (token, nonce, credential) is three wallet-store statements, with
        webhooks subscribed or not (the wallet's metadata requests read the configuration version besides)."""
        store = setup.api.container.wallet_store
        calls: list[str] = []
        for name in (
            "redeem_code",
            "redeem_offer",
            "find_offer_by_code",
            "load_grant",
            "commit_issuance",
            "use_nonces",
            "record_events",
            "record_failed_tx_code",
        ):
            method = getattr(store, name)

            async def counted(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
                calls.append(_name)
                return await _method(*args, **kwargs)

            setattr(store, name, counted)
        await issue(setup)  # warms the per-version caches
        await create_webhook(setup, "https://hooks.example.com/a", ISSUED, SUMMARY, REDEEMED)
        await issue(setup)  # loads them again at the new version
        calls.clear()
        await issue(setup)
        assert calls == ["redeem_code", "load_grant", "commit_issuance"]


async def test_a_receiver_failing_twice_gets_the_event_once_after_backoff(setup: Setup) -> None:
    clock: FakeClock = setup.api.clock
    with running_receiver(fail_first=2) as receiver:
        webhook = await create_webhook(setup, receiver.url, SUMMARY)
        await issue(setup)
        assert await deliver(setup) == 1
        assert await deliver(setup) == 0  # the retry waits for its backoff
        page = await failed_or_pending(setup, webhook["id"], "pending")
        assert page[0]["attempts"] == 1 and page[0]["lastStatusCode"] == 500 and page[0]["lastError"] == "HTTP 500"
        clock.advance(seconds=4.9)
        assert await deliver(setup) == 0  # the first retry comes 5-10 s later (10 s, jitter x 0.5-1)
        clock.advance(seconds=5.1)
        assert await deliver(setup) == 1
        clock.advance(seconds=9.9)
        assert await deliver(setup) == 0  # the second 10-20 s later
        clock.advance(seconds=10.1)
        assert await deliver(setup) == 1
    assert [r.status for r in receiver.received] == [500, 500, 200]
    assert len({r.envelope["event"]["id"] for r in receiver.received}) == 1
    assert len({r.envelope["deliveryId"] for r in receiver.received}) == 1
    assert len(receiver.successes()) == 1
    delivered = await failed_or_pending(setup, webhook["id"], "delivered")
    assert delivered[0]["attempts"] == 3 and "lastError" not in delivered[0]


async def failed_or_pending(setup: Setup, webhook_id: str, status: str) -> list[dict[str, Any]]:
    response = await setup.api.http.get(
        f"/v1/webhooks/{webhook_id}/deliveries", params={"status": status}, headers=setup.headers
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_the_signed_target_uri_is_the_one_the_receiver_sees(setup: Setup) -> None:
    """A webhook URL with dot segments, characters a client percent-encodes, or no path is sent the way every HTTP
    client sends it (``/x/../hook`` as ``/hook``, ``{`` as ``%7B``, no path as ``/``). The signature covers
    ``@target-uri`` as the receiver reconstructs it, so each delivery verifies there."""
    with running_receiver(path="") as receiver:
        base = receiver.url
        urls = {
            f"{base}/x/../hook": "/hook",
            f"{base}/a/b/.": "/a/b/",
            f"{base}/a{{b}}`": "/a%7Bb%7D%60",
            base: "/",
        }
        webhooks = [await create_webhook(setup, url, REDEEMED) for url in urls]
        await issue(setup)
        assert await deliver(setup) == len(urls)
        keys = await jwks(setup)
        assert sorted(r.url.removeprefix(base) for r in receiver.received) == sorted(urls.values())
        assert all(r.status == 200 for r in receiver.received)
        by_id = {w["id"]: w for w in webhooks}
        for received in receiver.received:
            check_signed(received, keys, by_id[received.headers["x-mattr-webhook-id"]])


async def test_a_delivery_that_never_succeeds_is_listed_failed_and_can_be_redelivered(setup: Setup) -> None:
    clock: FakeClock = setup.api.clock
    with running_receiver(always_fail=True, fail_status=503) as receiver:
        webhook = await create_webhook(setup, receiver.url, ISSUED)
        await issue(setup)
        for _ in range(3):
            assert await deliver(setup) == 1
            clock.advance(seconds=60)
        assert await deliver(setup) == 0
        failed = await failed_or_pending(setup, webhook["id"], "failed")
        assert len(failed) == 1 and failed[0]["attempts"] == 3 and failed[0]["lastError"] == "HTTP 503"
        events = (
            await setup.api.http.get("/v1/events", params={"types": "WEBHOOK_DELIVERY_FAIL"}, headers=setup.headers)
        ).json()
        assert [e["data"]["deliveryId"] for e in events["data"]] == [failed[0]["id"]]
        unknown = await setup.api.http.post(
            f"/v1/webhooks/{webhook['id']}/deliveries/redeliver",
            headers=setup.headers,
            json={"deliveryIds": [new_id()]},
        )
        assert unknown.status_code == 404
        receiver.always_fail = False
        redelivered = await setup.api.http.post(
            f"/v1/webhooks/{webhook['id']}/deliveries/redeliver",
            headers=setup.headers,
            json={"deliveryIds": [failed[0]["id"]]},
        )
        assert redelivered.status_code == 202 and redelivered.json() == {"count": 1}
        assert await deliver(setup) == 1
    assert [r.status for r in receiver.received] == [503, 503, 503, 200]
    assert await failed_or_pending(setup, webhook["id"], "failed") == []
    again = await setup.api.http.post(f"/v1/webhooks/{webhook['id']}/deliveries/redeliver", headers=setup.headers)
    assert again.json() == {"count": 0}


async def test_signing_keys_rotate_and_the_old_key_stays_published_for_a_while(setup: Setup) -> None:
    clock: FakeClock = setup.api.clock

    async def redeem() -> None:  # a token request: no proof, whose iat would follow the real clock
        setup.headers = await setup.api.auth()
        offer = await Wallet(setup.api.http).read_offer((await setup.offer())["uri"])
        assert (await Wallet(setup.api.http).token(offer)).status_code == 200
        assert await deliver(setup) == 1

    with running_receiver() as receiver:
        await create_webhook(setup, receiver.url, REDEEMED)
        await redeem()
        first_keys = await jwks(setup)
        clock.advance(days=91)  # past the 90-day rotation
        await redeem()
        rotated = await jwks(setup)
        clock.advance(days=8)  # past the 7-day overlap
        later = await jwks(setup)
    old, new = (r.headers["signature-input"].split('keyid="')[1].split('"')[0] for r in receiver.received)
    assert old != new and [k["kid"] for k in first_keys["keys"]] == [old]
    assert [k["kid"] for k in rotated["keys"]] == [new, old]
    assert [k["kid"] for k in later["keys"]] == [new]
    for received in receiver.received:  # each delivery verifies with the set published right after it
        verify_delivery(received.method, received.url, received.headers, received.body, rotated)
    key = rotated["keys"][0]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["use"] == "sig" and key["alg"] == "EdDSA"
    assert len(base64.urlsafe_b64decode(key["x"] + "=")) == 32
    events = await setup.api.http.get(
        "/v1/events", params={"types": "WEBHOOK_SIGNING_KEY_CREATE_SUCCESS"}, headers=await setup.api.auth()
    )
    assert [e["data"]["kid"] for e in events.json()["data"]] == [old, new]


async def test_a_tenant_without_webhooks_queues_nothing_and_a_summary_never_holds_the_credential(
    setup: Setup,
) -> None:
    await issue(setup)
    async with setup.api.container.uow_factory() as uow:
        assert await uow.outbox.claim(setup.api.clock.now(), limit=10, lease_until=setup.api.clock.now()) == []
    with running_receiver() as receiver:
        webhook = await create_webhook(setup, receiver.url, SUMMARY)
        await issue(setup)
        async with setup.api.container.uow_factory(read_only=True) as uow:
            (queued,) = (await uow.outbox.list(DEFAULT_TENANT, webhook["id"], status=None, limit=5, after=None)).items
        assert queued.payload is not None and "credential" not in queued.payload
        assert not set(CLAIMS.values()) & set(json.dumps(queued.payload).split('"'))
        await deliver(setup)
        async with setup.api.container.uow_factory(read_only=True) as uow:
            (done,) = (await uow.outbox.list(DEFAULT_TENANT, webhook["id"], status=None, limit=5, after=None)).items
        assert done.payload is None  # dropped once delivered
    assert len(receiver.received) == 1


DEFAULT_TENANT = "00000000-0000-4000-8000-000000000000"


async def test_webhook_management_rules(setup: Setup) -> None:
    http, headers = setup.api.http, setup.headers
    for body, param in [
        ({"url": "https://hooks.example.com/a?x=1", "events": [ISSUED]}, "url"),
        ({"url": "https://hooks.example.com/a#f", "events": [ISSUED]}, "url"),
        ({"url": "ftp://hooks.example.com/a", "events": [ISSUED]}, "url"),
        ({"url": "https://hooks.example.com/a", "events": []}, "events"),
        ({"url": "https://hooks.example.com/a", "events": ["Nope"]}, "events.0"),
    ]:
        response = await http.post("/v1/webhooks", headers=headers, json=body)
        assert response.status_code == 400, (body, response.text)
        assert param in [d["param"] for d in response.json()["details"]]
    created = await create_webhook(setup, "https://Hooks.Example.com/a", ISSUED, ISSUED, SUMMARY)
    assert created == {
        "id": created["id"],
        "url": "https://hooks.example.com/a",
        "events": [ISSUED, SUMMARY],
        "disabled": False,
    }
    replaced = await http.put(
        f"/v1/webhooks/{created['id']}",
        headers=headers,
        json={"url": "https://b.example.com/", "events": [REDEEMED], "disabled": True},
    )
    assert replaced.status_code == 200 and replaced.json()["disabled"] is True
    assert (await http.get(f"/v1/webhooks/{created['id']}", headers=headers)).json() == replaced.json()
    assert [w["id"] for w in (await http.get("/v1/webhooks", headers=headers)).json()["data"]] == [created["id"]]
    auditor = await setup.api.http.post("/v1/api-clients", headers=headers, json={"name": "a", "roles": ["auditor"]})
    auditor_headers = await setup.api.auth(auditor.json()["clientId"], auditor.json()["clientSecret"])
    assert (await http.get("/v1/webhooks", headers=auditor_headers)).status_code == 200
    forbidden = await http.post(
        "/v1/webhooks", headers=auditor_headers, json={"url": "https://c.example.com", "events": [ISSUED]}
    )
    assert forbidden.status_code == 403
    assert (await http.get(f"/v1/webhooks/{new_id()}", headers=headers)).status_code == 404
    assert (await http.delete(f"/v1/webhooks/{created['id']}", headers=headers)).status_code == 204
    assert (await http.get(f"/v1/webhooks/{created['id']}", headers=headers)).status_code == 404
    assert (await http.get("/v1/webhooks/jwks")).status_code == 200  # public
    types = [
        e["type"]
        for e in (await http.get("/v1/events", params={"categories": "webhook"}, headers=headers)).json()["data"]
    ]
    # the test's clock stands still, so the events share a timestamp and come in id order
    assert sorted(types) == [
        "WEBHOOK_CREATE_SUCCESS",
        "WEBHOOK_DELETE_SUCCESS",
        "WEBHOOK_SIGNING_KEY_CREATE_SUCCESS",
        "WEBHOOK_UPDATE_SUCCESS",
    ]


class TestOutboundGuard:
    """Without ``outbound_allow_private`` a webhook URL must be https and its host must resolve to a public
    address when the delivery is made: a name that resolves to loopback is refused by the guard, not sent."""

    @pytest.fixture
    def api_settings(self) -> dict[str, object]:
        return {"webhook_max_attempts": 1}

    async def test_a_private_target_is_refused_at_creation_or_at_delivery(self, setup: Setup) -> None:
        for url in ("http://hooks.example.com/a", "https://127.0.0.1/a"):
            response = await setup.api.http.post(
                "/v1/webhooks", headers=setup.headers, json={"url": url, "events": [SUMMARY]}
            )
            assert response.status_code == 400, url
        with running_receiver() as receiver:
            webhook = await create_webhook(setup, "https://localhost:1/hook", SUMMARY)
            await issue(setup)
            assert await deliver(setup) == 1
        assert receiver.received == []
        (failed,) = await failed_or_pending(setup, webhook["id"], "failed")
        assert failed["lastError"] == "The outbound request was refused: the target address is loopback"


def test_receiver_fixture_is_real() -> None:
    with running_receiver() as receiver:
        assert isinstance(receiver, Receiver) and receiver.url.startswith("http://127.0.0.1:")


async def test_a_status_change_is_recorded_and_sent_to_the_webhooks_that_want_it(setup: Setup) -> None:
    """``CredentialStatusUpdated``: one signed delivery per change (none for a change to the same status), with
    the ids and both statuses; the ``CREDENTIAL_STATUS_UPDATE_SUCCESS`` event names the acting client."""
    http, headers = setup.api.http, setup.headers
    url = f"/v2/credentials/mobile/configurations/{setup.configuration_id}"
    current = (await http.get(url, headers=headers)).json()
    body = {k: v for k, v in current.items() if k != "id"} | {"includeStatus": True}
    assert (await http.put(url, headers=headers, json=body)).status_code == 200
    offer = await setup.offer()
    await Wallet(http).claim(offer["uri"])
    (record,) = (await http.get(f"/v1/users/{offer['userId']}/credentials", headers=headers)).json()["data"]
    status_url = f"/v2/credentials/mobile/{record['id']}/status"
    with running_receiver() as receiver:
        webhook = await create_webhook(setup, receiver.url, "CredentialStatusUpdated")
        other = await create_webhook(setup, receiver.url + "/other", SUMMARY)
        for status in ("suspended", "suspended", "invalid"):
            changed = await http.post(status_url, headers=headers, json={"status": status})
            assert changed.status_code == 200, changed.text
        assert await deliver(setup) == 2
        keys = await jwks(setup)
        payloads = [check_signed(r, keys, webhook)["event"]["payload"] for r in receiver.received]
    changes = sorted((p["previousStatus"], p["status"]) for p in payloads)  # deliveries run concurrently
    assert changes == [("suspended", "invalid"), ("valid", "suspended")]
    assert {p["credentialId"] for p in payloads} == {record["id"]}
    assert all(
        p["credentialProfile"] == "mobile" and p["userId"] == offer["userId"] and p["updatedAt"] for p in payloads
    )
    assert await failed_or_pending(setup, other["id"], "pending") == []
    response = await http.get("/v1/events", params={"types": "CREDENTIAL_STATUS_UPDATE_SUCCESS"}, headers=headers)
    recorded = response.json()["data"]
    assert len(recorded) == 2 and {e["data"]["credentialId"] for e in recorded} == {record["id"]}
    assert {e["clientId"] for e in recorded} == {"test-admin"}  # the client of setup.headers
    assert {e["category"] for e in recorded} == {"credential-status"}


class TestIdlePoll:
    """An idle worker's poll only reads: on SQLite it neither waits for nor takes the write lock, so it never keeps
    the wallet hot path's writers waiting; once something is due it claims as before."""

    @pytest.fixture
    def api_database_url(self, tmp_path: Any) -> str:
        url = f"sqlite:///{tmp_path / 'idle.db'}"
        upgrade_database(url)
        return url

    async def test_an_idle_poll_takes_no_write_lock_and_a_due_delivery_is_claimed(
        self, setup: Setup, api_database_url: str
    ) -> None:
        path = sqlite_path(api_database_url)
        with running_receiver() as receiver:
            await create_webhook(setup, receiver.url, ISSUED)
            holder = sqlite3.connect(path, isolation_level=None, timeout=0)
            try:
                holder.execute("BEGIN IMMEDIATE")  # another process writing, for as long as the poll lasts
                # A poll that tried to write would wait out the busy timeout (10 s) and fail: the guard fires first.
                assert await asyncio.wait_for(setup.api.container.delivery.run_once(), 5) == 0
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            await issue(setup)
            assert await deliver(setup) == 1
            assert len(receiver.received) == 1
