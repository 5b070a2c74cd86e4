"""IETF Token Status Lists end to end: an mDoc (CWT form) and an SD-JWT VC (JWT form) issued with a status, their
status references resolved to the served tokens and read by an independent verifier (``oi_status_list``: the
signer's chain to the IACA, the signature, the claims, the decompressed list) before and after the status API
changes them; the status rules, record deletion, a user's credentials at once, configurations, caching headers,
distribution and admin views, and a change made by one process seen by another."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cbor2
import httpx
import pytest

from oi_issuer import CLAIMS, MDL, make_setup
from oi_sd_jwt import SD_JWT_CLAIMS, SD_JWT_CONFIGURATION, verify_sd_jwt_vc
from oi_status_list import read_status_cwt, read_status_jwt
from oi_testing import FakeClock, make_settings
from oi_wallet import Wallet
from openissuer.bootstrap import build
from openissuer.domain.api_clients import Role
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.web.app import create_app

MOBILE = "/v2/credentials/mobile"
SD_JWT = "/v2/credentials/sd-jwt"
ISSUER = "https://issuer.example"
MEMORY_ONLY = pytest.mark.parametrize("every_backend_url", ["memory"], indirect=True)


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


async def _revocable_mdl(api: Any) -> tuple[Any, str]:
    setup = await make_setup(api)
    url = f"{MOBILE}/configurations/{setup.configuration_id}"
    current = (await api.http.get(url, headers=setup.headers)).json()
    body = {k: v for k, v in current.items() if k != "id"} | {"includeStatus": True}
    replaced = await api.http.put(url, headers=setup.headers, json=body)
    assert replaced.status_code == 200, replaced.text
    return setup, setup.configuration_id


async def _issue_mdl(api: Any, setup: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Claim an offer with a new wallet; return the offer and the MSO's status reference (checked by pymdoccbor)."""
    offer = await setup.offer()
    wallet = Wallet(api.http)
    (credential,) = await wallet.claim(offer["uri"])
    setup.verify(credential, wallet)
    issuer_signed = cbor2.loads(base64.urlsafe_b64decode(credential + "=" * (-len(credential) % 4)))
    mso = cbor2.loads(cbor2.loads(issuer_signed["issuerAuth"][2]).value)
    assert set(mso["status"]) == {"status_list"}
    return offer, mso["status"]["status_list"]


async def _token(api: Any, uri: str, **headers: str) -> Any:
    assert uri.startswith(ISSUER)
    return await api.http.get(urlsplit(uri).path, headers=headers)


