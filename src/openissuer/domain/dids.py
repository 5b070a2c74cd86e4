"""did:web identifiers of tenants and the P-256 keys behind them (W3C did:web method; reference platform §9.2).

A tenant's DID is ``did:web`` of its public URL: the host (a port percent-encoded as ``%3A``), then each path
segment after a colon, so ``https://issuer.example.com/tenant`` is ``did:web:issuer.example.com:tenant``. A
resolver reads ``https://<host>/.well-known/did.json`` for a DID without path and ``https://<host>/<path>/did.json``
for one with a path (did:web §3.2 "Read (Resolve)").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

DID_WEB_PREFIX = "did:web:"
KEY_ID_LENGTH = 8
"""The reference platform's ``kid`` is 8 bytes (``z12L6Q6v``); the verification method id is ``<did>#<kid>``."""
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
"""The validity end of a credential that has no expiry (a CWT without ``exp``)."""


@dataclass(frozen=True)
class DidKey:
    """A P-256 key of a tenant's DID document.

    ``kid`` is the fragment of its verification method (``<did>#<kid>``) and the COSE ``kid`` of what it signs;
    ``not_after`` bounds what it may sign: nothing it signs is valid after it, so the key stays in the DID document
    until then and every credential it signed stays verifiable until it expires.
    """

    id: str
    tenant_id: str
    kid: str
    public_jwk: dict[str, str]
    sealed_private_key: bytes
    created_at: datetime
    not_after: datetime


def create_did_web(public_url: str) -> str:
    """Return the ``did:web`` of a public URL (did:web §3.1: port colon percent-encoded, path segments colons)."""
    parts = urlsplit(public_url)
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError("the public URL has no host")
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}%3A{parts.port}"
    segments = [quote(unquote(s), safe="") for s in parts.path.split("/") if s]
    return DID_WEB_PREFIX + ":".join([host, *segments])


def create_did_document_url(did: str, *, scheme: str = "https") -> str:
    """Return where a ``did:web`` DID document is read (did:web §3.2); ValueError for anything else."""
    if not did.startswith(DID_WEB_PREFIX) or "#" in did or "?" in did:
        raise ValueError("not a did:web DID")
    host, *path = did.removeprefix(DID_WEB_PREFIX).split(":")
    host = unquote(host)
    if not host or "/" in host or "@" in host or any(not segment for segment in path):
        raise ValueError("not a did:web DID")
    if path:
        return f"{scheme}://{host}/" + "/".join(path) + "/did.json"
    return f"{scheme}://{host}/.well-known/did.json"


def create_did_document(did: str, keys: list[DidKey]) -> dict[str, object]:
    """Return the DID document listing ``keys`` (newest first) as ``JsonWebKey2020`` assertion methods."""
    methods = [
        {"id": f"{did}#{key.kid}", "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": dict(key.public_jwk)}
        for key in keys
    ]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


def find_assertion_key(document: object, did: str, kid: str) -> dict[str, object] | None:
    """Return the ``publicKeyJwk`` of the verification method ``<did>#<kid>`` of a DID document, when the document
    is ``did``'s and lists that method under ``assertionMethod`` (the reference's verifier requires both)."""
    if not isinstance(document, dict) or document.get("id") != did:
        return None
    wanted = {f"{did}#{kid}", f"#{kid}"}
    assertions = document.get("assertionMethod")
    if not isinstance(assertions, list):
        return None
    asserted = {a if isinstance(a, str) else a.get("id") for a in assertions if isinstance(a, str | dict)}
    if not asserted & wanted:
        return None
    candidates = [a for a in assertions if isinstance(a, dict)]
    methods = document.get("verificationMethod")
    if isinstance(methods, list):
        candidates += [m for m in methods if isinstance(m, dict)]
    for method in candidates:
        if method.get("id") in wanted and isinstance(method.get("publicKeyJwk"), dict):
            return dict(method["publicKeyJwk"])
    return None
