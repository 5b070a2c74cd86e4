"""The users API (reference platform §5.2) on memory, SQLite and PostgreSQL: CRUD with paged lists, exact search,
the records of the credentials issued to a user (metadata, never claim values), offers for an existing user, and
deleting a user (its persisted claims go, its credentials stay valid). Another tenant's user is 404 everywhere.
"""

from __future__ import annotations

from typing import Any

import pytest

from oi_issuer import CLAIMS, MDL, NS, Setup, make_setup
from oi_wallet import Wallet
from openissuer.domain.ids import DEFAULT_TENANT_ID


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


@pytest.fixture
async def setup(api: Any) -> Setup:
    return await make_setup(api)


async def other_tenant(api: Any) -> dict[str, str]:
    created = await api.container.tenant_admin.create("Other", "https://other.example")
    return dict(await api.auth(created.admin_client.client_id, created.admin_client_secret))


async def provider_id(setup: Setup) -> str:
    created = await setup.api.http.post(
        "/v1/users/authentication-providers",
        headers=setup.headers,
        json={"url": "https://idp.example.com", "clientId": "c", "clientSecret": "s" * 16},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_users_crud_and_pages(setup: Setup) -> None:
    http, headers = setup.api.http, setup.headers
    provider = await provider_id(setup)
    created = await http.post(
        "/v1/users",
        headers=headers,
        json={
            "claims": {"email": "ana@example.com"},
            "authenticationProvider": {"providerId": provider, "subjectId": "ana"},
        },
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user == {
        "id": user["id"],
        "claims": {"email": "ana@example.com"},
        "authenticationProvider": {"providerId": provider, "url": "https://idp.example.com", "subjectId": "ana"},
    }
    path = f"/v1/users/{user['id']}"
    assert (await http.get(path, headers=headers)).json() == user
    taken = await http.post(
        "/v1/users", headers=headers, json={"authenticationProvider": {"providerId": provider, "subjectId": "ana"}}
    )
    assert taken.status_code == 409
    replaced = await http.put(path, headers=headers, json={"claims": {"email": "new@example.com"}})
    assert replaced.json() == {"id": user["id"], "claims": {"email": "new@example.com"}}
    for i in range(4):
        assert (await http.post("/v1/users", headers=headers, json={"claims": {"i": i}})).status_code == 201
    first = (await http.get("/v1/users", headers=headers, params={"limit": 3})).json()
    rest = (await http.get("/v1/users", headers=headers, params={"limit": 3, "cursor": first["nextCursor"]})).json()
    assert len(first["data"]) == 3 and len(rest["data"]) == 2 and "nextCursor" not in rest
    assert user["id"] in [u["id"] for u in first["data"] + rest["data"]]
    assert (await http.delete(path, headers=headers)).status_code == 204
    assert (await http.get(path, headers=headers)).status_code == 404
    assert (await http.delete(path, headers=headers)).status_code == 404
    unknown = await http.post(
        "/v1/users", headers=headers, json={"authenticationProvider": {"providerId": "nope", "subjectId": "x"}}
    )
    assert unknown.status_code == 400
    assert unknown.json()["details"][0]["param"] == "authenticationProvider.providerId"


async def test_search_is_exact_and_paged(setup: Setup) -> None:
    http, headers = setup.api.http, setup.headers
    provider = await provider_id(setup)
    people = [
        {"claims": {"name": "Ana", "address": {"country": "NZ", "city": "Wellington"}, "age": 30}},
        {"claims": {"name": "Ana", "address": {"country": "AU"}, "age": "30"}},
        {
            "claims": {"name": "Bob", "address": {"country": "NZ"}},
            "authenticationProvider": {"providerId": provider, "subjectId": "bob"},
        },
        *({"claims": {"name": "Many", "n": i}} for i in range(5)),
    ]
    ids = []
    for person in people:  # one second apart: lists are in creation order
        ids.append((await http.post("/v1/users", headers=headers, json=person)).json()["id"])
        setup.api.clock.advance(seconds=1)

    async def search(**body: Any) -> list[str]:
        response = await http.post("/v1/users/search", headers=headers, json=body)
        assert response.status_code == 200, response.text
        return [u["id"] for u in response.json()["data"]]

    assert await search(claims={"name": "Ana"}) == ids[:2]
    assert await search(claims={"address": {"country": "NZ"}}) == [ids[0], ids[2]]
    assert await search(claims={"name": "Ana", "age": 30}) == [ids[0]]
    assert await search(authenticationProvider={"providerId": provider, "subjectId": "bob"}) == [ids[2]]
    assert await search(authenticationProvider={"subjectId": "bob"}, claims={"name": "Ana"}) == []
    assert await search(claims={"name": "Nobody"}) == []
    page = (await http.post("/v1/users/search", headers=headers, json={"claims": {"name": "Many"}, "limit": 2})).json()
    found = [u["id"] for u in page["data"]]
    while "nextCursor" in page:
        body = {"claims": {"name": "Many"}, "limit": 2, "cursor": page["nextCursor"]}
        page = (await http.post("/v1/users/search", headers=headers, json=body)).json()
        found += [u["id"] for u in page["data"]]
    assert found == ids[3:]
    bad = await http.post("/v1/users/search", headers=headers, json={"limit": 0})
    assert bad.status_code == 400


async def test_an_offer_for_an_existing_user_uses_its_persisted_claims(setup: Setup) -> None:
    http, headers = setup.api.http, setup.headers
    user = (await http.post("/v1/users", headers=headers, json={"claims": {"family_name": "Persisted"}})).json()
    partial = {k: v for k, v in CLAIMS.items() if k != "family_name"}
    offer = await setup.offer(userId=user["id"], claims=partial)  # the required family_name is persisted
    assert offer["userId"] == user["id"]
    wallet = Wallet(http)
    credential = (await wallet.claim(offer["uri"]))[0]
    assert setup.verify(credential, wallet)["family_name"] == "Persisted"
    missing = await http.post(
        "/v1/openid/offers/pre-authorized",
        headers=headers,
        json={
            "credentials": [setup.configuration_id],
            "claims": partial,
            "userId": "00000000-0000-4000-8000-0000000000aa",
        },
    )
    assert missing.status_code == 400 and missing.json()["details"][0]["param"] == "userId"


async def test_a_users_credentials_are_listed_without_claim_values_and_survive_the_user(setup: Setup) -> None:
    http, headers = setup.api.http, setup.headers
    offer = await setup.offer()
    wallet = Wallet(http)
    (credential,) = await wallet.claim(offer["uri"])
    path = f"/v1/users/{offer['userId']}"
    listed = await http.get(f"{path}/credentials", headers=headers)
    assert listed.status_code == 200, listed.text
    (record,) = listed.json()["data"]
    assert record["type"] == MDL and record["profile"] == "mobile" and record["format"] == "mso_mdoc"
    assert record["credentialConfigurationId"] == setup.configuration_id and record["offerId"] == offer["id"]
    assert record["status"] == "valid" and record["docType"] == MDL
    assert record["devicePublicKey"] == wallet.key.as_dict(private=False)
    assert set(record["namespaces"][NS]) == {"given_name", "family_name", "birth_date"}
    assert set(record["namespaces"][NS]["given_name"]) == {"digestID", "digest"}
    assert {"issuedDate", "validFrom", "validUntil", "msoHash", "id"} <= set(record)
    for value in CLAIMS.values():
        assert value not in listed.text
    assert (await http.delete(path, headers=headers)).status_code == 204
    assert (await http.get(f"{path}/credentials", headers=headers)).status_code == 404
    async with setup.api.container.uow_factory(read_only=True) as uow:
        kept = await uow.issued_credentials.get(DEFAULT_TENANT_ID, record["id"])
    assert kept is not None and kept.status == "valid" and kept.user_id == offer["userId"]
    assert setup.verify(credential, wallet)["given_name"] == "Ana"  # the credential itself is untouched


async def test_another_tenants_users_are_not_found(setup: Setup) -> None:
    http, headers = setup.api.http, setup.headers
    user = (await http.post("/v1/users", headers=headers, json={"claims": {"name": "Ana"}})).json()
    other = await other_tenant(setup.api)
    path = f"/v1/users/{user['id']}"
    for method, suffix, body in (
        ("GET", "", None),
        ("PUT", "", {"claims": {}}),
        ("DELETE", "", None),
        ("GET", "/credentials", None),
    ):
        response = await http.request(method, path + suffix, headers=other, json=body)
        assert response.status_code == 404, (method, suffix)
        assert response.json()["details"] == [
            {"location": "params", "param": "id", "msg": "Resource Not Found", "value": user["id"]}
        ]
    assert (await http.get("/v1/users", headers=other)).json() == {"data": []}
    assert (await http.post("/v1/users/search", headers=other, json={"claims": {"name": "Ana"}})).json() == {"data": []}
    offer = await http.post(
        "/v1/openid/offers/pre-authorized",
        headers=other,
        json={"credentials": ["x"], "userId": user["id"]},
    )
    assert offer.status_code == 400 and "userId" in [d["param"] for d in offer.json()["details"]]
    assert (await http.get(path, headers=headers)).json() == user  # untouched in its own tenant


async def test_roles(setup: Setup) -> None:
    from openissuer.domain.api_clients import Role

    api = setup.api
    auditor = await api.container.api_clients.create_client(DEFAULT_TENANT_ID, name="aud", roles=(Role.AUDITOR,))
    headers = await api.auth(auditor.client.client_id, auditor.client_secret)
    assert (await api.http.get("/v1/users", headers=headers)).status_code == 200
    assert (await api.http.post("/v1/users/search", headers=headers, json={})).status_code == 200
    assert (await api.http.post("/v1/users", headers=headers, json={})).status_code == 403
