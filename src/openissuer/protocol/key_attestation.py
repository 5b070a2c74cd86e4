"""Key attestations (OID4VCI 1.0 Appendix D.1): a wallet provider's or key store's statement that keys live in a
key storage component of a given attack-potential resistance, and the requirement a configuration sets on them
(``key_attestations_required``, §12.2.4).

A key attestation is a JWT (``typ`` ``key-attestation+jwt``) with ``iat``, ``attested_keys`` (JWKs) and optionally
``exp`` (required with the ``jwt`` proof type), ``key_storage``, ``user_authentication``, ``nonce``; HAIP: its
signer's chain in ``x5c`` without the trust anchor. It arrives in the ``key_attestation`` header of a ``jwt``
proof, or as the ``attestation`` proof type itself.

Pure: trust anchors and time are arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from openissuer.crypto.jwk import JwkError
from openissuer.crypto.jws import JwsError, parse_compact_jws, verify_es256_jws
from openissuer.crypto.p256_public_key import P256PublicKey
from openissuer.crypto.x5c_chain import X5cChainError, verify_x5c_chain
from openissuer.errors import InvalidProofError
from openissuer.protocol.status_list_reading import StatusListReadError, StatusReference, read_status_reference

KEY_ATTESTATION_TYP = "key-attestation+jwt"
KEY_ATTESTATION_ALGS = ("ES256",)
MAX_ATTESTED_KEYS = 100
MAX_LEVELS = 10
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True)
class KeyAttestationRequirement:
    """A configuration's ``key_attestations_required``: accepted ``key_storage`` and ``user_authentication`` values
    (empty: no constraint on that one; an attestation is required all the same)."""

    key_storage: tuple[str, ...] = ()
    user_authentication: tuple[str, ...] = ()

    def to_metadata(self) -> dict[str, list[str]]:
        """Return the metadata object (§12.2.4): absent members have no constraint."""
        members: dict[str, list[str]] = {}
        if self.key_storage:
            members["key_storage"] = list(self.key_storage)
        if self.user_authentication:
            members["user_authentication"] = list(self.user_authentication)
        return members


@dataclass(frozen=True)
class VerifiedKeyAttestation:
    """The attested keys and what the attestation says about their storage and use."""

    keys: tuple[P256PublicKey, ...]
    key_storage: tuple[str, ...]
    user_authentication: tuple[str, ...]
    nonce: str | None
    status: StatusReference | None = None


def verify_key_attestation(
    token: object,
    *,
    anchors: Sequence[bytes],
    now: datetime,
    require_exp: bool,
    future_skew: timedelta = timedelta(seconds=60),
) -> VerifiedKeyAttestation:
    """Check a key attestation JWT; raise ``InvalidProofError`` otherwise."""
    if not isinstance(token, str):
        raise InvalidProofError("The key attestation must be a JWT string")
    try:
        jws = parse_compact_jws(token)
    except JwsError as exc:
        raise InvalidProofError(f"The key attestation is not a valid JWT: {exc}") from exc
    if jws.header.get("typ") != KEY_ATTESTATION_TYP:
        raise InvalidProofError(f"The key attestation typ must be {KEY_ATTESTATION_TYP}")
    if jws.header.get("alg") not in KEY_ATTESTATION_ALGS:
        raise InvalidProofError(f"The key attestation alg must be one of {', '.join(KEY_ATTESTATION_ALGS)}")
    if "crit" in jws.header:
        raise InvalidProofError("The key attestation must not contain crit")
    try:
        signer = verify_x5c_chain(jws.header.get("x5c"), anchors, now)
    except X5cChainError as exc:
        raise InvalidProofError(f"The key attestation is not from a trusted signer: {exc}") from exc
    try:
        verify_es256_jws(jws, signer)
    except JwsError as exc:
        raise InvalidProofError("The key attestation signature does not verify") from exc
    claims = jws.payload
    _check_times(claims, now, future_skew, require_exp)
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise InvalidProofError("The key attestation nonce must be a string")
    try:
        status = read_status_reference(claims)
    except StatusListReadError as exc:
        raise InvalidProofError(f"The key attestation's {exc}") from exc
    return VerifiedKeyAttestation(
        keys=_attested_keys(claims.get("attested_keys")),
        key_storage=_levels(claims, "key_storage"),
        user_authentication=_levels(claims, "user_authentication"),
        nonce=nonce,
        status=status,
    )


def verify_key_attestation_requirement(
    attestation: VerifiedKeyAttestation, requirement: KeyAttestationRequirement
) -> None:
    """§12.2.4: the attested values must include one the configuration accepts, for each constrained member."""
    if requirement.key_storage and not set(attestation.key_storage) & set(requirement.key_storage):
        raise InvalidProofError("The key attestation's key_storage is not one this credential requires")
    if requirement.user_authentication and not (
        set(attestation.user_authentication) & set(requirement.user_authentication)
    ):
        raise InvalidProofError("The key attestation's user_authentication is not one this credential requires")


def _check_times(claims: Mapping[str, Any], now: datetime, skew: timedelta, require_exp: bool) -> None:
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise InvalidProofError("The key attestation needs a numeric iat")
    if iat > now.timestamp() + skew.total_seconds():
        raise InvalidProofError("The key attestation iat is in the future")
    exp = claims.get("exp")
    if exp is None:
        if require_exp:
            raise InvalidProofError("A key attestation in a jwt proof needs exp")
        return
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise InvalidProofError("The key attestation exp must be a number")
    if exp <= now.timestamp():
        raise InvalidProofError("The key attestation has expired")


def _attested_keys(value: object) -> tuple[P256PublicKey, ...]:
    if not isinstance(value, list) or not value or len(value) > MAX_ATTESTED_KEYS:
        raise InvalidProofError(f"The key attestation needs attested_keys: 1-{MAX_ATTESTED_KEYS} JWKs")
    keys: list[P256PublicKey] = []
    for jwk in value:
        if not isinstance(jwk, dict) or _PRIVATE_MEMBERS & jwk.keys():
            raise InvalidProofError("Each attested key must be a public JWK")
        try:
            keys.append(P256PublicKey.from_jwk(jwk))
        except JwkError as exc:
            raise InvalidProofError(f"Each attested key must be an EC P-256 key: {exc}") from exc
    return tuple(keys)


def _levels(claims: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = claims.get(name)
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or not value
        or len(value) > MAX_LEVELS
        or not all(isinstance(v, str) and v for v in value)
    ):
        raise InvalidProofError(f"The key attestation {name} must be a non-empty array of strings")
    return tuple(value)
