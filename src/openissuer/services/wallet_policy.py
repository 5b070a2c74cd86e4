"""Each tenant's wallet security policy: managed through the API, read by the wallet endpoints from a per-process
cache.

The credential endpoint reads the policy at the configuration version it read with the grant (no statement on a
cache hit, and a change made by any process is seen at the next request). The token, PAR and challenge endpoints
read no version: they use the cached policy when it was confirmed current within ``recheck_interval`` (1 s), else
read the version (one statement, at most once a second per tenant and process). A token issued in that second
under an older policy is still held to the current one at the credential endpoint (an unbound token where DPoP is
now required is refused there).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from openissuer.crypto.certificate_info import decode_pem
from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.wallet_security import DEFAULT_POLICY, WalletSecurityPolicy
from openissuer.errors import ErrorDetail, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.ports.wallet_store import WalletStore
from openissuer.services.access import ADMIN_ONLY, READERS, authorize
from openissuer.services.versioned_cache import Versioned, VersionedCache

MAX_ROOTS = 20


@dataclass(frozen=True)
class PolicyInput:
    """A replace request: certificates as PEM text."""

    haip: bool = False
    dpop_required: bool = False
    client_attestation_required: bool = False
    client_attestation_roots: tuple[str, ...] = ()
    key_attestation_roots: tuple[str, ...] = ()
    credential_response_encryption_required: bool = False


def parse_root_certificates(pems: Sequence[str], param: str) -> tuple[bytes, ...]:
    """Return the DER of PEM certificates; a ValidationError naming ``param`` for any that is not one."""
    if len(pems) > MAX_ROOTS:
        raise ValidationError(
            "Validation Error", details=[ErrorDetail("body", param, f"at most {MAX_ROOTS} certificates")]
        )
    roots: list[bytes] = []
    for index, pem in enumerate(pems):
        try:
            roots.append(decode_pem(pem))
        except ValueError as exc:
            raise ValidationError(
                "Validation Error",
                details=[ErrorDetail("body", f"{param}.{index}", "is not a PEM X.509 certificate")],
            ) from exc
    return tuple(dict.fromkeys(roots))


class WalletPolicyService:
    """Read and replace tenants' wallet security policies."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: WalletStore,
        clock: Clock,
        *,
        recheck_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow_factory
        self._store = store
        self._clock = clock
        self._cache: VersionedCache[WalletSecurityPolicy] = VersionedCache(self._load)
        self._recheck = recheck_interval
        self._monotonic = monotonic
        self._confirmed: dict[str, tuple[float, int]] = {}

    async def at_version(self, tenant_id: str, version: int) -> WalletSecurityPolicy:
        """Return the tenant's policy as of ``version`` or later (the credential endpoint)."""
        return await self._cache.get(tenant_id, version)

    async def recent(self, tenant_id: str) -> WalletSecurityPolicy:
        """Return the tenant's policy, confirmed current within the recheck interval."""
        confirmed = self._confirmed.get(tenant_id)
        now = self._monotonic()
        if confirmed is not None and now - confirmed[0] < self._recheck:
            cached = self._cache.peek(tenant_id, confirmed[1])
            if cached is not None:
                return cached
        version = await self._store.config_version(tenant_id) or 0
        self._confirmed[tenant_id] = (now, version)
        if len(self._confirmed) > 4096:
            self._confirmed.clear()
        return await self._cache.get(tenant_id, version)

    async def _load(self, tenant_id: str) -> Versioned[WalletSecurityPolicy]:
        async with self._uow(read_only=True) as uow:
            version = await uow.tenants.get_config_version(tenant_id)  # before the data: see VersionedCache
            policy = await uow.wallet_security.get(tenant_id)
        return Versioned(version or 0, policy or DEFAULT_POLICY)

    async def get_as(self, principal: ManagementPrincipal) -> WalletSecurityPolicy:
        """Return the caller's tenant's policy (admin, auditor)."""
        authorize(principal, READERS)
        async with self._uow(read_only=True) as uow:
            return await uow.wallet_security.get(principal.tenant_id) or DEFAULT_POLICY

    async def replace_as(self, principal: ManagementPrincipal, data: PolicyInput) -> WalletSecurityPolicy:
        """Replace the caller's tenant's policy (admin only); every process applies it from its next request."""
        authorize(principal, ADMIN_ONLY)
        policy = WalletSecurityPolicy(
            haip=data.haip,
            dpop_required=data.dpop_required,
            client_attestation_required=data.client_attestation_required,
            client_attestation_roots=parse_root_certificates(data.client_attestation_roots, "clientAttestation"),
            key_attestation_roots=parse_root_certificates(data.key_attestation_roots, "keyAttestation"),
            credential_response_encryption_required=data.credential_response_encryption_required,
        )
        if policy.requires_client_attestation and not policy.client_attestation_roots:
            raise ValidationError(
                "Validation Error",
                details=[
                    ErrorDetail(
                        "body",
                        "clientAttestation.rootCertificates",
                        "wallet attestation is required (haip or clientAttestation.required): name its trust anchors",
                    )
                ],
            )
        policy = replace(policy, updated_at=self._clock.now())
        async with self._uow() as uow:
            await uow.wallet_security.put(principal.tenant_id, policy)
            await uow.commit()
        self._confirmed.pop(principal.tenant_id, None)
        return policy
