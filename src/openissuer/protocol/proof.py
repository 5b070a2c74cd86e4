"""Verify OID4VCI 1.0 ``jwt`` key proofs (Appendix F.1, with the checks §8.2.1.1 requires of the issuer).

Pure spec logic: the time, the expected audience, the accepted algorithms and the client are arguments. Whether a
``c_nonce`` is required and still fresh is the caller's decision, because only it has the nonce store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from openissuer.crypto.jwk import JwkError
from openissuer.crypto.jws import CompactJws, JwsError, parse_compact_jws, public_key_from_x5c, verify_es256_jws
from openissuer.crypto.p256_public_key import P256PublicKey
from openissuer.errors import InvalidProofError

PROOF_TYP = "openid4vci-proof+jwt"
SUPPORTED_ALGS = frozenset({"ES256"})
# Registered asymmetric JWS algorithms (RFC 7518 §3.1, RFC 8037, RFC 8812, fully-specified Ed25519 / Ed448).
ASYMMETRIC_ALGS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "ES256K", "EdDSA", "Ed25519",
     "Ed448"}
)  # fmt: skip
_KEY_MEMBERS = ("jwk", "kid", "x5c")
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True)
class VerifiedProof:
    """What a verified proof establishes: the holder's public key, the ``c_nonce`` it carries and when it was made.

    ``key`` is the decoded key the signature verified with, ready for binding (JWK, COSE_Key, thumbprint);
    ``nonce`` is ``None`` when absent.
    """

    key: P256PublicKey
    nonce: str | None
    issued_at: datetime

    @property
    def jwk(self) -> dict[str, str]:
        """The holder key as a JWK with only the public members ``kty``, ``crv``, ``x``, ``y``."""
        return self.key.jwk


def verify_jwt_proof(
    proof: str | CompactJws,
    *,
    audience: str,
    now: datetime,
    allowed_algs: frozenset[str] = SUPPORTED_ALGS,
    max_age: timedelta = timedelta(minutes=5),
    future_skew: timedelta = timedelta(seconds=60),
    client_id: str | None = None,
) -> VerifiedProof:
    """Check a ``jwt`` proof and return its key, nonce and issue time; raise InvalidProofError otherwise.

    OID4VCI 1.0 §8.2.1.1 / Appendix F.1 (checklist summarised in reference/oid4vci-1.0.md A.9): required claims
    present, explicit ``typ``, a registered asymmetric ``alg`` that is not ``none`` and is allowed by policy, a
    signature that verifies with the header key, no private key in the header, and a fresh ``iat``.

    Trust assumptions: an ``x5c`` chain is not validated — only the leaf certificate's key is used, as the key the
    credential is bound to. ``kid`` (DID URL) keys are not supported. ``nonce`` is returned unchecked: when the
    issuer has a Nonce Endpoint the caller MUST reject a proof whose nonce is ``None`` with ``invalid_proof``
    (§8.3.1.2: a key proof without a ``c_nonce`` is an invalid proof) and check it against its nonce store.
    ``iss`` is only checked when ``client_id`` is given: ``ANONYMOUS`` (anonymous pre-authorized access) refuses
    any ``iss``, another value refuses an ``iss`` that differs from it.
    ``proof`` may be the output of ``parse_jwt_proof``, so a caller that needs the nonce first decodes only once.
    Unknown header and payload members (including ``key_attestation``) are ignored.
    """
    _check_arguments(now, allowed_algs)
    jws = proof if isinstance(proof, CompactJws) else parse_jwt_proof(proof)
    _verify_typ(jws.header)
    _verify_alg(jws.header, allowed_algs)
    _verify_no_crit(jws.header)
    key = _resolve_key(jws.header)
    _verify_signature(jws, key)
    _verify_aud(jws.payload, audience)
    issued_at = _verify_iat(jws.payload, now, max_age, future_skew)
    _verify_exp(jws.payload, now)
    _verify_iss(jws.payload, client_id)
    return VerifiedProof(key=key, nonce=_read_nonce(jws.payload), issued_at=issued_at)


def _check_arguments(now: datetime, allowed_algs: frozenset[str]) -> None:
    # Programming errors, not client errors: they must fail loudly rather than become invalid_proof.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not allowed_algs or not allowed_algs <= SUPPORTED_ALGS:
        raise ValueError(f"allowed_algs must be a non-empty subset of {sorted(SUPPORTED_ALGS)}")


def parse_jwt_proof(proof: object) -> CompactJws:
    """Decode a ``jwt`` proof without checking anything but its shape (a compact JWS of two JSON objects)."""
    if not isinstance(proof, str):
        raise InvalidProofError("the jwt proof must be a string in JWS compact serialization")
    try:
        return parse_compact_jws(proof)
    except JwsError as exc:
        # JwsError messages are fixed texts that never quote the input, so they are safe to show.
        raise InvalidProofError(f"the jwt proof is not a valid compact JWS: {exc}") from exc


def _verify_typ(header: Mapping[str, Any]) -> None:
    # F.1: typ "MUST be openid4vci-proof+jwt".
    if header.get("typ") != PROOF_TYP:
        raise InvalidProofError(f"the proof header typ must be '{PROOF_TYP}'", detail=_shown(header.get("typ")))


def _verify_alg(header: Mapping[str, Any], allowed_algs: frozenset[str]) -> None:
    # F.1: alg "MUST NOT be none or an identifier for a symmetric algorithm (MAC)".
    alg = header.get("alg")
    if alg is None:
        raise InvalidProofError("the proof header must contain alg")
    if not isinstance(alg, str):
        raise InvalidProofError("the proof header alg must be a string")
    if alg.lower() == "none":
        raise InvalidProofError("the proof alg must not be 'none'")
    if alg.upper().startswith("HS"):
        raise InvalidProofError("the proof alg must not be a symmetric (MAC) algorithm", detail=_shown(alg))
    if alg not in ASYMMETRIC_ALGS:
        raise InvalidProofError("the proof alg must be a registered asymmetric algorithm", detail=_shown(alg))
    if alg not in allowed_algs:
        supported = ", ".join(sorted(allowed_algs))
        raise InvalidProofError(f"the proof alg is not supported; supported: {supported}", detail=_shown(alg))


def _verify_no_crit(header: Mapping[str, Any]) -> None:
    # RFC 7515 §4.1.11: recipients MUST reject a JWS whose crit lists an extension they do not understand; we
    # understand none.
    if "crit" in header:
        raise InvalidProofError("the proof header must not contain crit: no JWS extensions are supported")


def _resolve_key(header: Mapping[str, Any]) -> P256PublicKey:
    # F.1: kid "MUST NOT be present if jwk or x5c is present"; jwk "MUST NOT be present if kid or x5c is present";
    # x5c "MUST NOT be present if kid or jwk is present".
    present = [name for name in _KEY_MEMBERS if name in header]
    if not present:
        raise InvalidProofError("the proof header must contain the holder key in jwk or x5c")
    if len(present) > 1:
        raise InvalidProofError("the proof header must contain exactly one of jwk, kid and x5c")
    if present[0] == "kid":
        raise InvalidProofError("kid (DID URL) key references are not supported by this issuer; use jwk or x5c")
    if present[0] == "x5c":
        return _key_from_x5c(header["x5c"])
    return _key_from_jwk(header["jwk"])


def _key_from_jwk(jwk: object) -> P256PublicKey:
    # Decoded once, here: the signature check and everything after (thumbprint, COSE_Key, record) use this value.
    if not isinstance(jwk, dict):
        raise InvalidProofError("the proof header jwk must be a JSON object")
    # §8.2.1.1: the header must not contain a private key; checked before anything else about the jwk.
    if _PRIVATE_JWK_MEMBERS & jwk.keys():
        raise InvalidProofError("the proof header jwk must not contain private key material")
    try:
        return P256PublicKey.from_jwk(jwk)
    except JwkError as exc:
        # JwkError messages name members only, never their values.
        raise InvalidProofError(f"the proof header jwk must be a public EC P-256 key for ES256: {exc}") from exc


def _key_from_x5c(x5c: object) -> P256PublicKey:
    try:
        return public_key_from_x5c(x5c)
    except JwsError as exc:
        raise InvalidProofError(f"the proof header x5c is not usable: {exc}") from exc


def _verify_signature(jws: CompactJws, key: P256PublicKey) -> None:
    try:
        verify_es256_jws(jws, key)
    except JwsError as exc:
        raise InvalidProofError("the proof signature does not verify with the header key") from exc


def _verify_aud(payload: Mapping[str, Any], audience: str) -> None:
    # F.1: aud "REQUIRED (string). The value of this claim MUST be the Credential Issuer Identifier". A string,
    # so an array is refused even when it holds the identifier: such a proof was made for several audiences.
    if "aud" not in payload:
        raise InvalidProofError("the proof must contain aud")
    aud = payload["aud"]
    if isinstance(aud, str) and aud == audience:
        return
    if not isinstance(aud, str):
        raise InvalidProofError("the proof aud must be a string: the Credential Issuer Identifier")
    raise InvalidProofError("the proof aud must be the Credential Issuer Identifier", detail=_shown(aud))


def _verify_iat(payload: Mapping[str, Any], now: datetime, max_age: timedelta, future_skew: timedelta) -> datetime:
    # F.1: iat "REQUIRED (number)"; the acceptable window is local policy (max_age, future_skew).
    if "iat" not in payload:
        raise InvalidProofError("the proof must contain iat")
    iat = _numeric_date(payload["iat"], "iat")
    now_seconds = now.timestamp()
    if iat > now_seconds + future_skew.total_seconds():
        raise InvalidProofError("the proof iat is in the future", detail=f"iat={_shown(iat)} now={now_seconds}")
    if iat < now_seconds - max_age.total_seconds():
        raise InvalidProofError("the proof is too old (iat)", detail=f"iat={_shown(iat)} now={now_seconds}")
    return datetime.fromtimestamp(iat, tz=UTC)


def _verify_exp(payload: Mapping[str, Any], now: datetime) -> None:
    # RFC 7519 §4.1.4: "the current date/time MUST be before the expiration date/time listed in the exp claim".
    if "exp" not in payload:
        return
    exp = _numeric_date(payload["exp"], "exp")
    if exp <= now.timestamp():
        raise InvalidProofError("the proof has expired (exp)", detail=f"exp={_shown(exp)} now={now.timestamp()}")


ANONYMOUS = ""
"""``client_id`` for an access token obtained by anonymous pre-authorized access: the proof must not carry iss."""


def _verify_iss(payload: Mapping[str, Any], client_id: str | None) -> None:
    # F.1: iss "OPTIONAL (string). The value of this claim MUST be the client_id of the Client making the
    # Credential request. This claim MUST be omitted if the access token authorizing the issuance call was
    # obtained from a Pre-Authorized Code Flow through anonymous access to the token endpoint."
    if client_id is None or "iss" not in payload:
        return
    if client_id == ANONYMOUS:
        raise InvalidProofError("the proof must not contain iss: the access token was obtained anonymously")
    if payload["iss"] != client_id:
        raise InvalidProofError("the proof iss must be the client_id of the client", detail=_shown(payload["iss"]))


def read_proof_nonce(jws: CompactJws) -> str | None:
    """Return the proof's ``nonce`` claim when it is a string (unverified: for looking it up before verifying)."""
    nonce = jws.payload.get("nonce")
    return nonce if isinstance(nonce, str) else None


def _read_nonce(payload: Mapping[str, Any]) -> str | None:
    # F.1: nonce "The value type of this claim MUST be a string".
    if "nonce" not in payload:
        return None
    nonce = payload["nonce"]
    if not isinstance(nonce, str):
        raise InvalidProofError("the proof nonce must be a string")
    return nonce


def _numeric_date(value: object, name: str) -> int | float:
    # RFC 7519 §2 NumericDate: a JSON number; bool is an int in Python but not a JSON number. Kept as int or
    # float and only compared, because a huge JSON integer would overflow a float or a datetime.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidProofError(f"the proof {name} must be a number (NumericDate)")
    return value


def _shown(value: object) -> str:
    # For the log only (``detail``), bounded so a hostile proof cannot flood it.
    return repr(value)[:80]
