"""Settings: ``OPENISSUER_*`` environment variables, then an optional TOML file, then defaults.

Read only by ``cli/`` and ``bootstrap``; every other component receives the values it needs as constructor
arguments (DESIGN.md §4).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from openissuer.crypto.base64url import decode_base64url, encode_base64url
from openissuer.crypto.x509 import MAX_DOCUMENT_SIGNER_VALIDITY

CONFIG_FILE_ENV = "OPENISSUER_CONFIG_FILE"
MASTER_KEY_FILE = "master.key"

log = logging.getLogger("openissuer.config")


class Settings(BaseSettings):
    """Every setting of an openissuer deployment; see docs/configuration.md for each one."""

    model_config = SettingsConfigDict(env_prefix="OPENISSUER_", extra="ignore")

    data_dir: Path = Field(default=Path(".openissuer"), description="Directory for the SQLite file and master key.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite in the data dir. PostgreSQL: postgresql+psycopg://user@host/db",
    )
    public_url: str = Field(default="http://127.0.0.1:8000", description="Public base URL of the default tenant.")
    master_key: SecretStr | None = Field(default=None, description="Base64url 32-byte key-encryption key.")
    outbound_allow_private: bool = Field(default=False, description="Allow http and private targets (dev only).")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    auto_migrate: bool = Field(default=True, description="`serve` upgrades the database schema at start.")
    management_token_ttl: int = Field(default=3600, ge=60, le=86400, description="Management token lifetime (s).")
    portal_session_idle_ttl: int = Field(
        default=1800, ge=60, le=86400, description="A portal session ends after this long without a request (s)."
    )
    portal_session_absolute_ttl: int = Field(
        default=28800, ge=300, le=604800, description="A portal session ends this long after sign-in (s)."
    )
    document_signer_validity_days: int = Field(
        default=MAX_DOCUMENT_SIGNER_VALIDITY.days,
        ge=1,
        le=MAX_DOCUMENT_SIGNER_VALIDITY.days,
        description="Validity of managed document signer certificates (days).",
    )
    document_signer_rotation_days: int = Field(
        default=90,
        ge=1,
        le=MAX_DOCUMENT_SIGNER_VALIDITY.days,
        description="A managed document signer older than this is replaced (days).",
    )
    did_key_validity_days: int = Field(
        default=1827,
        ge=1,
        le=36500,
        description="How long a new DID key (CWT signing key) may sign credentials for (days).",
    )
    did_key_rotation_days: int = Field(
        default=90, ge=1, le=36500, description="A DID key older than this is replaced for new credentials (days)."
    )
    issuer_name: str | None = Field(default=None, description="Issuer display name shown to wallets.")
    offer_default_ttl: int = Field(default=300, ge=10, le=86400, description="Pre-authorized offer lifetime (s).")
    offer_max_ttl: int = Field(default=600, ge=10, le=86400, description="Longest expiresIn an offer may ask (s).")
    offer_by_reference: bool = Field(default=False, description="Offers use credential_offer_uri unless told.")
    tx_code_max_attempts: int = Field(default=3, ge=1, le=10, description="Wrong tx_codes before an offer locks.")
    access_token_ttl: int = Field(default=300, ge=30, le=3600, description="Wallet access token lifetime (s).")
    nonce_ttl: int = Field(default=300, ge=30, le=3600, description="c_nonce lifetime (s).")
    batch_size: int = Field(default=10, ge=1, le=100, description="Most proofs (credentials) per request.")
    credentials_per_grant: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Most credentials of one configuration per access token, across requests (default: batch_size).",
    )
    claims_source_timeout: float = Field(
        default=3.0, gt=0, le=30, description="How long a claims source may take to answer, token included (s)."
    )
    allow_unregistered_public_clients: bool = Field(
        default=False,
        description="Accept any public wallet client (with PKCE) at the authorization endpoint; dev only.",
    )
    dpop_nonce_required: bool = Field(
        default=True, description="DPoP proofs must carry a server nonce (DPoP-Nonce); RFC 9449 §8."
    )
    dpop_nonce_ttl: int = Field(default=300, ge=30, le=3600, description="DPoP server nonce lifetime (s).")
    dpop_max_age: int = Field(default=300, ge=30, le=3600, description="Oldest DPoP proof accepted, by iat (s).")
    rate_limit_window: int = Field(default=60, ge=1, le=3600, description="Rate limit window (s).")
    rate_limit_per_address: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Token/PAR/authorize/credential requests per source address and window (0: off).",
    )
    rate_limit_per_client: int = Field(
        default=0, ge=0, le=1_000_000, description="Token/PAR/credential requests per client_id and window (0: off)."
    )
    rate_limit_per_offer: int = Field(
        default=60, ge=0, le=1_000_000, description="Token requests per code, credential requests per token (0: off)."
    )
    trust_forwarded_for: bool = Field(
        default=False, description="Rate limit by the last X-Forwarded-For address (behind a trusted proxy)."
    )
    status_list_block_size: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Status-list positions each process reserves with one statement and hands out from memory.",
    )
    bootstrap_client_id: str | None = None
    bootstrap_client_secret: SecretStr | None = None
    event_retention_days: int = Field(
        default=90, ge=0, le=3650, description="Audit events older than this are pruned (days; 0 keeps them)."
    )
    webhook_delivery_retention_days: int = Field(
        default=7, ge=1, le=365, description="Webhook deliveries older than this are pruned (days)."
    )
    webhook_max_attempts: int = Field(
        default=4, ge=1, le=20, description="Attempts per webhook delivery (the first and its retries)."
    )
    webhook_retry_base_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Delay before the first retry; doubles per retry, with jitter (s)."
    )
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0, le=86400, description="Longest retry delay (s).")
    webhook_key_rotation_days: int = Field(
        default=90, ge=1, le=3650, description="A webhook signing key older than this is replaced (days)."
    )
    webhook_key_overlap_days: int = Field(
        default=7, ge=1, le=365, description="A replaced webhook signing key stays published this long (days)."
    )
    delivery_worker: bool = Field(
        default=True, description="`serve` runs the webhook delivery worker in every worker process."
    )
    worker_poll_interval: float = Field(
        default=1.0, gt=0, le=60, description="How often an idle delivery worker looks for due deliveries (s)."
    )
    worker_lease_seconds: float = Field(
        default=15.0, ge=5, le=600, description="Lease of a claimed delivery and of a worker's leadership (s)."
    )

    @field_validator("public_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_credentials_per_grant(self) -> Settings:
        if self.credentials_per_grant is not None and self.credentials_per_grant < self.batch_size:
            raise ValueError("credentials_per_grant must be at least batch_size (a full batch must be possible)")
        return self

    @property
    def resolved_credentials_per_grant(self) -> int:
        """The bound on credentials per grant and configuration: the setting, else the batch size."""
        return self.credentials_per_grant or self.batch_size

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Precedence: explicit arguments, environment, then the TOML file named by OPENISSUER_CONFIG_FILE."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = os.environ.get(CONFIG_FILE_ENV)
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_file)))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'openissuer.db').resolve()}"

    def resolve_master_key(self) -> bytes:
        """Return the 32-byte master key; generate one into the data directory on first run when none is set."""
        if self.master_key is not None:
            return decode_master_key(self.master_key.get_secret_value())
        path = self.data_dir / MASTER_KEY_FILE
        if path.exists():
            return decode_master_key(path.read_text().strip())
        self.data_dir.mkdir(parents=True, exist_ok=True)
        encoded = encode_base64url(secrets.token_bytes(32))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(encoded + "\n")
        log.warning(
            "generated a master key into %s; production deployments must set OPENISSUER_MASTER_KEY "
            "(and keep it: data sealed with it cannot be read without it)",
            path,
        )
        return decode_master_key(encoded)


def decode_master_key(encoded: str) -> bytes:
    """Decode a base64/base64url master key and check it is 32 bytes."""
    text = encoded.strip().rstrip("=").replace("+", "-").replace("/", "_")  # base64 or base64url, padded or not
    try:
        raw = decode_base64url(text)
    except ValueError as exc:
        raise ValueError("OPENISSUER_MASTER_KEY is not base64") from exc
    if len(raw) != 32:
        raise ValueError("OPENISSUER_MASTER_KEY must encode exactly 32 bytes")
    return raw
