"""Management API authentication: client credentials, bearer tokens, roles and tenant isolation."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from openissuer.domain.api_clients import Role
from openissuer.domain.ids import DEFAULT_TENANT_ID, new_id
from openissuer.domain.tenants import Tenant

ADMIN_ID = "test-admin"
ADMIN_SECRET = "test-admin-secret-0123456789"


def assert_management_error(body: dict[str, Any], code: str) -> None:
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], list)


async def test_token_with_json_body(api: Any) -> None:
    response = await api.http.post(
        "/v1/auth/token",
        json={"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["access_token"].count(".") == 2
    assert response.headers["cache-control"] == "no-store"


async def test_token_with_form_body_and_basic_auth(api: Any) -> None:
    form = await api.http.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET},
    )
    assert form.status_code == 200
    basic = base64.b64encode(f"{ADMIN_ID}:{ADMIN_SECRET}".encode()).decode()
    response = await api.http.post(
        "/v1/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("client_id", "client_secret"),
    [(ADMIN_ID, "wrong-secret-wrong-secret"), ("unknown-client", ADMIN_SECRET), (ADMIN_ID, ADMIN_SECRET + "x")],
)
async def test_wrong_credentials_are_401_with_error_body(api: Any, client_id: str, client_secret: str) -> None:
    response = await api.http.post(
        "/v1/auth/token",
        json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
    )
    assert response.status_code == 401
    body = response.json()
    assert_management_error(body, "Unauthorized")
    assert body["error"] == "invalid_client"
    assert client_secret not in response.text


async def test_malformed_basic_credentials_are_401(api: Any) -> None:
    response = await api.http.post("/v1/auth/token", headers={"Authorization": "Basic %%%"}, data={})
    assert response.status_code == 401


async def test_unsupported_grant_type(api: Any) -> None:
    response = await api.http.post(
        "/v1/auth/token", json={"grant_type": "password", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert response.json()["details"][0]["param"] == "grant_type"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"client_id": ADMIN_ID}, "client_secret"),
        ({"client_secret": ADMIN_SECRET}, "client_id"),
        ({"client_id": 5, "client_secret": ADMIN_SECRET}, "client_id"),
    ],
)
async def test_missing_fields_are_invalid_request(api: Any, body: dict[str, Any], param: str) -> None:
    response = await api.http.post("/v1/auth/token", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["details"][0]["param"] == param


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]"])
async def test_non_object_bodies_are_invalid_request(api: Any, raw: bytes) -> None:
    response = await api.http.post("/v1/auth/token", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0LWFkbWluIn0."},
    ],
)
async def test_missing_or_invalid_token_is_401(api: Any, headers: dict[str, str]) -> None:
    response = await api.http.get("/v1/api-clients", headers=headers)
    assert response.status_code == 401
    assert_management_error(response.json(), "Unauthorized")
    assert "Bearer" in response.headers["www-authenticate"]


async def test_expired_token_is_401(api: Any) -> None:
    headers = await api.auth()
    assert (await api.http.get("/v1/api-clients", headers=headers)).status_code == 200
    api.clock.advance(seconds=599)
    assert (await api.http.get("/v1/api-clients", headers=headers)).status_code == 200
    api.clock.advance(seconds=1)
    response = await api.http.get("/v1/api-clients", headers=headers)
    assert response.status_code == 401
    assert response.json()["message"] == "Expired bearer token"


async def test_token_signed_with_another_key_is_401(api: Any) -> None:
    from openissuer.crypto.hmac_jwt import HmacJwtCodec

    forged = HmacJwtCodec(b"k" * 32).encode(
        {"iss": "openissuer", "aud": "openissuer-management", "sub": ADMIN_ID, "exp": 4_000_000_000}
    )
    response = await api.http.get("/v1/api-clients", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_deleting_a_client_revokes_its_tokens(api: Any) -> None:
    admin = await api.auth()
    created = (await api.http.post("/v1/api-clients", headers=admin, json={"name": "x", "roles": ["admin"]})).json()
    theirs = await api.auth(created["clientId"], created["clientSecret"])
    assert (await api.http.get("/v1/api-clients", headers=theirs)).status_code == 200
    assert (await api.http.delete(f"/v1/api-clients/{created['id']}", headers=admin)).status_code == 204
    assert (await api.http.get("/v1/api-clients", headers=theirs)).status_code == 401


@pytest.mark.parametrize(
    ("role", "method", "path", "expected"),
    [
        ("issuer", "GET", "/v1/api-clients", 403),
        ("issuer", "POST", "/v1/api-clients", 403),
        ("auditor", "POST", "/v1/api-clients", 403),
        ("auditor", "DELETE", "/v1/api-clients/{id}", 403),
        ("auditor", "GET", "/v1/api-clients", 200),
        ("auditor", "GET", "/v1/api-clients/{id}", 200),
    ],
)
async def test_roles(api: Any, role: str, method: str, path: str, expected: int) -> None:
    created = await api.container.api_clients.create_client(
        DEFAULT_TENANT_ID,
        name=role,
        roles=(Role(role),),
    )
    headers = await api.auth(created.client.client_id, created.client_secret)
    body = {"name": "n", "roles": ["issuer"]} if method == "POST" else None
    response = await api.http.request(method, path.format(id=created.client.id), headers=headers, json=body)
    assert response.status_code == expected, response.text
    if expected == 403:
        assert_management_error(response.json(), "Forbidden")


async def test_another_tenants_object_is_404(api: Any) -> None:
    other = Tenant(id=new_id(), name="other", created_at=api.clock.now())
    async with api.container.uow_factory() as uow:
        await uow.tenants.add(other)
        await uow.commit()
    theirs = await api.container.api_clients.create_client(other.id, name="theirs", roles=(Role.ADMIN,))
    admin = await api.auth()
    for method in ("GET", "DELETE"):
        response = await api.http.request(method, f"/v1/api-clients/{theirs.client.id}", headers=admin)
        assert response.status_code == 404
        assert_management_error(response.json(), "NotFound")
    listed = (await api.http.get("/v1/api-clients", headers=admin)).json()["data"]
    assert theirs.client.id not in {c["id"] for c in listed}
    # and the other tenant's admin sees only its own tenant
    their_headers = await api.auth(theirs.client.client_id, theirs.client_secret)
    listed = (await api.http.get("/v1/api-clients", headers=their_headers)).json()["data"]
    assert [c["id"] for c in listed] == [theirs.client.id]


async def test_a_client_deleted_and_created_again_does_not_revive_old_tokens(api: Any) -> None:
    """A token names its client's identity (the record), not only its client_id: the bootstrap settings re-create
    a deleted client under the same client_id and secret, and the old tokens stay dead."""
    old = await api.auth()
    client = await api.container.api_clients.find_by_client_id(ADMIN_ID)
    await api.container.api_clients.delete_client(DEFAULT_TENANT_ID, client.id)
    assert await api.container.api_clients.ensure_bootstrap_client(ADMIN_ID, ADMIN_SECRET)
    assert (await api.http.get("/v1/api-clients", headers=old)).status_code == 401
    assert (await api.http.get("/v1/api-clients", headers=await api.auth())).status_code == 200


async def test_openapi_documents_real_error_statuses_with_the_error_schemas(api: Any) -> None:
    spec = (await api.http.get("/openapi.json")).json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert "422" not in operation["responses"], (method, path)
    clients = spec["paths"]["/v1/api-clients/{id}"]
    assert {"400", "401", "403", "404"} <= set(clients["get"]["responses"])
    error = clients["get"]["responses"]["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ManagementError"}
    assert {"409", "413"} <= set(spec["paths"]["/v1/api-clients"]["post"]["responses"])
    token = spec["paths"]["/v1/oauth/token"]["post"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert token == {"$ref": "#/components/schemas/OAuthError"}


def test_the_database_engines_never_show_statement_parameters(tmp_path: Any) -> None:
    from openissuer.adapters.sql.engine import create_async_db_engine, create_sync_db_engine

    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert create_sync_db_engine(url).hide_parameters
    assert create_async_db_engine(url).sync_engine.hide_parameters
    assert create_async_db_engine("postgresql://u@127.0.0.1/x").sync_engine.hide_parameters
