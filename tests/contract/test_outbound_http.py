"""GuardedHttpFetcher against real HTTP(S) servers on 127.0.0.1: guard, DNS pinning, redirects, caps, timeouts.

The servers are raw ``asyncio`` servers so each test can count TCP connections: "refused before any byte is sent"
is asserted as "the server never saw a connection". Tests that need the guard ON yet must reach a loopback server
use ``ExemptPortGuard``, the normal guard with exactly one server port let through; every other hop gets the full
rules.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from oi_outbound import ExemptPortGuard, static_resolver
from openissuer.adapters.http import GuardedHttpFetcher
from openissuer.ports.http import (
    HttpFetcher,
    OutboundBlockedError,
    OutboundConnectionError,
    OutboundEncodingError,
    OutboundRedirectError,
    OutboundResponseTooLargeError,
    OutboundTimeoutError,
)

# --- a tiny HTTP/1.1 server --------------------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False
    delay: float = 0.0  # before the status line
    stall: float = 0.0  # after the headers and the first half of the body


Route = Callable[[Seen], Reply]


def json_reply(value: object, status: int = 200) -> Reply:
    return Reply(status, {"Content-Type": "application/json", "X-Multi": "a"}, json.dumps(value).encode())


def not_found(_seen: Seen) -> Reply:
    return Reply(404)


def redirect(location: str, status: int = 302) -> Route:
    return lambda _seen: Reply(status, {"Location": location})


class LocalServer:
    """HTTP/1.1 on 127.0.0.1 answering by path, one request per connection; records connections, requests, SNI."""

    def __init__(self, routes: dict[str, Route], tls: ssl.SSLContext | None = None) -> None:
        self.routes = routes
        self.connections = 0
        self.requests: list[Seen] = []
        self.sni: list[str | None] = []
        self.port = 0
        self._tls = tls
        self._tasks: set[asyncio.Task[object]] = set()
        if tls is not None:
            tls.sni_callback = self._record_sni

    def _record_sni(self, _sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.sni.append(name)

    def url(self, path: str = "/", *, host: str = "127.0.0.1", scheme: str | None = None) -> str:
        scheme = scheme or ("https" if self._tls else "http")
        return f"{scheme}://{host}:{self.port}{path}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self._tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            seen = await self._read(reader)
            self.requests.append(seen)
            route = self.routes.get(seen.target.split("?", 1)[0], not_found)
            await self._write(writer, route(seen))
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Seen:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _version = head[0].split(" ", 2)
        headers = {}
        for line in head[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        return Seen(method, target, headers, body)

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, reply: Reply) -> None:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        lines = [f"HTTP/1.1 {reply.status} X", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in reply.headers.items()]
        lines.append("Transfer-Encoding: chunked" if reply.chunked else f"Content-Length: {len(reply.body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        half = len(reply.body) // 2
        for index, part in enumerate((reply.body[:half], reply.body[half:])):
            if part:
                writer.write(b"%x\r\n%s\r\n" % (len(part), part) if reply.chunked else part)
            await writer.drain()
            if reply.stall and index == 0:
                await asyncio.sleep(reply.stall)
        if reply.chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()


@asynccontextmanager
async def serve(routes: dict[str, Route], tls: ssl.SSLContext | None = None) -> AsyncIterator[LocalServer]:
    server = LocalServer(routes, tls)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


async def settle() -> None:
    """Give a (wrongly) opened connection time to reach the server's accept loop before counting."""
    await asyncio.sleep(0.05)


# --- allowed requests -----------------------------------------------------------------------------------------


async def test_the_fetcher_satisfies_the_port() -> None:
    async with GuardedHttpFetcher(allow_private=True) as fetcher:
        port: HttpFetcher = fetcher  # checked by mypy; at run time, the signature matches the port's
        assert inspect.signature(type(port).request) == inspect.signature(HttpFetcher.request)


async def test_get_works_when_private_targets_are_allowed() -> None:
    async with (
        serve({"/data": lambda _s: json_reply({"given_name": "Ada"})}) as server,
        GuardedHttpFetcher(allow_private=True) as fetcher,
    ):
        response = await fetcher.request("GET", server.url("/data?user=1"))
    assert response.status == 200
    assert response.json() == {"given_name": "Ada"}
    assert response.headers["content-type"] == "application/json" and response.headers["x-multi"] == "a"
    assert response.url == server.url("/data?user=1")
    assert server.requests[0].target == "/data?user=1"
    assert server.requests[0].headers["host"] == f"127.0.0.1:{server.port}"


