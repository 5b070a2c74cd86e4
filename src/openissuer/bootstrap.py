"""The composition root: ``build(settings) -> Container``. The only module that imports adapters."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from openissuer.adapters.http.client import GuardedHttpFetcher
from openissuer.adapters.keys.secret_box import SoftwareSecretBox
from openissuer.adapters.keys.store import SoftwareKeyStore
from openissuer.adapters.memory.status_lists import InMemoryStatusListStore
from openissuer.adapters.memory.store import InMemoryStore
from openissuer.adapters.memory.uow import InMemoryStorageHealth, InMemoryUnitOfWork
from openissuer.adapters.memory.wallet_store import InMemoryWalletStore
from openissuer.adapters.qr.codes import SegnoZxingQrCodes
from openissuer.adapters.sql.engine import create_async_db_engine, is_sqlite, libpq_dsn, sqlite_path
from openissuer.adapters.sql.migrate import head_revision, upgrade_database
from openissuer.adapters.sql.postgres_status_lists import PostgresStatusListStore
from openissuer.adapters.sql.postgres_wallet_store import PostgresWalletStore
from openissuer.adapters.sql.sqlite_status_lists import SqliteStatusListStore
from openissuer.adapters.sql.sqlite_wallet_store import SqliteWalletStore
from openissuer.adapters.sql.uow import SqlStorageHealth, SqlUnitOfWork
from openissuer.config import Settings
from openissuer.crypto.hmac_jwt import HmacJwtCodec, derive_key
from openissuer.domain.pki import SignerKind
from openissuer.domain.urls import validate_outbound_url
from openissuer.formats.base import CredentialFormat
from openissuer.formats.cwt import CwtFormat
from openissuer.formats.cwt.credential_format import REVOCATION_LISTS
from openissuer.formats.mso_mdoc import MsoMdocFormat
from openissuer.formats.registry import FormatRegistry
from openissuer.formats.sd_jwt_vc import SdJwtVcFormat
from openissuer.ports.clock import Clock, SystemClock
from openissuer.ports.http import HttpFetcher
from openissuer.ports.keys import KeyStore
from openissuer.ports.status_lists import StatusListStore
from openissuer.ports.uow import StorageHealth, UnitOfWork, UnitOfWorkFactory
from openissuer.ports.wallet_store import WalletStore
from openissuer.services.api_clients import ApiClientService
from openissuer.services.attestation_status import AttestationStatusService
from openissuer.services.authentication_providers import AuthenticationProviderService
from openissuer.services.authorization import AuthorizationService
from openissuer.services.branding_images import BrandingImages
from openissuer.services.claim_sources import ClaimSourceService
from openissuer.services.claims_source_client import ClaimsSourceClient
from openissuer.services.compact_credentials import CompactCredentialService
from openissuer.services.configurations import ConfigurationCatalog, ConfigurationService
from openissuer.services.credential_statuses import CredentialStatusService
from openissuer.services.did_keys import DidKeyService
from openissuer.services.did_resolution import DidWebResolver
from openissuer.services.document_signers import DocumentSignerService, SdJwtIssuerService, StatusListSignerService
from openissuer.services.dpop import DpopService
from openissuer.services.encryption import CredentialEncryptionService
from openissuer.services.event_log import EventLogService
from openissuer.services.housekeeping import Housekeeping
from openissuer.services.iacas import IacaService
from openissuer.services.interaction_hooks import InteractionHookService
from openissuer.services.issuance import IssuanceService
from openissuer.services.jwt_vc_issuer import JwtVcIssuerService
from openissuer.services.management_auth import ManagementAuthService
from openissuer.services.metadata import MetadataService
from openissuer.services.nonces import NonceService
from openissuer.services.notifications import NotificationService
from openissuer.services.offers import OfferService
from openissuer.services.portal_sessions import PortalSessionService
from openissuer.services.rate_limits import RateLimiter, RateLimits
from openissuer.services.revocation_lists import RevocationListService
from openissuer.services.sign_in_binding import SignInBinding
from openissuer.services.signer_certificates import DOCUMENT_SIGNERS, STATUS_LIST_SIGNERS, SignerCertificateService
from openissuer.services.status_list_configurations import StatusListConfigurationService
from openissuer.services.status_list_tokens import StatusListTokenService
from openissuer.services.status_lists import StatusListAllocator
from openissuer.services.tenancy import TenantDirectory
from openissuer.services.tenant_settings import TenantSettingsService
from openissuer.services.tenants import TenantService
from openissuer.services.tokens import TokenService
from openissuer.services.upstream_oidc import UpstreamOidcClient
from openissuer.services.users import UserService
from openissuer.services.wallet_auth import WalletAuthService
from openissuer.services.wallet_clients import WalletClientService
from openissuer.services.wallet_policy import WalletPolicyService
from openissuer.services.webhook_delivery import BackgroundWorker, DeliveryPolicy, DeliveryWorker
from openissuer.services.webhook_keys import WebhookKeyService
from openissuer.services.webhooks import WebhookService, WebhookSubscriptions

MEMORY_DATABASE_URL = "memory://"
MANAGEMENT_TOKEN_PURPOSE = "openissuer/management-token/v1"


def default_formats() -> list[CredentialFormat]:
    """The credential formats openissuer issues out of the box (one line per format plugin)."""
    return [MsoMdocFormat(), SdJwtVcFormat(), CwtFormat()]


@dataclass
class Container:
    """Everything a process serves with: services, health checks and how to shut them down."""

    public_url: str
    clock: Clock
    uow_factory: UnitOfWorkFactory
    wallet_store: WalletStore
    health: StorageHealth
    formats: FormatRegistry
    tenants: TenantDirectory
    tenant_admin: TenantService
    api_clients: ApiClientService
    management_auth: ManagementAuthService
    portal_sessions: PortalSessionService
    keys: KeyStore
    configurations: ConfigurationService
    catalog: ConfigurationCatalog
    iacas: IacaService
    document_signers: DocumentSignerService
    sd_jwt_issuers: SdJwtIssuerService
    jwt_vc_issuer: JwtVcIssuerService
    offers: OfferService
    tokens: TokenService
    nonces: NonceService
    issuance: IssuanceService
    notifications: NotificationService
    metadata: MetadataService
    authentication_providers: AuthenticationProviderService
    wallet_clients: WalletClientService
    authorization: AuthorizationService
    claim_sources: ClaimSourceService
    claims_source_client: ClaimsSourceClient
    interaction_hooks: InteractionHookService
    users: UserService
    did_keys: DidKeyService
    revocation_lists: RevocationListService
    compact_credentials: CompactCredentialService
    signer_certificates: dict[SignerKind, SignerCertificateService]
    tenant_settings: TenantSettingsService
    wallet_policies: WalletPolicyService
    wallet_auth: WalletAuthService
    encryption: CredentialEncryptionService
    rate_limits: RateLimiter
    status_list_signers: StatusListSignerService
    status_list_tokens: dict[str, StatusListTokenService]
    status_list_configurations: dict[str, StatusListConfigurationService]
    credential_statuses: CredentialStatusService
    batch_size: int
    event_log: EventLogService
    webhooks: WebhookService
    webhook_keys: WebhookKeyService
    delivery: DeliveryWorker
    housekeeping: Housekeeping
    background: BackgroundWorker
    run_background: bool
    trust_forwarded_for: bool = False
    startup: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        """Run the start-up tasks (idempotent and safe when several processes run them at once)."""
        for task in self.startup:
            await task()

    def start_background(self) -> None:
        """Start the webhook delivery worker and retention pruning in this process, if the settings ask for it."""
        if self.run_background:
            self.background.start()

    async def aclose(self) -> None:
        """Stop background work, then release pools and connections."""
        await self.background.stop()
        for close in self.closers:
            await close()


@dataclass(frozen=True)
class Storage:
    """Where the data lives: units of work (management, SQLAlchemy), the wallet endpoints' driver-level store,
    readiness, and how to close them."""

    uow_factory: UnitOfWorkFactory
    wallet_store: WalletStore
    health: StorageHealth
    closers: tuple[Callable[[], Awaitable[None]], ...]
    status_lists: StatusListStore


def _storage(url: str) -> Storage:
    if url == MEMORY_DATABASE_URL:
        store = InMemoryStore()

        def memory_uow(*, read_only: bool = False) -> UnitOfWork:
            return InMemoryUnitOfWork(store, read_only=read_only)

        memory_lists = InMemoryStatusListStore(store)
        return Storage(memory_uow, InMemoryWalletStore(store), InMemoryStorageHealth(), (), memory_lists)
    engine = create_async_db_engine(url)

    def sql_uow(*, read_only: bool = False) -> UnitOfWork:
        return SqlUnitOfWork(engine, read_only=read_only)

    health = SqlStorageHealth(engine, head_revision())
    if is_sqlite(url):  # the hot-path stores share one connection (SQLite) or one pool (PostgreSQL) per process
        sqlite_store = SqliteWalletStore(sqlite_path(url))
        closers = (engine.dispose, sqlite_store.aclose)
        return Storage(sql_uow, sqlite_store, health, closers, SqliteStatusListStore(sqlite_store))
    postgres_store = PostgresWalletStore(libpq_dsn(url))
    closers = (engine.dispose, postgres_store.aclose)
    return Storage(sql_uow, postgres_store, health, closers, PostgresStatusListStore(postgres_store.pool))


def validate_provider_url(url: str, *, allow_private: bool) -> str:
    """Reference §1.3 for authentication providers: https, no IP, no query; port and fragment dropped, public TLD.

    With ``allow_private`` (development, tests) http, loopback and ports are accepted.
    """
    return validate_outbound_url(
        url,
        allow_private=allow_private,
        strip_port_and_fragment=not allow_private,
        require_public_tld=not allow_private,
    )


def validate_callout_url(url: str, *, allow_private: bool) -> str:
    """Reference §1.3 for claims sources and interaction hooks: https, not an IP, no query or fragment; with the
    outbound guard on, also a name under a public TLD (never ``localhost``, ``.internal``, ``metadata``…)."""
    return validate_outbound_url(url, allow_private=allow_private, require_public_tld=not allow_private)


def validate_image_url(url: str, *, allow_private: bool) -> str:
    """Branding image URLs (reference §4.2): https, not an IP, a public TLD with the guard on; a query is allowed
    (image hosts and CDNs use them)."""
    return validate_outbound_url(
        url, allow_private=allow_private, allow_query=True, require_public_tld=not allow_private
    )


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    formats: Sequence[CredentialFormat] | None = None,
    fetcher: HttpFetcher | None = None,
) -> Container:
    """Wire the services for ``settings``; ``clock`` lets tests move time, ``formats`` replaces the built-in
    credential formats (a format plugin is one more entry here), ``fetcher`` the guarded outbound HTTP client
    (tests; the caller then closes it)."""
    clock = clock or SystemClock()
    registry = FormatRegistry(default_formats() if formats is None else formats)
    storage = _storage(settings.resolved_database_url)
    uow_factory, store = storage.uow_factory, storage.wallet_store
    master_key = settings.resolve_master_key()
    codec = HmacJwtCodec(derive_key(master_key, MANAGEMENT_TOKEN_PURPOSE))
    keys = SoftwareKeyStore(master_key)
    box = SoftwareSecretBox(master_key)
    tenants = TenantDirectory(uow_factory, default_public_url=settings.public_url)
    document_signers = DocumentSignerService(
        uow_factory,
        clock,
        keys,
        validity=timedelta(days=settings.document_signer_validity_days),
        rotation_age=timedelta(days=settings.document_signer_rotation_days),
    )
    sd_jwt_issuers = SdJwtIssuerService(
        uow_factory,
        clock,
        keys,
        lambda tenant_id: _issuer_of(tenants, tenant_id),
        validity=timedelta(days=settings.document_signer_validity_days),
        rotation_age=timedelta(days=settings.document_signer_rotation_days),
    )
    catalog = ConfigurationCatalog(uow_factory, store, clock, registry)
    events = _events(settings, uow_factory, clock, keys)
    did_keys = DidKeyService(
        uow_factory,
        store,
        clock,
        keys,
        tenants,
        validity=timedelta(days=settings.did_key_validity_days),
        rotation_age=timedelta(days=settings.did_key_rotation_days),
    )
    allocator = StatusListAllocator(storage.status_lists, clock, block_size=settings.status_list_block_size)
    status_list_signers = StatusListSignerService(
        uow_factory,
        clock,
        keys,
        validity=timedelta(days=settings.document_signer_validity_days),
        rotation_age=timedelta(days=settings.document_signer_rotation_days),
    )
    token_kinds = {
        f.profile: f.schema.status_list
        for f in registry
        if f.schema.status_list is not None and f.schema.status_list.media_type
    }
    cwt = CwtFormat()  # the codec of the direct CWT APIs, whether or not the format is registered for issuance
    nonces = NonceService(box, clock, ttl=timedelta(seconds=settings.nonce_ttl))
    own_fetcher = None
    if fetcher is None:
        own_fetcher = fetcher = GuardedHttpFetcher(allow_private=settings.outbound_allow_private)
    allow_private = settings.outbound_allow_private
    policies = WalletPolicyService(uow_factory, store, clock)
    dpop = DpopService(
        box,
        clock,
        nonce_ttl=timedelta(seconds=settings.dpop_nonce_ttl),
        nonce_required=settings.dpop_nonce_required,
        max_age=timedelta(seconds=settings.dpop_max_age),
    )
    attestation_statuses = AttestationStatusService(fetcher, clock)
    wallet_auth = WalletAuthService(policies, dpop, store, box, clock, attestation_statuses)
    encryption = CredentialEncryptionService(box)
    revocation_lists = RevocationListService(uow_factory, clock, tenants, did_keys, cwt, REVOCATION_LISTS)
    providers = AuthenticationProviderService(
        uow_factory, clock, box, partial(validate_provider_url, allow_private=allow_private)
    )
    callout_url = partial(validate_callout_url, allow_private=allow_private)
    claims_source_client = ClaimsSourceClient(fetcher, box, clock, timeout=settings.claims_source_timeout)
    hooks = InteractionHookService(uow_factory, clock, box, callout_url)
    management_auth = ManagementAuthService(uow_factory, clock, codec, settings.management_token_ttl)
    container = Container(
        public_url=settings.public_url,
        clock=clock,
        uow_factory=uow_factory,
        wallet_store=store,
        health=storage.health,
        formats=registry,
        tenants=tenants,
        tenant_admin=TenantService(uow_factory, clock, tenants),
        api_clients=ApiClientService(uow_factory, clock),
        management_auth=management_auth,
        portal_sessions=PortalSessionService(
            uow_factory,
            clock,
            management_auth,
            idle_ttl=timedelta(seconds=settings.portal_session_idle_ttl),
            absolute_ttl=timedelta(seconds=settings.portal_session_absolute_ttl),
        ),
        keys=keys,
        configurations=ConfigurationService(
            uow_factory,
            clock,
            registry,
            images=BrandingImages(fetcher, partial(validate_image_url, allow_private=allow_private)),
        ),
        catalog=catalog,
        iacas=IacaService(uow_factory, clock, keys, tenants),
        document_signers=document_signers,
        sd_jwt_issuers=sd_jwt_issuers,
        jwt_vc_issuer=JwtVcIssuerService(store, catalog, sd_jwt_issuers, clock),
        offers=OfferService(
            uow_factory,
            store,
            clock,
            box,
            tenants,
            default_ttl=timedelta(seconds=settings.offer_default_ttl),
            max_ttl=timedelta(seconds=settings.offer_max_ttl),
            by_reference=settings.offer_by_reference,
            catalog=catalog,
        ),
        tokens=TokenService(
            uow_factory,
            store,
            clock,
            box,
            access_token_ttl=timedelta(seconds=settings.access_token_ttl),
            max_tx_code_attempts=settings.tx_code_max_attempts,
            allow_unregistered_public_clients=settings.allow_unregistered_public_clients,
            wallet_auth=wallet_auth,
        ),
        nonces=nonces,
        issuance=IssuanceService(
            store,
            clock,
            nonces,
            catalog,
            {
                SignerKind.DOCUMENT_SIGNER: document_signers,
                SignerKind.SD_JWT_ISSUER: sd_jwt_issuers,
                SignerKind.DID_WEB: did_keys,
            },
            credentials_per_grant=settings.resolved_credentials_per_grant,
            claims_sources=claims_source_client,
            status_lists=allocator,
            policies=policies,
            subscriptions=WebhookSubscriptions(uow_factory),
            attestation_statuses=attestation_statuses,
        ),
        notifications=NotificationService(),
        metadata=MetadataService(
            catalog,
            batch_size=settings.batch_size,
            display_name=settings.issuer_name,
            policies=policies,
            encryption=encryption,
        ),
        authentication_providers=providers,
        wallet_clients=WalletClientService(uow_factory, clock),
        authorization=AuthorizationService(
            uow_factory,
            clock,
            providers,
            UpstreamOidcClient(fetcher, clock),
            allow_unregistered_public_clients=settings.allow_unregistered_public_clients,
            hooks=hooks,
            wallet_auth=wallet_auth,
            binding=SignInBinding(box),
        ),
        claim_sources=ClaimSourceService(uow_factory, clock, box, callout_url),
        claims_source_client=claims_source_client,
        interaction_hooks=hooks,
        users=UserService(uow_factory, clock),
        did_keys=did_keys,
        revocation_lists=revocation_lists,
        compact_credentials=CompactCredentialService(
            uow_factory,
            clock,
            tenants,
            did_keys,
            allocator,
            revocation_lists,
            DidWebResolver(fetcher, allow_http=settings.outbound_allow_private),
            fetcher,
            cwt,
            SegnoZxingQrCodes(),
        ),
        signer_certificates={
            profile.kind: SignerCertificateService(uow_factory, clock, keys, profile)
            for profile in (DOCUMENT_SIGNERS, STATUS_LIST_SIGNERS)
        },
        tenant_settings=TenantSettingsService(uow_factory, clock),
        wallet_policies=policies,
        wallet_auth=wallet_auth,
        encryption=encryption,
        rate_limits=RateLimiter(
            store,
            clock,
            RateLimits(
                window=settings.rate_limit_window,
                per_address=settings.rate_limit_per_address,
                per_client=settings.rate_limit_per_client,
                per_offer=settings.rate_limit_per_offer,
            ),
        ),
        status_list_signers=status_list_signers,
        status_list_tokens={
            profile: StatusListTokenService(
                uow_factory, storage.status_lists, clock, tenants, status_list_signers, kind, profile
            )
            for profile, kind in token_kinds.items()
        },
        status_list_configurations={
            profile: StatusListConfigurationService(uow_factory, clock, profile, kind.type_field)
            for profile, kind in token_kinds.items()
        },
        credential_statuses=CredentialStatusService(
            uow_factory,
            clock,
            {f.profile: f.schema.status_list for f in registry if f.schema.status_list is not None}
            | {cwt.profile: REVOCATION_LISTS},
        ),
        batch_size=settings.batch_size,
        trust_forwarded_for=settings.trust_forwarded_for,
        event_log=EventLogService(uow_factory),
        webhooks=WebhookService(uow_factory, clock, partial(validate_outbound_url, allow_private=allow_private)),
        webhook_keys=events.keys,
        delivery=events.delivery,
        housekeeping=events.housekeeping,
        background=events.background,
        run_background=settings.delivery_worker,
        closers=[*storage.closers, *([own_fetcher.aclose] if own_fetcher else []), events.fetcher.aclose],
    )
    if settings.bootstrap_client_id and settings.bootstrap_client_secret:
        client_id, secret = settings.bootstrap_client_id, settings.bootstrap_client_secret.get_secret_value()
        container.startup.append(lambda: container.api_clients.ensure_bootstrap_client(client_id, secret))
    return container


@dataclass(frozen=True)
class _Events:
    keys: WebhookKeyService
    delivery: DeliveryWorker
    housekeeping: Housekeeping
    background: BackgroundWorker
    fetcher: GuardedHttpFetcher


def _events(settings: Settings, uow_factory: UnitOfWorkFactory, clock: Clock, keys: SoftwareKeyStore) -> _Events:
    """The webhook delivery worker and retention pruning. One SQLite file has one delivering leader; PostgreSQL
    workers share the outbox through row locks. Webhook deliveries follow no redirects (the signature names the
    URL)."""
    url = settings.resolved_database_url
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    lease = timedelta(seconds=settings.worker_lease_seconds)
    webhook_keys = WebhookKeyService(
        uow_factory,
        clock,
        keys,
        rotation=timedelta(days=settings.webhook_key_rotation_days),
        overlap=timedelta(days=settings.webhook_key_overlap_days),
    )
    fetcher = GuardedHttpFetcher(allow_private=settings.outbound_allow_private, max_redirects=0)
    policy = DeliveryPolicy(
        max_attempts=settings.webhook_max_attempts,
        retry_base=timedelta(seconds=settings.webhook_retry_base_seconds),
        retry_max=timedelta(seconds=settings.webhook_retry_max_seconds),
        lease=lease,
    )
    single_leader = url != MEMORY_DATABASE_URL and is_sqlite(url)
    delivery = DeliveryWorker(
        uow_factory, clock, fetcher, webhook_keys, policy, single_leader=single_leader, holder=holder
    )
    retention = settings.event_retention_days
    housekeeping = Housekeeping(
        uow_factory,
        clock,
        event_retention=timedelta(days=retention) if retention else None,
        delivery_retention=timedelta(days=settings.webhook_delivery_retention_days),
        holder=holder,
        lease=lease,
        portal_session_ttls=(
            timedelta(seconds=settings.portal_session_idle_ttl),
            timedelta(seconds=settings.portal_session_absolute_ttl),
        ),
        code_replay_window=timedelta(seconds=settings.access_token_ttl),
    )
    background = BackgroundWorker(delivery, housekeeping, poll_interval=settings.worker_poll_interval)
    return _Events(webhook_keys, delivery, housekeeping, background, fetcher)


async def _issuer_of(tenants: TenantDirectory, tenant_id: str) -> str:
    return (await tenants.by_id(tenant_id)).issuer


def migrate(settings: Settings) -> str | None:
    """Upgrade the configured database to the newest schema; return the revision (None for memory storage)."""
    url = settings.resolved_database_url
    if url == MEMORY_DATABASE_URL:
        return None
    return upgrade_database(url)
