"""Negative tests of the wallet-facing endpoints: one per rule they enforce (OID4VCI 1.0 §6-§8, §11, RFC 6750)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from oi_issuer import NS, Setup, make_setup
from oi_wallet import Wallet, new_key

ISSUER = "https://issuer.example"


@pytest.fixture
async def setup(api: Any) -> Setup:
    return await make_setup(api)


class Session:
    """A wallet that has redeemed an offer and holds an access token."""

    def __init__(self, setup: Setup, wallet: Wallet, metadata: dict[str, Any], access_token: str) -> None:
        self.setup, self.wallet, self.metadata, self.access_token = setup, wallet, metadata, access_token

    async def nonce(self) -> str:
        return await self.wallet.nonce(self.metadata)

    async def request(self, body: Any, **kw: Any) -> Any:
        headers = kw.pop("headers", {"Authorization": f"Bearer {self.access_token}"})
        if isinstance(body, bytes):
            return await self.setup.api.http.post("/v1/openid/credential", content=body, headers=headers, **kw)
        return await self.setup.api.http.post("/v1/openid/credential", json=body, headers=headers, **kw)

    async def body(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "credential_configuration_id": self.setup.configuration_id,
            "proofs": {"jwt": [self.wallet.proof(self.metadata, await self.nonce())]},
        }
        body.update(overrides)
        return body


@pytest.fixture
async def session(setup: Setup) -> Session:
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer((await setup.offer())["uri"])
    metadata, _ = await wallet.discover(offer["credential_issuer"])
    access_token = (await wallet.token(offer)).json()["access_token"]
    return Session(setup, wallet, metadata, access_token)


def assert_error(response: Any, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert response.headers["cache-control"] == "no-store"


# --- the access token (RFC 6750) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic eDp5"},
    ],
)
async def test_missing_or_unknown_tokens_are_401(session: Session, headers: dict[str, str]) -> None:
    response = await session.request(await session.body(), headers=headers)
    assert_error(response, "invalid_token", 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_the_dpop_scheme_without_a_proof_is_401_with_a_dpop_challenge(session: Session) -> None:
    response = await session.request(await session.body(), headers={"Authorization": "DPoP something"})
    assert_error(response, "invalid_dpop_proof", 401)
    assert response.headers["www-authenticate"].startswith("DPoP")


async def test_token_in_the_query_is_not_accepted(session: Session) -> None:
    response = await session.request(await session.body(), headers={}, params={"access_token": session.access_token})
    assert_error(response, "invalid_token", 401)


async def test_expired_token_is_401(session: Session) -> None:
    body = await session.body()
    session.setup.api.clock.advance(seconds=300)
    assert_error(await session.request(body), "invalid_token", 401)


# --- the request ----------------------------------------------------------------------------------------------


async def test_request_must_be_json(session: Session) -> None:
    response = await session.request(
        b"credential_configuration_id=x",
        headers={
            "Authorization": f"Bearer {session.access_token}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert_error(response, "invalid_credential_request")
    response = await session.request(
        b"{not json", headers={"Authorization": f"Bearer {session.access_token}", "Content-Type": "application/json"}
    )
    assert_error(response, "invalid_credential_request")
    assert_error(await session.request([1, 2]), "invalid_credential_request")


async def test_exactly_one_identifier(session: Session) -> None:
    both = await session.body(credential_identifier="x")
    assert_error(await session.request(both), "invalid_credential_request")
    neither = await session.body()
    del neither["credential_configuration_id"]
    assert_error(await session.request(neither), "invalid_credential_request")
    assert_error(
        await session.request(await session.body(credential_identifier="x", credential_configuration_id=None)),
        "invalid_credential_request",
    )


async def test_unknown_configuration(session: Session) -> None:
    response = await session.request(await session.body(credential_configuration_id="no-such-configuration"))
    assert_error(response, "unknown_credential_configuration")


async def test_known_configuration_the_token_does_not_cover(session: Session) -> None:
    other = await session.setup.api.http.post(
        "/v2/credentials/mobile/configurations",
        headers=session.setup.headers,
        json={
            "type": "org.example.badge",
            "claimMappings": {"ns": {"a": {"defaultValue": "x"}}},
            "expiresIn": {"days": 1},
        },
    )
    response = await session.request(await session.body(credential_configuration_id=other.json()["id"]))
    assert_error(response, "credential_request_denied")


async def test_encrypted_responses_are_not_offered(session: Session) -> None:
    body = await session.body(credential_response_encryption={"jwk": {}, "enc": "A256GCM"})
    assert_error(await session.request(body), "invalid_encryption_parameters")


async def test_unknown_members_are_ignored(session: Session) -> None:
    response = await session.request(await session.body(format="mso_mdoc", something={"a": 1}))
    assert response.status_code == 200, response.text


# --- proofs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "proofs",
    [
        None,
        {},
        {"jwt": []},
        {"jwt": "a.b.c"},
        {"jwt": [5]},
        {"attestation": ["x"]},
        {"jwt": ["a.b.c"], "attestation": ["x"]},
    ],
)
async def test_proof_structure(session: Session, proofs: Any) -> None:
    body = await session.body()
    if proofs is None:
        del body["proofs"]
        body["proof"] = {"proof_type": "jwt", "jwt": "a.b.c"}
    else:
        body["proofs"] = proofs
    assert_error(await session.request(body), "invalid_proof")


async def test_more_proofs_than_the_batch_size(session: Session) -> None:
    nonce = await session.nonce()
    proofs = [session.wallet.proof(session.metadata, nonce, key=new_key()) for _ in range(11)]
    assert_error(await session.request(await session.body(proofs={"jwt": proofs})), "invalid_credential_request")


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "https://other.example"},
        {"header": {"typ": "JWT"}},
        {"iat": int(time.time()) - 3600},
        {"iat": int(time.time()) + 3600},
    ],
)
async def test_bad_proofs(session: Session, overrides: dict[str, Any]) -> None:
    proof = session.wallet.proof(session.metadata, await session.nonce(), **overrides)
    assert_error(await session.request(await session.body(proofs={"jwt": [proof]})), "invalid_proof")


async def test_proof_without_nonce(session: Session) -> None:
    proof = session.wallet.proof(session.metadata, None)
    assert_error(await session.request(await session.body(proofs={"jwt": [proof]})), "invalid_proof")


async def test_the_same_key_twice_in_a_batch(session: Session) -> None:
    nonce = await session.nonce()
    proofs = [session.wallet.proof(session.metadata, nonce) for _ in range(2)]
    assert_error(await session.request(await session.body(proofs={"jwt": proofs})), "invalid_proof")


# --- nonces ---------------------------------------------------------------------------------------------------


async def test_unknown_nonce(session: Session) -> None:
    proof = session.wallet.proof(session.metadata, "made-up-nonce")
    assert_error(await session.request(await session.body(proofs={"jwt": [proof]})), "invalid_nonce")


async def test_expired_nonce(setup: Setup) -> None:
    wallet = Wallet(setup.api.http)
    metadata, _ = await wallet.discover("https://issuer.example")
    nonce = await wallet.nonce(metadata)
    setup.api.clock.advance(seconds=301)  # the nonce lives 300 s
    offer = await wallet.read_offer((await setup.offer())["uri"])
    access = (await wallet.token(offer)).json()["access_token"]
    proof = wallet.proof(metadata, nonce, iat=int(setup.api.clock.now().timestamp()))
    body = {"credential_configuration_id": setup.configuration_id, "proofs": {"jwt": [proof]}}
    assert_error(await wallet.credential(metadata, access, body), "invalid_nonce")


async def test_a_nonce_is_used_up_even_when_issuance_then_fails(setup: Setup) -> None:
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer((await setup.offer())["uri"])
    metadata, _ = await wallet.discover(offer["credential_issuer"])
    access = (await wallet.token(offer)).json()["access_token"]
    # The configuration changes after the offer was checked: document_number becomes required, the offer lacks it.
    path = f"/v2/credentials/mobile/configurations/{setup.configuration_id}"
    configuration = (await setup.api.http.get(path, headers=setup.headers)).json()
    configuration["claimMappings"][NS]["document_number"]["required"] = True
    body = {k: v for k, v in configuration.items() if k not in ("id",)}
    assert (await setup.api.http.put(path, headers=setup.headers, json=body)).status_code == 200
    nonce = await wallet.nonce(metadata)
    body = {"credential_configuration_id": setup.configuration_id, "proofs": {"jwt": [wallet.proof(metadata, nonce)]}}
    failed = await wallet.credential(metadata, access, body)
    assert_error(failed, "credential_request_denied")
    assert "document_number" in failed.json()["error_description"]
    body["proofs"]["jwt"] = [wallet.proof(metadata, nonce)]
    assert_error(await wallet.credential(metadata, access, body), "invalid_nonce")


_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _other_spellings(nonce: str) -> list[str]:
    """The nonce with other values in its last character's unused low bits: the same bytes when decoded."""
    unused = len(nonce) * 6 % 8  # bits of the last character past the data (none when it is all data)
    index = _BASE64URL.index(nonce[-1])
    return [nonce[:-1] + _BASE64URL[index ^ bits] for bits in range(1, 2**unused)]


