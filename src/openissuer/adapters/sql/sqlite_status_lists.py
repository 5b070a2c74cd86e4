"""Status-list allocation on SQLite: one short write transaction on the wallet store's connection.

SQLite has one writer at a time (``BEGIN IMMEDIATE``), so reading the newest list and adding to its ``allocated``
cannot interleave with another process's; the statements do what the PostgreSQL store's do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Protocol, TypeVar

from openissuer.adapters.sql.sqlite_wallet_store import db_time
from openissuer.domain.status_lists import UNSCOPED, StatusListHead, StatusListReservation, StatusListScope
from openissuer.ports.status_lists import NewStatusList

T = TypeVar("T")

_NEWEST = (
    "SELECT id, allocated, size, permutation_key FROM status_lists "
    "WHERE tenant_id = :tenant AND kind = :kind AND credential_type = :type AND authority_id = :authority "
    "ORDER BY sequence DESC LIMIT 1"
)
_TAKE = "UPDATE status_lists SET allocated = :allocated WHERE id = :id"
_START_LIST = (
    "INSERT INTO status_lists (id, tenant_id, kind, credential_type, authority_id, sequence, size, allocated, "
    "revision, permutation_key, created_at) "
    "SELECT :id, :tenant, :kind, :type, :authority, coalesce(max(sequence) + 1, 0), :size, :block, 0, :key, :created "
    "FROM status_lists "
    "WHERE tenant_id = :tenant AND kind = :kind AND credential_type = :type AND authority_id = :authority"
)
_HEAD = (
    "SELECT id, kind, size, revision, credential_type, authority_id, "
    "(SELECT config_version FROM tenants WHERE id = :tenant) AS config_version FROM status_lists "
    "WHERE tenant_id = :tenant AND id = :id"
)


class SqliteRunner(Protocol):
    """What this store needs of ``SqliteWalletStore``: its connection and busy retries."""

    async def run(self, work: Callable[[sqlite3.Connection], T], *, write: bool) -> T: ...


class SqliteStatusListStore:
    """Implements ``ports.status_lists.StatusListStore`` on SQLite."""

    def __init__(self, runner: SqliteRunner) -> None:
        self._runner = runner

    async def reserve(
        self,
        tenant_id: str,
        kind: str,
        size: int,
        count: int,
        candidate: NewStatusList,
        *,
        scope: StatusListScope = UNSCOPED,
        up_to: int | None = None,
    ) -> StatusListReservation:
        """Reserve positions on the newest list or start the next one, in one transaction."""
        if not 1 <= count <= size:
            raise ValueError("count must be between 1 and the list size")
        block = min(size, max(count, up_to or count))
        parameters = {
            "tenant": tenant_id,
            "kind": kind,
            "type": scope.credential_type,
            "authority": scope.authority_id,
            "size": size,
            "block": block,
            "id": candidate.id,
            "key": candidate.permutation_key,
            "created": db_time(candidate.created_at),
        }

        def work(connection: sqlite3.Connection) -> StatusListReservation:
            newest = connection.execute(_NEWEST, parameters).fetchone()
            if newest is not None and newest["allocated"] + count <= newest["size"]:
                first, list_size = int(newest["allocated"]), int(newest["size"])
                taken = min(list_size, first + block) - first
                connection.execute(_TAKE, {"allocated": first + taken, "id": newest["id"]})
                return StatusListReservation(newest["id"], list_size, first, taken, bytes(newest["permutation_key"]))
            # The one writer: nobody else can start the list meanwhile.
            connection.execute(_START_LIST, parameters)
            return StatusListReservation(candidate.id, size, 0, block, candidate.permutation_key)

        return await self._runner.run(work, write=True)

    async def head(self, tenant_id: str, list_id: str) -> StatusListHead | None:
        """Return the list's kind, scope and revision: one primary-key read."""

        def work(connection: sqlite3.Connection) -> StatusListHead | None:
            row = connection.execute(_HEAD, {"tenant": tenant_id, "id": list_id}).fetchone()
            if row is None:
                return None
            return StatusListHead(
                row["id"],
                row["kind"],
                int(row["size"]),
                int(row["revision"]),
                row["credential_type"],
                row["authority_id"],
                int(row["config_version"] or 0),
            )

        return await self._runner.run(work, write=False)
