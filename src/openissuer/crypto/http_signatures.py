"""Sign HTTP requests: HTTP Message Signatures (RFC 9421) over a Content-Digest of the body (RFC 9530).

Only what webhook deliveries need: a request signature over derived components and header fields, with the
``created``, ``keyid`` and ``alg`` parameters, made by a ``Signer`` (Ed25519 or ES256). Verifiers rebuild the
same signature base from the request they receive; the body is bound through ``content-digest``.

RFC 9421 §2.5: "The signature base is a US-ASCII string containing the canonicalized HTTP message components
covered by the signature" — one ``"<component>": <value>`` line per covered component, in order, then the
``"@signature-params"`` line, joined by LF with no trailing LF.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from openissuer.crypto.signer import Signer

DEFAULT_LABEL = "sig"
# RFC 9421 §3.3: the HTTP signature algorithm of each JOSE algorithm a Signer reports.
HTTP_SIGNATURE_ALGORITHMS = {"EdDSA": "ed25519", "Ed25519": "ed25519", "ES256": "ecdsa-p256-sha256"}


class HttpSignatureError(ValueError):
    """A component cannot be signed (missing header, non-ASCII value, unknown algorithm)."""


def create_content_digest(body: bytes) -> str:
    """Return the ``Content-Digest`` field value of ``body``: RFC 9530 §2, ``sha-256=:<base64>:``."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode('ascii')}:"


def create_target_uri(url: str) -> str:
    """Return the ``@target-uri`` of a request to ``url`` (RFC 9421 §2.2.2): the absolute URI it is sent to, with
    ``/`` for an empty path, as HTTP clients send it."""
    parts = urlsplit(url)
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


def serialise_sf_string(value: str) -> str:
    """Return ``value`` as a Structured Field String (RFC 8941 §3.3.3): quoted, ``\\`` and ``"`` escaped."""
    if not value.isascii() or any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise HttpSignatureError("a structured field string must be printable ASCII")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialise_signature_params(covered: Sequence[str], *, created: int, keyid: str, alg: str) -> str:
    """Return the signature parameters as RFC 9421 §2.3 serialises them: the inner list of covered components,
    then ``;created=…;keyid="…";alg="…"``."""
    components = " ".join(serialise_sf_string(component) for component in covered)
    return f"({components});created={created};keyid={serialise_sf_string(keyid)};alg={serialise_sf_string(alg)}"


def create_signature_base(
    method: str, url: str, headers: Mapping[str, str], covered: Sequence[str], signature_params: str
) -> bytes:
    """Return the signature base of a request (RFC 9421 §2.5); ``headers`` have lower-case names."""
    lines = []
    for component in covered:
        if component == "@method":
            value = method.upper()
        elif component == "@target-uri":
            value = create_target_uri(url)
        elif component == "@request-target":
            parts = urlsplit(url)
            value = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        elif component.startswith("@"):
            raise HttpSignatureError(f"unsupported derived component {component}")
        elif component in headers:
            value = headers[component].strip()  # §2.1: leading and trailing whitespace removed
        else:
            raise HttpSignatureError(f"the covered header {component} is missing")
        if "\n" in value or "\r" in value:
            raise HttpSignatureError(f"the value of {component} contains a line break")
        lines.append(f'"{component}": {value}')
    lines.append(f'"@signature-params": {signature_params}')
    base = "\n".join(lines)
    if not base.isascii():
        raise HttpSignatureError("the signature base must be ASCII")
    return base.encode("ascii")


def sign_http_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    signer: Signer,
    *,
    created: int,
    covered: Sequence[str] = ("@method", "@target-uri", "content-type", "content-digest"),
    label: str = DEFAULT_LABEL,
) -> dict[str, str]:
    """Return ``headers`` plus ``content-digest``, ``signature-input`` and ``signature`` for the request.

    The digest covers ``body`` exactly as sent; ``created`` is the signing time (Unix seconds) and ``keyid`` the
    signer's ``kid``, which verifiers look up in the signer's published JWK Set.
    """
    alg = HTTP_SIGNATURE_ALGORITHMS.get(signer.alg)
    if alg is None:
        raise HttpSignatureError(f"no HTTP signature algorithm for {signer.alg}")
    signed = {name.lower(): value for name, value in headers.items()}
    signed["content-digest"] = create_content_digest(body)
    params = serialise_signature_params(covered, created=created, keyid=signer.kid, alg=alg)
    signature = signer.sign(create_signature_base(method, url, signed, covered, params))
    signed["signature-input"] = f"{label}={params}"
    signed["signature"] = f"{label}=:{base64.b64encode(signature).decode('ascii')}:"
    return signed