async def test_an_mdoc_status_is_read_from_the_served_token_and_changed_by_the_api(api: Any) -> None:
    setup, _ = await _revocable_mdl(api)
    offer, reference = await _issue_mdl(api, setup)
    uri, index = reference["uri"], reference["idx"]
    assert uri.startswith(f"{ISSUER}{MOBILE}/status-lists/") and uri.endswith("/token") and 0 <= index < 100_000

    served = await _token(api, uri)
    assert served.status_code == 200 and served.headers["content-type"] == "application/statuslist+cwt"
    assert served.headers["cache-control"].startswith("public, max-age=") and served.headers["etag"]
    read = read_status_cwt(served.content, uri=uri, index=index, iaca_pem=setup.iaca_pem, now=api.clock.now())
    assert (read.status, read.bits) == ("valid", 1)
    assert read.claims[65534] == 12 * 3600 and read.claims[4] - read.claims[6] == 2 * 86400  # the defaults
    again = await _token(api, uri, **{"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == served.headers["etag"] and not again.content

    records = (await api.http.get(f"/v1/users/{offer['userId']}/credentials", headers=setup.headers)).json()["data"]
    (record,) = records
    assert record["status"] == "valid" and record["offerId"] == offer["id"] and record["sessionId"]
    credential_id = record["id"]
    status_url = f"{MOBILE}/{credential_id}/status"
    assert (await api.http.get(status_url, headers=setup.headers)).json() == {"status": "valid"}

    changed = await api.http.post(status_url, headers=setup.headers, json={"status": "invalid"})
    assert changed.status_code == 200 and changed.json() == {"status": "invalid"}
    served = await _token(api, uri, **{"If-None-Match": served.headers["etag"]})
    assert served.status_code == 200  # re-signed at once: the list's revision moved
    assert (
        read_status_cwt(served.content, uri=uri, index=index, iaca_pem=setup.iaca_pem, now=api.clock.now()).status
        == "invalid"
    )

    refused = await api.http.post(status_url, headers=setup.headers, json={"status": "valid"})
    assert refused.status_code == 409 and "final" in refused.json()["message"]
    assert (await api.http.post(status_url, headers=setup.headers, json={"status": "suspended"})).status_code == 409
    assert (await api.http.post(status_url, headers=setup.headers, json={"status": "invalid"})).status_code == 200
    assert (await api.http.post(status_url, headers=setup.headers, json={"status": "revoked"})).status_code == 400

    # The record can be deleted; the list keeps the status, and the id is then unknown.
    assert (await api.http.delete(f"{MOBILE}/{credential_id}", headers=setup.headers)).status_code == 204
    assert (await api.http.get(status_url, headers=setup.headers)).status_code == 404
    assert (await api.http.delete(f"{MOBILE}/{credential_id}", headers=setup.headers)).status_code == 404
    served = await _token(api, uri)
    assert (
        read_status_cwt(served.content, uri=uri, index=index, iaca_pem=setup.iaca_pem, now=api.clock.now()).status
        == "invalid"
    )

    # Distribution and the admin views.
    distribution = await api.http.get(f"{MOBILE}/status-lists/distribution")
    assert distribution.status_code == 200 and distribution.json() == {"status_lists": [uri]}
    list_id = uri.split("/")[-2]
    listed = (await api.http.get(f"{MOBILE}/status-lists", headers=setup.headers)).json()["data"]
    assert [item["id"] for item in listed] == [list_id]
    one = (await api.http.get(f"{MOBILE}/status-lists/{list_id}", headers=setup.headers)).json()
    assert one["listSize"] == 100_000 and one["docType"] == MDL and one["uri"] == uri and one["iacaId"]
    assert "statusListConfigurationId" not in one  # the defaults apply
    read = read_status_cwt(
        base64.b64decode(one["list"]), uri=uri, index=index, iaca_pem=setup.iaca_pem, now=api.clock.now()
    )
    assert read.status == "invalid"
    assert (await api.http.get(f"{MOBILE}/status-lists/{list_id}")).status_code == 401


@MEMORY_ONLY
async def test_suspension_needs_two_bits_and_can_be_lifted(api: Any) -> None:
    setup, _ = await _revocable_mdl(api)
    offer, reference = await _issue_mdl(api, setup)
    (record,) = (await api.http.get(f"/v1/users/{offer['userId']}/credentials", headers=setup.headers)).json()["data"]
    status_url = f"{MOBILE}/{record['id']}/status"
    uri, index = reference["uri"], reference["idx"]
    assert (await api.http.post(status_url, headers=setup.headers, json={"status": "suspended"})).status_code == 200
    read = read_status_cwt(
        (await _token(api, uri)).content, uri=uri, index=index, iaca_pem=setup.iaca_pem, now=api.clock.now()
    )
    assert (read.status, read.bits) == ("suspended", 2)
    assert (await api.http.post(status_url, headers=setup.headers, json={"status": "valid"})).status_code == 200
    read = read_status_cwt(
        (await _token(api, uri)).content, uri=uri, index=index, iaca_pem=setup.iaca_pem, now=api.clock.now()
    )
    assert (read.status, read.bits) == ("valid", 1)


@MEMORY_ONLY
async def test_an_sd_jwt_vc_status_is_read_from_the_jwt_token(api: Any) -> None:
    headers = await api.auth()
    iaca = (await api.http.post(f"{MOBILE}/iacas", headers=headers, json={"country": "NZ"})).json()
    await api.http.put(f"{MOBILE}/iacas/{iaca['id']}", headers=headers, json={"active": True})
    created = await api.http.post(
        f"{SD_JWT}/configurations", headers=headers, json={**SD_JWT_CONFIGURATION, "includeStatus": True}
    )
    assert created.status_code == 201 and created.json()["includeStatus"] is True
    offer = await api.http.post(
        "/v1/openid/offers/pre-authorized",
        headers=headers,
        json={"credentials": [created.json()["id"]], "claims": SD_JWT_CLAIMS},
    )
    wallet = Wallet(api.http)
    (credential,) = await wallet.claim(offer.json()["uri"])
    verified = verify_sd_jwt_vc(credential, iaca["certificatePem"], issuer=ISSUER, holder=wallet.key)
    reference = verified.payload["status"]["status_list"]
    assert "status" not in {d for d in verified.disclosures}  # never selectively disclosable
    uri, index = reference["uri"], reference["idx"]
    assert uri.startswith(f"{ISSUER}{SD_JWT}/status-lists/")

    served = await _token(api, uri)
    assert served.headers["content-type"] == "application/statuslist+jwt"
    read = read_status_jwt(served.content, uri=uri, index=index, iaca_pem=iaca["certificatePem"], now=api.clock.now())
    assert read.status == "valid" and read.claims["iss"] == ISSUER

    (record,) = (await api.http.get(f"/v1/users/{offer.json()['userId']}/credentials", headers=headers)).json()["data"]
    assert (await api.http.get(f"{MOBILE}/{record['id']}/status", headers=headers)).status_code == 404  # profile
    changed = await api.http.post(f"{SD_JWT}/{record['id']}/status", headers=headers, json={"status": "invalid"})
    assert changed.status_code == 200
    read = read_status_jwt(
        (await _token(api, uri)).content, uri=uri, index=index, iaca_pem=iaca["certificatePem"], now=api.clock.now()
    )
    assert read.status == "invalid"
    assert (await api.http.get(f"{SD_JWT}/status-lists/distribution")).json() == {"status_lists": [uri]}


@MEMORY_ONLY
async def test_unknown_and_other_tenants_credentials_and_lists_are_not_found(api: Any) -> None:
    setup, _ = await _revocable_mdl(api)
    offer, reference = await _issue_mdl(api, setup)
    (record,) = (await api.http.get(f"/v1/users/{offer['userId']}/credentials", headers=setup.headers)).json()["data"]
    unknown = await api.http.post(
        f"{MOBILE}/00000000-0000-4000-8000-00000000dead/status", headers=setup.headers, json={"status": "invalid"}
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "NotFound"

    platform = await api.container.api_clients.create_client(DEFAULT_TENANT_ID, name="p", roles=(Role.PLATFORM_ADMIN,))
    platform_headers = await api.auth(platform.client.client_id, platform.client_secret)
    other = await api.http.post(
        "/v1/tenants", headers=platform_headers, json={"name": "Other", "publicUrl": "https://other.example"}
    )
    admin = other.json()["adminClient"]
    other_headers = await api.auth(admin["clientId"], admin["clientSecret"])
    for method, path, body in (
        ("POST", f"{MOBILE}/{record['id']}/status", {"status": "invalid"}),
        ("GET", f"{MOBILE}/{record['id']}/status", None),
        ("DELETE", f"{MOBILE}/{record['id']}", None),
        ("POST", f"/v1/users/{offer['userId']}/credentials/status", {"status": "invalid"}),
        ("GET", f"{MOBILE}/status-lists/{reference['uri'].split('/')[-2]}", None),
    ):
        response = await api.http.request(method, path, headers=other_headers, json=body)
        assert response.status_code == 404, (path, response.text)
    # The other tenant's host does not serve this tenant's list.
    foreign = await api.http.get("https://other.example" + urlsplit(reference["uri"]).path)
    assert foreign.status_code == 404
    assert (await api.http.get(f"{MOBILE}/{record['id']}/status", headers=setup.headers)).json() == {"status": "valid"}

    # A credential issued without a status has none to change.
    plain = await api.http.post(
        f"{MOBILE}/configurations",
        headers=setup.headers,
        json={
            "type": "org.example.plain",
            "claimMappings": {"org.example": {"n": {"defaultValue": "x"}}},
            "expiresIn": {"days": 1},
        },
    )
    assert plain.status_code == 201, plain.text
    plain_offer = await api.http.post(
        "/v1/openid/offers/pre-authorized", headers=setup.headers, json={"credentials": [plain.json()["id"]]}
    )
    await Wallet(api.http).claim(plain_offer.json()["uri"])
    (plain_record,) = (
        await api.http.get(f"/v1/users/{plain_offer.json()['userId']}/credentials", headers=setup.headers)
    ).json()["data"]
    response = await api.http.post(
        f"{MOBILE}/{plain_record['id']}/status", headers=setup.headers, json={"status": "invalid"}
    )
    assert response.status_code == 400 and response.json()["details"][0]["param"] == "credentialId"


@MEMORY_ONLY
async def test_all_credentials_of_a_user_in_one_call(api: Any) -> None:
    setup, configuration_id = await _revocable_mdl(api)
    sd_jwt = await api.http.post(
        f"{SD_JWT}/configurations", headers=setup.headers, json={**SD_JWT_CONFIGURATION, "includeStatus": True}
    )
    user = (
        await api.http.post("/v1/users", headers=setup.headers, json={"claims": {**CLAIMS, **SD_JWT_CLAIMS}})
    ).json()
    for configuration in (configuration_id, sd_jwt.json()["id"]):
        offer = await api.http.post(
            "/v1/openid/offers/pre-authorized",
            headers=setup.headers,
            json={"credentials": [configuration], "userId": user["id"]},
        )
        assert offer.status_code == 200, offer.text
        await Wallet(api.http).claim(offer.json()["uri"])
    records = (await api.http.get(f"/v1/users/{user['id']}/credentials", headers=setup.headers)).json()["data"]
    assert len(records) == 2 and len({r["sessionId"] for r in records}) == 2  # one session per grant
    first = records[0]
    await api.http.post(
        f"/v2/credentials/{first['profile']}/{first['id']}/status", headers=setup.headers, json={"status": "invalid"}
    )

    url = f"/v1/users/{user['id']}/credentials/status"
    result = await api.http.post(url, headers=setup.headers, json={"status": "suspended"})
    assert result.status_code == 200, result.text
    assert result.json() == {"status": "suspended", "updated": [records[1]["id"]], "unchanged": [first["id"]]}
    result = await api.http.post(url, headers=setup.headers, json={"status": "invalid"})
    assert result.json()["updated"] == [records[1]["id"]]
    statuses = {
        r["status"]
        for r in (await api.http.get(f"/v1/users/{user['id']}/credentials", headers=setup.headers)).json()["data"]
    }
    assert statuses == {"invalid"}
    assert (
        await api.http.post(
            "/v1/users/00000000-0000-4000-8000-00000000dead/credentials/status",
            headers=setup.headers,
            json={"status": "invalid"},
        )
    ).status_code == 404


@MEMORY_ONLY
async def test_status_list_configurations_set_the_token_lifetimes(api: Any, clock: FakeClock) -> None:
    setup, _ = await _revocable_mdl(api)
    base = f"{MOBILE}/status-lists/configurations"
    body = {"docType": MDL, "timeToLiveDuration": {"hours": 1}, "expiryDuration": {"days": 1}}
    created = await api.http.post(base, headers=setup.headers, json=body)
    assert created.status_code == 201, created.text
    configuration = created.json()
    assert configuration == {"id": configuration["id"], **body}
    assert (await api.http.post(base, headers=setup.headers, json=body)).status_code == 409
    bad = await api.http.post(
        base, headers=setup.headers, json={**body, "docType": "x", "expiryDuration": {"minutes": 5}}
    )
    assert bad.status_code == 400 and bad.json()["details"][0]["param"] == "expiryDuration"
    assert (await api.http.get(base, headers=setup.headers)).json()["data"] == [configuration]
    assert (await api.http.get(f"{SD_JWT}/status-lists/configurations", headers=setup.headers)).json()["data"] == []
    renamed = await api.http.put(
        f"{base}/{configuration['id']}", headers=setup.headers, json={**body, "docType": "other"}
    )
    assert renamed.status_code == 400
    replaced = await api.http.put(
        f"{base}/{configuration['id']}",
        headers=setup.headers,
        json={"timeToLiveDuration": {"hours": 2}, "expiryDuration": {"days": 3}},
    )
    assert replaced.status_code == 200 and replaced.json()["timeToLiveDuration"] == {"hours": 2}

    _, reference = await _issue_mdl(api, setup)
    uri, index = reference["uri"], reference["idx"]
    first = read_status_cwt(
        (await _token(api, uri)).content, uri=uri, index=index, iaca_pem=setup.iaca_pem, now=clock.now()
    )
    assert first.claims[65534] == 2 * 3600 and first.claims[4] - first.claims[6] == 3 * 86400
    one = (await api.http.get(f"{MOBILE}/status-lists/{uri.split('/')[-2]}", headers=setup.headers)).json()
    assert one["statusListConfigurationId"] == configuration["id"]

    clock.advance(minutes=90)  # within the ttl: the same token
    assert (
        read_status_cwt(
            (await _token(api, uri)).content, uri=uri, index=index, iaca_pem=setup.iaca_pem, now=clock.now()
        ).claims[6]
        == first.claims[6]
    )
    clock.advance(minutes=31)  # the ttl passed: re-signed
    served = await _token(api, uri)
    assert (
        read_status_cwt(served.content, uri=uri, index=index, iaca_pem=setup.iaca_pem, now=clock.now()).claims[6]
        > first.claims[6]
    )
    assert int(served.headers["cache-control"].split("=")[1]) <= 300

    headers = await api.auth()  # the clock moved past the first token's lifetime
    assert (await api.http.delete(f"{base}/{configuration['id']}", headers=headers)).status_code == 204
    assert (await api.http.get(f"{base}/{configuration['id']}", headers=headers)).status_code == 404


@pytest.mark.parametrize("every_backend_url", ["sqlite"], indirect=True)
async def test_a_change_made_by_one_process_is_served_by_another(
    api: Any, every_backend_url: str, tmp_path: Path
) -> None:
    """Two containers on one database are two workers: each serves its own signed token, and a change made
    through one is in the other's token from its next request (the list's revision is read with each request)."""
    setup, _ = await _revocable_mdl(api)
    offer, reference = await _issue_mdl(api, setup)
    uri, index = reference["uri"], reference["idx"]
    (tmp_path / "second").mkdir()
    settings = make_settings(tmp_path / "second", database_url=every_backend_url)
    second = build(settings, clock=api.clock)
    await second.start()
    try:
        transport = httpx.ASGITransport(app=create_app(second))
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as other:
            path = urlsplit(uri).path
            read = read_status_cwt(
                (await other.get(path)).content, uri=uri, index=index, iaca_pem=setup.iaca_pem, now=api.clock.now()
            )
            assert read.status == "valid"
            (record,) = (await api.http.get(f"/v1/users/{offer['userId']}/credentials", headers=setup.headers)).json()[
                "data"
            ]
            await api.http.post(f"{MOBILE}/{record['id']}/status", headers=setup.headers, json={"status": "invalid"})
            read = read_status_cwt(
                (await other.get(path)).content, uri=uri, index=index, iaca_pem=setup.iaca_pem, now=api.clock.now()
            )
            assert read.status == "invalid"
    finally:
        await second.aclose()


async def test_a_deactivated_iaca_takes_its_lists_tokens_down_at_once(api: Any) -> None:
    """A token signed and cached before its IACA was deactivated is not served from the cache until its ``ttl``
    (12 hours by default) runs out: the list cannot be signed any more, so its token is 404 from the next request
    and the list leaves the distribution; reactivating the IACA brings both back."""
    setup, _ = await _revocable_mdl(api)
    _offer, reference = await _issue_mdl(api, setup)
    uri = reference["uri"]
    assert (await _token(api, uri)).status_code == 200  # signed and cached
    iaca_id = (await api.http.get(f"{MOBILE}/iacas", headers=setup.headers)).json()["data"][0]["id"]
    iaca_url = f"{MOBILE}/iacas/{iaca_id}"
    assert (await api.http.put(iaca_url, headers=setup.headers, json={"active": False})).status_code == 200

    assert (await _token(api, uri)).status_code == 404
    assert (await api.http.get(f"{MOBILE}/status-lists/distribution")).json() == {"status_lists": []}

    assert (await api.http.put(iaca_url, headers=setup.headers, json={"active": True})).status_code == 200
    served = await _token(api, uri)
    assert served.status_code == 200
    read = read_status_cwt(
        served.content, uri=uri, index=reference["idx"], iaca_pem=setup.iaca_pem, now=api.clock.now()
    )
    assert read.status == "valid"
    assert (await api.http.put(iaca_url, headers=setup.headers, json={"active": False})).status_code == 200
    assert (await api.http.delete(iaca_url, headers=setup.headers)).status_code == 204
    assert (await _token(api, uri)).status_code == 404  # deleted: not served from the cache either
