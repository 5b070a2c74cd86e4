"""Management API conventions: pagination, validation errors, secrets write-only, OpenAPI, operations."""

from __future__ import annotations

import logging
from typing import Any

import pytest

ADMIN_ID = "test-admin"
ADMIN_SECRET = "test-admin-secret-0123456789"


async def test_create_returns_secret_once_and_never_again(api: Any) -> None:
    headers = await api.auth()
    created = await api.http.post("/v1/api-clients", headers=headers, json={"name": "ci", "roles": ["issuer"]})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "clientId", "name", "roles", "createdAt", "clientSecret"}
    assert len(body["clientSecret"]) >= 32
    read = await api.http.get(f"/v1/api-clients/{body['id']}", headers=headers)
    assert read.status_code == 200
    assert "clientSecret" not in read.json()
    assert body["clientSecret"] not in read.text
    listed = await api.http.get("/v1/api-clients", headers=headers)
    assert body["clientSecret"] not in listed.text
    # the secret works
    assert await api.token(body["clientId"], body["clientSecret"])


async def test_pagination_walks_every_client_once(api: Any) -> None:
    headers = await api.auth()
    for i in range(5):
        api.clock.advance(seconds=1)
        await api.http.post("/v1/api-clients", headers=headers, json={"name": f"c{i}", "roles": ["auditor"]})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await api.http.get("/v1/api-clients", headers=headers, params=params)).json()
        assert len(page["data"]) <= 2
        seen += [c["name"] for c in page["data"]]
        cursor = page.get("nextCursor")
        if not cursor:
            break
    assert seen == ["bootstrap", "c0", "c1", "c2", "c3", "c4"]


async def test_default_limit_and_no_cursor_on_last_page(api: Any) -> None:
    page = (await api.http.get("/v1/api-clients", headers=await api.auth())).json()
    assert page == {"data": page["data"]}
    assert len(page["data"]) == 1


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "Y3JlYXRlZEF0PXg"}, "cursor"),
    ],
)
async def test_bad_paging_parameters_are_400_with_details(api: Any, params: dict[str, str], param: str) -> None:
    response = await api.http.get("/v1/api-clients", headers=await api.auth(), params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "BadRequest"
    assert body["details"][0]["param"] == param
    assert body["details"][0]["location"] == "query"


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"name": "x", "roles": ["root"]}, "roles.0"),
        ({"name": "x", "roles": []}, "roles"),
        ({"roles": ["admin"]}, "name"),
    ],
)
async def test_body_validation_errors_name_the_field(api: Any, payload: dict[str, Any], param: str) -> None:
    response = await api.http.post("/v1/api-clients", headers=await api.auth(), json=payload)
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Validation Error"
    assert param in [d["param"] for d in body["details"]]
    assert all(d["location"] == "body" for d in body["details"])


async def test_unknown_route_and_method(api: Any) -> None:
    response = await api.http.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"
    response = await api.http.put("/v1/auth/token")
    assert response.status_code == 405


async def test_unexpected_error_is_a_500_without_internals(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async def explode(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("database password is hunter2")

    headers = await api.auth()
    monkeypatch.setattr(api.container.api_clients, "list_as", explode)
    response = await api.http.get("/v1/api-clients", headers=headers)
    assert response.status_code == 500
    assert response.json() == {"error": "server_error", "error_description": "The server encountered an internal error"}
    assert "hunter2" not in response.text


async def test_health_ready_metrics(api: Any) -> None:
    assert (await api.http.get("/health")).json()["status"] == "ok"
    assert (await api.http.get("/ready")).json() == {"status": "ready"}
    await api.http.get("/v1/api-clients/some-id")
    metrics = await api.http.get("/metrics")
    assert metrics.status_code == 200
    assert 'openissuer_http_requests_total{method="GET",route="/v1/api-clients/{id}",status="401"}' in metrics.text
    assert "openissuer_http_request_duration_seconds_bucket" in metrics.text
    assert "some-id" not in metrics.text  # labels are route templates, not raw paths


async def test_request_id_is_echoed_or_generated(api: Any) -> None:
    response = await api.http.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    generated = await api.http.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32


async def test_openapi_describes_the_api(api: Any) -> None:
    spec = (await api.http.get("/openapi.json")).json()
    assert {"/v1/auth/token", "/v1/api-clients", "/v1/api-clients/{id}", "/health", "/ready"} <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    token_body = spec["paths"]["/v1/auth/token"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= set(token_body)
    assert (await api.http.get("/docs")).status_code == 200


async def test_logs_never_contain_secrets_or_tokens(api: Any, caplog: pytest.LogCaptureFixture) -> None:
    from openissuer.cli.logs import redact_secrets

    caplog.set_level(logging.DEBUG)
    token = await api.token()
    headers = {"Authorization": f"Bearer {token}"}
    created = (await api.http.post("/v1/api-clients", headers=headers, json={"name": "x", "roles": ["admin"]})).json()
    await api.http.post("/v1/auth/token", json={"client_id": ADMIN_ID, "client_secret": "wrong-but-secret-value"})
    await api.http.get("/v1/api-clients?cursor=secret-in-query", headers=headers)
    rendered = []
    for record in caplog.records:
        if record.name.startswith("httpx"):
            continue  # the test's own HTTP client, not the server
        event = redact_secrets(None, "info", {"event": record.getMessage(), **record.__dict__})
        rendered.append(repr(event))
    text = "\n".join(rendered)
    for secret in (ADMIN_SECRET, token, created["clientSecret"], "wrong-but-secret-value", "secret-in-query"):
        assert secret not in text


async def test_oversized_bodies_are_413(api: Any) -> None:
    big = b"{" + b" " * (1024 * 1024) + b"}"
    response = await api.http.post("/v1/auth/token", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "PayloadTooLarge"

    async def chunks() -> Any:
        for _ in range(20):
            yield b" " * 65536

    streamed = await api.http.post(
        "/v1/openid/credential",
        content=chunks(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )
    assert streamed.status_code in (401, 413)  # the token is checked before the body is read
    streamed = await api.http.post("/v1/auth/token", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


async def test_openapi_documents_the_wallet_request_bodies(api: Any) -> None:
    spec = (await api.http.get("/openapi.json")).json()
    credential = spec["paths"]["/v1/openid/credential"]["post"]["requestBody"]["content"]["application/json"]
    assert "proofs" in credential["schema"]["properties"]
    token = spec["paths"]["/v1/oauth/token"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in token
    assert "/v1/oauth/authorize" in spec["paths"] and "/v1/oauth/par" in spec["paths"]
