"""Published metadata: the credential issuer's and the authorization server's (OID4VCI 1.0 §12), per tenant.

Both documents are built from the tenant's configuration catalog, so on a cache hit they cost one statement (the
tenant's configuration version).
"""

from __future__ import annotations

from typing import Any

from openissuer.protocol.metadata import create_authorization_server_metadata, create_issuer_metadata
from openissuer.services.authorization import ScopeMap
from openissuer.services.configurations import ConfigurationCatalog
from openissuer.services.tenancy import WalletTenant


class MetadataService:
    """Build the metadata documents from the tenant's configurations."""

    def __init__(self, catalog: ConfigurationCatalog, *, batch_size: int, display_name: str | None) -> None:
        self._catalog = catalog
        self._batch_size = batch_size
        self._display_name = display_name

    async def issuer_metadata(self, tenant: WalletTenant) -> dict[str, Any]:
        """Return the Credential Issuer metadata; configurations are keyed by their id (as offers name them)."""
        configurations = await self._catalog.current(tenant.id)
        return create_issuer_metadata(
            tenant.endpoints,
            configurations.metadata_entries,
            batch_size=self._batch_size,
            display_name=self._display_name,
            extra=configurations.issuer_metadata(tenant.issuer),
        )

    async def scope_map(self, tenant: WalletTenant) -> ScopeMap:
        """Return scope -> configuration id for authorization requests."""
        configurations = await self._catalog.current(tenant.id)
        return ScopeMap(by_scope=dict(configurations.scopes), ids=frozenset(configurations.by_id))

    async def authorization_server_metadata(self, tenant: WalletTenant) -> dict[str, Any]:
        """Return the Authorization Server metadata; the Authorization Code flow only once a provider exists."""
        configurations = await self._catalog.current(tenant.id)
        scopes = sorted(configurations.scopes) if configurations.has_authentication_provider else None
        return create_authorization_server_metadata(tenant.endpoints, authorization_code_scopes=scopes)
