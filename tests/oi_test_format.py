"""A credential format defined only in the tests: a JWS over the mapped claims, signed by the tenant's document
signer with its certificate in ``x5c``. It shows that a format is one class and one registration, with no file
under ``src/`` touched: ``build(settings, formats=[*default_formats(), JwsTestFormat()])``.

With ``bearer=True`` it issues bearer credentials (no holder binding, proofs optional), as CWTs are.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from openissuer.crypto.base64url import encode_base64url
from openissuer.crypto.signer import Signer
from openissuer.domain.pki import SignerKind
from openissuer.errors import ErrorDetail
from openissuer.formats.base import (
    ConfigurationOption,
    ConfigurationSchema,
    FormatConfiguration,
    HolderKey,
    IssuedCredential,
    MappedClaims,
    RandomBytes,
    RequestedValidity,
    StatusListReference,
)

DEFAULT_VALIDITY = timedelta(days=30)


class JwsTestFormat:
    """``jwt_test`` (profile ``test-jws``) or, as a bearer credential, ``jwt_test_bearer`` (``test-bearer``)."""

    signer_kind = SignerKind.DOCUMENT_SIGNER

    def __init__(self, *, bearer: bool = False) -> None:
        self.bearer = bearer
        self.format_id = "jwt_test_bearer" if bearer else "jwt_test"
        self.profile = "test-bearer" if bearer else "test-jws"
        self.binds_holder = not bearer
        self.schema = ConfigurationSchema(
            type_field="type",
            claims_namespaced=False,
            expires_in_required=False,
            options={"audience": ConfigurationOption({"type": "string", "maxLength": 100}, default="anyone")},
        )

    def validate_configuration(self, config: FormatConfiguration) -> list[ErrorDetail]:
        problems = []
        if not config.credential_type.startswith("test:"):
            problems.append(ErrorDetail("body", "type", "must start with test:", config.credential_type))
        if not isinstance(config.options.get("audience"), str):
            problems.append(ErrorDetail("body", "audience", "must be a string"))
        return problems

    def scope(self, config: FormatConfiguration) -> str:
        return f"{self.format_id}:{config.credential_type}"

    def metadata(self, config: FormatConfiguration) -> dict[str, Any]:
        entry: dict[str, Any] = {"format": self.format_id, "type": config.credential_type}
        if self.binds_holder:
            entry["cryptographic_binding_methods_supported"] = ["jwk"]
            entry["proof_types_supported"] = {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}
        return entry

    def issuer_metadata(self, issuer: str) -> dict[str, Any]:
        return {"test_format_note": f"{self.format_id} at {issuer}"}

    def issue(
        self,
        claims: MappedClaims,
        holder_key: HolderKey | None,
        config: FormatConfiguration,
        signer: Signer,
        now: datetime,
        *,
        random_bytes: RandomBytes,
        validity: RequestedValidity | None = None,
        status: StatusListReference | None = None,
    ) -> IssuedCredential:
        expires = now + (config.expires_in or DEFAULT_VALIDITY)
        header = {"alg": signer.alg, "typ": "test+jwt", "x5c": [_b64(c) for c in signer.x5c]}
        payload: dict[str, Any] = {
            "type": config.credential_type,
            "aud": config.options["audience"],
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": encode_base64url(random_bytes(16)),
            "claims": claims,
        }
        if holder_key is not None:
            payload["cnf"] = {"jwk": dict(holder_key.jwk)}
        signing_input = f"{_json_b64(header)}.{_json_b64(payload)}"
        token = f"{signing_input}.{encode_base64url(signer.sign(signing_input.encode()))}"
        return IssuedCredential(
            format_id=self.format_id,
            credential_type=config.credential_type,
            credential=token,
            signed_at=now,
            valid_from=now,
            valid_until=expires,
            holder_key_thumbprint=None if holder_key is None else holder_key.thumbprint,
            details={"claimNames": sorted(claims)},
        )


def _json_b64(value: dict[str, Any]) -> str:
    return encode_base64url(json.dumps(value, separators=(",", ":"), default=str).encode())


def _b64(der: bytes) -> str:
    import base64

    return base64.b64encode(der).decode()
