"""IETF Token Status Lists: lists per credential type and signing authority (``status_lists.credential_type``,
``authority_id``), the statuses of list entries apart from the credentials' records (``status_list_entries``, so a
deleted record leaves its list as it was; the revoked CWTs' entries are copied in), status list configurations,
and the issuance session of each issued credential (``issued_credentials.session_id``).

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("status_lists") as batch:
        batch.add_column(sa.Column("credential_type", sa.String(1024), nullable=False, server_default=""))
        batch.add_column(sa.Column("authority_id", sa.String(36), nullable=False, server_default=""))
        batch.drop_constraint("uq_status_lists_sequence", type_="unique")
        batch.create_unique_constraint(
            "uq_status_lists_sequence", ["tenant_id", "kind", "credential_type", "authority_id", "sequence"]
        )
    op.create_table(
        "status_list_entries",
        sa.Column("list_id", sa.String(36), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("list_id", "idx", name="pk_status_list_entries"),
        sa.ForeignKeyConstraint(
            ["list_id"], ["status_lists.id"], name="fk_status_list_entries_list_id_status_lists", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_status_list_entries_tenant_id_tenants", ondelete="CASCADE"
        ),
    )
    op.execute(
        "INSERT INTO status_list_entries (list_id, idx, tenant_id, status) "
        "SELECT status_list_id, status_index, tenant_id, status FROM issued_credentials "
        "WHERE status_list_id IS NOT NULL AND status_index IS NOT NULL AND status <> 'valid'"
    )
    op.create_table(
        "status_list_configurations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("credential_type", sa.String(1024), nullable=False),
        sa.Column("time_to_live", sa.JSON(), nullable=False),
        sa.Column("expiry", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_status_list_configurations"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_status_list_configurations_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("tenant_id", "profile", "credential_type", name="uq_status_list_configurations_type"),
    )
    op.create_index(
        "ix_status_list_configurations_tenant_page",
        "status_list_configurations",
        ["tenant_id", "profile", "created_at", "id"],
    )
    with op.batch_alter_table("issued_credentials") as batch:
        batch.add_column(sa.Column("session_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issued_credentials") as batch:
        batch.drop_column("session_id")
    op.drop_index("ix_status_list_configurations_tenant_page", table_name="status_list_configurations")
    op.drop_table("status_list_configurations")
    op.drop_table("status_list_entries")
    with op.batch_alter_table("status_lists") as batch:
        batch.drop_constraint("uq_status_lists_sequence", type_="unique")
        batch.create_unique_constraint("uq_status_lists_sequence", ["tenant_id", "kind", "sequence"])
        batch.drop_column("authority_id")
        batch.drop_column("credential_type")
