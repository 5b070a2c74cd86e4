"""The schema as SQLAlchemy Core tables. Every row belongs to a tenant; migrations in ``migrations/`` create it.

The small-rowed tables an issuance writes (``access_grants``, ``grant_issuances``, ``used_nonces``, ``events``)
are ``WITHOUT ROWID`` on SQLite: the row lives in its primary key's b-tree, so an insert writes one b-tree fewer
(migration 0017; docs/performance.md).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
    true,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("public_url", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("config_version", Integer, nullable=False, server_default="0"),
    # The public URL's host key (domain.urls.host_of_url), what wallet requests are routed by: one tenant per host,
    # also between concurrent creations (migration 0018). NULL for the default tenant, whose URL is a setting.
    Column("host", Text, nullable=True),
    Index("uq_tenants_host", "host", unique=True),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(200), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("roles", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_api_clients_tenant_page", "tenant_id", "created_at", "id"),
)

credential_configurations = Table(
    "credential_configurations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("format", String(64), nullable=False),
    Column("credential_type", String(1024), nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "format", "credential_type", name="uq_credential_configurations_type"),
    Index("ix_credential_configurations_tenant_page", "tenant_id", "format", "created_at", "id"),
)

iacas = Table(
    "iacas",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("is_managed", Boolean, nullable=False),
    Column("certificate_der", LargeBinary, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("common_name", Text, nullable=False),
    Column("country", String(2), nullable=False),
    Column("state_or_province_name", String(16), nullable=True),
    Column("not_before", DateTime(timezone=True), nullable=False),
    Column("not_after", DateTime(timezone=True), nullable=False),
    Column("sealed_private_key", LargeBinary, nullable=True),  # None: unmanaged, the key stays with its holder
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_iacas_tenant_page", "tenant_id", "created_at", "id"),
)

document_signers = Table(
    "document_signers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("iaca_id", String(36), ForeignKey("iacas.id", ondelete="CASCADE"), nullable=False),
    Column("certificate_der", LargeBinary, nullable=False),
    Column("serial_number", String(48), nullable=False),
    Column("not_before", DateTime(timezone=True), nullable=False),
    Column("not_after", DateTime(timezone=True), nullable=False),
    Column("sealed_private_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("kind", String(32), nullable=False, server_default="document-signer"),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("csr_der", LargeBinary, nullable=True),  # set when certified through a request (unmanaged IACA)
    Index("ix_document_signers_iaca", "tenant_id", "iaca_id", "created_at"),
)

signer_requests = Table(
    "signer_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("iaca_id", String(36), ForeignKey("iacas.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("csr_der", LargeBinary, nullable=False),
    Column("sealed_private_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_signer_requests_tenant_page", "tenant_id", "kind", "created_at", "id"),
)

tenant_settings = Table(
    "tenant_settings",
    metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

issued_credentials = Table(
    "issued_credentials",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("configuration_id", String(36), nullable=False),
    Column("format", String(64), nullable=False),
    Column("profile", String(32), nullable=False),
    Column("credential_type", String(1024), nullable=False),
    Column("user_id", String(36), nullable=True),
    Column("offer_id", String(36), nullable=True),
    Column("signer_id", String(36), nullable=True),
    Column("holder_key_thumbprint", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_list_id", String(36), nullable=True),
    Column("status_index", Integer, nullable=True),
    Column("details", JSON, nullable=False),
    Column("session_id", String(36), nullable=True),
    Index("ix_issued_credentials_tenant_page", "tenant_id", "created_at", "id"),
    Index("ix_issued_credentials_user", "tenant_id", "user_id", "created_at", "id"),
    # Partial: a credential without a status adds no entry (one page fewer written per issuance).
    Index(
        "ix_issued_credentials_status_list",
        "status_list_id",
        "status_index",
        sqlite_where=text("status_list_id IS NOT NULL"),
        postgresql_where=text("status_list_id IS NOT NULL"),
    ),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("claims", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("authentication_provider_id", String(36), nullable=True),
    Column("subject_id", String(255), nullable=True),
    Index("ix_users_tenant_page", "tenant_id", "created_at", "id"),
    UniqueConstraint("tenant_id", "authentication_provider_id", "subject_id", name="uq_users_provider_subject"),
)

offers = Table(
    "offers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("credential_configuration_ids", JSON, nullable=False),
    Column("code_hash", LargeBinary(32), nullable=False, unique=True),
    Column("sealed_code", LargeBinary, nullable=True),
    Column("by_reference", Boolean, nullable=False),
    Column("tx_code_input_mode", String(16), nullable=True),
    Column("tx_code_length", Integer, nullable=True),
    Column("tx_code_description", Text, nullable=True),
    Column("tx_code_hash", LargeBinary(32), nullable=True),
    Column("tx_attempts", Integer, nullable=False),
    Column("locked", Boolean, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("redeemed_at", DateTime(timezone=True), nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("credential_offer_endpoint", Text, nullable=True),
)

# An offer's claims, apart from its row: often a portrait, written once when the offer is made. The offer's row
# changes (redemption, claimed_at, attempts) then rewrite a small row, not the claims, and a pre-authorized grant
# reads them from here (its own access_grants.claims is {}), so redemption copies nothing.
offer_claims = Table(
    "offer_claims",
    metadata,
    Column("offer_id", String(36), ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True),
    Column("claims", JSON, nullable=False),
)

access_grants = Table(
    "access_grants",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("offer_id", String(36), nullable=True),
    Column("authorization_code_hash", LargeBinary(32), nullable=True),
    Column("user_id", String(36), nullable=False),
    Column("credential_configuration_ids", JSON, nullable=False),
    Column("credential_identifiers", JSON, nullable=False),
    Column("notification_id", String(64), nullable=False),
    Column("claims", JSON, nullable=False),
    Column("user_claims", JSON, nullable=True),
    Column("provider_url", Text, nullable=True),
    Column("subject_id", String(255), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("client_id", String(255), nullable=True),
    Column("dpop_jkt", String(64), nullable=True),
    Index("ix_access_grants_offer", "tenant_id", "offer_id"),
    # Partial: a pre-authorized grant (no authorization code) adds no entry.
    Index(
        "ix_access_grants_code",
        "authorization_code_hash",
        sqlite_where=text("authorization_code_hash IS NOT NULL"),
        postgresql_where=text("authorization_code_hash IS NOT NULL"),
    ),
    sqlite_with_rowid=False,
)

grant_issuances = Table(
    "grant_issuances",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column("credential_configuration_id", String(36), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("count", Integer, nullable=False, server_default="1"),
    sqlite_with_rowid=False,
)

used_nonces = Table(
    "used_nonces",
    metadata,
    Column("nonce_hash", LargeBinary(32), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_used_nonces_expires_at", "expires_at"),
    sqlite_with_rowid=False,
)

authentication_providers = Table(
    "authentication_providers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("body", JSON, nullable=False),
    Column("sealed_client_secret", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

wallet_clients = Table(
    "wallet_clients",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "client_id", name="uq_wallet_clients_tenant_client_id"),
    Index("ix_wallet_clients_tenant_page", "tenant_id", "created_at", "id"),
)

authorization_offers = Table(
    "authorization_offers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("issuer_state", String(64), nullable=False, unique=True),
    Column("credential_configuration_ids", JSON, nullable=False),
    Column("request_parameters", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

authorization_sessions = Table(
    "authorization_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("idp_state_hash", LargeBinary(32), nullable=False, unique=True),
    Column("request", JSON, nullable=False),
    Column("idp_nonce", String(64), nullable=False),
    Column("idp_code_verifier", String(128), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
)

pushed_requests = Table(
    "pushed_requests",
    metadata,
    Column("request_uri_hash", LargeBinary(32), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("consumed_at", DateTime(timezone=True), nullable=True),
)

authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("code_hash", LargeBinary(32), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", String(36), nullable=False),
    Column("body", JSON, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("consumed_at", DateTime(timezone=True), nullable=True),
)

claim_sources = Table(
    "claim_sources",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("body", JSON, nullable=False),
    Column("sealed_secret", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_claim_sources_tenant_page", "tenant_id", "created_at", "id"),
)

interaction_hooks = Table(
    "interaction_hooks",
    metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("sealed_secret", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

interaction_hook_sessions = Table(
    "interaction_hook_sessions",
    metadata,
    Column("state_hash", LargeBinary(32), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", String(36), nullable=False),
    Column("body", JSON, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("consumed_at", DateTime(timezone=True), nullable=True),
)

did_keys = Table(
    "did_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("kid", String(16), nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("sealed_private_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("not_after", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "kid", name="uq_did_keys_tenant_kid"),
)

status_lists = Table(
    "status_lists",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("allocated", Integer, nullable=False, server_default="0"),
    Column("revision", Integer, nullable=False, server_default="0"),
    Column("permutation_key", LargeBinary(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("credential_type", String(1024), nullable=False, server_default=""),
    Column("authority_id", String(36), nullable=False, server_default=""),
    UniqueConstraint(
        "tenant_id", "kind", "credential_type", "authority_id", "sequence", name="uq_status_lists_sequence"
    ),
)

status_list_entries = Table(
    "status_list_entries",
    metadata,
    Column("list_id", String(36), ForeignKey("status_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
)

status_list_configurations = Table(
    "status_list_configurations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("profile", String(32), nullable=False),
    Column("credential_type", String(1024), nullable=False),
    Column("time_to_live", JSON, nullable=False),
    Column("expiry", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "profile", "credential_type", name="uq_status_list_configurations_type"),
    Index("ix_status_list_configurations_tenant_page", "tenant_id", "profile", "created_at", "id"),
)

wallet_security = Table(
    "wallet_security",
    metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key_hash", LargeBinary(32), primary_key=True),
    Column("window_start", Integer, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_rate_counters_expires_at", "expires_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", String(36), nullable=False),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(64), nullable=False),
    Column("category", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(64), nullable=True),
    Column("client_id", String(256), nullable=True),
    Column("data", JSON, nullable=False),
    # Keyed in the order events are listed and pruned (per tenant, oldest first): one b-tree per event, no index
    # beside it (and none on created_at alone to write on every event). Ids are random UUIDs, unique in practice.
    PrimaryKeyConstraint("tenant_id", "created_at", "id"),
    sqlite_with_rowid=False,
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhooks_tenant_page", "tenant_id", "created_at", "id"),
)

# The outbox. No foreign key to webhooks: a delivery queued by a statement that races a webhook's deletion must not
# fail the change it reports; deleting a webhook deletes its deliveries, and claims join the webhook.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("webhook_id", String(36), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("event_timestamp", DateTime(timezone=True), nullable=False),
    Column("payload", JSON, nullable=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("last_attempt_at", DateTime(timezone=True), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_webhook_page", "tenant_id", "webhook_id", "created_at", "id"),
    Index("ix_webhook_deliveries_created_at", "created_at"),
)

webhook_signing_keys = Table(
    "webhook_signing_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("kid", String(64), nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("sealed_private_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhook_signing_keys_tenant", "tenant_id", "created_at"),
)

# Leases of background work: the single delivery leader on SQLite, the housekeeping (pruning) leader everywhere.
worker_leases = Table(
    "worker_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id_hash", LargeBinary, primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("api_client_id", String(36), ForeignKey("api_clients.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(200), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, index=True),
    Index("ix_portal_sessions_created_at", "created_at"),
)