async def test_post_json_and_form_bodies_arrive() -> None:
    def echo(seen: Seen) -> Reply:
        return json_reply({"type": seen.headers.get("content-type"), "body": seen.body.decode()}, status=201)

    async with serve({"/echo": echo}) as server, GuardedHttpFetcher(allow_private=True) as fetcher:
        as_json = await fetcher.request("POST", server.url("/echo"), json={"sub": "u1"})
        as_form = await fetcher.request("POST", server.url("/echo"), data={"a": "1"})
        as_bytes = await fetcher.request(
            "POST", server.url("/echo"), data=b"raw", headers={"Content-Type": "text/plain"}
        )
    assert as_json.status == 201
    assert as_json.json() == {"type": "application/json", "body": '{"sub":"u1"}'}
    assert as_form.json() == {"type": "application/x-www-form-urlencoded", "body": "a=1"}
    assert as_bytes.json() == {"type": "text/plain", "body": "raw"}


async def test_error_statuses_are_responses_not_exceptions() -> None:
    async with serve({}) as server, GuardedHttpFetcher(allow_private=True) as fetcher:
        response = await fetcher.request("GET", server.url("/missing"))
    assert response.status == 404


# --- the guard ------------------------------------------------------------------------------------------------


async def test_the_same_loopback_url_is_refused_with_the_guard_on_before_any_connection() -> None:
    async with serve({"/data": lambda _s: json_reply({})}) as server:
        async with GuardedHttpFetcher(allow_private=False) as fetcher:
            with pytest.raises(OutboundBlockedError, match="https"):
                await fetcher.request("GET", server.url("/data"))
            with pytest.raises(OutboundBlockedError, match="IP address"):
                await fetcher.request("GET", server.url("/data", scheme="https"))
        await settle()
    assert server.connections == 0


async def test_a_name_resolving_to_loopback_is_refused_at_connect_time() -> None:
    async with serve({"/data": lambda _s: json_reply({})}) as server:
        async with GuardedHttpFetcher(allow_private=False) as fetcher:
            with pytest.raises(OutboundBlockedError, match="loopback"):
                await fetcher.request("GET", server.url("/data", host="localhost", scheme="https"))
        await settle()
    assert server.connections == 0


async def test_http_is_refused_when_the_guard_is_on() -> None:
    async with serve({"/": lambda _s: json_reply({})}) as server:
        calls: list[str] = []
        resolver = static_resolver({"public.example.com": ["93.184.216.34"]}, calls)
        async with GuardedHttpFetcher(allow_private=False, resolver=resolver) as fetcher:
            with pytest.raises(OutboundBlockedError, match="must use https"):
                await fetcher.request("GET", "http://public.example.com/")
        await settle()
    assert calls == [] and server.connections == 0


async def test_blocked_errors_do_not_leak_credentials_or_query() -> None:
    async with GuardedHttpFetcher(allow_private=False) as fetcher:
        with pytest.raises(OutboundBlockedError) as caught:
            await fetcher.request("GET", "http://user:hunter2@example.com/p?token=s3cr3t")
    error = caught.value
    for text in (str(error), error.description, error.detail or "", error.target or ""):
        assert "hunter2" not in text and "s3cr3t" not in text


# --- DNS pinning ---------------------------------------------------------------------------------------------


async def test_the_connection_goes_to_the_vetted_address_with_the_original_host_header() -> None:
    calls: list[str] = []
    resolver = static_resolver({"claims.example.com": ["127.0.0.1"]}, calls)
    async with (
        serve({"/c": lambda _s: json_reply({"ok": True})}) as server,
        GuardedHttpFetcher(allow_private=True, resolver=resolver) as fetcher,
    ):
        response = await fetcher.request("GET", f"http://claims.example.com:{server.port}/c")
    assert response.json() == {"ok": True}
    assert calls == ["claims.example.com"]  # one lookup: the one that was checked is the one that was dialled
    assert server.requests[0].headers["host"] == f"claims.example.com:{server.port}"


async def test_every_answer_is_checked_before_dialling(unused_tcp_port: int) -> None:
    resolver = static_resolver({"rebind.example.com": ["93.184.216.34", "127.0.0.1"]})
    async with GuardedHttpFetcher(allow_private=False, resolver=resolver) as fetcher:
        with pytest.raises(OutboundBlockedError, match="loopback"):
            await fetcher.request("GET", f"https://rebind.example.com:{unused_tcp_port}/")


