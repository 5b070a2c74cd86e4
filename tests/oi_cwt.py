"""Helpers for CWT tests: a CWT configuration through the management API, and an independent verifier that
resolves the issuer's did:web over HTTP, as a verifier would, and checks the CWT with python-cwt."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote

import cbor2
import cwt
import httpx
from cwt import COSEKey

PREFIX = "CSC:/1/"
COURSE = {
    "type": "Course Credential",
    "claimMappings": {
        "name": {"mapFrom": "claims.name", "required": True},
        "code": {"mapFrom": "claims.code"},
        "level": {"mapFrom": "claims.level", "type": "number"},
        "issuerName": {"defaultValue": "Advanced Safety Training"},
    },
    "expiresIn": {"days": 365},
}
CLAIMS = {"name": "Emma Jane Tasma", "code": "HS.278", "level": "4"}


def compact_bytes(encoded: str) -> bytes:
    """The COSE_Sign1 bytes of a ``CSC:/1/`` text, decoded with the standard library."""
    assert encoded.startswith(PREFIX)
    body = encoded.removeprefix(PREFIX)
    assert body == body.upper() and "=" not in body
    return base64.b32decode(body + "=" * (-len(body) % 8))


def did_document_url(did: str, scheme: str = "https") -> str:
    """did:web §3.2, written independently of the server's code."""
    host, *path = did.removeprefix("did:web:").split(":")
    base = f"{scheme}://{unquote(host)}"
    return f"{base}/{'/'.join(path)}/did.json" if path else f"{base}/.well-known/did.json"


async def verify_with_python_cwt(http: httpx.AsyncClient, encoded: str, *, scheme: str = "https") -> dict[Any, Any]:
    """Resolve the issuer's DID document over HTTP and verify the CWT with python-cwt; return its claims."""
    raw = compact_bytes(encoded)
    sign1 = cbor2.loads(raw)
    assert sign1.tag == 18
    header = cbor2.loads(sign1.value[0])
    issuer = cbor2.loads(sign1.value[2])[1]
    kid = header[4].decode()
    response = await http.get(did_document_url(issuer, scheme))
    assert response.status_code == 200, response.text
    document = response.json()
    method_id = f"{issuer}#{kid}"
    assert method_id in document["assertionMethod"]
    (method,) = [m for m in document["verificationMethod"] if m["id"] == method_id]
    key = COSEKey.from_jwk({**method["publicKeyJwk"], "kid": kid, "alg": "ES256"})
    return dict(cwt.decode(raw, keys=[key]))


async def create_cwt_configuration(api: Any, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await api.http.post(
        "/v2/credentials/compact/configurations", headers=headers, json={**COURSE, **overrides}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())
