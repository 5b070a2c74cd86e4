"""The schema as SQLAlchemy Core tables. Every row belongs to a tenant; migrations in ``migrations/`` create it."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, MetaData, String, Table, Text

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
