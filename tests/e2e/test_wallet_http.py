"""The wallet hot path's plain ASGI handlers: they answer before FastAPI, keep its logs, metrics and OpenAPI
description, and the FastAPI routes, which call the same handlers, answer the same."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from e2e.conftest import Api
from oi_issuer import make_setup
from oi_wallet import PRE_AUTHORIZED_GRANT, Wallet
from openissuer.web.metrics import REGISTRY

HOT = [
    ("POST", "/v1/oauth/token"),
    ("POST", "/v1/openid/nonce"),
    ("POST", "/v1/openid/credential"),
    ("GET", "/v1/openid/credential-offers/{reference}"),
    ("GET", "/.well-known/openid-credential-issuer"),
    ("GET", "/.well-known/oauth-authorization-server"),
]


async def test_the_hot_path_is_answered_without_fastapi_routing(api: Api) -> None:
    app = api.http._transport.app  # type: ignore[attr-defined]
    assert isinstance(app, FastAPI)
    hot_paths = {path for _, path in HOT}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in hot_paths]
    assert (await api.http.post("/v1/openid/nonce")).status_code == 200
    assert (await api.http.get("/.well-known/openid-credential-issuer")).status_code == 200
    token = await api.http.post(
        "/v1/oauth/token", data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": "x"}
    )
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant"
    # other methods on these paths are FastAPI's: it answers 405 (or 404 once its route is gone)
    assert (await api.http.get("/v1/openid/nonce")).status_code in (404, 405)


async def test_openapi_describes_the_hot_path(api: Api) -> None:
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    for method, path in HOT:
        assert method.lower() in paths[path], (method, path)


async def test_other_methods_on_hot_paths_fall_through_to_fastapi(api: Api) -> None:
    assert (await api.http.get("/v1/oauth/token")).status_code == 405
    assert (await api.http.put("/v1/openid/credential")).status_code == 405
    assert (await api.http.get("/v1/openid/credential-offers/a/b")).status_code == 404


async def test_logs_and_metrics_name_the_route_template(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="openissuer.access")
    response = await api.http.get("/v1/openid/credential-offers/secret-reference.tag")
    assert response.status_code == 404 and response.headers["cache-control"] == "no-store"
    assert response.headers["x-request-id"]
    records = [r for r in caplog.records if r.name == "openissuer.access"]
    assert records[-1].__dict__["route"] == "/v1/openid/credential-offers/{reference}"
    assert all("secret-reference" not in r.getMessage() + repr(r.__dict__) for r in records)
    sample = REGISTRY.get_sample_value(
        "openissuer_http_requests_total",
        {"method": "GET", "route": "/v1/openid/credential-offers/{reference}", "status": "404"},
    )
    assert sample is not None and sample >= 1


async def test_the_fastapi_routes_answer_as_the_plain_handlers_do(api: Api) -> None:
    """Requests sent to the FastAPI app itself (bypassing the plain handlers) get the same answers."""
    setup = await make_setup(api)
    app = api.http._transport.app  # type: ignore[attr-defined]

    async def fastapi_only(scope: Any, receive: Any, send: Any) -> None:
        await FastAPI.__call__(app, scope, receive, send)

    direct = httpx.AsyncClient(transport=httpx.ASGITransport(app=fastapi_only), base_url="https://issuer.example")
    async with direct:
        for client in (api.http, direct):
            wallet = Wallet(client)
            (credential,) = await wallet.claim((await setup.offer())["uri"])
            setup.verify(credential, wallet)
            bad = await client.post("/v1/openid/credential", json={}, headers={"Authorization": "Bearer nope"})
            assert (bad.status_code, bad.json()["error"]) == (401, "invalid_token")
            form = await client.post(
                "/v1/oauth/token",
                content=b"grant_type=a&grant_type=b",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert form.json() == {"error": "invalid_request", "error_description": "grant_type appears more than once"}
