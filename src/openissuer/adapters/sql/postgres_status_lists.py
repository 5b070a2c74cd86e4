"""Status-list allocation on PostgreSQL with asyncpg: one statement per reservation, on the wallet store's pool.

The common case is one statement: lock the newest list of the tenant, kind and scope (``FOR UPDATE`` in a CTE, so
a concurrent reservation waits and then reads the row's latest ``allocated``) and, if it can take ``count`` more,
add up to ``up_to`` (at most what is left). When it updates nothing (no list yet, or the newest is full), one
``INSERT … ON CONFLICT DO NOTHING`` starts the next list with this reservation's positions already taken, but only
while the newest list still cannot take them (a request whose update ran before another one started the first
list must not start a second one); if another process started it first, the loop goes back to the update.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from openissuer.adapters.sql.asyncpg_pool import ConnectionPool
from openissuer.domain.status_lists import UNSCOPED, StatusListHead, StatusListReservation, StatusListScope
from openissuer.ports.status_lists import NewStatusList

RESERVE = """
WITH newest AS (
  SELECT id, allocated, size FROM status_lists
  WHERE tenant_id = $1::text AND kind = $2::text AND credential_type = $5::text AND authority_id = $6::text
  ORDER BY sequence DESC LIMIT 1 FOR UPDATE)
UPDATE status_lists s SET allocated = LEAST(newest.size, newest.allocated + $4::int)
FROM newest WHERE s.id = newest.id AND newest.allocated + $3::int <= newest.size
RETURNING s.id, s.size, newest.allocated AS first, s.allocated - newest.allocated AS taken, s.permutation_key"""
START_LIST = """
INSERT INTO status_lists (id, tenant_id, kind, credential_type, authority_id, sequence, size, allocated, revision,
                          permutation_key, created_at)
SELECT $7::text, $1::text, $2::text, $5::text, $6::text, coalesce(max(s.sequence) + 1, 0), $8::int, $4::int, 0,
       $9::bytea, $10::timestamptz
FROM status_lists s
WHERE s.tenant_id = $1::text AND s.kind = $2::text AND s.credential_type = $5::text AND s.authority_id = $6::text
HAVING NOT EXISTS (
  SELECT 1 FROM status_lists n
  WHERE n.tenant_id = $1::text AND n.kind = $2::text AND n.credential_type = $5::text
    AND n.authority_id = $6::text AND n.sequence = max(s.sequence) AND n.allocated + $3::int <= n.size)
ON CONFLICT (tenant_id, kind, credential_type, authority_id, sequence) DO NOTHING
RETURNING id, size, 0 AS first, allocated AS taken, permutation_key"""
HEAD = """
SELECT id, kind, size, revision, credential_type, authority_id,
       (SELECT config_version FROM tenants WHERE id = $1) AS config_version
FROM status_lists WHERE tenant_id = $1 AND id = $2"""
MAX_ATTEMPTS = 100
"""Each lost attempt means another reservation made progress (took positions or started the list), so a request
retries; the bound only guards against a bug looping for ever."""


class PostgresStatusListStore:
    """Implements ``ports.status_lists.StatusListStore`` on PostgreSQL."""

    def __init__(self, pool: Callable[[], Awaitable[ConnectionPool]]) -> None:
        self._pool = pool

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
        """Reserve positions on the newest list (one statement), or start the next list (a second one)."""
        if not 1 <= count <= size:
            raise ValueError("count must be between 1 and the list size")
        block = min(size, max(count, up_to or count))
        pool = await self._pool()
        keys = (tenant_id, kind, count, block, scope.credential_type, scope.authority_id)
        for _ in range(MAX_ATTEMPTS):
            row = await pool.fetchrow(RESERVE, *keys)
            if row is None:
                row = await pool.fetchrow(
                    START_LIST, *keys, candidate.id, size, candidate.permutation_key, candidate.created_at
                )
            if row is not None:
                return _reservation(row)
        raise RuntimeError("no status list position could be reserved")  # pragma: no cover - needs 100 lost races

    async def head(self, tenant_id: str, list_id: str) -> StatusListHead | None:
        """Return the list's kind, scope and revision: one primary-key read."""
        pool = await self._pool()
        row = await pool.fetchrow(HEAD, tenant_id, list_id)
        return None if row is None else _head(row)


def _reservation(row: Any) -> StatusListReservation:
    return StatusListReservation(
        list_id=row["id"],
        size=int(row["size"]),
        first=int(row["first"]),
        count=int(row["taken"]),
        permutation_key=bytes(row["permutation_key"]),
    )


def _head(row: Any) -> StatusListHead:
    return StatusListHead(
        id=row["id"],
        kind=row["kind"],
        size=int(row["size"]),
        revision=int(row["revision"]),
        credential_type=row["credential_type"],
        authority_id=row["authority_id"],
        config_version=int(row["config_version"] or 0),
    )
