"""``/v1/openid/wallet-security``: the tenant's wallet security policy (HAIP switch, DPoP, wallet and key
attestation trust anchors, encryption). Admins replace it; auditors and admins read it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from openissuer.crypto.certificate_info import encode_pem
from openissuer.domain.wallet_security import WalletSecurityPolicy
from openissuer.services.wallet_policy import PolicyInput
from openissuer.web.deps import ContainerDep, PrincipalDep

router = APIRouter(prefix="/v1/openid/wallet-security", tags=["Wallet security"])

_PEMS = "PEM certificates of trust anchors (at most 20); an attestation's x5c chain must end at one of them."


class AttestationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    required: bool = Field(False, description="Require wallet attestation at PAR and the token endpoint.")
    rootCertificates: list[str] = Field(default_factory=list, max_length=20, description=_PEMS)  # noqa: N815


class KeyAttestationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rootCertificates: list[str] = Field(default_factory=list, max_length=20, description=_PEMS)  # noqa: N815


class EncryptionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    required: bool = Field(False, description="Require encrypted credential requests and responses.")


class WalletSecurityBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    haip: bool = Field(
        False,
        description="HAIP 1.0: PAR, PKCE S256, DPoP, wallet attestation at PAR and token, ES256 only; "
        "anonymous pre-authorized access is refused.",
    )
    dpopRequired: bool = Field(False, description="Require DPoP-bound access tokens.")  # noqa: N815
    clientAttestation: AttestationBody = Field(default_factory=lambda: AttestationBody(required=False))  # noqa: N815
    keyAttestation: KeyAttestationBody = Field(  # noqa: N815
        default_factory=KeyAttestationBody,
        description="Trust anchors of key attestations (key_attestation header, attestation proof type).",
    )
    credentialResponseEncryption: EncryptionBody = Field(default_factory=lambda: EncryptionBody(required=False))  # noqa: N815


class WalletSecurityOut(WalletSecurityBody):
    updatedAt: str | None = None  # noqa: N815


def _out(policy: WalletSecurityPolicy) -> dict[str, Any]:
    return {
        "haip": policy.haip,
        "dpopRequired": policy.dpop_required,
        "clientAttestation": {
            "required": policy.client_attestation_required,
            "rootCertificates": [encode_pem(der) for der in policy.client_attestation_roots],
        },
        "keyAttestation": {"rootCertificates": [encode_pem(der) for der in policy.key_attestation_roots]},
        "credentialResponseEncryption": {"required": policy.credential_response_encryption_required},
        "updatedAt": None if policy.updated_at is None else policy.updated_at.isoformat(),
    }


def policy_input(body: WalletSecurityBody) -> PolicyInput:
    """The service's input of a PUT body."""
    return PolicyInput(
        haip=body.haip,
        dpop_required=body.dpopRequired,
        client_attestation_required=body.clientAttestation.required,
        client_attestation_roots=tuple(body.clientAttestation.rootCertificates),
        key_attestation_roots=tuple(body.keyAttestation.rootCertificates),
        credential_response_encryption_required=body.credentialResponseEncryption.required,
    )


@router.get("", response_model=WalletSecurityOut, response_model_exclude_none=True, summary="Read the policy")
async def get_wallet_security(principal: PrincipalDep, container: ContainerDep) -> Any:
    return _out(await container.wallet_policies.get_as(principal))


@router.put(
    "",
    response_model=WalletSecurityOut,
    response_model_exclude_none=True,
    summary="Replace the policy (every worker applies it from its next request)",
)
async def replace_wallet_security(body: WalletSecurityBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return _out(await container.wallet_policies.replace_as(principal, policy_input(body)))
