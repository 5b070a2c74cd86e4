"""SD-JWT VC: the IACA certifies SD-JWT VC issuer certificates too (``document_signers.kind``), and an access grant
keeps the user's persisted claims as they were when it was made (``access_grants.user_claims``), so every
credential of a multi-format offer is mapped from the same claims.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_signers") as batch:
        batch.add_column(sa.Column("kind", sa.String(32), nullable=False, server_default="document-signer"))
    with op.batch_alter_table("access_grants") as batch:
        batch.add_column(sa.Column("user_claims", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_grants") as batch:
        batch.drop_column("user_claims")
    with op.batch_alter_table("document_signers") as batch:
        batch.drop_column("kind")