async def test_a_used_nonce_is_refused_in_any_spelling(session: Session) -> None:
    nonce = await session.nonce()
    spellings = _other_spellings(nonce)
    assert spellings  # a c_nonce's text has spare bits in its last character
    proof = session.wallet.proof(session.metadata, nonce)
    first = await session.request(await session.body(proofs={"jwt": [proof]}))
    assert first.status_code == 200, first.text
    for spelling in spellings:
        proof = session.wallet.proof(session.metadata, spelling)
        assert_error(await session.request(await session.body(proofs={"jwt": [proof]})), "invalid_nonce")


# --- notification ---------------------------------------------------------------------------------------------


async def test_notifications(session: Session) -> None:
    issued = (await session.request(await session.body())).json()
    auth = {"Authorization": f"Bearer {session.access_token}"}
    url = session.metadata["notification_endpoint"]
    ok = await session.setup.api.http.post(
        url, headers=auth, json={"notification_id": issued["notification_id"], "event": "credential_accepted"}
    )
    assert ok.status_code == 204
    wrong = await session.setup.api.http.post(
        url, headers=auth, json={"notification_id": "other", "event": "credential_accepted"}
    )
    assert_error(wrong, "invalid_notification_id")
    bad_event = await session.setup.api.http.post(
        url, headers=auth, json={"notification_id": issued["notification_id"], "event": "credential_lost"}
    )
    assert_error(bad_event, "invalid_notification_request")
    anonymous = await session.setup.api.http.post(url, json={"notification_id": "x", "event": "credential_accepted"})
    assert_error(anonymous, "invalid_token", 401)


