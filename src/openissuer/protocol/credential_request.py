"""Credential requests and responses (OID4VCI 1.0 §8.2, §8.3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openissuer.errors import InvalidCredentialRequestError, InvalidEncryptionParametersError, InvalidProofError
from openissuer.protocol.legacy_credential_request import LegacySelector, is_legacy_request, parse_legacy_request

JWT_PROOF = "jwt"


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
    if "credential_response_encryption" in body:
        raise InvalidEncryptionParametersError("This issuer does not encrypt credential responses")
    return CredentialRequest(
        credential_identifier=identifier,
        credential_configuration_id=configuration_id,
        jwt_proofs=_parse_proofs(body, batch_size),
        singular_proof="proof" in body and "proofs" not in body,
    )


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidCredentialRequestError(f"{name} must be a non-empty string")
    return value


def _parse_proofs(body: dict[str, Any], batch_size: int) -> tuple[str, ...]:
    """§8.2: ``proofs``, when present, is an object with exactly one proof type whose value is a non-empty array."""
    proofs = body.get("proofs")
    if proofs is None:
        return ()
    if not isinstance(proofs, dict) or len(proofs) != 1:
        raise InvalidProofError("proofs must be an object with exactly one proof type")
    ((proof_type, values),) = proofs.items()
    if proof_type != JWT_PROOF:
        raise InvalidProofError(f"Proof type {proof_type!r} is not supported; use jwt")
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise InvalidProofError("proofs.jwt must be a non-empty array of JWTs")
    if len(values) > batch_size:
        raise InvalidCredentialRequestError(f"At most {batch_size} proofs may be sent in one request")
    return tuple(values)


def create_credential_response(credentials: Sequence[str], notification_id: str) -> dict[str, Any]:
    """Return ``{"credentials": [{"credential": ...}], "notification_id": ...}`` (§8.3)."""
    return {"credentials": [{"credential": c} for c in credentials], "notification_id": notification_id}
