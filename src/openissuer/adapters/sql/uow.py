"""The SQL unit of work: one connection, one transaction, its repositories."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openissuer.adapters.sql.authorization_repositories import (
    SqlAuthenticationProviderRepository,
    SqlAuthorizationFlowRepository,
    SqlWalletClientRepository,
)
from openissuer.adapters.sql.claim_source_repositories import SqlClaimSourceRepository
from openissuer.adapters.sql.configuration_repositories import (
    SqlCredentialConfigurationRepository,
    SqlIssuedCredentialRepository,
)
from openissuer.adapters.sql.did_key_repositories import SqlDidKeyRepository
from openissuer.adapters.sql.engine import READ_ONLY_OPTION
from openissuer.adapters.sql.event_repositories import SqlEventRepository, SqlOutboxRepository, SqlWebhookRepository
from openissuer.adapters.sql.interaction_hook_repositories import SqlInteractionHookRepository
from openissuer.adapters.sql.migrate import current_revision
from openissuer.adapters.sql.offer_repositories import SqlAccessGrantRepository, SqlOfferRepository
from openissuer.adapters.sql.pki_repositories import SqlDocumentSignerRepository, SqlIacaRepository
from openissuer.adapters.sql.portal_session_repositories import SqlPortalSessionRepository
from openissuer.adapters.sql.repositories import SqlApiClientRepository, SqlTenantRepository
from openissuer.adapters.sql.signer_repositories import SqlSignerRepository
from openissuer.adapters.sql.status_list_repositories import (
    SqlStatusListConfigurationRepository,
    SqlStatusListRepository,
)
from openissuer.adapters.sql.tenant_settings_repositories import SqlTenantSettingsRepository
from openissuer.adapters.sql.user_repositories import SqlUserRepository
from openissuer.adapters.sql.wallet_security_repositories import SqlWalletSecurityRepository


class SqlUnitOfWork:
    """``async with uow: ...; await uow.commit()`` over one pooled connection; rolls back unless committed."""

    tenants: SqlTenantRepository
    api_clients: SqlApiClientRepository
    credential_configurations: SqlCredentialConfigurationRepository
    iacas: SqlIacaRepository
    document_signers: SqlDocumentSignerRepository
    issued_credentials: SqlIssuedCredentialRepository
    users: SqlUserRepository
    offers: SqlOfferRepository
    access_grants: SqlAccessGrantRepository
    authentication_providers: SqlAuthenticationProviderRepository
    wallet_clients: SqlWalletClientRepository
    authorization: SqlAuthorizationFlowRepository
    claim_sources: SqlClaimSourceRepository
    interaction_hooks: SqlInteractionHookRepository
    did_keys: SqlDidKeyRepository
    status_lists: SqlStatusListRepository
    signers: SqlSignerRepository
    tenant_settings: SqlTenantSettingsRepository
    wallet_security: SqlWalletSecurityRepository
    events: SqlEventRepository
    webhooks: SqlWebhookRepository
    outbox: SqlOutboxRepository
    status_list_configurations: SqlStatusListConfigurationRepository
    portal_sessions: SqlPortalSessionRepository

    def __init__(self, engine: AsyncEngine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        # The transaction begins with the first statement (SQLAlchemy's autobegin), and again after each commit.
        # A read-only unit takes no write lock on SQLite, and runs in autocommit mode on PostgreSQL (no BEGIN and
        # ROLLBACK round trips; the isolation level is reset when the connection goes back to the pool).
        self._conn = await self._engine.connect()
        if self._read_only:
            if self._engine.dialect.name == "sqlite":
                await self._conn.execution_options(**{READ_ONLY_OPTION: True})
            else:
                await self._conn.execution_options(isolation_level="AUTOCOMMIT")
        self.tenants = SqlTenantRepository(self._conn)
        self.api_clients = SqlApiClientRepository(self._conn)
        self.credential_configurations = SqlCredentialConfigurationRepository(self._conn)
        self.iacas = SqlIacaRepository(self._conn)
        self.document_signers = SqlDocumentSignerRepository(self._conn)
        self.issued_credentials = SqlIssuedCredentialRepository(self._conn)
        self.users = SqlUserRepository(self._conn)
        self.offers = SqlOfferRepository(self._conn)
        self.access_grants = SqlAccessGrantRepository(self._conn)
        self.authentication_providers = SqlAuthenticationProviderRepository(self._conn)
        self.wallet_clients = SqlWalletClientRepository(self._conn)
        self.authorization = SqlAuthorizationFlowRepository(self._conn)
        self.claim_sources = SqlClaimSourceRepository(self._conn)
        self.interaction_hooks = SqlInteractionHookRepository(self._conn)
        self.did_keys = SqlDidKeyRepository(self._conn)
        self.status_lists = SqlStatusListRepository(self._conn)
        self.signers = SqlSignerRepository(self._conn)
        self.tenant_settings = SqlTenantSettingsRepository(self._conn)
        self.wallet_security = SqlWalletSecurityRepository(self._conn)
        self.events = SqlEventRepository(self._conn)
        self.webhooks = SqlWebhookRepository(self._conn)
        self.outbox = SqlOutboxRepository(self._conn)
        self.status_list_configurations = SqlStatusListConfigurationRepository(self._conn)
        self.portal_sessions = SqlPortalSessionRepository(self._conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def commit(self) -> None:
        """Commit the transaction; later statements in this unit run in a new one."""
        if self._conn is None:
            raise RuntimeError("commit() outside 'async with'")
        await self._conn.commit()


class SqlStorageHealth:
    """Readiness: the database answers and its schema is at the revision this code expects."""

    def __init__(self, engine: AsyncEngine, expected_revision: str) -> None:
        self._engine = engine
        self._expected = expected_revision

    async def check(self) -> list[str]:
        """Return the problems found (empty when ready); never raises for a database that is down."""
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                revision = await current_revision(conn)
        except Exception as exc:  # any driver error means "not ready"
            return [f"database unreachable: {type(exc).__name__}"]
        if revision != self._expected:
            return [f"database schema at revision {revision or 'none'}, expected {self._expected}"]
        return []
