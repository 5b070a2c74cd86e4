"""Wallet security (HAIP): a tenant's wallet security policy, the access grant's client and DPoP key (``cnf.jkt``),
and the shared counters of the rate limits.

Revision ID: 0010
Revises: 0009 (main had 0009 on 0006 when this branch started; re-chain as needed)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_grants") as batch:
        batch.add_column(sa.Column("client_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("dpop_jkt", sa.String(64), nullable=True))
    op.create_table(
        "wallet_security",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_wallet_security_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_wallet_security"),
    )
    op.create_table(
        "rate_counters",
        sa.Column("key_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", "window_start", name="pk_rate_counters"),
    )
    op.create_index("ix_rate_counters_expires_at", "rate_counters", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_counters_expires_at", table_name="rate_counters")
    op.drop_table("rate_counters")
    op.drop_table("wallet_security")
    with op.batch_alter_table("access_grants") as batch:
        batch.drop_column("dpop_jkt")
        batch.drop_column("client_id")
