"""The wallet fast path in the server's HTTP protocol (cli/http_protocol.py, ``WalletHttpProtocol``).

A plain request for a wallet endpoint is answered by the protocol itself, past uvicorn's ASGI cycle and the
middleware; everything else goes through the ASGI app. Driven here through the real protocol on a recording
transport, with the real app: a whole issuance over the fast path, the same answers as the ASGI path (headers,
errors, request ids, logs, metrics), and each case that must fall back.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import h11
import httpx
import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from e2e.conftest import Api
from oi_http_protocol import RecordingTransport
from oi_issuer import make_setup
from oi_wallet import PRE_AUTHORIZED_GRANT, Wallet
from openissuer.cli.http_protocol import WalletHttpProtocol
from openissuer.web.metrics import REGISTRY
from openissuer.web.wallet_http import WalletEndpoints, WalletResponse

HOST = "issuer.example"
FAST, ASGI = "_WalletCycle", "RequestResponseCycle"


def _app(api: Api) -> Any:
    return api.http._transport.app  # type: ignore[attr-defined]


def _connect(api: Api, **options: Any) -> tuple[WalletHttpProtocol, RecordingTransport]:
    config = Config(app=_app(api), lifespan="off", log_config=None, **{"proxy_headers": False, **options})
    state = ServerState()
    state.default_headers = [(b"date", b"Thu, 03 Dec 2026 14:00:00 GMT")]  # what uvicorn's server keeps current
    protocol = WalletHttpProtocol(config, state, {}, asyncio.get_running_loop())
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def _settle(transport: RecordingTransport, responses: int, seen: int = 0) -> None:
    """Wait until ``responses`` responses were written after the first ``seen`` writes."""
    for _ in range(500):
        if b"".join(transport.writes[seen:]).count(b"HTTP/1.1 ") >= responses:
            break
        await asyncio.sleep(0.005)
    await asyncio.sleep(0)  # the end-of-step flush


class ProtocolTransport(httpx.AsyncBaseTransport):
    """httpx over one keep-alive connection of the server's protocol; ``paths`` records which path answered."""

    def __init__(self, api: Api, *, fast: bool = True) -> None:
        self.api = api
        self.fast = fast
        self.protocol: WalletHttpProtocol | None = None
        self.transport = RecordingTransport()
        self.connection = h11.Connection(h11.CLIENT)
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.protocol is None:
            self.protocol, self.transport = _connect(self.api)
            if not self.fast:
                self.protocol._wallet = None
        body = await request.aread()
        headers = [(name, value) for name, value in request.headers.raw if name.lower() != b"transfer-encoding"]
        if body and not any(name.lower() == b"content-length" for name, _ in headers):
            headers.append((b"content-length", str(len(body)).encode()))
        data = self.connection.send(h11.Request(method=request.method, target=request.url.raw_path, headers=headers))
        data += self.connection.send(h11.Data(data=body)) if body else b""
        data += self.connection.send(h11.EndOfMessage())
        seen = len(self.transport.writes)
        self.protocol.data_received(data)
        self.paths.append(type(self.protocol.cycle).__name__)
        await _settle(self.transport, 1, seen)
        for chunk in self.transport.writes[seen:]:
            self.connection.receive_data(chunk)
        response: h11.Response | None = None
        content = b""
        while True:
            event = self.connection.next_event()
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                content += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise AssertionError(f"incomplete response: {event!r}")
        self.connection.start_next_cycle()
        assert response is not None
        return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)


def _client(transport: ProtocolTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, base_url=f"https://{HOST}")


async def test_a_whole_issuance_takes_the_fast_path_and_verifies(api: Api) -> None:
    setup = await make_setup(api)
    transport = ProtocolTransport(api)
    async with _client(transport) as client:
        wallet = Wallet(client)
        (credential,) = await wallet.claim((await setup.offer(byReference=True))["uri"])
    claims = setup.verify(credential, wallet)
    assert claims["given_name"]
    # offer by reference, the two metadata documents, token, nonce, credential: every one on the fast path
    assert transport.paths and set(transport.paths) == {FAST}, transport.paths
    assert len(transport.paths) >= 5


