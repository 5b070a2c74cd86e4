"""A webhook receiver for tests: a real HTTP server on loopback that verifies what it receives independently.

Signatures are checked with the ``http-message-signatures`` package (an RFC 9421 implementation of its own) against
the issuer's published JWK Set, and the body against its ``Content-Digest`` (RFC 9530). The receiver can be told to
fail its first requests, to answer slowly, or to fail every time.
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageVerifier, InvalidSignature, MappingKeyResolver, algorithms

REQUIRED_COMPONENTS = ("@method", "@target-uri", "content-type", "content-digest")


@dataclass
class _Message:
    method: str
    url: str
    headers: dict[str, str]


class Verifier(HTTPMessageVerifier):
    """The package's verifier with clock skew wide enough for tests that move the issuer's clock."""

    max_clock_skew = datetime.timedelta(days=400)


def public_keys_of(jwks: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """Return the Ed25519 keys of a JWK Set by ``kid``."""
    keys = {}
    for jwk in jwks["keys"]:
        assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519", jwk
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


def verify_delivery(
    method: str, url: str, headers: Mapping[str, str], body: bytes, jwks: Mapping[str, Any]
) -> dict[str, Any]:
    """Verify a delivery's signature and digest independently; return its parameters (``keyid``, ``created``).

    Raises ``InvalidSignature`` when anything does not verify.
    """
    resolver = MappingKeyResolver(public_keys=public_keys_of(jwks), private_keys={})
    verifier = Verifier(signature_algorithm=algorithms.ED25519, key_resolver=resolver)
    message = _Message(method, url, {k.lower(): v for k, v in headers.items()})
    results = verifier.verify(message, require_components=REQUIRED_COMPONENTS, body=body, max_age=None)
    assert len(results) == 1
    return dict(results[0].parameters)


@dataclass
class Received:
    """One request the receiver got."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def envelope(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """What the receiver got and how it answers. ``fail_first`` requests (or all, with ``always_fail``) answer
    ``fail_status``; each answer waits ``delay`` seconds first."""

    url: str
    fail_first: int = 0
    always_fail: bool = False
    fail_status: int = 500
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def successes(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out: {len(self.received)} received, {len(self.successes())} accepted")
            time.sleep(0.02)


@contextmanager
def running_receiver(path: str = "/hook", **options: Any) -> Iterator[Receiver]:
    """Run a receiver on a free loopback port until the block ends."""
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = state["receiver"]
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                receiver.in_flight += 1
                failing = receiver.always_fail or len(receiver.received) < receiver.fail_first
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.fail_status if failing else 200
            host = self.headers.get("host", "")
            received = Received("POST", f"http://{host}{self.path}", dict(self.headers.items()), body, status)
            with receiver.lock:
                receiver.received.append(received)
                receiver.in_flight -= 1
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256  # workers send a batch at once

    server = Server(("127.0.0.1", 0), Handler)
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}{path}", **options)
    state["receiver"] = receiver
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


__all__ = ["InvalidSignature", "Receiver", "running_receiver", "verify_delivery"]
