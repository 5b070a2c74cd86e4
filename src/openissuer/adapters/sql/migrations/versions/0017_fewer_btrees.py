"""Fewer b-trees written per issuance.

Every b-tree (table or index) a transaction touches costs at least one page written at its commit: on SQLite one
write-ahead-log frame, two ``pwrite`` calls. An issuance touched about 23 of them in its two transactions.

- ``events``: the primary key becomes ``(tenant_id, created_at, id)``, the order in which events are listed and
  pruned, and ``ix_events_tenant_page`` (the same columns) goes: one index fewer per event, on both databases.
- On SQLite, ``events``, ``used_nonces``, ``grant_issuances`` and ``access_grants`` become ``WITHOUT ROWID``
  tables: the rows live in their primary key's b-tree instead of a rowid table plus a separate index on the key
  (one b-tree fewer written per insert, one fewer searched per lookup). Their rows are small; issued_credentials,
  whose rows carry the digests (often more than the ~1 KB a WITHOUT ROWID leaf keeps inline), stays as it is.

SQLite cannot alter either in place: each table is rebuilt from its own stored definition (so that columns added
by earlier migrations come along), its rows copied and its other indexes re-created.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_WITHOUT_ROWID = ("used_nonces", "grant_issuances", "access_grants", "events")
_EVENTS_PK_ID = "CONSTRAINT pk_events PRIMARY KEY (id)"
_EVENTS_PK_PAGE = "CONSTRAINT pk_events PRIMARY KEY (tenant_id, created_at, id)"
_EVENTS_PAGE_INDEX = "ix_events_tenant_page"
_SUFFIX = " WITHOUT ROWID"


def _rebuild(table: str, *, without_rowid: bool, old_key: str | None = None, new_key: str | None = None) -> None:
    """Rebuild a SQLite table from its stored ``CREATE TABLE``, changed, with its rows and indexes."""
    bind = op.get_bind()
    create = bind.execute(
        text("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = :name"), {"name": table}
    ).scalar_one()
    indexes = [
        sql
        for (sql,) in bind.execute(
            text("SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = :name AND sql IS NOT NULL"),
            {"name": table},
        )
    ]
    create = create.removesuffix(_SUFFIX)
    if old_key is not None and new_key is not None:
        if old_key not in create:
            raise RuntimeError(f"unexpected definition of {table}: no {old_key!r}")
        create = create.replace(old_key, new_key)
    if without_rowid:
        create += _SUFFIX
    columns = ", ".join(f'"{row[1]}"' for row in bind.execute(text(f'PRAGMA table_info("{table}")')))
    bind.execute(text(f'ALTER TABLE "{table}" RENAME TO "_old_{table}"'))  # its indexes go with it
    bind.execute(text(create))
    copy = f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "_old_{table}"'  # noqa: S608 - our own names
    bind.execute(text(copy))
    bind.execute(text(f'DROP TABLE "_old_{table}"'))
    for sql in indexes:
        bind.execute(text(sql))


def upgrade() -> None:
    op.drop_index(_EVENTS_PAGE_INDEX, table_name="events")
    if op.get_bind().dialect.name == "sqlite":
        for table in _WITHOUT_ROWID:
            keys = (_EVENTS_PK_ID, _EVENTS_PK_PAGE) if table == "events" else (None, None)
            _rebuild(table, without_rowid=True, old_key=keys[0], new_key=keys[1])
    else:
        op.drop_constraint("pk_events", "events", type_="primary")
        op.create_primary_key("pk_events", "events", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in _WITHOUT_ROWID:
            keys = (_EVENTS_PK_PAGE, _EVENTS_PK_ID) if table == "events" else (None, None)
            _rebuild(table, without_rowid=False, old_key=keys[0], new_key=keys[1])
    else:
        op.drop_constraint("pk_events", "events", type_="primary")
        op.create_primary_key("pk_events", "events", ["id"])
    op.create_index(_EVENTS_PAGE_INDEX, "events", ["tenant_id", "created_at", "id"])