def _comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.items() if k not in ("date", "x-request-id", "dpop-nonce")]
    return response.status_code, headers, response.content


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/oauth/token", {"data": {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": "nope"}}),
    ("POST", "/v1/oauth/token", {"data": {"grant_type": "password"}}),
    (
        "POST",
        "/v1/oauth/token",
        {
            "content": b"grant_type=a&grant_type=b",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
    ),
    ("POST", "/v1/oauth/token", {"json": {"grant_type": PRE_AUTHORIZED_GRANT}}),
    ("POST", "/v1/openid/credential", {"json": {}}),
    ("POST", "/v1/openid/credential", {"json": {}, "headers": {"Authorization": "Bearer nope"}}),
    ("POST", "/v1/openid/credential", {"content": b"{", "headers": {"Authorization": "Basic x"}}),
    ("GET", "/v1/openid/credential-offers/unknown-reference", {}),
    ("GET", "/.well-known/openid-credential-issuer/no/such/tenant", {}),
    ("GET", "/.well-known/oauth-authorization-server", {}),
    ("GET", "/.well-known/openid-credential-issuer", {}),
]


async def test_the_fast_path_answers_as_the_asgi_path_does(api: Api) -> None:
    fast, slow = ProtocolTransport(api), ProtocolTransport(api, fast=False)
    async with _client(fast) as fast_client, _client(slow) as slow_client:
        for method, path, options in REQUESTS:
            answers = [await client.request(method, path, **options) for client in (fast_client, slow_client)]
            assert _comparable(answers[0]) == _comparable(answers[1]), (method, path)
            assert answers[0].headers["date"] and answers[0].headers["x-request-id"]
        nonces = [(await client.post("/v1/openid/nonce")) for client in (fast_client, slow_client)]
        assert [n.status_code for n in nonces] == [200, 200]
        assert [sorted(n.json()) for n in nonces] == [["c_nonce"], ["c_nonce"]]
        assert _comparable(nonces[0])[1] == _comparable(nonces[1])[1]
    assert set(fast.paths) == {FAST}
    assert set(slow.paths) == {ASGI}


async def test_errors_say_no_store_and_every_answer_echoes_a_valid_request_id(api: Api) -> None:
    transport = ProtocolTransport(api)
    async with _client(transport) as client:
        unknown = await client.get("/v1/openid/credential-offers/x", headers={"X-Request-ID": "trace-1.a_b"})
        assert unknown.status_code == 404
        assert unknown.headers["cache-control"] == "no-store"
        assert unknown.headers["x-request-id"] == "trace-1.a_b"
        forged = await client.post("/v1/openid/nonce", headers={"X-Request-ID": "bad id\twith space"})
        assert forged.status_code == 200 and forged.headers["x-request-id"] != "bad id\twith space"
        assert len(forged.headers["x-request-id"]) == 32
        unauthorized = await client.post("/v1/openid/credential", json={})
        assert unauthorized.status_code == 401
        assert unauthorized.headers["www-authenticate"].startswith("Bearer")
        assert unauthorized.headers["cache-control"] == "no-store"
    assert set(transport.paths) == {FAST}


async def test_the_fast_path_logs_and_counts_the_route_template(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="openissuer.access")
    labels = {"method": "GET", "route": "/v1/openid/credential-offers/{reference}", "status": "404"}
    before = REGISTRY.get_sample_value("openissuer_http_requests_total", labels) or 0
    transport = ProtocolTransport(api)
    async with _client(transport) as client:
        assert (await client.get("/v1/openid/credential-offers/secret-reference")).status_code == 404
    assert transport.paths == [FAST]
    assert REGISTRY.get_sample_value("openissuer_http_requests_total", labels) == before + 1
    records = [r for r in caplog.records if r.name == "openissuer.access"]
    assert records[-1].__dict__["route"] == labels["route"] and records[-1].__dict__["status"] == 404
    assert all("secret-reference" not in r.getMessage() + repr(r.__dict__) for r in records)


