"""Issuance core: one table of credential configurations for every format, format-neutral issued-credential records,
a per-tenant configuration version, and a count of credentials per access grant and configuration.

- ``mobile_configurations`` rows move to ``credential_configurations`` with ``format = 'mso_mdoc'``;
- ``issued_credentials`` keeps the format-neutral columns; the mDoc's ``doctype``, ``device_key``, ``digests`` and
  ``mso_hash`` move into ``details`` (``docType``, ``devicePublicKey``, ``namespaces``, ``msoHash``), and the
  holder key's RFC 7638 thumbprint gets a column;
- ``grant_issuances.count``: existing markers stand for one credential each.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MSO_MDOC = "mso_mdoc"


def _thumbprint(jwk: dict[str, Any]) -> str | None:
    """RFC 7638 §3.2: SHA-256 over the required members of an EC key, in lexicographic order, no whitespace."""
    try:
        members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    except (KeyError, TypeError):
        return None
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).decode().rstrip("=")


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("config_version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("grant_issuances") as batch:
        batch.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
    _move_configurations()
    _generalise_issued_credentials()


def _move_configurations() -> None:
    op.create_table(
        "credential_configurations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("credential_type", sa.String(1024), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_credential_configurations"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_credential_configurations_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("tenant_id", "format", "credential_type", name="uq_credential_configurations_type"),
    )
    op.create_index(
        "ix_credential_configurations_tenant_page",
        "credential_configurations",
        ["tenant_id", "format", "created_at", "id"],
    )
    old = sa.table(
        "mobile_configurations",
        *(sa.column(name) for name in ("id", "tenant_id", "doctype", "created_at", "updated_at")),
        sa.column("body", sa.JSON()),
    )
    new = sa.table(
        "credential_configurations",
        *(sa.column(name) for name in ("id", "tenant_id", "format", "credential_type", "created_at", "updated_at")),
        sa.column("body", sa.JSON()),
    )
    connection = op.get_bind()
    rows = [
        {
            "id": row.id,
            "tenant_id": row.tenant_id,
            "format": MSO_MDOC,
            "credential_type": row.doctype,
            "body": {**row.body, "options": {}},
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
        for row in connection.execute(sa.select(old))
    ]
    if rows:
        connection.execute(sa.insert(new), rows)
    op.drop_table("mobile_configurations")


def _generalise_issued_credentials() -> None:
    with op.batch_alter_table("issued_credentials") as batch:
        batch.add_column(sa.Column("format", sa.String(64), nullable=True))
        batch.add_column(sa.Column("credential_type", sa.String(1024), nullable=True))
        batch.add_column(sa.Column("holder_key_thumbprint", sa.String(64), nullable=True))
        batch.add_column(sa.Column("status_list_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("status_index", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
    table = sa.table(
        "issued_credentials",
        *(sa.column(name) for name in ("id", "doctype", "mso_hash", "format", "credential_type")),
        *(sa.column(name, sa.JSON()) for name in ("device_key", "digests", "details")),
        sa.column("holder_key_thumbprint"),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(table)).all():
        connection.execute(
            sa.update(table)
            .where(table.c.id == row.id)
            .values(
                format=MSO_MDOC,
                credential_type=row.doctype,
                holder_key_thumbprint=_thumbprint(row.device_key),
                details={
                    "docType": row.doctype,
                    "devicePublicKey": row.device_key,
                    "namespaces": row.digests,
                    "msoHash": row.mso_hash,
                },
            )
        )
    with op.batch_alter_table("issued_credentials") as batch:
        batch.alter_column("format", existing_type=sa.String(64), nullable=False)
        batch.alter_column("credential_type", existing_type=sa.String(1024), nullable=False)
        batch.alter_column("details", existing_type=sa.JSON(), nullable=False)
        for column in ("doctype", "device_key", "digests", "mso_hash"):
            batch.drop_column(column)


def downgrade() -> None:
    """Back to mDoc-only tables; configurations and records of other formats are dropped."""
    op.create_table(
        "mobile_configurations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("doctype", sa.String(1024), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mobile_configurations"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_mobile_configurations_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("tenant_id", "doctype", name="uq_mobile_configurations_tenant_doctype"),
    )
    op.create_index("ix_mobile_configurations_tenant_page", "mobile_configurations", ["tenant_id", "created_at", "id"])
    connection = op.get_bind()
    connection.execute(
        sa.text(
            "INSERT INTO mobile_configurations (id, tenant_id, doctype, body, created_at, updated_at) "
            "SELECT id, tenant_id, credential_type, body, created_at, updated_at FROM credential_configurations "
            "WHERE format = :format"
        ),
        {"format": MSO_MDOC},
    )
    op.drop_table("credential_configurations")
    connection.execute(sa.text("DELETE FROM issued_credentials WHERE format <> :format"), {"format": MSO_MDOC})
    with op.batch_alter_table("issued_credentials") as batch:
        batch.add_column(sa.Column("doctype", sa.String(1024), nullable=False, server_default=""))
        batch.add_column(sa.Column("device_key", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("digests", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("mso_hash", sa.String(64), nullable=False, server_default=""))
    table = sa.table(
        "issued_credentials",
        *(sa.column(name) for name in ("id", "doctype", "mso_hash", "credential_type")),
        *(sa.column(name, sa.JSON()) for name in ("device_key", "digests", "details")),
    )
    for row in connection.execute(sa.select(table)).all():
        details = row.details or {}
        connection.execute(
            sa.update(table)
            .where(table.c.id == row.id)
            .values(
                doctype=row.credential_type,
                device_key=details.get("devicePublicKey") or {},
                digests=details.get("namespaces") or {},
                mso_hash=details.get("msoHash") or "",
            )
        )
    with op.batch_alter_table("issued_credentials") as batch:
        batch.alter_column("device_key", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("digests", existing_type=sa.JSON(), nullable=False)
        for column in (
            "format",
            "credential_type",
            "holder_key_thumbprint",
            "status_list_id",
            "status_index",
            "details",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("grant_issuances") as batch:
        batch.drop_column("count")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("config_version")
