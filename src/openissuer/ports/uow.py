"""The unit of work (DESIGN.md §2): one transaction, its repositories, commit or roll back."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from openissuer.ports.events import EventRepository, OutboxRepository, WebhookRepository
from openissuer.ports.portal_sessions import PortalSessionRepository
from openissuer.ports.repositories import (
    AccessGrantRepository,
    ApiClientRepository,
    AuthenticationProviderRepository,
    AuthorizationFlowRepository,
    ClaimSourceRepository,
    CredentialConfigurationRepository,
    DidKeyRepository,
    DocumentSignerRepository,
    IacaRepository,
    InteractionHookRepository,
    IssuedCredentialRepository,
    OfferRepository,
    StatusListConfigurationRepository,
    StatusListRepository,
    TenantRepository,
    UserRepository,
    WalletClientRepository,
    WalletSecurityRepository,
)
from openissuer.ports.signers import SignerRepository
from openissuer.ports.tenant_settings import TenantSettingsRepository


class UnitOfWork(Protocol):
    """``async with uow: ...; await uow.commit()``; rolls back on exit unless committed."""

    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def api_clients(self) -> ApiClientRepository: ...

    @property
    def credential_configurations(self) -> CredentialConfigurationRepository: ...

    @property
    def iacas(self) -> IacaRepository: ...

    @property
    def document_signers(self) -> DocumentSignerRepository: ...

    @property
    def issued_credentials(self) -> IssuedCredentialRepository: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def offers(self) -> OfferRepository: ...

    @property
    def access_grants(self) -> AccessGrantRepository: ...

    @property
    def authentication_providers(self) -> AuthenticationProviderRepository: ...

    @property
    def wallet_clients(self) -> WalletClientRepository: ...

    @property
    def authorization(self) -> AuthorizationFlowRepository: ...

    @property
    def claim_sources(self) -> ClaimSourceRepository: ...

    @property
    def interaction_hooks(self) -> InteractionHookRepository: ...

    @property
    def did_keys(self) -> DidKeyRepository: ...

    @property
    def status_lists(self) -> StatusListRepository: ...

    @property
    def signers(self) -> SignerRepository: ...

    @property
    def tenant_settings(self) -> TenantSettingsRepository: ...

    @property
    def wallet_security(self) -> WalletSecurityRepository: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def status_list_configurations(self) -> StatusListConfigurationRepository: ...

    @property
    def portal_sessions(self) -> PortalSessionRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Open a unit of work. ``read_only=True`` promises no writes: storage may then skip the transaction
    (no BEGIN/COMMIT round trips on PostgreSQL, no write lock on SQLite); reads are not isolated from each other.
    """

    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...


class StorageHealth(Protocol):
    """Readiness of the storage: reachable, and its schema at the version this code expects."""

    async def check(self) -> list[str]:
        """Return the problems found; an empty list means ready."""