@pytest.fixture
def tls_pair(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for ``issuer.test`` only, and a client context trusting its CA."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outbound test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.test")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("issuer.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "leaf.pem", tmp_path / "leaf.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


async def test_tls_to_the_pinned_address_uses_the_host_name_for_sni_and_verification(
    tls_pair: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_tls, client_tls = tls_pair
    resolver = static_resolver({"issuer.test": ["127.0.0.1"]})
    async with (
        serve({"/c": lambda _s: json_reply({"ok": True})}, tls=server_tls) as server,
        GuardedHttpFetcher(allow_private=True, resolver=resolver, ssl_context=client_tls) as fetcher,
    ):
        response = await fetcher.request("GET", server.url("/c", host="issuer.test"))
    assert response.json() == {"ok": True}
    assert server.sni == ["issuer.test"]
    assert server.requests[0].headers["host"] == f"issuer.test:{server.port}"


async def test_tls_verification_is_against_the_host_name_not_the_pinned_address(
    tls_pair: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_tls, client_tls = tls_pair
    resolver = static_resolver({"other.test": ["127.0.0.1"]})
    async with (
        serve({"/c": lambda _s: json_reply({})}, tls=server_tls) as server,
        GuardedHttpFetcher(allow_private=True, resolver=resolver, ssl_context=client_tls) as fetcher,
    ):
        with pytest.raises(OutboundConnectionError):
            await fetcher.request("GET", server.url("/c", host="other.test"))
    assert server.requests == []


async def test_with_the_guard_on_a_tls_name_pinned_to_loopback_is_refused(
    tls_pair: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_tls, client_tls = tls_pair
    resolver = static_resolver({"issuer.test": ["127.0.0.1"]})
    async with serve({"/c": lambda _s: json_reply({})}, tls=server_tls) as server:
        async with GuardedHttpFetcher(allow_private=False, resolver=resolver, ssl_context=client_tls) as fetcher:
            with pytest.raises(OutboundBlockedError, match="loopback"):
                await fetcher.request("GET", server.url("/c", host="issuer.test"))
        await settle()
    assert server.connections == 0


# --- redirects -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://127.0.0.1:{port}/secret", "must use https"),
        ("https://127.0.0.1:{port}/secret", "IP address"),
        ("https://localhost:{port}/secret", "loopback"),
        ("https://internal.example.com:{port}/secret", "private"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ],
)
async def test_a_redirect_to_a_private_target_is_refused_on_the_hop(location: str, reason: str) -> None:
    async with (
        serve({"/secret": lambda _s: json_reply({"key": "x"})}) as inner,
        serve({"/start": redirect(location.format(port=inner.port))}) as outer,
    ):
        resolver = static_resolver({"internal.example.com": ["10.0.0.7"]}, fallback=True)
        guard = ExemptPortGuard(outer.port, resolver=resolver)
        async with GuardedHttpFetcher(allow_private=False, guard=guard) as fetcher:
            # The exemption lets the first hop through with the guard ON:
            with pytest.raises(OutboundBlockedError, match=reason):
                await fetcher.request("GET", outer.url("/start"))
        await settle()
    assert [seen.target for seen in outer.requests] == ["/start"]
    assert inner.connections == 0


async def test_a_redirect_chain_is_followed_and_reports_the_final_url() -> None:
    async with (
        serve({"/final": lambda _s: json_reply({"done": True})}) as second,
        serve({"/a": redirect("/b", 301), "/b": redirect(second.url("/final?x=1"), 308)}) as first,
        GuardedHttpFetcher(allow_private=True) as fetcher,
    ):
        response = await fetcher.request("GET", first.url("/a"))
    assert response.json() == {"done": True}
    assert response.url == second.url("/final?x=1")
    assert [seen.target for seen in first.requests] == ["/a", "/b"]


async def test_see_other_after_post_becomes_a_get_without_body() -> None:
    async with (
        serve({"/form": redirect("/result", 303), "/result": lambda _s: json_reply({})}) as server,
        GuardedHttpFetcher(allow_private=True) as fetcher,
    ):
        await fetcher.request("POST", server.url("/form"), json={"a": 1})
    final = server.requests[1]
    assert (final.method, final.body, "content-type" in final.headers) == ("GET", b"", False)


async def test_temporary_redirect_repeats_the_post_with_its_body() -> None:
    async with (
        serve({"/in": redirect("/out", 307), "/out": lambda _s: json_reply({})}) as server,
        GuardedHttpFetcher(allow_private=True) as fetcher,
    ):
        await fetcher.request("POST", server.url("/in"), json={"a": 1})
    assert (server.requests[1].method, server.requests[1].body) == ("POST", b'{"a":1}')


async def test_authorization_is_kept_on_the_same_origin_and_dropped_across_origins() -> None:
    async with serve({"/end": lambda _s: json_reply({})}) as other:
        routes = {"/a": redirect("/b"), "/b": redirect(other.url("/end"))}
        async with serve(routes) as server, GuardedHttpFetcher(allow_private=True) as fetcher:
            await fetcher.request("GET", server.url("/a"), headers={"Authorization": "Bearer t0k3n"})
    assert [seen.headers.get("authorization") for seen in server.requests] == ["Bearer t0k3n", "Bearer t0k3n"]
    assert "authorization" not in other.requests[0].headers


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("body", [{"data": {"client_secret": "s3cr3t", "code": "c0de"}}, {"json": {"a": "secret"}}])
async def test_a_body_is_never_repeated_to_another_origin(status: int, body: dict[str, object]) -> None:
    """A 307/308 repeats the request with its body. A token request's body holds the client secret, the code and
    the PKCE verifier, so a redirect that would carry it to another origin is refused and nothing is sent there."""
    async with serve({"/token": lambda _s: json_reply({})}) as other:
        routes = {"/token": redirect(other.url("/token"), status)}
        async with serve(routes) as server, GuardedHttpFetcher(allow_private=True) as fetcher:
            with pytest.raises(OutboundRedirectError, match="another origin"):
                await fetcher.request("POST", server.url("/token"), **body)  # type: ignore[arg-type]
        await settle()
    assert other.connections == 0
    assert [seen.target for seen in server.requests] == ["/token"]


async def test_a_body_is_repeated_on_the_same_origin_and_dropped_on_a_see_other_across_origins() -> None:
    async with serve({"/done": lambda _s: json_reply({})}) as other:
        routes = {"/a": redirect("/b", 307), "/b": redirect(other.url("/done"), 303)}
        async with serve(routes) as server, GuardedHttpFetcher(allow_private=True) as fetcher:
            await fetcher.request("POST", server.url("/a"), data={"client_secret": "s3cr3t"})
    assert [(seen.method, seen.body) for seen in server.requests] == [
        ("POST", b"client_secret=s3cr3t"),
        ("POST", b"client_secret=s3cr3t"),
    ]
    assert [(seen.method, seen.body) for seen in other.requests] == [("GET", b"")]


async def test_too_many_redirects_are_refused() -> None:
    async with (
        serve({"/loop": redirect("/loop")}) as server,
        GuardedHttpFetcher(allow_private=True, max_redirects=2) as fetcher,
    ):
        with pytest.raises(OutboundRedirectError, match="too many"):
            await fetcher.request("GET", server.url("/loop"))
    assert len(server.requests) == 3  # the first request and two redirects


async def test_exactly_max_redirects_are_followed() -> None:
    routes = {"/1": redirect("/2"), "/2": redirect("/3"), "/3": redirect("/4"), "/4": lambda _s: json_reply({})}
    async with serve(routes) as server, GuardedHttpFetcher(allow_private=True, max_redirects=3) as fetcher:
        assert (await fetcher.request("GET", server.url("/1"))).status == 200


async def test_a_redirect_without_location_is_returned_as_is() -> None:
    async with serve({"/r": lambda _s: Reply(302)}) as server, GuardedHttpFetcher(allow_private=True) as fetcher:
        assert (await fetcher.request("GET", server.url("/r"))).status == 302


# --- size, time and connection limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_oversized_response_is_refused(chunked: bool) -> None:
    async with (
        serve({"/big": lambda _s: Reply(body=b"x" * 5000, chunked=chunked)}) as server,
        GuardedHttpFetcher(allow_private=True, max_response_bytes=1000) as fetcher,
    ):
        with pytest.raises(OutboundResponseTooLargeError):
            await fetcher.request("GET", server.url("/big"))


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_response_of_exactly_the_cap_is_accepted(chunked: bool) -> None:
    async with (
        serve({"/fit": lambda _s: Reply(body=b"y" * 1000, chunked=chunked)}) as server,
        GuardedHttpFetcher(allow_private=True, max_response_bytes=1000) as fetcher,
    ):
        assert (await fetcher.request("GET", server.url("/fit"))).body == b"y" * 1000


@pytest.mark.parametrize(
    ("encoding", "layers"),
    [("gzip", 1), ("gzip, gzip", 2), ("deflate", 1), ("br", 1), ("GZIP", 1)],
)
async def test_a_compressed_response_is_refused_unread(encoding: str, layers: int) -> None:
    """Requests accept identity only. A compressed answer (a bomb: a few KB that inflate to hundreds of MB; twice
    gzipped, 1 KB for 512 MB) is refused before its decoder runs, which would inflate each chunk whole before the
    size cap could apply."""
    import gzip

    body = b"\0" * 200_000
    for _ in range(layers):
        body = gzip.compress(body)
    reply = Reply(headers={"Content-Encoding": encoding}, body=body)
    async with (
        serve(
            {"/gz": lambda _s: reply, "/plain": lambda _s: Reply(headers={"Content-Encoding": "identity"})}
        ) as server,
        GuardedHttpFetcher(allow_private=True, max_response_bytes=10_000) as fetcher,
    ):
        with pytest.raises(OutboundEncodingError):
            await fetcher.request("GET", server.url("/gz"))
        assert (await fetcher.request("GET", server.url("/plain"))).status == 200  # identity named: fine


@pytest.mark.parametrize("reply", [Reply(delay=5), Reply(body=b"z" * 100, stall=5)], ids=["headers", "body"])
async def test_a_slow_server_times_out(reply: Reply) -> None:
    async with (
        serve({"/slow": lambda _s: reply}) as server,
        GuardedHttpFetcher(allow_private=True, timeout=0.3) as fetcher,
    ):
        started = time.monotonic()
        with pytest.raises(OutboundTimeoutError):
            await fetcher.request("GET", server.url("/slow"))
    assert time.monotonic() - started < 2


async def test_the_per_call_timeout_replaces_the_default() -> None:
    async with (
        serve({"/slow": lambda _s: Reply(delay=5)}) as server,
        GuardedHttpFetcher(allow_private=True, timeout=30) as fetcher,
    ):
        started = time.monotonic()
        with pytest.raises(OutboundTimeoutError):
            await fetcher.request("GET", server.url("/slow"), timeout=0.3)
    assert time.monotonic() - started < 2


async def test_the_timeout_covers_a_whole_redirect_chain() -> None:
    routes = {"/a": lambda _s: Reply(302, {"Location": "/b"}, delay=0.2), "/b": lambda _s: Reply(delay=0.2)}
    async with serve(routes) as server, GuardedHttpFetcher(allow_private=True, timeout=0.3) as fetcher:
        with pytest.raises(OutboundTimeoutError):
            await fetcher.request("GET", server.url("/a"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_is_a_connection_error() -> None:
    async with GuardedHttpFetcher(allow_private=True, timeout=0.3) as fetcher:
        with pytest.raises(OutboundConnectionError) as caught:
            await fetcher.request("GET", f"http://127.0.0.1:{_closed_port()}/x?token=s3cr3t")
    assert "s3cr3t" not in str(caught.value) and "s3cr3t" not in (caught.value.detail or "")


async def test_an_unresolvable_name_is_a_connection_error() -> None:
    async with GuardedHttpFetcher(allow_private=False, resolver=static_resolver({})) as fetcher:
        with pytest.raises(OutboundConnectionError, match="did not resolve"):
            await fetcher.request("GET", "https://nowhere.example.com/")


# --- logging -------------------------------------------------------------------------------------------------


async def test_logs_carry_no_bodies_credentials_or_query_strings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with serve({"/c": lambda _s: json_reply({"ssn": "123-45-6789"})}) as server:
        async with GuardedHttpFetcher(allow_private=True) as fetcher:
            await fetcher.request(
                "POST",
                server.url("/c?token=s3cr3t"),
                headers={"Authorization": "Bearer t0k3n"},
                json={"password": "hunter2"},
            )
        async with GuardedHttpFetcher(allow_private=False) as guarded:
            with pytest.raises(OutboundBlockedError):
                await guarded.request("GET", "http://example.com/?token=s3cr3t")
    records = [r for r in caplog.records if r.name.startswith(("openissuer", "httpx", "httpcore"))]
    assert any(getattr(r, "target", None) == server.url("/c") for r in records)
    dump = " ".join(f"{r.getMessage()} {r.__dict__}" for r in records)
    for secret in ("s3cr3t", "t0k3n", "hunter2", "123-45-6789"):
        assert secret not in dump


def test_the_public_address_used_by_these_tests_is_public() -> None:
    # Guard tests above rely on 93.184.216.34 being classified public; keep that assumption visible.
    assert ipaddress.ip_address("93.184.216.34").is_global


async def test_a_caller_cannot_override_the_host_header() -> None:
    async with GuardedHttpFetcher(allow_private=True) as fetcher:
        with pytest.raises(ValueError, match="Host"):
            await fetcher.request("GET", "http://127.0.0.1:1/", headers={"host": "victim.example.com"})
