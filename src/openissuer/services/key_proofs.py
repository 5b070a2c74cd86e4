"""The key proofs of a credential request, verified: ``jwt`` proofs (with or without a ``key_attestation`` header)
and the ``attestation`` proof type (OID4VCI 1.0 Appendix F.1, F.3, D.1).

A ``jwt`` proof binds its own key; with a key attestation (verified against the tenant's key attestation trust
anchors) the proof must be signed by one of the attested keys, and every attested key gets a credential ("SHOULD
issue a Credential for each cryptographic public key specified in the attested_keys claim"). An ``attestation``
proof is a key attestation alone, whose ``nonce`` is the ``c_nonce``. A configuration's ``key_attestations_required``
is checked once the configuration is known (``verify_key_attestations_required``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from openissuer.crypto.jws import CompactJws, JwsError, parse_compact_jws
from openissuer.errors import InvalidProofError
from openissuer.formats.base import HolderKey
from openissuer.protocol.key_attestation import (
    KeyAttestationRequirement,
    VerifiedKeyAttestation,
    verify_key_attestation,
    verify_key_attestation_requirement,
)
from openissuer.protocol.proof import verify_jwt_proof


@dataclass(frozen=True)
class KeyProofs:
    """The holder keys the proofs bind (distinct, in order), their nonces and the key attestations they carry."""

    keys: tuple[HolderKey, ...]
    nonces: tuple[str, ...]
    attestations: tuple[VerifiedKeyAttestation | None, ...]


def read_attestation_nonce(token: str) -> str | None:
    """Return an ``attestation`` proof's ``nonce`` unverified (to look it up with the grant); None when unreadable."""
    try:
        nonce = parse_compact_jws(token).payload.get("nonce")
    except JwsError:
        return None
    return nonce if isinstance(nonce, str) else None


def verify_key_proofs(
    jwt_proofs: Sequence[CompactJws],
    attestation_proofs: Sequence[str],
    *,
    audience: str,
    client_id: str,
    now: datetime,
    anchors: Sequence[bytes],
) -> KeyProofs:
    """Verify every proof; return their keys (attested keys included), nonces and attestations."""
    keys: list[HolderKey] = []
    nonces: list[str] = []
    attestations: list[VerifiedKeyAttestation | None] = []
    proof_keys: list[str] = []
    for jws in jwt_proofs:
        verified = verify_jwt_proof(jws, audience=audience, now=now, client_id=client_id)
        if verified.nonce is None:
            raise InvalidProofError("The proof must contain the c_nonce from the nonce endpoint")
        nonces.append(verified.nonce)
        proof_keys.append(verified.key.thumbprint)
        attestation = None
        if "key_attestation" in jws.header and anchors:
            attestation = verify_key_attestation(
                jws.header["key_attestation"], anchors=anchors, now=now, require_exp=True
            )
            if verified.key.thumbprint not in {key.thumbprint for key in attestation.keys}:
                raise InvalidProofError("The proof must be signed by one of the keys its key attestation attests")
            if attestation.nonce is not None and attestation.nonce != verified.nonce:
                raise InvalidProofError("The key attestation's nonce must be the proof's c_nonce")
            keys += attestation.keys
        else:
            keys.append(verified.key)
        attestations.append(attestation)
    if len(set(proof_keys)) != len(proof_keys):
        raise InvalidProofError("Each proof in a batch must use a different key")
    for token in attestation_proofs:
        if not anchors:
            raise InvalidProofError("The attestation proof type needs key attestation trust anchors this issuer lacks")
        attestation = verify_key_attestation(token, anchors=anchors, now=now, require_exp=False)
        if attestation.nonce is None:
            raise InvalidProofError("The key attestation must contain the c_nonce from the nonce endpoint")
        nonces.append(attestation.nonce)
        keys += attestation.keys
        attestations.append(attestation)
    distinct = {key.thumbprint: key for key in keys}  # an attestation may repeat a proof's key
    return KeyProofs(tuple(distinct.values()), tuple(dict.fromkeys(nonces)), tuple(attestations))


def verify_key_attestations_required(proofs: KeyProofs, requirement: KeyAttestationRequirement | None) -> None:
    """§12.2.4: with ``key_attestations_required`` every proof carries a key attestation that meets it."""
    if requirement is None:
        return
    if not proofs.attestations or any(a is None for a in proofs.attestations):
        raise InvalidProofError("This credential requires a key attestation in every proof")
    for attestation in proofs.attestations:
        assert attestation is not None
        verify_key_attestation_requirement(attestation, requirement)


KEY_ATTESTATIONS_OPTION = "keyAttestationsRequired"
"""The configuration field (every binding format) holding ``{keyStorage: [...], userAuthentication: [...]}``."""


def read_key_attestation_requirement(options: object) -> KeyAttestationRequirement | None:
    """Return a configuration's key attestation requirement (stored in its options), None when it has none."""
    value = options.get(KEY_ATTESTATIONS_OPTION) if isinstance(options, dict) else None
    if not isinstance(value, dict):
        return None
    return KeyAttestationRequirement(
        key_storage=tuple(value.get("keyStorage") or ()),
        user_authentication=tuple(value.get("userAuthentication") or ()),
    )