NONCE = b"POST /v1/openid/nonce HTTP/1.1\r\nHost: issuer.example\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        # HTTP/1.0, or a connection the client closes after this request
        (b"POST /v1/openid/nonce HTTP/1.0\r\nHost: issuer.example\r\nContent-Length: 0\r\n\r\n", 200),
        (
            b"POST /v1/openid/nonce HTTP/1.0\r\nHost: issuer.example\r\nConnection: keep-alive\r\n"
            b"Content-Length: 0\r\n\r\n",
            200,
        ),
        (b"POST /v1/openid/nonce HTTP/1.1\r\nHost: issuer.example\r\nConnection: close\r\n\r\n", 200),
        # a body in chunks, or one announced with Expect: 100-continue
        (
            b"POST /v1/openid/nonce HTTP/1.1\r\nHost: issuer.example\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            200,
        ),
        (
            b"POST /v1/openid/nonce HTTP/1.1\r\nHost: issuer.example\r\nExpect: 100-continue\r\n"
            b"Content-Length: 0\r\n\r\n",
            200,
        ),
        # a body over the limit: refused with 413 by the request middleware
        (b"POST /v1/openid/nonce HTTP/1.1\r\nHost: issuer.example\r\nContent-Length: 2000000\r\n\r\n", 413),
        # a percent-encoded path, an alias, a query string on a path that is not a wallet endpoint
        (b"POST /v1/openid/%6Eonce HTTP/1.1\r\nHost: issuer.example\r\nContent-Length: 0\r\n\r\n", 200),
        (b"GET /v1/openid/credential-offers/a%2Fb HTTP/1.1\r\nHost: issuer.example\r\n\r\n", 404),
        (b"POST /core/v1/openid/nonce HTTP/1.1\r\nHost: issuer.example\r\nContent-Length: 0\r\n\r\n", 200),
        (b"GET /v1/openid/nonce HTTP/1.1\r\nHost: issuer.example\r\n\r\n", 405),
        # a zero-padded Content-Length longer than int() takes (4,300 digits): valid HTTP, answered as uvicorn does
        (
            b"POST /v1/openid/nonce HTTP/1.1\r\nHost: issuer.example\r\nContent-Length: "
            + b"0" * 4300
            + b"2\r\n\r\n{}",
            200,
        ),
    ],
)
async def test_requests_that_are_not_plain_take_the_asgi_path(api: Api, request_bytes: bytes, status: int) -> None:
    protocol, transport = _connect(api)
    protocol.data_received(request_bytes)
    assert type(protocol.cycle).__name__ == ASGI
    await _settle(transport, 1)
    head = b"".join(transport.writes).split(b"\r\n\r\n")[0]
    assert head.startswith(b"HTTP/1.1 %d " % status) or head.startswith(b"HTTP/1.1 100 "), head


@pytest.mark.parametrize(
    "options",
    [{"proxy_headers": True}, {"root_path": "/issuer"}, {"limit_concurrency": 100}],
    ids=["behind a declared proxy", "under a root path", "with a concurrency limit"],
)
async def test_a_wrapped_or_limited_app_takes_the_asgi_path(api: Api, options: dict[str, Any]) -> None:
    protocol, transport = _connect(api, **options)
    protocol.data_received(NONCE)
    assert type(protocol.cycle).__name__ == ASGI
    await _settle(transport, 1)
    assert b"".join(transport.writes).startswith(b"HTTP/1.1 200 ")


async def test_pipelined_requests_are_answered_in_order(api: Api) -> None:
    # fast, then one for the ASGI app (queued behind the first), then fast again (queued behind the second)
    protocol, transport = _connect(api)
    not_allowed = b"GET /v1/openid/nonce HTTP/1.1\r\nHost: issuer.example\r\n\r\n"
    unknown = b"GET /v1/openid/credential-offers/x HTTP/1.1\r\nHost: issuer.example\r\n\r\n"
    protocol.data_received(NONCE + not_allowed + unknown + NONCE)
    await _settle(transport, 4)
    statuses = [part.split(b" ")[0] for part in b"".join(transport.writes).split(b"HTTP/1.1 ")[1:]]
    assert statuses == [b"200", b"405", b"404", b"200"]
    assert not transport.closed


