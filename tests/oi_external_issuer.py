"""Another issuer of compact credentials, made with python-cwt only (none of the server's code): its P-256 key,
its did:web DID document and revocation list served over HTTP on loopback, and credentials it signs."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec
from cwt import COSE, COSEKey

from oi_testing import free_port


def _b64(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()


@dataclass
class ExternalIssuer:
    port: int
    kid: str = "extkey01"
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    responses: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)

    @property
    def did(self) -> str:
        return f"did:web:127.0.0.1%3A{self.port}"

    @property
    def list_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/lists/1"

    def jwk(self, *, private: bool = False) -> dict[str, str]:
        numbers = self.private_key.private_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": _b64(numbers.public_numbers.x), "y": _b64(numbers.public_numbers.y)}
        if private:
            jwk["d"] = _b64(numbers.private_value)
        return jwk

    def publish_did_document(self) -> None:
        method = f"{self.did}#{self.kid}"
        document = {
            "id": self.did,
            "verificationMethod": [
                {"id": method, "type": "JsonWebKey2020", "controller": self.did, "publicKeyJwk": self.jwk()}
            ],
            "assertionMethod": [method],
        }
        self.responses["/.well-known/did.json"] = (200, "application/json", json.dumps(document).encode())

    def sign(self, claims: dict[Any, Any]) -> bytes:
        key = COSEKey.from_jwk({**self.jwk(private=True), "alg": "ES256", "kid": self.kid})
        signed = COSE.new().encode_and_sign(
            cbor2.dumps(claims), key, protected={1: -7, 4: self.kid.encode()}, unprotected={}
        )
        return signed if isinstance(signed, bytes) else cbor2.dumps(signed)

    def credential(self, claims: dict[Any, Any] | None = None) -> str:
        """A compact credential of this issuer; ``claims`` (by CWT label) add to or replace the usual ones."""
        payload: dict[Any, Any] = {1: self.did, 7: cbor2.CBORTag(64, b"\x01" * 16), -65539: "External", "name": "Ext"}
        payload.update(claims or {})
        raw = self.sign(payload)
        return "CSC:/1/" + base64.b32encode(raw).decode().rstrip("=")

    def publish_revocation_list(self, revoked: list[int], *, exp: int) -> None:
        bits = bytearray(125_000)
        for index in revoked:
            bits[index // 8] |= 0x80 >> (index % 8)
        claims = {1: self.did, 2: self.list_url, 6: exp - 3600, 4: exp, -65538: gzip.compress(bytes(bits))}
        self.responses["/lists/1"] = (200, "application/cwt", self.sign(claims))


@contextmanager
def running_external_issuer() -> Iterator[ExternalIssuer]:
    issuer = ExternalIssuer(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, media_type, body = issuer.responses.get(self.path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", issuer.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
