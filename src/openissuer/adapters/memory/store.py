"""The in-memory store: plain dicts of immutable domain objects, one lock serialising units of work."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime

from openissuer.domain.api_clients import ApiClient
from openissuer.domain.authorization import (
    AuthenticationProvider,
    AuthorizationCode,
    AuthorizationOffer,
    AuthorizationSession,
    PushedRequest,
    WalletClient,
)
from openissuer.domain.claim_sources import ClaimSource
from openissuer.domain.configurations import CredentialConfiguration
from openissuer.domain.dids import DidKey
from openissuer.domain.events import Event
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.domain.interaction_hooks import HookSession, InteractionHook
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.offers import AccessGrant, PreAuthorizedOffer
from openissuer.domain.pki import DocumentSigner, Iaca
from openissuer.domain.portal_sessions import PortalSession
from openissuer.domain.signer_requests import SignerRequest
from openissuer.domain.status_list_configurations import StatusListConfiguration
from openissuer.domain.status_lists import StatusList
from openissuer.domain.tenant_settings import TenantSettings
from openissuer.domain.tenants import Tenant
from openissuer.domain.users import User
from openissuer.domain.wallet_security import WalletSecurityPolicy
from openissuer.domain.webhooks import Delivery, Webhook, WebhookSigningKey


@dataclass
class MemoryState:
    """Every table of the store; copied on begin, swapped in on commit."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    api_clients: dict[str, ApiClient] = field(default_factory=dict)
    credential_configurations: dict[str, CredentialConfiguration] = field(default_factory=dict)
    iacas: dict[str, Iaca] = field(default_factory=dict)
    document_signers: dict[str, DocumentSigner] = field(default_factory=dict)
    issued_credentials: dict[str, IssuedCredentialRecord] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    offers: dict[str, PreAuthorizedOffer] = field(default_factory=dict)
    access_grants: dict[bytes, AccessGrant] = field(default_factory=dict)
    used_nonces: dict[bytes, datetime] = field(default_factory=dict)
    grant_issuances: dict[tuple[bytes, str], int] = field(default_factory=dict)
    authentication_providers: dict[str, AuthenticationProvider] = field(default_factory=dict)
    wallet_clients: dict[str, WalletClient] = field(default_factory=dict)
    authorization_offers: dict[str, AuthorizationOffer] = field(default_factory=dict)
    pushed_requests: dict[bytes, tuple[PushedRequest, datetime | None]] = field(default_factory=dict)
    authorization_sessions: dict[bytes, AuthorizationSession] = field(default_factory=dict)
    authorization_codes: dict[bytes, AuthorizationCode] = field(default_factory=dict)
    claim_sources: dict[str, ClaimSource] = field(default_factory=dict)
    interaction_hooks: dict[str, InteractionHook] = field(default_factory=dict)
    hook_sessions: dict[bytes, HookSession] = field(default_factory=dict)
    did_keys: dict[str, DidKey] = field(default_factory=dict)
    status_lists: dict[str, StatusList] = field(default_factory=dict)
    signer_requests: dict[str, SignerRequest] = field(default_factory=dict)
    tenant_settings: dict[str, TenantSettings] = field(default_factory=dict)
    wallet_security: dict[str, WalletSecurityPolicy] = field(default_factory=dict)
    rate_counters: dict[tuple[bytes, int], tuple[int, datetime]] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    webhook_deliveries: dict[str, Delivery] = field(default_factory=dict)
    webhook_signing_keys: dict[str, WebhookSigningKey] = field(default_factory=dict)
    worker_leases: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    status_list_entries: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    status_list_configurations: dict[str, StatusListConfiguration] = field(default_factory=dict)
    portal_sessions: dict[bytes, PortalSession] = field(default_factory=dict)

    def copy(self) -> MemoryState:
        """Return a copy whose dicts can change without touching this one (values are immutable)."""
        return MemoryState(**{name: dict(table) for name, table in vars(self).items()})

    def bump_config_version(self, tenant_id: str) -> None:
        """Raise the tenant's configuration version (the SQL adapter does it in the same transaction)."""
        tenant = self.tenants.get(tenant_id)
        if tenant is not None:
            self.tenants[tenant_id] = dataclasses.replace(tenant, config_version=tenant.config_version + 1)


class InMemoryStore:
    """A process-local database for tests and embedded use; seeded with the default tenant like a migration."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.state.tenants[DEFAULT_TENANT_ID] = Tenant(
            id=DEFAULT_TENANT_ID, name="default", public_url=None, created_at=datetime.now(UTC)
        )
        self.lock = asyncio.Lock()
