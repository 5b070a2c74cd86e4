"""Drop-in compatibility with the reference platform: unmanaged IACAs (no key held), signer certificate requests
(CSR flows for document signers and status-list signers), signers that can be deactivated, per-tenant defaults
(IACA country, the wallet's credential offer endpoint) and the offer endpoint an offer was created for.

Revision ID: 0012
Revises: 0009 (the lead re-chains)
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "tenant_settings",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_tenant_settings"),
        _tenant_fk("tenant_settings"),
    )
    op.create_table(
        "signer_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("iaca_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("csr_der", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signer_requests"),
        _tenant_fk("signer_requests"),
        sa.ForeignKeyConstraint(["iaca_id"], ["iacas.id"], name="fk_signer_requests_iaca_id_iacas", ondelete="CASCADE"),
    )
    op.create_index("ix_signer_requests_tenant_page", "signer_requests", ["tenant_id", "kind", "created_at", "id"])
    with op.batch_alter_table("document_signers") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("csr_der", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("iacas") as batch:
        batch.alter_column("sealed_private_key", existing_type=sa.LargeBinary(), nullable=True)
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("credential_offer_endpoint", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("credential_offer_endpoint")
    op.execute("DELETE FROM iacas WHERE sealed_private_key IS NULL")
    with op.batch_alter_table("iacas") as batch:
        batch.alter_column("sealed_private_key", existing_type=sa.LargeBinary(), nullable=False)
    with op.batch_alter_table("document_signers") as batch:
        batch.drop_column("csr_der")
        batch.drop_column("active")
    op.drop_index("ix_signer_requests_tenant_page", table_name="signer_requests")
    op.drop_table("signer_requests")
    op.drop_table("tenant_settings")
