"""Status-list allocation on PostgreSQL with asyncpg: one statement per reservation, on the wallet store's pool.

The common case is one ``UPDATE … RETURNING``: add ``count`` to the newest list's ``allocated`` if it stays within
``size``. PostgreSQL re-checks that condition on the row's latest version when concurrent updates queue on the row
lock, so no two statements get the same positions. When it updates nothing (no list yet, or the newest is full),
one ``INSERT … ON CONFLICT DO NOTHING`` starts the next list with this reservation's positions already taken, but
only while the newest list still cannot take them (a request whose update ran before another one started the first
list must not start a second one); if another process started it first, the loop goes back to the update.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from openissuer.domain.status_lists import StatusListReservation
from openissuer.ports.status_lists import NewStatusList

RESERVE = """
UPDATE status_lists SET allocated = allocated + $3
WHERE id = (SELECT id FROM status_lists WHERE tenant_id = $1 AND kind = $2 ORDER BY sequence DESC LIMIT 1)
  AND allocated + $3 <= size
RETURNING id, size, allocated - $3 AS first, permutation_key"""
START_LIST = """
INSERT INTO status_lists (id, tenant_id, kind, sequence, size, allocated, revision, permutation_key, created_at)
SELECT $4::text, $1::text, $2::text, coalesce(max(s.sequence) + 1, 0), $5::int, $3::int, 0, $6::bytea, $7::timestamptz
FROM status_lists s WHERE s.tenant_id = $1::text AND s.kind = $2::text
HAVING NOT EXISTS (
  SELECT 1 FROM status_lists n
  WHERE n.tenant_id = $1::text AND n.kind = $2::text AND n.sequence = max(s.sequence) AND n.allocated + $3 <= n.size)
ON CONFLICT (tenant_id, kind, sequence) DO NOTHING
RETURNING id, size, 0 AS first, permutation_key"""
MAX_ATTEMPTS = 8


class PostgresStatusListStore:
    """Implements ``ports.status_lists.StatusListStore`` on PostgreSQL."""

    def __init__(self, pool: Callable[[], Awaitable[asyncpg.Pool]]) -> None:
        self._pool = pool

    async def reserve(
        self, tenant_id: str, kind: str, size: int, count: int, candidate: NewStatusList
    ) -> StatusListReservation:
        """Reserve positions on the newest list (one statement), or start the next list (a second one)."""
        if not 1 <= count <= size:
            raise ValueError("count must be between 1 and the list size")
        pool = await self._pool()
        for _ in range(MAX_ATTEMPTS):
            row = await pool.fetchrow(RESERVE, tenant_id, kind, count)
            if row is None:
                row = await pool.fetchrow(
                    START_LIST,
                    tenant_id,
                    kind,
                    count,
                    candidate.id,
                    size,
                    candidate.permutation_key,
                    candidate.created_at,
                )
            if row is not None:
                return _reservation(row, count)
        raise RuntimeError("no status list position could be reserved")  # pragma: no cover - needs 8 lost races


def _reservation(row: Any, count: int) -> StatusListReservation:
    return StatusListReservation(
        list_id=row["id"],
        size=int(row["size"]),
        first=int(row["first"]),
        count=count,
        permutation_key=bytes(row["permutation_key"]),
    )
