"""Published metadata: the credential issuer's and the authorization server's (OID4VCI 1.0 §12)."""

from __future__ import annotations

from typing import Any

from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.domain.pages import MAX_PAGE_LIMIT, PageKey
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.protocol.endpoints import IssuerEndpoints
from openissuer.protocol.metadata import create_authorization_server_metadata, create_issuer_metadata
from openissuer.services.authorization import ScopeMap
from openissuer.services.mdoc_configurations import MobileConfigurationService


class MetadataService:
    """Build the metadata documents from the tenant's configurations."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        endpoints: IssuerEndpoints,
        configurations: MobileConfigurationService,
        *,
        batch_size: int,
        display_name: str | None,
    ) -> None:
        self._uow = uow_factory
        self._endpoints = endpoints
        self._configurations = configurations
        self._batch_size = batch_size
        self._display_name = display_name

    @property
    def endpoints(self) -> IssuerEndpoints:
        """The issuer's endpoint URLs."""
        return self._endpoints

    async def _entries(self, tenant_id: str) -> dict[str, dict[str, Any]]:
        entries: dict[str, dict[str, Any]] = {}
        after: PageKey | None = None
        async with self._uow(read_only=True) as uow:
            while True:
                page = await uow.mobile_configurations.list(tenant_id, limit=MAX_PAGE_LIMIT, after=after)
                for configuration in page.items:
                    entries[configuration.id] = self._configurations.credential_configuration_entry(configuration)
                if page.next_key is None:
                    return entries
                after = page.next_key

    async def issuer_metadata(self, tenant_id: str = DEFAULT_TENANT_ID) -> dict[str, Any]:
        """Return the Credential Issuer metadata; configurations are keyed by their id (as offers name them)."""
        return create_issuer_metadata(
            self._endpoints,
            await self._entries(tenant_id),
            batch_size=self._batch_size,
            display_name=self._display_name,
        )

    async def scope_map(self, tenant_id: str = DEFAULT_TENANT_ID) -> ScopeMap:
        """Return scope -> configuration id for authorization requests."""
        entries = await self._entries(tenant_id)
        return ScopeMap(by_scope={e["scope"]: cid for cid, e in entries.items()}, ids=frozenset(entries))

    async def authorization_server_metadata(self, tenant_id: str = DEFAULT_TENANT_ID) -> dict[str, Any]:
        """Return the Authorization Server metadata; the Authorization Code flow only once a provider exists."""
        async with self._uow(read_only=True) as uow:
            has_provider = await uow.authentication_providers.get_for_tenant(tenant_id) is not None
        scopes = sorted((await self.scope_map(tenant_id)).by_scope) if has_provider else None
        return create_authorization_server_metadata(self._endpoints, authorization_code_scopes=scopes)
