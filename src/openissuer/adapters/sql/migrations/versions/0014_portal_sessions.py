"""The portal's server-side sessions: a hash of the session id, the API client signed in, the CSRF token.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id_hash", sa.LargeBinary(), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("api_client_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_portal_sessions"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_portal_sessions_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["api_clients.id"],
            name="fk_portal_sessions_api_client_id_api_clients",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_portal_sessions_last_seen_at", "portal_sessions", ["last_seen_at"])
    op.create_index("ix_portal_sessions_created_at", "portal_sessions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_portal_sessions_created_at", table_name="portal_sessions")
    op.drop_index("ix_portal_sessions_last_seen_at", table_name="portal_sessions")
    op.drop_table("portal_sessions")
