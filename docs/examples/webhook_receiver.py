"""A webhook receiver for openissuer that verifies every delivery before trusting it.

    pip install cryptography
    ISSUER_URL=https://issuer.example.com RECEIVER_URL=https://hooks.example.com/openissuer \
        python webhook_receiver.py 8080

RECEIVER_URL is the URL you registered as the webhook's ``url`` (what openissuer signed as ``@target-uri``); put
this behind your TLS-terminating proxy. It checks, in order: the body against ``Content-Digest`` (RFC 9530), the
HTTP Message Signature (RFC 9421, Ed25519) with a key from ``<ISSUER_URL>/v1/webhooks/jwks``, that the signature
is recent, and that the ``x-mattr-webhook-id`` header names the webhook in the body. Then it answers 200 at once
and handles each ``event.id`` once (deliveries may repeat). Only the standard library and ``cryptography``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
import time
import urllib.request
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

REQUIRED = ("@method", "@target-uri", "content-type", "content-digest")
MAX_AGE_SECONDS = 300


class Rejected(Exception):
    """The delivery does not verify; answer 401 and do not use it."""


def _b64(value: str) -> bytes:
    return base64.b64decode(value + "=" * (-len(value) % 4))


def _b64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def parse_signature_input(value: str) -> tuple[str, list[str], dict[str, Any], str]:
    """Return (label, covered components, parameters, the serialised parameters) of a one-signature field like
    ``sig=("@method" "@target-uri" "content-type" "content-digest");created=1765;keyid="k";alg="ed25519"``."""
    match = re.fullmatch(r'\s*([a-z*][a-z0-9_.*-]*)=(\(([^)]*)\)(.*))\s*', value)
    if match is None:
        raise Rejected("malformed Signature-Input")
    label, serialised, inner, raw_params = match.groups()
    components = re.findall(r'"([^"]*)"', inner)
    params: dict[str, Any] = {}
    for name, quoted, number in re.findall(r';([a-z]+)=(?:"((?:[^"\\]|\\.)*)"|(-?\d+))', raw_params):
        params[name] = int(number) if number else quoted
    return label, components, params, serialised


def verify_delivery(
    method: str, target_uri: str, headers: Mapping[str, str], body: bytes, jwks: Mapping[str, Any], now: float
) -> dict[str, Any]:
    """Verify one delivery; return its envelope. ``headers`` must have lower-case names."""
    digest = headers.get("content-digest", "")
    expected = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    if digest != expected:
        raise Rejected("Content-Digest does not match the body")
    label, components, params, serialised = parse_signature_input(headers.get("signature-input", ""))
    if any(component not in components for component in REQUIRED) or params.get("alg") != "ed25519":
        raise Rejected("the signature does not cover what it must, or is not Ed25519")
    if not isinstance(params.get("created"), int) or abs(now - params["created"]) > MAX_AGE_SECONDS:
        raise Rejected("the signature is too old or from the future")
    signature = re.fullmatch(rf"\s*{re.escape(label)}=:([A-Za-z0-9+/=]+):\s*", headers.get("signature", ""))
    if signature is None:
        raise Rejected("malformed Signature")
    key = next((k for k in jwks.get("keys", []) if k.get("kid") == params.get("keyid")), None)
    if key is None or key.get("kty") != "OKP" or key.get("crv") != "Ed25519":
        raise Rejected("unknown key: refetch the JWK Set and try again")
    values = {"@method": method.upper(), "@target-uri": target_uri}
    lines = []
    for component in components:  # RFC 9421 §2.5: one line per component, then @signature-params
        value = values[component] if component.startswith("@") else headers.get(component)
        if value is None:
            raise Rejected(f"covered component {component} is missing")
        lines.append(f'"{component}": {value.strip()}')
    lines.append(f'"@signature-params": {serialised}')
    try:
        Ed25519PublicKey.from_public_bytes(_b64url(key["x"])).verify(
            _b64(signature.group(1)), "\n".join(lines).encode("ascii")
        )
    except (InvalidSignature, ValueError) as exc:
        raise Rejected("the signature does not verify") from exc
    envelope: dict[str, Any] = json.loads(body)
    if headers.get("x-mattr-webhook-id") != envelope.get("webhookId"):
        raise Rejected("the webhook id header does not match the body")
    return envelope


class Keys:
    """The issuer's JWK Set, fetched again when a delivery names a key it does not hold."""

    def __init__(self, issuer_url: str) -> None:
        self.url = issuer_url.rstrip("/") + "/v1/webhooks/jwks"
        self.jwks: dict[str, Any] = {"keys": []}

    def refresh(self) -> None:
        with urllib.request.urlopen(self.url, timeout=5) as response:  # noqa: S310 - your issuer's https URL
            self.jwks = json.loads(response.read())


def handle(envelope: dict[str, Any]) -> None:
    """Your business logic (runs after the 200 has been decided; keep it quick or hand it to a queue)."""
    event = envelope["event"]
    print(f"{event['type']} {event['id']}: {sorted(event['payload'])}", flush=True)


def serve(port: int, issuer_url: str, receiver_url: str) -> None:
    keys, seen = Keys(issuer_url), set[str]()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                try:
                    envelope = verify_delivery("POST", receiver_url, headers, body, keys.jwks, time.time())
                except Rejected:
                    keys.refresh()  # perhaps a new key: try once more with the current set
                    envelope = verify_delivery("POST", receiver_url, headers, body, keys.jwks, time.time())
            except Rejected as exc:
                self.send_response(401)
                self.end_headers()
                print(f"rejected: {exc}", file=sys.stderr)
                return
            self.send_response(200)  # within 3 s, or openissuer retries
            self.end_headers()
            if envelope["event"]["id"] not in seen:  # at least once: deduplicate on event.id (use your database)
                seen.add(envelope["event"]["id"])
                handle(envelope)

    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()  # noqa: S104 - behind your proxy


if __name__ == "__main__":
    serve(int(sys.argv[1]), os.environ["ISSUER_URL"], os.environ["RECEIVER_URL"])
