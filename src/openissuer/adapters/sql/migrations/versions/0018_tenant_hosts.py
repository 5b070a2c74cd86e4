"""One tenant per host, kept by the database.

Wallet requests are routed to a tenant by the host of its public URL, so two tenants must never share one. The
check used to be a read of every tenant before the insert, which concurrent creations on PostgreSQL all passed.
``tenants.host`` holds the public URL's host key (``domain.urls.host_of_url``: IDNA A-label, lower case, no
trailing dot, ``:80`` and ``:443`` dropped whatever the scheme, as ``Host`` headers are keyed) under the unique
index ``uq_tenants_host``. The default tenant's row has no public URL (it is a setting) and so no host.

Existing rows are backfilled from their public URL, which is left as it is (it is the credential issuer identifier
that credentials were issued under). When two existing tenants have one host key, the upgrade stops before any
change and names them: which one keeps the host is the operator's decision (delete the other with
``openissuer tenants delete <id>``, or correct its ``public_url`` by hand), never a silent one.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Text, text

from openissuer.domain.urls import host_of_url

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_INDEX = "uq_tenants_host"


def _host_keys() -> dict[str, str]:
    """Each stored tenant's host key by id; raise naming the tenants when two share one."""
    rows = op.get_bind().execute(
        text("SELECT id, public_url FROM tenants WHERE public_url IS NOT NULL ORDER BY created_at, id")
    )
    keys: dict[str, str] = {}
    owners: dict[str, list[str]] = {}
    for tenant_id, public_url in rows:
        keys[tenant_id] = host_of_url(public_url)
        owners.setdefault(keys[tenant_id], []).append(tenant_id)
    shared = {host: ids for host, ids in owners.items() if len(ids) > 1}
    if shared:
        listed = "; ".join(f"{host!r}: tenants {', '.join(ids)}" for host, ids in sorted(shared.items()))
        raise RuntimeError(
            "migration 0018 stopped, nothing changed: several tenants have one host, so wallet requests cannot tell "
            f"them apart ({listed}). Keep one per host (openissuer tenants delete <id>, or correct the other's "
            "tenants.public_url), then upgrade again."
        )
    return keys


def upgrade() -> None:
    keys = _host_keys()  # before any change: SQLite runs DDL outside the transaction
    op.add_column("tenants", Column("host", Text, nullable=True))
    bind = op.get_bind()
    for tenant_id, host in keys.items():
        bind.execute(text("UPDATE tenants SET host = :host WHERE id = :id"), {"host": host, "id": tenant_id})
    op.create_index(_INDEX, "tenants", ["host"], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="tenants")
    with op.batch_alter_table("tenants") as batch:  # SQLite: rebuilt, as 0005 does
        batch.drop_column("host")