# --- metadata -------------------------------------------------------------------------------------------------


async def test_issuer_and_authorization_server_metadata(setup: Setup) -> None:
    issuer = (await setup.api.http.get("/.well-known/openid-credential-issuer")).json()
    assert issuer["credential_issuer"] == ISSUER
    assert issuer["credential_endpoint"] == f"{ISSUER}/v1/openid/credential"
    assert issuer["nonce_endpoint"] == f"{ISSUER}/v1/openid/nonce"
    assert issuer["notification_endpoint"] == f"{ISSUER}/v1/openid/notification"
    assert issuer["mdoc_iacas_uri"] == f"{ISSUER}/core/v1/openid/iacas"
    assert issuer["batch_credential_issuance"] == {"batch_size": 10}
    entry = issuer["credential_configurations_supported"][setup.configuration_id]
    assert entry["format"] == "mso_mdoc" and entry["doctype"] == "org.iso.18013.5.1.mDL"
    assert entry["scope"] == "mso_mdoc:org.iso.18013.5.1.mDL"
    assert "authorization_servers" not in issuer  # the issuer is its own authorization server
    server = (await setup.api.http.get("/.well-known/oauth-authorization-server")).json()
    assert server["issuer"] == ISSUER
    assert server["token_endpoint"] == f"{ISSUER}/v1/oauth/token"
    assert server["pre-authorized_grant_anonymous_access_supported"] is True
    assert server["grant_types_supported"] == ["urn:ietf:params:oauth:grant-type:pre-authorized_code"]


async def test_metadata_path_insertion_for_a_public_url_with_a_path(tmp_path: Any) -> None:
    import httpx

    from oi_testing import make_settings
    from openissuer.bootstrap import build
    from openissuer.web.app import create_app

    container = build(make_settings(tmp_path, public_url="https://issuer.example/tenant-a/"))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="https://issuer.example") as http:
        document = await http.get("/.well-known/openid-credential-issuer/tenant-a")
        assert document.status_code == 200
        assert document.json()["credential_issuer"] == "https://issuer.example/tenant-a"
        assert document.json()["credential_endpoint"] == "https://issuer.example/tenant-a/v1/openid/credential"
        server = await http.get("/.well-known/oauth-authorization-server/tenant-a")
        assert server.json()["issuer"] == "https://issuer.example/tenant-a"
        assert (await http.get("/.well-known/openid-credential-issuer")).status_code == 404
    await container.aclose()


async def test_nonce_endpoint(setup: Setup) -> None:
    first = await setup.api.http.post("/v1/openid/nonce")
    second = await setup.api.http.post("/v1/openid/nonce")
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    assert set(first.json()) == {"c_nonce"}
    assert first.json()["c_nonce"] != second.json()["c_nonce"]
    assert len(first.json()["c_nonce"]) >= 43


