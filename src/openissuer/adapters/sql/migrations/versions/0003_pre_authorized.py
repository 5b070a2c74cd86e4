"""Pre-authorized Code flow: users, offers, access grants and nonces.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("authentication_provider_id", sa.String(36), nullable=True),
        sa.Column("subject_id", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        _tenant_fk("users"),
        sa.UniqueConstraint("tenant_id", "authentication_provider_id", "subject_id", name="uq_users_provider_subject"),
    )
    op.create_index("ix_users_tenant_page", "users", ["tenant_id", "created_at", "id"])
    op.create_table(
        "offers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("credential_configuration_ids", sa.JSON(), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("sealed_code", sa.LargeBinary(), nullable=True),
        sa.Column("by_reference", sa.Boolean(), nullable=False),
        sa.Column("tx_code_input_mode", sa.String(16), nullable=True),
        sa.Column("tx_code_length", sa.Integer(), nullable=True),
        sa.Column("tx_code_description", sa.Text(), nullable=True),
        sa.Column("tx_code_hash", sa.LargeBinary(32), nullable=True),
        sa.Column("tx_attempts", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_offers"),
        _tenant_fk("offers"),
        sa.UniqueConstraint("code_hash", name="uq_offers_code_hash"),
    )
    op.create_table(
        "access_grants",
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("offer_id", sa.String(36), nullable=True),
        sa.Column("authorization_code_hash", sa.LargeBinary(32), nullable=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("credential_configuration_ids", sa.JSON(), nullable=False),
        sa.Column("credential_identifiers", sa.JSON(), nullable=False),
        sa.Column("notification_id", sa.String(64), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("provider_url", sa.Text(), nullable=True),
        sa.Column("subject_id", sa.String(255), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_access_grants"),
        _tenant_fk("access_grants"),
    )
    op.create_index("ix_access_grants_offer", "access_grants", ["tenant_id", "offer_id"])
    op.create_index("ix_access_grants_code", "access_grants", ["authorization_code_hash"])
    op.create_table(
        "grant_issuances",
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("credential_configuration_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", "credential_configuration_id", name="pk_grant_issuances"),
    )
    op.create_table(
        "nonces",
        sa.Column("nonce_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("nonce_hash", name="pk_nonces"),
    )
    op.create_index("ix_nonces_expires_at", "nonces", ["expires_at"])


def downgrade() -> None:
    for table in ("nonces", "grant_issuances", "access_grants", "offers", "users"):
        op.drop_table(table)
