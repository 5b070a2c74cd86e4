"""Authorization Code flow: authentication providers, wallet clients, reusable offers, sign-in sessions,
pushed authorization requests and authorization codes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def _times(*names: str, nullable: bool = False) -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(name, sa.DateTime(timezone=True), nullable=nullable) for name in names]


def upgrade() -> None:
    op.create_table(
        "authentication_providers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("sealed_client_secret", sa.LargeBinary(), nullable=False),
        *_times("created_at", "updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_authentication_providers"),
        _tenant_fk("authentication_providers"),
        sa.UniqueConstraint("tenant_id", name="uq_authentication_providers_tenant_id"),
    )
    op.create_table(
        "wallet_clients",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        *_times("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_wallet_clients"),
        _tenant_fk("wallet_clients"),
        sa.UniqueConstraint("tenant_id", "client_id", name="uq_wallet_clients_tenant_client_id"),
    )
    op.create_index("ix_wallet_clients_tenant_page", "wallet_clients", ["tenant_id", "created_at", "id"])
    op.create_table(
        "authorization_offers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("issuer_state", sa.String(64), nullable=False),
        sa.Column("credential_configuration_ids", sa.JSON(), nullable=False),
        sa.Column("request_parameters", sa.JSON(), nullable=False),
        *_times("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_authorization_offers"),
        _tenant_fk("authorization_offers"),
        sa.UniqueConstraint("issuer_state", name="uq_authorization_offers_issuer_state"),
    )
    op.create_table(
        "authorization_sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("idp_state_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("idp_nonce", sa.String(64), nullable=False),
        sa.Column("idp_code_verifier", sa.String(128), nullable=False),
        *_times("expires_at", "created_at"),
        *_times("completed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_authorization_sessions"),
        _tenant_fk("authorization_sessions"),
        sa.UniqueConstraint("idp_state_hash", name="uq_authorization_sessions_idp_state_hash"),
    )
    op.create_table(
        "pushed_requests",
        sa.Column("request_uri_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        *_times("expires_at", "created_at"),
        *_times("consumed_at", nullable=True),
        sa.PrimaryKeyConstraint("request_uri_hash", name="pk_pushed_requests"),
        _tenant_fk("pushed_requests"),
    )
    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        *_times("expires_at", "created_at"),
        *_times("consumed_at", nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name="pk_authorization_codes"),
        _tenant_fk("authorization_codes"),
    )


def downgrade() -> None:
    for table in (
        "authorization_codes",
        "pushed_requests",
        "authorization_sessions",
        "authorization_offers",
        "wallet_clients",
        "authentication_providers",
    ):
        op.drop_table(table)
