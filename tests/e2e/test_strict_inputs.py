"""Strict inputs everywhere a wallet or an administrator sends data: a test per rule on the wallet endpoints and on
the management API; after each refusal the metadata and every list still answer 200 and nothing was stored."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from oi_issuer import Setup, make_setup
from oi_wallet import Wallet

DEEP = b'{"a":' * 40 + b"1" + b"}" * 40
BODIES = {
    "duplicate member": b'{"credential_configuration_id": "x", "credential_configuration_id": "y"}',
    "NaN": b'{"credential_configuration_id": NaN}',
    "Infinity": b'{"x": -Infinity}',
    "huge number": b'{"x": 1e400}',
    "out-of-range integer": b'{"x": 123456789012345678901234567890}',
    "lone surrogate": b'{"credential_configuration_id": "\\ud800"}',
    "NUL": b'{"credential_configuration_id": "a\\u0000b"}',
    "deep nesting": DEEP,
}


@pytest.fixture
async def setup(api: Any) -> Setup:
    return await make_setup(api)


async def still_healthy(setup: Setup) -> None:
    http, headers = setup.api.http, setup.headers
    assert (await http.get("/.well-known/openid-credential-issuer")).status_code == 200
    assert (await http.get("/.well-known/oauth-authorization-server")).status_code == 200
    for path in (
        "/v2/credentials/mobile/configurations",
        "/v1/api-clients",
        "/v1/openid/clients",
        "/v2/credentials/mobile/iacas",
    ):
        response = await http.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
    configurations = (await http.get("/v2/credentials/mobile/configurations", headers=headers)).json()["data"]
    assert len(configurations) == 1  # nothing refused was stored


@pytest.mark.parametrize("name", list(BODIES))
async def test_the_credential_endpoint_refuses(setup: Setup, name: str) -> None:
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer((await setup.offer())["uri"])
    token = (await wallet.token(offer)).json()["access_token"]
    response = await setup.api.http.post(
        "/v1/openid/credential",
        content=BODIES[name],
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_credential_request"
    assert response.headers["cache-control"] == "no-store"
    await still_healthy(setup)


@pytest.mark.parametrize("name", list(BODIES))
async def test_the_management_api_refuses(setup: Setup, name: str) -> None:
    for path in ("/v2/credentials/mobile/configurations", "/v1/openid/offers/pre-authorized", "/v1/api-clients"):
        response = await setup.api.http.post(
            path, content=BODIES[name], headers={**setup.headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["code"] == "BadRequest"
    await still_healthy(setup)


async def test_a_lone_surrogate_or_nul_in_a_configuration_is_refused_and_nothing_breaks(setup: Setup) -> None:
    """The issue's case: a configuration with a lone surrogate used to be stored with a 500 and then break the
    public metadata and every configuration read."""
    for value in ("\\ud83d", "x\\u0000y"):
        raw = (
            '{"type": "org.example.' + value + '", "claimMappings": {"ns": {"a": {"mapFrom": "claims.a"}}}, '
            '"expiresIn": {"days": 1}}'
        ).encode()
        response = await setup.api.http.post(
            "/v2/credentials/mobile/configurations",
            content=raw,
            headers={**setup.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 400, response.text
    await still_healthy(setup)


async def test_a_jws_part_over_the_size_limit_is_refused_before_it_is_decoded(setup: Setup) -> None:
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer((await setup.offer())["uri"])
    token = (await wallet.token(offer)).json()["access_token"]
    huge = base64.urlsafe_b64encode(json.dumps({"x": "a" * 20000}).encode()).rstrip(b"=").decode()
    proof = f"{huge}.e30.AAAA"
    body = {"credential_configuration_id": setup.configuration_id, "proofs": {"jwt": [proof]}}
    response = await setup.api.http.post(
        "/v1/openid/credential", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_proof"
    assert "longer than" in response.json()["error_description"]


@pytest.mark.parametrize("path", ["/v1/oauth/token", "/v1/oauth/par", "/v1/auth/token"])
async def test_forms_with_thousands_of_fields_or_a_repeated_field_are_refused(setup: Setup, path: str) -> None:
    http = setup.api.http
    many = "&".join(f"f{i}=x" for i in range(5000))
    repeated = "grant_type=client_credentials&client_id=a&client_id=b"
    for body in (many, repeated):
        response = await http.post(path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"] == "invalid_request"
        assert response.headers["cache-control"] == "no-store"


async def test_out_of_range_cursor_dates_and_huge_indexes_are_400(setup: Setup) -> None:
    http, headers = setup.api.http, setup.headers
    for created in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "99999-01-01T00:00:00+00:00"):
        cursor = base64.urlsafe_b64encode(f"createdAt={created}&id=x".encode()).rstrip(b"=").decode()
        response = await http.get("/v1/api-clients", headers=headers, params={"cursor": cursor})
        assert response.status_code == 400, (created, response.text)
    for path in ("claims.list[99999999999999999999999999999]", "claims.a[1000]", "claims.a[" + "9" * 5000 + "]"):
        body = {
            "type": "org.example.index",
            "claimMappings": {"ns": {"a": {"mapFrom": path}}},
            "expiresIn": {"days": 1},
        }
        response = await http.post("/v2/credentials/mobile/configurations", headers=headers, json=body)
        assert response.status_code == 400, (path[:40], response.text)
    await still_healthy(setup)


async def test_a_nul_in_a_path_or_query_is_refused(setup: Setup) -> None:
    http, headers = setup.api.http, setup.headers
    assert (await http.get("/v1/api-clients/a%00b", headers=headers)).status_code == 400
    assert (await http.get("/v1/api-clients?cursor=a%00b", headers=headers)).status_code == 400
    response = await http.get("/v1/openid/credential-offers/a%00b")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_every_wallet_error_is_no_store_and_every_credential_401_has_a_challenge(setup: Setup) -> None:
    http = setup.api.http
    responses = [
        await http.post("/v1/oauth/token", data={}),
        await http.post("/v1/oauth/par", data={}),
        await http.get("/v1/openid/nonce"),  # wrong method
        await http.post("/v1/openid/notification", json={}),
        await http.post("/v1/openid/credential", json={}),
        await http.post("/v1/openid/credential", json={}, headers={"Authorization": "Bearer nope"}),
        await http.post("/v1/openid/credential", json={}, headers={"Authorization": "Basic x"}),
        await http.post("/v1/openid/credential", content=b"x" * (1024 * 1024 + 1)),
    ]
    for response in responses:
        assert response.status_code >= 400
        assert response.headers["cache-control"] == "no-store", response.request.url
    for response in responses[4:7]:
        assert response.status_code == 401 and response.headers["www-authenticate"]


async def test_an_error_description_never_carries_a_quote_a_backslash_or_non_ascii(setup: Setup) -> None:
    wallet = Wallet(setup.api.http)
    offer = await wallet.read_offer((await setup.offer())["uri"])
    token = (await wallet.token(offer)).json()["access_token"]
    body = {"credential_configuration_id": "x", "proofs": {'q"\\é': ["a"]}}
    response = await setup.api.http.post(
        "/v1/openid/credential", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    description = response.json()["error_description"]
    assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in description), description


class TestRateLimits:
    @pytest.fixture
    def api_settings(self) -> dict[str, object]:
        return {"rate_limit_per_address": 4, "rate_limit_per_offer": 2}

    async def test_token_and_credential_requests_are_limited_with_retry_after(self, setup: Setup) -> None:
        http = setup.api.http
        wallet = Wallet(http)
        offer = await wallet.read_offer((await setup.offer())["uri"])
        token = (await wallet.token(offer)).json()["access_token"]  # address: 1
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(2):  # address: 2, 3; this token: 1, 2
            assert (await http.post("/v1/openid/credential", json={}, headers=headers)).status_code == 400
        limited = await http.post("/v1/openid/credential", json={}, headers=headers)  # this token: 3
        assert limited.status_code == 429 and limited.json()["error"] == "too_many_requests"
        assert int(limited.headers["retry-after"]) >= 1 and limited.headers["cache-control"] == "no-store"
        over = await http.post("/v1/oauth/token", data={"grant_type": "x"})  # address: 5
        assert over.status_code == 429
        setup.api.clock.advance(seconds=61)
        assert (await http.post("/v1/oauth/token", data={"grant_type": "x"})).status_code == 400

    async def test_anonymous_authorization_requests_are_limited_per_address(self, setup: Setup) -> None:
        """Each /authorize request can store a sign-in: an address floods it no faster than the token endpoint."""
        http = setup.api.http
        for _ in range(4):  # no such client: a page, counted all the same
            assert (await http.get("/v1/oauth/authorize", params={"client_id": "nobody"})).status_code == 401
        limited = await http.get("/v1/oauth/authorize", params={"client_id": "nobody"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert (await http.post("/v1/oauth/token", data={"grant_type": "x"})).status_code == 429  # one count
        setup.api.clock.advance(seconds=61)
        assert (await http.get("/v1/oauth/authorize", params={"client_id": "nobody"})).status_code == 401
