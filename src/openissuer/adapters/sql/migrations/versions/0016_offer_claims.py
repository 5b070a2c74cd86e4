"""An offer's claims move to their own table, ``offer_claims``: the offer's row stays small, so redeeming it and
marking it claimed rewrite a small row, and a pre-authorized grant reads its offer's claims instead of a copy.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offer_claims",
        sa.Column("offer_id", sa.String(36), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("offer_id", name="pk_offer_claims"),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name="fk_offer_claims_offer_id_offers", ondelete="CASCADE"
        ),
    )
    op.execute("INSERT INTO offer_claims (offer_id, claims) SELECT id, claims FROM offers")
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("claims")


def downgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("claims", sa.JSON(), nullable=True))
    op.execute("UPDATE offers SET claims = (SELECT c.claims FROM offer_claims c WHERE c.offer_id = offers.id)")
    with op.batch_alter_table("offers") as batch:
        batch.alter_column("claims", existing_type=sa.JSON(), nullable=False)
    op.drop_table("offer_claims")
