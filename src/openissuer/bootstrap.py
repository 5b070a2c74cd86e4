"""The composition root: ``build(settings) -> Container``. The only module that imports adapters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from openissuer.adapters.memory.store import InMemoryStore
from openissuer.adapters.memory.uow import InMemoryStorageHealth, InMemoryUnitOfWork
from openissuer.adapters.sql.engine import create_async_db_engine
from openissuer.adapters.sql.migrate import head_revision, upgrade_database
from openissuer.adapters.sql.uow import SqlStorageHealth, SqlUnitOfWork
from openissuer.config import Settings
from openissuer.crypto.hmac_jwt import HmacJwtCodec, derive_key
from openissuer.ports.clock import Clock, SystemClock
from openissuer.ports.uow import StorageHealth, UnitOfWork, UnitOfWorkFactory
from openissuer.services.api_clients import ApiClientService
from openissuer.services.management_auth import ManagementAuthService

MEMORY_DATABASE_URL = "memory://"
MANAGEMENT_TOKEN_PURPOSE = "openissuer/management-token/v1"


async def _nothing() -> None:
    return None


@dataclass
class Container:
    """Everything a process serves with: services, health checks and how to shut them down."""

    public_url: str
    clock: Clock
    uow_factory: UnitOfWorkFactory
    health: StorageHealth
    api_clients: ApiClientService
    management_auth: ManagementAuthService
    startup: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        """Run the start-up tasks (idempotent and safe when several processes run them at once)."""
        for task in self.startup:
            await task()

    async def aclose(self) -> None:
        """Release pools and connections."""
        for close in self.closers:
            await close()


def _storage(url: str) -> tuple[UnitOfWorkFactory, StorageHealth, Callable[[], Awaitable[None]]]:
    if url == MEMORY_DATABASE_URL:
        store = InMemoryStore()

        def memory_uow() -> UnitOfWork:
            return InMemoryUnitOfWork(store)

        return memory_uow, InMemoryStorageHealth(), _nothing
    engine = create_async_db_engine(url)

    def sql_uow() -> UnitOfWork:
        return SqlUnitOfWork(engine)

    return sql_uow, SqlStorageHealth(engine, head_revision()), engine.dispose


def build(settings: Settings, *, clock: Clock | None = None) -> Container:
    """Wire the services for ``settings``; ``clock`` lets tests move time."""
    clock = clock or SystemClock()
    uow_factory, health, close_storage = _storage(settings.resolved_database_url)
    master_key = settings.resolve_master_key()
    codec = HmacJwtCodec(derive_key(master_key, MANAGEMENT_TOKEN_PURPOSE))
    container = Container(
        public_url=settings.public_url,
        clock=clock,
        uow_factory=uow_factory,
        health=health,
        api_clients=ApiClientService(uow_factory, clock),
        management_auth=ManagementAuthService(uow_factory, clock, codec, settings.management_token_ttl),
        closers=[close_storage],
    )
    if settings.bootstrap_client_id and settings.bootstrap_client_secret:
        client_id, secret = settings.bootstrap_client_id, settings.bootstrap_client_secret.get_secret_value()
        container.startup.append(lambda: container.api_clients.ensure_bootstrap_client(client_id, secret))
    return container


def migrate(settings: Settings) -> str | None:
    """Upgrade the configured database to the newest schema; return the revision (None for memory storage)."""
    url = settings.resolved_database_url
    if url == MEMORY_DATABASE_URL:
        return None
    return upgrade_database(url)
