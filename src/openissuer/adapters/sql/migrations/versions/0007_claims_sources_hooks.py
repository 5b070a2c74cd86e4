"""Claims sources, the interaction hook and holders' visits to it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
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
        "claim_sources",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        *_times("created_at", "updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_claim_sources"),
        _tenant_fk("claim_sources"),
    )
    op.create_index("ix_claim_sources_tenant_page", "claim_sources", ["tenant_id", "created_at", "id"])
    op.create_table(
        "interaction_hooks",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        *_times("created_at", "updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_interaction_hooks"),
        _tenant_fk("interaction_hooks"),
    )
    op.create_table(
        "interaction_hook_sessions",
        sa.Column("state_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        *_times("expires_at", "created_at"),
        *_times("consumed_at", nullable=True),
        sa.PrimaryKeyConstraint("state_hash", name="pk_interaction_hook_sessions"),
        _tenant_fk("interaction_hook_sessions"),
    )


def downgrade() -> None:
    op.drop_table("interaction_hook_sessions")
    op.drop_table("interaction_hooks")
    op.drop_index("ix_claim_sources_tenant_page", table_name="claim_sources")
    op.drop_table("claim_sources")
