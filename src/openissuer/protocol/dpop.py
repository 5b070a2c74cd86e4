"""DPoP proofs (RFC 9449): verify a ``DPoP`` header at the token and credential endpoints.

Pure: the time, the request's method and URL, the access token and whether a server nonce is expected are
arguments. Whether the proof's ``jti`` was seen before, and whether its ``nonce`` is one the server made, is the
caller's business (the nonce is returned for it to check; the ``jti`` for it to use up).

The checks are RFC 9449 §4.3's, in its order: one well-formed JWT; ``typ`` ``dpop+jwt``; an asymmetric ``alg``
this issuer supports (ES256); a public-only ``jwk`` the signature verifies with; ``htm`` and ``htu`` of this
request (``htu`` compared without query and fragment, after RFC 3986 §6.2.2-6.2.3 normalisation); a fresh ``iat``;
a ``jti``; ``ath`` (the access token's hash) when a token is presented; ``nonce`` when the server requires one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from openissuer.crypto.base64url import encode_base64url
from openissuer.crypto.jwk import JwkError
from openissuer.crypto.jws import CompactJws, JwsError, parse_compact_jws, verify_es256_jws
from openissuer.crypto.p256_public_key import P256PublicKey
from openissuer.errors import InvalidDpopProofError

DPOP_TYP = "dpop+jwt"
DPOP_ALGS = ("ES256",)
MAX_JTI_LENGTH = 256
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class VerifiedDpopProof:
    """What a verified proof establishes: its key's RFC 7638 thumbprint (``cnf.jkt``), its ``jti`` and the server
    nonce it carries (None: none)."""

    jkt: str
    jti: str
    nonce: str | None
    issued_at: float


def hash_access_token(access_token: str) -> str:
    """RFC 9449 §4.2 ``ath``: base64url of the SHA-256 of the ASCII access token."""
    return encode_base64url(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def normalize_htu(url: str) -> str:
    """Return ``url`` without query and fragment, scheme and host in lower case, the default port dropped and
    percent-encodings of unreserved characters decoded (RFC 3986 §6.2.2, §6.2.3; RFC 9449 §4.3 step 9)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    path = _normalize_path(parts.path) or "/"
    return f"{scheme}://{netloc}{path}"


def _normalize_path(path: str) -> str:
    # Decode only unreserved characters (ALPHA / DIGIT / "-" / "." / "_" / "~"), keep the rest encoded, upper-case
    # the hex digits of what stays encoded.
    out: list[str] = []
    i = 0
    while i < len(path):
        if path[i] == "%" and i + 2 < len(path):
            decoded = unquote(path[i : i + 3])
            if len(decoded) == 1 and ((decoded.isalnum() and decoded.isascii()) or decoded in "-._~"):
                out.append(decoded)
            else:
                out.append(path[i : i + 3].upper())
            i += 3
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def verify_dpop_proof(
    proof: str,
    *,
    method: str,
    url: str,
    now: datetime,
    access_token: str | None = None,
    max_age: timedelta = timedelta(minutes=5),
    future_skew: timedelta = timedelta(seconds=60),
) -> VerifiedDpopProof:
    """Check a DPoP proof for this request; raise ``InvalidDpopProofError`` (400) otherwise.

    Trust assumptions: the proof proves possession of its own ``jwk`` only; binding that key to a token is the
    caller's check (``cnf.jkt``).
    """
    jws = _parse(proof)
    header, payload = jws.header, jws.payload
    if header.get("typ") != DPOP_TYP:
        raise InvalidDpopProofError(f"The DPoP proof typ must be {DPOP_TYP}")
    if header.get("alg") not in DPOP_ALGS:
        raise InvalidDpopProofError(f"The DPoP proof alg must be one of {', '.join(DPOP_ALGS)}")
    if "crit" in header:
        raise InvalidDpopProofError("The DPoP proof must not contain crit")
    key = _key(header.get("jwk"))
    try:
        verify_es256_jws(jws, key)
    except JwsError as exc:
        raise InvalidDpopProofError("The DPoP proof signature does not verify with its jwk") from exc
    if payload.get("htm") != method:
        raise InvalidDpopProofError("The DPoP proof htm is not this request's method")
    htu = payload.get("htu")
    if not isinstance(htu, str) or normalize_htu(htu) != normalize_htu(url):
        raise InvalidDpopProofError("The DPoP proof htu is not this endpoint's URL")
    issued_at = _iat(payload, now, max_age, future_skew)
    jti = payload.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise InvalidDpopProofError(f"The DPoP proof needs a jti of 1-{MAX_JTI_LENGTH} characters")
    _check_ath(payload, access_token)
    nonce = payload.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise InvalidDpopProofError("The DPoP proof nonce must be a string")
    return VerifiedDpopProof(jkt=key.thumbprint, jti=jti, nonce=nonce, issued_at=issued_at)


def _parse(proof: str) -> CompactJws:
    try:
        return parse_compact_jws(proof)
    except JwsError as exc:
        raise InvalidDpopProofError(f"The DPoP proof is not a valid JWT: {exc}") from exc


def _key(jwk: object) -> P256PublicKey:
    if not isinstance(jwk, dict):
        raise InvalidDpopProofError("The DPoP proof header must carry the public key in jwk")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise InvalidDpopProofError("The DPoP proof jwk must not contain private key material")
    try:
        return P256PublicKey.from_jwk(jwk)
    except JwkError as exc:
        raise InvalidDpopProofError(f"The DPoP proof jwk must be a public EC P-256 key: {exc}") from exc


def _iat(payload: Mapping[str, Any], now: datetime, max_age: timedelta, future_skew: timedelta) -> float:
    iat = payload.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise InvalidDpopProofError("The DPoP proof needs a numeric iat")
    seconds = now.timestamp()
    if iat > seconds + future_skew.total_seconds():
        raise InvalidDpopProofError("The DPoP proof iat is in the future")
    if iat < seconds - max_age.total_seconds():
        raise InvalidDpopProofError("The DPoP proof is too old (iat)")
    return float(iat)


def _check_ath(payload: Mapping[str, Any], access_token: str | None) -> None:
    # §4.3 step 12: "if presented to a protected resource in conjunction with an access token, ensure that the
    # value of the ath claim equals the hash of that access token".
    if access_token is None:
        return
    if payload.get("ath") != hash_access_token(access_token):
        raise InvalidDpopProofError("The DPoP proof ath is not the hash of the access token")