async def _held(api: Api, monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """Make the wallet handlers wait for ``release`` (``entered`` says one is waiting)."""
    entered, release = asyncio.Event(), asyncio.Event()
    respond: Callable[..., Awaitable[Any]] = WalletEndpoints.respond

    async def held(self: WalletEndpoints, *args: Any) -> Any:
        entered.set()
        await release.wait()
        return await respond(self, *args)

    monkeypatch.setattr(WalletEndpoints, "respond", held)
    return entered, release


async def test_a_response_is_not_written_to_a_connection_lost_meanwhile(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    entered, release = await _held(api, monkeypatch)
    protocol, transport = _connect(api)
    protocol.data_received(NONCE)
    await entered.wait()
    protocol.connection_lost(None)  # the client went away; the transport is closed
    release.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert transport.writes == []
    assert protocol.cycle.response_complete and not protocol.tasks
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no write was tried after the close


async def test_a_shutdown_during_a_request_closes_after_its_response(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = await _held(api, monkeypatch)
    protocol, transport = _connect(api)
    protocol.data_received(NONCE)
    await entered.wait()
    protocol.shutdown()  # the server stops: the request in progress is answered, then the connection closes
    assert not transport.closed
    release.set()
    await _settle(transport, 1)
    response = b"".join(transport.writes)
    assert response.startswith(b"HTTP/1.1 200 ") and b"\r\nconnection: close\r\n" in response
    assert transport.closed


async def test_a_header_value_with_a_line_break_is_never_written(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # uvicorn refuses such a value; so does the fast path: the connection closes unanswered, nothing is injected
    async def injected(self: WalletEndpoints, *args: Any) -> WalletResponse:
        return WalletResponse(200, b"{}", {"DPoP-Nonce": "n\r\nSet-Cookie: stolen=1"})

    monkeypatch.setattr(WalletEndpoints, "respond", injected)
    caplog.set_level(logging.ERROR)
    protocol, transport = _connect(api)
    protocol.data_received(NONCE)
    assert type(protocol.cycle).__name__ == FAST
    for _ in range(20):
        await asyncio.sleep(0)
    assert transport.writes == [] and transport.closed
    assert any("wallet fast path" in r.getMessage() for r in caplog.records)
    assert protocol.cycle.response_complete and not protocol.tasks


async def test_while_the_client_does_not_read_its_answer_waits_and_its_next_requests_queue(api: Api) -> None:
    """A client that sends and never reads: as on uvicorn's path, its answer waits for the socket to drain and its
    next requests queue with reading paused, so the server's memory does not fill with unread answers."""
    protocol, transport = _connect(api)
    protocol.pause_writing()  # the transport's buffer is over its high-water mark
    protocol.data_received(NONCE)
    assert type(protocol.cycle).__name__ == FAST
    for _ in range(5):
        await asyncio.sleep(0.01)
        protocol.data_received(NONCE)
    await asyncio.sleep(0.05)
    assert transport.writes == []  # nothing written while the client does not read
    assert len(protocol.pipeline) == 5 and not transport.reading  # the rest wait, and reading is paused
    protocol.resume_writing()
    await _settle(transport, 6)
    statuses = [part.split(b" ")[0] for part in b"".join(transport.writes).split(b"HTTP/1.1 ")[1:]]
    assert statuses == [b"200"] * 6
    assert transport.reading and not protocol.pipeline and not transport.closed


async def test_a_connection_lost_while_its_answer_waits_for_the_client_gets_nothing_written(api: Api) -> None:
    protocol, transport = _connect(api)
    protocol.pause_writing()
    protocol.data_received(NONCE)
    await asyncio.sleep(0.05)
    protocol.connection_lost(None)  # resumes writing, as uvicorn does, so the wait ends
    for _ in range(20):
        await asyncio.sleep(0)
    assert transport.writes == []
    assert protocol.cycle.response_complete and not protocol.tasks


@pytest.mark.parametrize("reset", [False, True])
async def test_the_handler_gets_a_fresh_context_when_uvicorn_would_give_one(
    api: Api, monkeypatch: pytest.MonkeyPatch, reset: bool
) -> None:
    marker = contextvars.ContextVar[str]("marker")
    seen: list[str | None] = []
    respond: Callable[..., Awaitable[Any]] = WalletEndpoints.respond

    async def recording(self: WalletEndpoints, *args: Any) -> Any:
        seen.append(marker.get(None))
        return await respond(self, *args)

    monkeypatch.setattr(WalletEndpoints, "respond", recording)
    protocol, transport = _connect(api, reset_contextvars=reset)
    marker.set("set by the code that called the protocol")
    protocol.data_received(NONCE)
    assert type(protocol.cycle).__name__ == FAST
    await _settle(transport, 1)
    assert seen == [None if reset else "set by the code that called the protocol"]
