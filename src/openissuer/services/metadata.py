"""Published metadata: the credential issuer's and the authorization server's (OID4VCI 1.0 §12), per tenant.

Both documents are built from the tenant's configuration catalog, so on a cache hit they cost one statement (the
tenant's configuration version).
"""

from __future__ import annotations

from typing import Any

from openissuer.domain.wallet_security import DEFAULT_POLICY, WalletSecurityPolicy
from openissuer.protocol.legacy_metadata import add_legacy_issuer_members
from openissuer.protocol.metadata import (
    create_authorization_server_metadata,
    create_issuer_metadata,
    create_wallet_security_metadata,
)
from openissuer.services.authorization import ScopeMap
from openissuer.services.configurations import ConfigurationCatalog, TenantConfigurations
from openissuer.services.encryption import CredentialEncryptionService
from openissuer.services.key_proofs import read_key_attestation_requirement
from openissuer.services.tenancy import WalletTenant
from openissuer.services.wallet_policy import WalletPolicyService

ES256 = "ES256"


class MetadataService:
    """Build the metadata documents from the tenant's configurations and its wallet security policy.

    The issuer metadata also carries what the reference platform and draft-era wallets read
    (``protocol/legacy_metadata.py``); it is built once per configuration snapshot, policy and issuer.
    """

    def __init__(
        self,
        catalog: ConfigurationCatalog,
        *,
        batch_size: int,
        display_name: str | None,
        policies: WalletPolicyService | None = None,
        encryption: CredentialEncryptionService | None = None,
    ) -> None:
        self._catalog = catalog
        self._batch_size = batch_size
        self._display_name = display_name
        self._policies = policies
        self._encryption = encryption
        self._issuer_documents: dict[str, tuple[TenantConfigurations, WalletSecurityPolicy, str, dict[str, Any]]] = {}

    async def _policy(self, tenant: WalletTenant) -> WalletSecurityPolicy:
        return DEFAULT_POLICY if self._policies is None else await self._policies.recent(tenant.id)

    async def issuer_metadata(self, tenant: WalletTenant) -> dict[str, Any]:
        """Return the Credential Issuer metadata; configurations are keyed by their id (as offers name them).

        The tenant's policy adds the encryption parameters (§12.2.4), the ``attestation`` proof type (when key
        attestations can be verified) and each configuration's ``key_attestations_required``."""
        configurations = await self._catalog.current(tenant.id)
        policy = await self._policy(tenant)
        cached = self._issuer_documents.get(tenant.id)
        if cached is not None and cached[0] is configurations and cached[1] is policy and cached[2] == tenant.issuer:
            return cached[3]
        extra = configurations.issuer_metadata(tenant.issuer)
        if self._encryption is not None:
            extra.update(self._encryption.issuer_metadata(tenant.id, policy))
        metadata = create_issuer_metadata(
            tenant.endpoints,
            _with_key_attestations(configurations, policy),
            batch_size=self._batch_size,
            display_name=self._display_name,
            extra=extra,
        )
        document = add_legacy_issuer_members(
            metadata, self._authorization_server_metadata(tenant, configurations, policy)
        )
        self._issuer_documents[tenant.id] = (configurations, policy, tenant.issuer, document)
        return document

    async def scope_map(self, tenant: WalletTenant) -> ScopeMap:
        """Return scope -> configuration id for authorization requests."""
        configurations = await self._catalog.current(tenant.id)
        by_scope = {**configurations.scope_aliases, **configurations.scopes}
        return ScopeMap(by_scope=by_scope, ids=frozenset(configurations.by_id))

    async def authorization_server_metadata(self, tenant: WalletTenant) -> dict[str, Any]:
        """Return the Authorization Server metadata; the Authorization Code flow only once a provider exists."""
        configurations = await self._catalog.current(tenant.id)
        return self._authorization_server_metadata(tenant, configurations, await self._policy(tenant))

    def _authorization_server_metadata(
        self, tenant: WalletTenant, configurations: TenantConfigurations, policy: WalletSecurityPolicy
    ) -> dict[str, Any]:
        scopes = sorted(configurations.scopes) if configurations.has_authentication_provider else None
        metadata = create_authorization_server_metadata(tenant.endpoints, authorization_code_scopes=scopes)
        metadata.update(
            create_wallet_security_metadata(
                tenant.endpoints,
                haip=policy.haip,
                attestation=bool(policy.client_attestation_roots),
                attestation_required=policy.requires_client_attestation,
                par_required=policy.requires_par,
                authorization_code=scopes is not None,
            )
        )
        return metadata


def _with_key_attestations(
    configurations: TenantConfigurations, policy: WalletSecurityPolicy
) -> dict[str, dict[str, Any]]:
    """Each configuration's entry with the ``attestation`` proof type and ``key_attestations_required`` added where
    they apply (Appendix F.3, §12.2.4)."""
    entries: dict[str, dict[str, Any]] = {}
    for configuration_id, entry in configurations.metadata_entries.items():
        proof_types = entry.get("proof_types_supported")
        prepared = configurations.get(configuration_id)
        requirement = None if prepared is None else read_key_attestation_requirement(prepared.configuration.options)
        if not isinstance(proof_types, dict) or (requirement is None and not policy.key_attestation_roots):
            entries[configuration_id] = entry
            continue
        types = {name: dict(value) for name, value in proof_types.items()}
        if policy.key_attestation_roots:
            types["attestation"] = {"proof_signing_alg_values_supported": [ES256]}
        if requirement is not None:
            for value in types.values():
                value["key_attestations_required"] = requirement.to_metadata()
        entries[configuration_id] = {**entry, "proof_types_supported": types}
    return entries
