"""The in-memory unit of work: works on a copy of the state and swaps it in on commit."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from openissuer.adapters.memory.authorization_repositories import (
    InMemoryAuthenticationProviderRepository,
    InMemoryAuthorizationFlowRepository,
    InMemoryWalletClientRepository,
)
from openissuer.adapters.memory.claim_source_repositories import InMemoryClaimSourceRepository
from openissuer.adapters.memory.configuration_repositories import (
    InMemoryCredentialConfigurationRepository,
    InMemoryIssuedCredentialRepository,
)
from openissuer.adapters.memory.did_key_repositories import InMemoryDidKeyRepository
from openissuer.adapters.memory.event_repositories import (
    InMemoryEventRepository,
    InMemoryOutboxRepository,
    InMemoryWebhookRepository,
)
from openissuer.adapters.memory.interaction_hook_repositories import InMemoryInteractionHookRepository
from openissuer.adapters.memory.offer_repositories import InMemoryAccessGrantRepository, InMemoryOfferRepository
from openissuer.adapters.memory.pki_repositories import InMemoryDocumentSignerRepository, InMemoryIacaRepository
from openissuer.adapters.memory.portal_session_repositories import InMemoryPortalSessionRepository
from openissuer.adapters.memory.repositories import InMemoryApiClientRepository, InMemoryTenantRepository
from openissuer.adapters.memory.signer_repositories import InMemorySignerRepository
from openissuer.adapters.memory.status_lists import (
    InMemoryStatusListConfigurationRepository,
    InMemoryStatusListRepository,
)
from openissuer.adapters.memory.store import InMemoryStore, MemoryState
from openissuer.adapters.memory.tenant_settings_repositories import InMemoryTenantSettingsRepository
from openissuer.adapters.memory.user_repositories import InMemoryUserRepository
from openissuer.adapters.memory.wallet_security_repositories import InMemoryWalletSecurityRepository


class InMemoryUnitOfWork:
    """One transaction over the store. Units of work are serialised by the store's lock (no nesting)."""

    tenants: InMemoryTenantRepository
    api_clients: InMemoryApiClientRepository
    credential_configurations: InMemoryCredentialConfigurationRepository
    iacas: InMemoryIacaRepository
    document_signers: InMemoryDocumentSignerRepository
    issued_credentials: InMemoryIssuedCredentialRepository
    users: InMemoryUserRepository
    offers: InMemoryOfferRepository
    access_grants: InMemoryAccessGrantRepository
    authentication_providers: InMemoryAuthenticationProviderRepository
    wallet_clients: InMemoryWalletClientRepository
    authorization: InMemoryAuthorizationFlowRepository
    claim_sources: InMemoryClaimSourceRepository
    interaction_hooks: InMemoryInteractionHookRepository
    did_keys: InMemoryDidKeyRepository
    status_lists: InMemoryStatusListRepository
    signers: InMemorySignerRepository
    tenant_settings: InMemoryTenantSettingsRepository
    wallet_security: InMemoryWalletSecurityRepository
    events: InMemoryEventRepository
    webhooks: InMemoryWebhookRepository
    outbox: InMemoryOutboxRepository
    status_list_configurations: InMemoryStatusListConfigurationRepository
    portal_sessions: InMemoryPortalSessionRepository

    def __init__(self, store: InMemoryStore, *, read_only: bool = False) -> None:
        self._store = store
        self._read_only = read_only
        self._working: MemoryState | None = None

    async def __aenter__(self) -> Self:
        if not self._read_only:  # a read-only unit reads a snapshot and does not wait for writers
            await self._store.lock.acquire()
        self._begin()
        return self

    def _begin(self) -> None:
        self._working = self._store.state.copy()
        self.tenants = InMemoryTenantRepository(self._working)
        self.api_clients = InMemoryApiClientRepository(self._working)
        self.credential_configurations = InMemoryCredentialConfigurationRepository(self._working)
        self.iacas = InMemoryIacaRepository(self._working)
        self.document_signers = InMemoryDocumentSignerRepository(self._working)
        self.issued_credentials = InMemoryIssuedCredentialRepository(self._working)
        self.users = InMemoryUserRepository(self._working)
        self.offers = InMemoryOfferRepository(self._working)
        self.access_grants = InMemoryAccessGrantRepository(self._working)
        self.authentication_providers = InMemoryAuthenticationProviderRepository(self._working)
        self.wallet_clients = InMemoryWalletClientRepository(self._working)
        self.authorization = InMemoryAuthorizationFlowRepository(self._working)
        self.claim_sources = InMemoryClaimSourceRepository(self._working)
        self.interaction_hooks = InMemoryInteractionHookRepository(self._working)
        self.did_keys = InMemoryDidKeyRepository(self._working)
        self.status_lists = InMemoryStatusListRepository(self._working)
        self.signers = InMemorySignerRepository(self._working)
        self.tenant_settings = InMemoryTenantSettingsRepository(self._working)
        self.wallet_security = InMemoryWalletSecurityRepository(self._working)
        self.events = InMemoryEventRepository(self._working)
        self.webhooks = InMemoryWebhookRepository(self._working)
        self.outbox = InMemoryOutboxRepository(self._working)
        self.status_list_configurations = InMemoryStatusListConfigurationRepository(self._working)
        self.portal_sessions = InMemoryPortalSessionRepository(self._working)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._working = None
        if not self._read_only:
            self._store.lock.release()

    async def commit(self) -> None:
        """Make this unit's changes visible; later changes start from the committed state."""
        if self._working is None:
            raise RuntimeError("commit() outside 'async with'")
        if self._read_only:
            return  # nothing to make visible
        self._store.state = self._working
        self._begin()


class InMemoryStorageHealth:
    """The in-memory store is always ready."""

    async def check(self) -> list[str]:
        """Return no problems."""
        return []
