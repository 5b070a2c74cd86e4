"""An interaction hook web app as a real HTTP server on 127.0.0.1, for the tests (reference platform §7.2, §7.3).

What an issuer would run, in the shape of the reference platform's sample: ``GET /hook?session_token=…`` verifies
the token (HS256 with the base64-decoded shared secret; ``aud`` is this hook, ``iss`` the issuer, not expired),
then sends the browser back to the token's ``redirectUrl`` with its own token: ``iss`` this hook, ``aud`` the
issuer, the same ``state``, a short ``exp``, ``claims`` it adds and ``claimsToPersist``. Tests switch it into
misbehaving modes::

    with running_hook_app(issuer="https://issuer.example") as hook:
        hook.secret = put_response["interactionHook"]["secret"]
        hook.mode = "tamper"    # or "expired", "wrong-state", "wrong-aud", "wrong-iss", "error", "hold"
        ...
        hook.visits             # the verified payloads it received
        hook.return_url(hook.visits[-1])   # a correct answer to a visit, built on demand (a late return)

Its tokens are made with joserfc, not with openissuer's code.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import OctKey

ADDED_CLAIMS = {"loyalty_number": "LN-42", "family_name": "FromHook"}
PERSISTED = ["loyalty_number"]


@dataclass
class HookApp:
    issuer: str
    secret: str = ""
    mode: str = "ok"
    claims: dict[str, Any] = field(default_factory=lambda: dict(ADDED_CLAIMS))
    claims_to_persist: list[str] = field(default_factory=lambda: list(PERSISTED))
    now: Callable[[], float] = time.time
    visits: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _key(self) -> OctKey:
        return OctKey.import_key(base64.b64decode(self.secret))

    def verify(self, token: str) -> dict[str, Any]:
        """The checks §7.3 asks of the hook for the token it receives."""
        claims = dict(jwt.decode(token, self._key(), algorithms=["HS256"]).claims)
        if claims.get("aud") != self.url:
            raise ValueError("aud")
        if claims.get("iss") != self.issuer:
            raise ValueError("iss")
        if claims.get("exp", 0) <= self.now() - 5:
            raise ValueError("exp")
        return claims

    def return_url(self, visit: dict[str, Any], mode: str = "ok") -> str:
        """Where the hook sends the browser back after ``visit``, answering as ``mode`` says."""
        now = int(self.now())
        payload: dict[str, Any] = {"iss": self.url, "aud": self.issuer, "state": visit["state"], "iat": now}
        payload["exp"] = now - 120 if mode == "expired" else now + 60
        if mode == "error":
            payload["error"] = {"message": "The holder did not accept the terms"}
        else:
            payload.update(claims=self.claims, claimsToPersist=self.claims_to_persist)
        if mode == "wrong-state":
            payload["state"] = "a-state-of-another-visit"
        if mode == "wrong-aud":
            payload["aud"] = "https://another-issuer.example"
        if mode == "wrong-iss":
            payload["iss"] = "https://impostor.example/hook"
        token = jwt.encode({"alg": "HS256", "typ": "JWT"}, payload, self._key(), algorithms=["HS256"])
        if mode == "tamper":
            header, _body, signature = token.split(".")
            changed = {**payload, "claims": {**self.claims, "family_name": "Tampered"}}
            forged = base64.urlsafe_b64encode(json.dumps(changed).encode()).decode().rstrip("=")
            token = f"{header}.{forged}.{signature}"
        return f"{visit['redirectUrl']}?{urlencode({'session_token': token})}"


def _handler(app: HookApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            token = parse_qs(parts.query).get("session_token", [""])[0]
            if parts.path != "/hook":
                return self._send(404, b"not found")
            try:
                visit = app.verify(token)
            except Exception as exc:  # any failure: refuse the visit, as a real hook would
                app.refused.append(type(exc).__name__)
                return self._send(400, b"invalid session token")
            app.visits.append(visit)
            if app.mode == "hold":  # the holder never comes back
                return self._send(200, b"<html>Please confirm your details...</html>")
            self.send_response(302)
            self.send_header("Location", app.return_url(visit, app.mode))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_hook_app(issuer: str) -> Iterator[HookApp]:
    """Start a hook app on a free loopback port; stop it on exit."""
    app = HookApp(issuer=issuer)
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