# --- offers (management) --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"credentials": []}, "credentials"),
        ({"credentials": ["00000000-0000-0000-0000-000000000009"]}, "credentials.0"),
        ({"userId": "00000000-0000-0000-0000-000000000009"}, "userId"),
        ({"claimsToPersist": ["not_a_claim"]}, "claimsToPersist"),
        ({"expiresIn": {"minutes": 11}}, "expiresIn"),
        ({"expiresIn": {}}, "expiresIn"),
        ({"transactionCodeConfiguration": {"length": 3}}, "transactionCodeConfiguration.length"),
        ({"transactionCodeConfiguration": {"description": "x" * 301}}, "transactionCodeConfiguration.description"),
        ({"transactionCodeConfiguration": {"inputMode": "emoji"}}, "transactionCodeConfiguration.inputMode"),
    ],
)
async def test_offer_validation(setup: Setup, body: dict[str, Any], param: str) -> None:
    payload = {"credentials": [setup.configuration_id], "claims": {"a": 1}, **body}
    response = await setup.api.http.post("/v1/openid/offers/pre-authorized", headers=setup.headers, json=payload)
    assert response.status_code == 400, response.text
    assert param in [d["param"] for d in response.json()["details"]]


async def test_offer_roles(setup: Setup) -> None:
    from openissuer.domain.api_clients import Role
    from openissuer.domain.ids import DEFAULT_TENANT_ID

    auditor = await setup.api.container.api_clients.create_client(DEFAULT_TENANT_ID, name="a", roles=(Role.AUDITOR,))
    headers = await setup.api.auth(auditor.client.client_id, auditor.client_secret)
    response = await setup.api.http.post(
        "/v1/openid/offers/pre-authorized", headers=headers, json={"credentials": [setup.configuration_id]}
    )
    assert response.status_code == 403
    assert (
        await setup.api.http.post("/v1/openid/offers/pre-authorized", json={"credentials": [setup.configuration_id]})
    ).status_code == 401


@pytest.mark.parametrize("by_reference", [False, True])
async def test_qr_codes(setup: Setup, by_reference: bool) -> None:
    created = await setup.offer(byReference=by_reference)
    path = f"/v1/openid/offers/{created['id']}/qrcode"
    png = await setup.api.http.get(path, headers=setup.headers)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = await setup.api.http.get(path, headers=setup.headers, params={"format": "svg"})
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    assert (await setup.api.http.get(path)).status_code == 401
    wallet = Wallet(setup.api.http)
    await wallet.token(await wallet.read_offer(created["uri"]))
    assert (await setup.api.http.get(path, headers=setup.headers)).status_code == 409


async def test_offer_response_shape(setup: Setup) -> None:
    created = await setup.offer(transactionCodeConfiguration={"length": 4})
    assert set(created) == {"id", "userId", "uri", "expiresAt", "transactionCode"}
    assert len(created["transactionCode"]) == 4
    offer = json.loads(__import__("urllib.parse").parse.unquote(created["uri"].split("credential_offer=")[1]))
    # The draft-era "credentials" beside "credential_configuration_ids", as the reference's offers carry it (§2.2).
    assert set(offer) == {"credential_issuer", "credentials", "credential_configuration_ids", "grants"}
    assert offer["credentials"] == offer["credential_configuration_ids"]
    code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
    assert len(code) >= 43  # 256 bits
    assert created["transactionCode"] not in created["uri"]


async def test_no_code_token_nonce_or_proof_reaches_a_log_record(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    created = await setup.offer(transactionCodeConfiguration={}, byReference=True)
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer(created["uri"])
    metadata, _ = await wallet.discover(offer["credential_issuer"])
    await wallet.token(offer, "000000" if created["transactionCode"] != "000000" else "111111")  # a wrong one
    token = (await wallet.token(offer, created["transactionCode"])).json()["access_token"]
    nonce = await wallet.nonce(metadata)
    proof = wallet.proof(metadata, nonce)
    body = {"credential_configuration_id": setup.configuration_id, "proofs": {"jwt": [proof]}}
    assert (await wallet.credential(metadata, token, body)).status_code == 200
    code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
    secrets = [code, created["transactionCode"], token, nonce, proof, created["uri"].rsplit("%2F", 1)[-1]]
    for record in caplog.records:
        if record.name.startswith("httpx"):
            continue  # the test's own client logs the URLs it calls
        text = record.getMessage() + repr(record.__dict__)
        for secret in secrets:
            assert secret not in text, (record.name, record.getMessage())
