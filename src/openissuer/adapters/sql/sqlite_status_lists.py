"""Status-list allocation on SQLite: one short write transaction on the wallet store's connection.

SQLite has one writer at a time (``BEGIN IMMEDIATE``), so reading the newest list and adding to its ``allocated``
cannot interleave with another process's; the statements are those of the PostgreSQL store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Protocol, TypeVar

from openissuer.adapters.sql.sqlite_wallet_store import db_time
from openissuer.domain.status_lists import StatusListReservation
from openissuer.ports.status_lists import NewStatusList

T = TypeVar("T")

_RESERVE = (
    "UPDATE status_lists SET allocated = allocated + :count "
    "WHERE id = (SELECT id FROM status_lists WHERE tenant_id = :tenant AND kind = :kind "
    "ORDER BY sequence DESC LIMIT 1) "
    "AND allocated + :count <= size RETURNING id, size, allocated - :count AS first, permutation_key"
)
_START_LIST = (
    "INSERT INTO status_lists (id, tenant_id, kind, sequence, size, allocated, revision, permutation_key, created_at) "
    "SELECT :id, :tenant, :kind, coalesce(max(sequence) + 1, 0), :size, :count, 0, :key, :created "
    "FROM status_lists WHERE tenant_id = :tenant AND kind = :kind "
    "RETURNING id, size, 0 AS first, permutation_key"
)


class SqliteRunner(Protocol):
    """What this store needs of ``SqliteWalletStore``: its connection and busy retries."""

    async def run(self, work: Callable[[sqlite3.Connection], T], *, write: bool) -> T: ...


class SqliteStatusListStore:
    """Implements ``ports.status_lists.StatusListStore`` on SQLite."""

    def __init__(self, runner: SqliteRunner) -> None:
        self._runner = runner

    async def reserve(
        self, tenant_id: str, kind: str, size: int, count: int, candidate: NewStatusList
    ) -> StatusListReservation:
        """Reserve positions on the newest list or start the next one, in one transaction."""
        if not 1 <= count <= size:
            raise ValueError("count must be between 1 and the list size")
        parameters = {
            "tenant": tenant_id,
            "kind": kind,
            "count": count,
            "size": size,
            "id": candidate.id,
            "key": candidate.permutation_key,
            "created": db_time(candidate.created_at),
        }

        def work(connection: sqlite3.Connection) -> StatusListReservation:
            row = connection.execute(_RESERVE, parameters).fetchone()
            if row is None:  # the one writer: nobody else can start the list meanwhile
                row = connection.execute(_START_LIST, parameters).fetchone()
            return StatusListReservation(row["id"], int(row["size"]), int(row["first"]), count, bytes(row[3]))

        return await self._runner.run(work, write=True)
