"""mDoc: credential configurations, IACAs, document signers and issued-credential records.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "mobile_configurations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("doctype", sa.String(1024), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mobile_configurations"),
        _tenant_fk("mobile_configurations"),
        sa.UniqueConstraint("tenant_id", "doctype", name="uq_mobile_configurations_tenant_doctype"),
    )
    op.create_index("ix_mobile_configurations_tenant_page", "mobile_configurations", ["tenant_id", "created_at", "id"])
    op.create_table(
        "iacas",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_managed", sa.Boolean(), nullable=False),
        sa.Column("certificate_der", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("common_name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("state_or_province_name", sa.String(16), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iacas"),
        _tenant_fk("iacas"),
    )
    op.create_index("ix_iacas_tenant_page", "iacas", ["tenant_id", "created_at", "id"])
    op.create_table(
        "document_signers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("iaca_id", sa.String(36), nullable=False),
        sa.Column("certificate_der", sa.LargeBinary(), nullable=False),
        sa.Column("serial_number", sa.String(48), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_document_signers"),
        _tenant_fk("document_signers"),
        sa.ForeignKeyConstraint(
            ["iaca_id"], ["iacas.id"], name="fk_document_signers_iaca_id_iacas", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_document_signers_iaca", "document_signers", ["tenant_id", "iaca_id", "created_at"])
    op.create_table(
        "issued_credentials",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("configuration_id", sa.String(36), nullable=False),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("doctype", sa.String(1024), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("offer_id", sa.String(36), nullable=True),
        sa.Column("signer_id", sa.String(36), nullable=True),
        sa.Column("device_key", sa.JSON(), nullable=False),
        sa.Column("digests", sa.JSON(), nullable=False),
        sa.Column("mso_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_issued_credentials"),
        _tenant_fk("issued_credentials"),
    )
    op.create_index("ix_issued_credentials_tenant_page", "issued_credentials", ["tenant_id", "created_at", "id"])
    op.create_index("ix_issued_credentials_user", "issued_credentials", ["tenant_id", "user_id", "created_at", "id"])


def downgrade() -> None:
    for table in ("issued_credentials", "document_signers", "iacas", "mobile_configurations"):
        op.drop_table(table)
