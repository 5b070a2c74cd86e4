"""A claims source and its OAuth token endpoint as a real HTTP server on 127.0.0.1, for the tests.

It is what an issuer would run (reference platform §6.3): ``/claims`` answers the claims of the person named by
the ``email`` parameter (query string for GET, JSON body for POST), after checking the ``x-api-key`` header or a
bearer token that ``/token`` issued (OAuth 2.0 client credentials, basic or post client authentication). Tests
switch it into failure modes and read what it received::

    with running_claims_source(api_key="k" * 16) as source:
        source.people["ana@example.com"] = {"document_number": "DL-77"}
        source.mode = "500"            # or "slow", "not-json", "array", "401-once"
        ...
        source.requests                 # every request: method, path, query, headers, json body

The server runs in a thread of the test process (``ThreadingHTTPServer``), so a slow answer holds one thread, not
the event loop the issuer runs on.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class ClaimsSourceApp:
    """The server's state: who it knows, how it authenticates callers, how it misbehaves, what it saw."""

    api_key: str | None = None
    client_id: str = "openissuer"
    client_secret: str = "claims-source-client-secret"
    expires_in: int | None = 60
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    mode: str = "ok"
    delay: float = 3.0  # "slow": past the tests' claims_source_timeout (2 s)
    redirect_to: str | None = None
    requests: list[Seen] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def seen(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        if seen.path == "/token":
            return self._token(seen)
        if seen.path == "/redirect":
            return 302, {"Location": self.redirect_to or "/claims"}, b""
        if seen.path != "/claims":
            return 404, {}, b""
        if not self._authorized(seen):
            return 401, {"Content-Type": "application/json"}, b'{"error": "unauthorized"}'
        if self.mode == "slow":
            time.sleep(self.delay)
        if self.mode == "500":
            return 500, {"Content-Type": "application/json"}, b'{"error": "boom"}'
        if self.mode == "not-json":
            return 200, {"Content-Type": "text/html"}, b"<html>maintenance</html>"
        if self.mode == "array":
            return 200, {"Content-Type": "application/json"}, b'[{"document_number": "DL-1"}]'
        email = (seen.json or {}).get("email") if seen.method == "POST" else seen.query.get("email", [None])[0]
        return 200, {"Content-Type": "application/json"}, json.dumps(self.people.get(str(email), {})).encode()

    def _authorized(self, seen: Seen) -> bool:
        if self.api_key is not None:
            return seen.headers.get("x-api-key") == self.api_key
        scheme, _, token = seen.headers.get("authorization", "").partition(" ")
        if self.mode == "401-once":
            self.mode = "ok"
            with self._lock:
                self.tokens.clear()  # the source forgot every token it issued (a key rotation, say)
            return False
        with self._lock:
            return scheme == "Bearer" and token in self.tokens

    def _token(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        form = seen.form
        basic = seen.headers.get("authorization", "")
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if form.get("grant_type") != "client_credentials" or (client_id, secret) != (
            self.client_id,
            self.client_secret,
        ):
            return 401, {"Content-Type": "application/json"}, b'{"error": "invalid_client"}'
        token = secrets.token_urlsafe(16)
        with self._lock:
            self.tokens.add(token)
        body: dict[str, Any] = {"access_token": token, "token_type": "bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(body).encode()


def _handler(app: ClaimsSourceApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            seen = Seen(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            app.record(seen)
            status, headers, body = app.answer(seen)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):  # the issuer gave up waiting (a slow answer)
                self.wfile.write(body)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_claims_source(**options: Any) -> Iterator[ClaimsSourceApp]:
    """Start a claims source on a free loopback port; stop it on exit."""
    app = ClaimsSourceApp(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(app))
    server.daemon_threads = True
    app.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
