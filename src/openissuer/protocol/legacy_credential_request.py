"""The credential request of draft-era OID4VCI wallets and the reference platform's SDKs (reference §2.5 step 7,
§3.6): ``{format, doctype | vct | credential_definition, proof: {proof_type: "jwt", jwt}}``, answered with
``{format, credential}``.

The wallet names a type, not a configuration; the configuration is the one of that format whose metadata entry
carries the same type members (``matches_entry``), among those the access token covers. A body is legacy when it
has ``format`` and neither 1.0 identifier, which ``parse_credential_request`` tells with two lookups, so the 1.0
path costs nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openissuer.errors import InvalidCredentialRequestError, InvalidProofError

TYPE_MEMBERS = ("doctype", "vct", "credential_definition")
JWT_PROOF = "jwt"


@dataclass(frozen=True)
class LegacySelector:
    """What a legacy request asks for: a format and the type members it gave (``(name, value)`` pairs)."""

    format: str
    type_members: tuple[tuple[str, Any], ...]

    def matches_entry(self, entry: Mapping[str, Any]) -> bool:
        """Tell whether a ``credential_configurations_supported`` entry is of this format and type; for
        ``credential_definition`` the ``type`` arrays are compared (``@context`` is the wallet's to add)."""
        if entry.get("format") != self.format:
            return False
        for name, value in self.type_members:
            if name == "credential_definition":
                wanted = value.get("type") if isinstance(value, dict) else None
                if wanted is not None and (entry.get(name) or {}).get("type") != wanted:
                    return False
            elif entry.get(name) != value:
                return False
        return True


def is_legacy_request(body: Mapping[str, Any]) -> bool:
    """A body with ``format`` and no 1.0 identifier."""
    return "format" in body and "credential_configuration_id" not in body and "credential_identifier" not in body


def parse_legacy_request(body: Mapping[str, Any]) -> tuple[LegacySelector, tuple[str, ...]]:
    """Return what the request selects and its proof JWTs (the singular ``proof``; none for a bearer format)."""
    credential_format = body.get("format")
    if not isinstance(credential_format, str) or not credential_format:
        raise InvalidCredentialRequestError("format must be a non-empty string")
    members = tuple((name, body[name]) for name in TYPE_MEMBERS if body.get(name) is not None)
    for name, value in members:
        if name == "credential_definition" and not isinstance(value, dict):
            raise InvalidCredentialRequestError("credential_definition must be an object")
        if name != "credential_definition" and (not isinstance(value, str) or not value):
            raise InvalidCredentialRequestError(f"{name} must be a non-empty string")
    proof = body.get("proof")
    if proof is None:
        return LegacySelector(credential_format, members), ()
    if not isinstance(proof, dict) or proof.get("proof_type") != JWT_PROOF:
        raise InvalidProofError("proof must be an object with proof_type jwt")
    jwt = proof.get("jwt")
    if not isinstance(jwt, str) or not jwt:
        raise InvalidProofError("proof.jwt must be a JWT")
    return LegacySelector(credential_format, members), (jwt,)


def create_legacy_credential_response(credential_format: str, credential: str) -> dict[str, Any]:
    """Return ``{format, credential}`` (reference §3.6 "Response: {format, credential}")."""
    return {"format": credential_format, "credential": credential}
