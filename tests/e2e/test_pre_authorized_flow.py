"""The Pre-authorized Code flow end to end, with the test suite's own wallet (joserfc + httpx).

Every credential is verified by pymdoccbor, with the wallet's key as the device key.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from oi_issuer import CLAIMS, Setup, make_setup
from oi_wallet import Wallet, new_key
from openissuer.domain.ids import DEFAULT_TENANT_ID


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


@pytest.fixture
async def setup(api: Any) -> Setup:
    return await make_setup(api)


@pytest.mark.parametrize("by_reference", [False, True])
@pytest.mark.parametrize("with_tx_code", [False, True])
async def test_wallet_claims_an_mdoc(setup: Setup, by_reference: bool, with_tx_code: bool) -> None:
    body: dict[str, Any] = {"byReference": by_reference}
    if with_tx_code:
        body["transactionCodeConfiguration"] = {"description": "Sent by e-mail"}
    created = await setup.offer(**body)
    assert ("transactionCode" in created) == with_tx_code
    assert ("credential_offer_uri=" in created["uri"]) == by_reference
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer(created["uri"])
    assert offer["credential_configuration_ids"] == [setup.configuration_id]
    grant = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    if with_tx_code:
        assert grant["tx_code"] == {"input_mode": "numeric", "length": 6, "description": "Sent by e-mail"}
        assert created["transactionCode"].isdigit() and len(created["transactionCode"]) == 6
    else:
        assert "tx_code" not in grant
    credentials = await wallet.claim(created["uri"], created.get("transactionCode"))
    assert len(credentials) == 1
    values = setup.verify(credentials[0], wallet)
    assert values["given_name"] == "Ana" and values["family_name"] == "Ngata"


async def test_second_redemption_is_invalid_grant(setup: Setup) -> None:
    created = await setup.offer()
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer(created["uri"])
    first = await wallet.token(offer)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    second = await wallet.token(offer)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert second.headers["cache-control"] == "no-store"


async def test_by_reference_offer_disappears_once_redeemed(setup: Setup) -> None:
    created = await setup.offer(byReference=True)
    wallet = Wallet(setup.api.http)
    offer_url = created["uri"].split("credential_offer_uri=")[1]
    from urllib.parse import unquote

    url = unquote(offer_url)
    assert (await setup.api.http.get(url)).status_code == 200
    assert (await setup.api.http.get(url)).status_code == 200  # any number of times before redemption
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert (await setup.api.http.get(tampered)).status_code == 404
    await wallet.token(await wallet.read_offer(created["uri"]))
    assert (await setup.api.http.get(url)).status_code == 404


async def test_two_wrong_tx_codes_then_the_right_one(setup: Setup) -> None:
    created = await setup.offer(transactionCodeConfiguration={})
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer(created["uri"])
    wrong = "000000" if created["transactionCode"] != "000000" else "111111"
    for _ in range(2):
        response = await wallet.token(offer, wrong)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
    assert (await wallet.token(offer, created["transactionCode"])).status_code == 200


async def test_three_wrong_tx_codes_lock_the_offer_for_good(setup: Setup) -> None:
    created = await setup.offer(transactionCodeConfiguration={"inputMode": "text", "length": 8})
    assert len(created["transactionCode"]) == 8
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer(created["uri"])
    for _ in range(3):
        assert (await wallet.token(offer, "WRONGONE")).json()["error"] == "invalid_grant"
    locked = await wallet.token(offer, created["transactionCode"])
    assert locked.status_code == 400
    assert locked.json()["error"] == "invalid_grant"


async def test_missing_tx_code_is_invalid_request_and_no_attempt(setup: Setup) -> None:
    created = await setup.offer(transactionCodeConfiguration={})
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer(created["uri"])
    for _ in range(5):
        missing = await wallet.token(offer)
        assert missing.status_code == 400
        assert missing.json()["error"] == "invalid_request"
    for _ in range(2):
        assert (
            await wallet.token(offer, "999999" if created["transactionCode"] != "999999" else "0")
        ).status_code == 400
    assert (await wallet.token(offer, created["transactionCode"])).status_code == 200


async def test_tx_code_where_none_is_expected_is_invalid_request(setup: Setup) -> None:
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer((await setup.offer())["uri"])
    response = await wallet.token(offer, "123456")
    assert response.json()["error"] == "invalid_request"
    assert (await wallet.token(offer)).status_code == 200


async def test_expired_and_revoked_offers(setup: Setup) -> None:
    wallet = Wallet(setup.api.http)
    expiring = await wallet.read_offer((await setup.offer(expiresIn={"minutes": 1}))["uri"])
    revoked_created = await setup.offer()
    revoked = await wallet.read_offer(revoked_created["uri"])
    path = f"/v1/openid/offers/pre-authorized/{revoked_created['id']}"
    assert (await setup.api.http.delete(path, headers=setup.headers)).status_code == 204
    # Deleting it again is a no-op (the reference answers only 204/400/404 here); a redeemed one is a 409.
    assert (await setup.api.http.delete(path, headers=setup.headers)).status_code == 204
    assert (await wallet.token(revoked)).json()["error"] == "invalid_grant"
    setup.api.clock.advance(seconds=61)
    assert (await wallet.token(expiring)).json()["error"] == "invalid_grant"
    malformed = await setup.api.http.delete("/v1/openid/offers/pre-authorized/nope", headers=setup.headers)
    assert malformed.status_code == 400  # reference §2.4: "400 (malformed id), 404 (unknown)"
    unknown_id = "00000000-0000-4000-8000-00000000beef"
    unknown = await setup.api.http.delete(f"/v1/openid/offers/pre-authorized/{unknown_id}", headers=setup.headers)
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x"}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"pre-authorized_code": "x"}, "invalid_request"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code"}, "invalid_request"),
        (
            {"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": "nope"},
            "invalid_grant",
        ),
    ],
)
async def test_token_request_errors(setup: Setup, form: dict[str, str], error: str) -> None:
    response = await setup.api.http.post("/v1/oauth/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def test_token_request_must_be_a_form_without_repeats(setup: Setup) -> None:
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer((await setup.offer())["uri"])
    code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
    as_json = await setup.api.http.post(
        "/v1/oauth/token",
        json={"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": code},
    )
    assert as_json.json()["error"] == "invalid_request"
    repeated = await setup.api.http.post(
        "/v1/oauth/token",
        content=f"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code"
        f"&pre-authorized_code={code}&pre-authorized_code={code}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert repeated.json()["error"] == "invalid_request"
    # neither attempt consumed the code; unknown parameters are ignored
    ok = await wallet.token(offer, client_id="any-wallet", resource="https://x.example", foo="bar")
    assert ok.status_code == 200, ok.text
    assert ok.json()["token_type"] == "Bearer"
    assert ok.json()["expires_in"] == 300


async def test_authorization_details_and_credential_identifiers(setup: Setup) -> None:
    import json as _json

    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer((await setup.offer())["uri"])
    metadata, _ = await wallet.discover(offer["credential_issuer"])
    details = [{"type": "openid_credential", "credential_configuration_id": "not-offered"}]
    refused = await wallet.token(offer, authorization_details=_json.dumps(details))
    assert refused.json()["error"] == "invalid_authorization_details"
    details = [{"type": "openid_credential", "credential_configuration_id": setup.configuration_id}]
    token = await wallet.token(offer, authorization_details=_json.dumps(details))
    assert token.status_code == 200
    (entry,) = token.json()["authorization_details"]
    assert entry["credential_configuration_id"] == setup.configuration_id
    (identifier,) = entry["credential_identifiers"]
    access = token.json()["access_token"]
    by_id = {
        "credential_configuration_id": setup.configuration_id,
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]},
    }
    response = await wallet.credential(metadata, access, by_id)
    assert response.json()["error"] == "invalid_credential_request"
    unknown = {
        "credential_identifier": "nope",
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]},
    }
    assert (await wallet.credential(metadata, access, unknown)).json()["error"] == "unknown_credential_identifier"
    good = {
        "credential_identifier": identifier,
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]},
    }
    response = await wallet.credential(metadata, access, good)
    assert response.status_code == 200, response.text
    setup.verify(response.json()["credentials"][0]["credential"], wallet)


async def test_batch_issuance_binds_each_credential_to_its_key(setup: Setup) -> None:

    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer((await setup.offer())["uri"])
    metadata, _ = await wallet.discover(offer["credential_issuer"])
    assert metadata["batch_credential_issuance"] == {"batch_size": 10}
    access = (await wallet.token(offer)).json()["access_token"]
    nonce = await wallet.nonce(metadata)
    keys = [wallet.key, new_key(), new_key()]
    proofs = [wallet.proof(metadata, nonce, key=key) for key in keys]
    response = await wallet.credential(
        metadata, access, {"credential_configuration_id": setup.configuration_id, "proofs": {"jwt": proofs}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"credentials", "notification_id"}
    credentials = [entry["credential"] for entry in body["credentials"]]
    assert len(credentials) == 3 and len(set(credentials)) == 3
    for key, credential in zip(keys, credentials, strict=True):
        setup.verify(credential, Wallet(setup.api.http, key))


async def test_a_grant_obtains_at_most_credentials_per_grant_across_requests(setup: Setup) -> None:
    """A repeated request (a lost response) gets new credentials until the bound (batch size, 10) is reached."""
    offer = await Wallet(setup.api.http).read_offer((await setup.offer())["uri"])
    wallet = Wallet(setup.api.http)
    metadata, _ = await wallet.discover(offer["credential_issuer"])
    access = (await wallet.token(offer)).json()["access_token"]

    async def request(count: int) -> httpx.Response:
        nonce = await wallet.nonce(metadata)
        proofs = [wallet.proof(metadata, nonce, key=new_key()) for _ in range(count)]
        body = {"credential_configuration_id": setup.configuration_id, "proofs": {"jwt": proofs}}
        return await wallet.credential(metadata, access, body)

    assert [(await request(n)).status_code for n in (3, 1)] == [200, 200]
    too_many = await request(7)  # 4 + 7 > 10: refused whole, nothing issued
    assert too_many.status_code == 400
    assert too_many.json()["error"] == "credential_request_denied"
    assert (await request(6)).status_code == 200  # exactly 10
    last = await request(1)
    assert last.status_code == 400 and last.json()["error"] == "credential_request_denied"
    async with setup.api.container.uow_factory() as uow:
        records = await uow.issued_credentials.list(DEFAULT_TENANT_ID, limit=100, after=None)
    assert len(records.items) == 10


async def test_claims_to_persist_are_kept_on_the_user(setup: Setup) -> None:
    first = await setup.offer(claims={**CLAIMS, "document_number": "DL-1"}, claimsToPersist=["document_number"])
    second = await setup.offer(userId=first["userId"])
    assert second["userId"] == first["userId"]
    wallet = Wallet(setup.api.http)
    (credential,) = await wallet.claim(second["uri"])
    assert setup.verify(credential, wallet)["document_number"] == "DL-1"
