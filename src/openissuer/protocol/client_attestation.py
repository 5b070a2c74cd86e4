"""OAuth 2.0 Attestation-Based Client Authentication (draft-ietf-oauth-attestation-based-client-auth-07, which
OID4VCI 1.0 Appendix E and HAIP §4.4 use): verify the ``OAuth-Client-Attestation`` and ``OAuth-Client-Attestation-PoP``
headers a wallet sends to PAR and the token endpoint.

The Client Attestation is a JWT (``typ`` ``oauth-client-attestation+jwt``) in which the wallet provider vouches for
a client instance's key (``cnf.jwk``) under the client's id (``sub``); HAIP: its signer's certificate chain is in
``x5c``, without the trust anchor. The PoP (``typ`` ``oauth-client-attestation-pop+jwt``) is signed by that key for
this authorization server (``aud``), fresh (``iat``), single-use (``jti``), and may carry a challenge from the
challenge endpoint.

Pure: trust anchors, time, the audience and the expected client id are arguments; whether the ``jti`` and the
challenge were used before is the caller's business (both are returned).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from openissuer.crypto.jwk import JwkError
from openissuer.crypto.jws import CompactJws, JwsError, parse_compact_jws, verify_es256_jws
from openissuer.crypto.p256_public_key import P256PublicKey
from openissuer.crypto.x5c_chain import X5cChainError, verify_x5c_chain
from openissuer.errors import InvalidClientAttestationError
from openissuer.protocol.status_list_reading import StatusListReadError, StatusReference, read_status_reference

ATTESTATION_TYP = "oauth-client-attestation+jwt"
POP_TYP = "oauth-client-attestation-pop+jwt"
ATTESTATION_ALGS = ("ES256",)
MAX_ID_LENGTH = 256
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True)
class VerifiedClientAttestation:
    """What a verified attestation and PoP establish: the client's id, the PoP's ``jti`` and its challenge, and
    where the attestation's revocation status is (its ``status`` claim; checked by the caller, which fetches it)."""

    client_id: str
    pop_jti: str
    challenge: str | None
    expires_at: datetime
    status: StatusReference | None = None


def verify_client_attestation(
    attestation: str,
    pop: str,
    *,
    anchors: Sequence[bytes],
    audience: str,
    now: datetime,
    client_id: str | None = None,
    max_age: timedelta = timedelta(minutes=5),
    future_skew: timedelta = timedelta(seconds=60),
) -> VerifiedClientAttestation:
    """Check a Client Attestation and its PoP; raise ``InvalidClientAttestationError`` (401) otherwise.

    ``client_id``, when given (the request names its client), must be the attestation's ``sub``.
    """
    jws = _parse(attestation, "client attestation")
    _check_header(jws, ATTESTATION_TYP, "client attestation")
    try:
        signer = verify_x5c_chain(jws.header.get("x5c"), anchors, now)
    except X5cChainError as exc:
        raise InvalidClientAttestationError(f"The client attestation is not from a trusted signer: {exc}") from exc
    _verify(jws, signer, "client attestation")
    claims = jws.payload
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not isinstance(issuer, str) or not issuer:
        raise InvalidClientAttestationError("The client attestation needs iss")
    if not isinstance(subject, str) or not subject or len(subject) > MAX_ID_LENGTH:
        raise InvalidClientAttestationError("The client attestation needs sub (the client_id)")
    if client_id is not None and subject != client_id:
        raise InvalidClientAttestationError("The client attestation's sub is not the request's client_id")
    expires_at = _required_exp(claims, now, "client attestation")
    _check_not_before(claims, now, future_skew, "client attestation")
    instance_key = _cnf_key(claims)
    try:
        status = read_status_reference(claims)
    except StatusListReadError as exc:
        raise InvalidClientAttestationError(f"The client attestation's {exc}") from exc

    proof = _parse(pop, "client attestation PoP")
    _check_header(proof, POP_TYP, "client attestation PoP")
    _verify(proof, instance_key, "client attestation PoP")
    pop_claims = proof.payload
    if "iss" in pop_claims and pop_claims["iss"] != subject:
        raise InvalidClientAttestationError("The client attestation PoP's iss is not the client_id")
    if pop_claims.get("aud") != audience:
        raise InvalidClientAttestationError("The client attestation PoP's aud must be this authorization server")
    jti = pop_claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_ID_LENGTH:
        raise InvalidClientAttestationError(f"The client attestation PoP needs a jti of 1-{MAX_ID_LENGTH} characters")
    _check_iat(pop_claims, now, max_age, future_skew)
    if "exp" in pop_claims:
        _required_exp(pop_claims, now, "client attestation PoP")
    challenge = pop_claims.get("challenge")
    if challenge is not None and not isinstance(challenge, str):
        raise InvalidClientAttestationError("The client attestation PoP's challenge must be a string")
    return VerifiedClientAttestation(
        client_id=subject, pop_jti=jti, challenge=challenge, expires_at=expires_at, status=status
    )


def _parse(token: str, name: str) -> CompactJws:
    try:
        return parse_compact_jws(token)
    except JwsError as exc:
        raise InvalidClientAttestationError(f"The {name} is not a valid JWT: {exc}") from exc


def _check_header(jws: CompactJws, typ: str, name: str) -> None:
    if jws.header.get("typ") != typ:
        raise InvalidClientAttestationError(f"The {name} typ must be {typ}")
    if jws.header.get("alg") not in ATTESTATION_ALGS:
        raise InvalidClientAttestationError(f"The {name} alg must be one of {', '.join(ATTESTATION_ALGS)}")
    if "crit" in jws.header:
        raise InvalidClientAttestationError(f"The {name} must not contain crit")


def _verify(jws: CompactJws, key: P256PublicKey, name: str) -> None:
    try:
        verify_es256_jws(jws, key)
    except JwsError as exc:
        raise InvalidClientAttestationError(f"The {name} signature does not verify") from exc


def _cnf_key(claims: Mapping[str, Any]) -> P256PublicKey:
    cnf = claims.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise InvalidClientAttestationError("The client attestation needs cnf.jwk (the client instance's key)")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise InvalidClientAttestationError("The client attestation's cnf.jwk must not contain private key material")
    try:
        return P256PublicKey.from_jwk(jwk)
    except JwkError as exc:
        raise InvalidClientAttestationError(f"The client attestation's cnf.jwk must be a P-256 key: {exc}") from exc


def _number(claims: Mapping[str, Any], name: str, what: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClientAttestationError(f"The {what} needs a numeric {name}")
    return float(value)


def _required_exp(claims: Mapping[str, Any], now: datetime, what: str) -> datetime:
    exp = _number(claims, "exp", what)
    if exp <= now.timestamp():
        raise InvalidClientAttestationError(f"The {what} has expired")
    return datetime.fromtimestamp(exp, tz=now.tzinfo)


def _check_not_before(claims: Mapping[str, Any], now: datetime, skew: timedelta, what: str) -> None:
    for name in ("nbf", "iat"):
        if name in claims and _number(claims, name, what) > now.timestamp() + skew.total_seconds():
            raise InvalidClientAttestationError(f"The {what} is not valid yet ({name})")


def _check_iat(claims: Mapping[str, Any], now: datetime, max_age: timedelta, skew: timedelta) -> None:
    iat = _number(claims, "iat", "client attestation PoP")
    seconds = now.timestamp()
    if iat > seconds + skew.total_seconds():
        raise InvalidClientAttestationError("The client attestation PoP's iat is in the future")
    if iat < seconds - max_age.total_seconds():
        raise InvalidClientAttestationError("The client attestation PoP is too old (iat)")
