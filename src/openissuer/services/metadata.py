"""Published metadata: the credential issuer's and the authorization server's (OID4VCI 1.0 §12), per tenant.

Both documents are built from the tenant's configuration catalog, so on a cache hit they cost one statement (the
tenant's configuration version).
"""

from __future__ import annotations

from typing import Any

from openissuer.protocol.legacy_metadata import add_legacy_issuer_members
from openissuer.protocol.metadata import create_authorization_server_metadata, create_issuer_metadata
from openissuer.services.authorization import ScopeMap
from openissuer.services.configurations import ConfigurationCatalog, TenantConfigurations
from openissuer.services.tenancy import WalletTenant


class MetadataService:
    """Build the metadata documents from the tenant's configurations.

    The issuer metadata also carries what the reference platform and draft-era wallets read
    (``protocol/legacy_metadata.py``); each document is built once per configuration snapshot and issuer.
    """

    def __init__(self, catalog: ConfigurationCatalog, *, batch_size: int, display_name: str | None) -> None:
        self._catalog = catalog
        self._batch_size = batch_size
        self._display_name = display_name
        self._issuer_documents: dict[str, tuple[TenantConfigurations, str, dict[str, Any]]] = {}

    async def issuer_metadata(self, tenant: WalletTenant) -> dict[str, Any]:
        """Return the Credential Issuer metadata; configurations are keyed by their id (as offers name them)."""
        configurations = await self._catalog.current(tenant.id)
        cached = self._issuer_documents.get(tenant.id)
        if cached is not None and cached[0] is configurations and cached[1] == tenant.issuer:
            return cached[2]
        metadata = create_issuer_metadata(
            tenant.endpoints,
            configurations.metadata_entries,
            batch_size=self._batch_size,
            display_name=self._display_name,
            extra=configurations.issuer_metadata(tenant.issuer),
        )
        document = add_legacy_issuer_members(metadata, self._authorization_server_metadata(tenant, configurations))
        self._issuer_documents[tenant.id] = (configurations, tenant.issuer, document)
        return document

    async def scope_map(self, tenant: WalletTenant) -> ScopeMap:
        """Return scope -> configuration id for authorization requests."""
        configurations = await self._catalog.current(tenant.id)
        by_scope = {**configurations.scope_aliases, **configurations.scopes}
        return ScopeMap(by_scope=by_scope, ids=frozenset(configurations.by_id))

    async def authorization_server_metadata(self, tenant: WalletTenant) -> dict[str, Any]:
        """Return the Authorization Server metadata; the Authorization Code flow only once a provider exists."""
        return self._authorization_server_metadata(tenant, await self._catalog.current(tenant.id))

    def _authorization_server_metadata(
        self, tenant: WalletTenant, configurations: TenantConfigurations
    ) -> dict[str, Any]:
        scopes = sorted(configurations.scopes) if configurations.has_authentication_provider else None
        return create_authorization_server_metadata(tenant.endpoints, authorization_code_scopes=scopes)
