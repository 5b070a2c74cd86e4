"""Credential requests and responses (OID4VCI 1.0 §8.2, §8.3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openissuer.crypto.jwk import JwkError, parse_p256_public_jwk
from openissuer.errors import InvalidCredentialRequestError, InvalidEncryptionParametersError, InvalidProofError
from openissuer.protocol.legacy_credential_request import LegacySelector, is_legacy_request, parse_legacy_request

JWT_PROOF = "jwt"
ATTESTATION_PROOF = "attestation"
RESPONSE_ENCRYPTION_ALGS = ("ECDH-ES",)
RESPONSE_ENCRYPTION_ENCS = ("A128GCM", "A256GCM")


@dataclass(frozen=True)
class ResponseEncryption:
    """``credential_response_encryption`` (§8.2): the wallet's public key (with its ``alg``) and the ``enc``."""

    jwk: dict[str, Any]
    alg: str
    enc: str

    @property
    def kid(self) -> str | None:
        """The key's ``kid``, which the JWE must carry when the key has one (§10)."""
        kid = self.jwk.get("kid")
        return kid if isinstance(kid, str) else None


@dataclass(frozen=True)
class CredentialRequest:
    """A parsed credential request: exactly one of the two ids, and the ``jwt`` proofs (one credential each).

    ``jwt_proofs`` is empty when the request has no ``proofs``: whether the credential needs them is the format's
    decision (a bearer credential is issued once per request without one). ``singular_proof`` tells that the body
    used the draft-era ``proof`` member instead, for a precise error.
    """

    credential_identifier: str | None
    credential_configuration_id: str | None
    jwt_proofs: tuple[str, ...]
    singular_proof: bool = False
    legacy: LegacySelector | None = None
    """Set for a draft-era ``{format, doctype, proof}`` request (``protocol/legacy_credential_request.py``)."""
    attestation_proofs: tuple[str, ...] = ()
    response_encryption: ResponseEncryption | None = None
    encrypted: bool = False
    """Whether the request arrived encrypted (``application/jwt``), set where it was decrypted."""


def parse_credential_request(body: object, *, batch_size: int) -> CredentialRequest:
    """Parse a JSON credential request; unknown members are ignored (§8.2). A draft-era request (``format``, no
    1.0 identifier) is parsed as such."""
    if not isinstance(body, dict):
        raise InvalidCredentialRequestError("The credential request must be a JSON object")
    if "format" in body and is_legacy_request(body):
        selector, proofs = parse_legacy_request(body)
        return CredentialRequest(None, None, proofs, legacy=selector)
    identifier = _optional_string(body, "credential_identifier")
    configuration_id = _optional_string(body, "credential_configuration_id")
    if (identifier is None) == (configuration_id is None):
        raise InvalidCredentialRequestError(
            "Exactly one of credential_identifier and credential_configuration_id is required"
        )
    proof_type, proofs = _parse_proofs(body, batch_size)
    return CredentialRequest(
        credential_identifier=identifier,
        credential_configuration_id=configuration_id,
        jwt_proofs=proofs if proof_type == JWT_PROOF else (),
        singular_proof="proof" in body and "proofs" not in body,
        attestation_proofs=proofs if proof_type == ATTESTATION_PROOF else (),
        response_encryption=_parse_response_encryption(body.get("credential_response_encryption")),
    )


def _parse_response_encryption(value: object) -> ResponseEncryption | None:
    """§8.2 ``credential_response_encryption``: ``jwk`` (a public key whose ``alg`` MUST be present) and ``enc``;
    ``zip`` is not supported (not advertised)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidEncryptionParametersError("credential_response_encryption must be an object")
    jwk, enc = value.get("jwk"), value.get("enc")
    if "zip" in value:
        raise InvalidEncryptionParametersError("Compression (zip) of credential responses is not supported")
    if not isinstance(jwk, dict):
        raise InvalidEncryptionParametersError("credential_response_encryption.jwk must be a public JWK")
    alg = jwk.get("alg")
    if alg not in RESPONSE_ENCRYPTION_ALGS:
        raise InvalidEncryptionParametersError(
            f"credential_response_encryption.jwk needs alg, one of {', '.join(RESPONSE_ENCRYPTION_ALGS)}"
        )
    if enc not in RESPONSE_ENCRYPTION_ENCS:
        raise InvalidEncryptionParametersError(
            f"credential_response_encryption.enc must be one of {', '.join(RESPONSE_ENCRYPTION_ENCS)}"
        )
    try:
        parse_p256_public_jwk(jwk)
    except JwkError as exc:
        raise InvalidEncryptionParametersError(
            f"credential_response_encryption.jwk must be a public EC P-256 key: {exc}"
        ) from exc
    return ResponseEncryption(jwk=dict(jwk), alg=str(alg), enc=str(enc))


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidCredentialRequestError(f"{name} must be a non-empty string")
    return value


def _parse_proofs(body: dict[str, Any], batch_size: int) -> tuple[str, tuple[str, ...]]:
    """§8.2: ``proofs``, when present, is an object with exactly one proof type whose value is a non-empty array;
    Appendix F.3: the ``attestation`` array has exactly one element."""
    proofs = body.get("proofs")
    if proofs is None:
        return JWT_PROOF, ()
    if not isinstance(proofs, dict) or len(proofs) != 1:
        raise InvalidProofError("proofs must be an object with exactly one proof type")
    ((proof_type, values),) = proofs.items()
    if proof_type not in (JWT_PROOF, ATTESTATION_PROOF):
        raise InvalidProofError(f"Proof type {str(proof_type)[:40]!r} is not supported; use jwt or attestation")
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise InvalidProofError(f"proofs.{proof_type} must be a non-empty array of JWTs")
    if proof_type == ATTESTATION_PROOF and len(values) != 1:
        raise InvalidProofError("proofs.attestation must hold exactly one key attestation")
    if len(values) > batch_size:
        raise InvalidCredentialRequestError(f"At most {batch_size} proofs may be sent in one request")
    return proof_type, tuple(values)


def create_credential_response(credentials: Sequence[str], notification_id: str) -> dict[str, Any]:
    """Return ``{"credentials": [{"credential": ...}], "notification_id": ...}`` (§8.3)."""
    return {"credentials": [{"credential": c} for c in credentials], "notification_id": notification_id}
