"""Fewer index entries written per issuance: the authorization-code and status-list indexes become partial (rows
without a code or a status add no entry), and the events index on ``created_at`` alone goes (retention prunes per
tenant through ``ix_events_tenant_page``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _partial(name: str, table: str, columns: list[str], condition: str) -> None:
    op.drop_index(name, table_name=table)
    where = sa.text(condition)
    op.create_index(name, table, columns, sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    code = "authorization_code_hash"
    _partial("ix_access_grants_code", "access_grants", [code], f"{code} IS NOT NULL")
    _partial(
        "ix_issued_credentials_status_list",
        "issued_credentials",
        ["status_list_id", "status_index"],
        "status_list_id IS NOT NULL",
    )
    op.drop_index("ix_events_created_at", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_created_at", "events", ["created_at"])
    op.drop_index("ix_issued_credentials_status_list", table_name="issued_credentials")
    op.create_index("ix_issued_credentials_status_list", "issued_credentials", ["status_list_id", "status_index"])
    op.drop_index("ix_access_grants_code", table_name="access_grants")
    op.create_index("ix_access_grants_code", "access_grants", ["authorization_code_hash"])
