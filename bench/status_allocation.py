"""What a revocable credential adds to the issuance hot path: reserving its status-list entry before signing.

    .venv/bin/python bench/status_allocation.py [--postgres-url URL]

The index must be inside what is signed, so it cannot wait for the issuance's one write (which happens after
signing); it is reserved before signing by one statement (``ports/status_lists.py``). This measures, in one
process with uvloop like the server, the wall time per call of that statement done one after another (asyncpg on
PostgreSQL, sqlite3 on SQLite, through the same store the server uses), next to the cheapest statement of the
same store (``config_version``, one primary-key read) as the price of a bare round trip; the same allocation
through ``StatusListAllocator`` with blocks of ``--block`` positions (one statement per block, the rest from
memory: what the server does); and the CPU of turning a position into an index (the keyed permutation) for a list
of 1,000,000 entries.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import uvloop
from server_process import DEFAULT_POSTGRES_URL, fresh_postgres_database

from openissuer.adapters.sql.engine import libpq_dsn, sqlite_path
from openissuer.adapters.sql.migrate import upgrade_database
from openissuer.adapters.sql.postgres_status_lists import PostgresStatusListStore
from openissuer.adapters.sql.postgres_wallet_store import PostgresWalletStore
from openissuer.adapters.sql.sqlite_status_lists import SqliteStatusListStore
from openissuer.adapters.sql.sqlite_wallet_store import SqliteWalletStore
from openissuer.crypto.index_permutation import IndexPermutation
from openissuer.domain.ids import DEFAULT_TENANT_ID, new_id
from openissuer.domain.status_lists import StatusListKind
from openissuer.ports.clock import SystemClock
from openissuer.ports.status_lists import NewStatusList
from openissuer.services.status_lists import StatusListAllocator

BATCHES = 5
PER_BATCH = 400


async def _median_us(action: Callable[[], Awaitable[object]]) -> float:
    for _ in range(50):
        await action()
    results = []
    for _ in range(BATCHES):
        started = time.perf_counter()
        for _ in range(PER_BATCH):
            await action()
        results.append((time.perf_counter() - started) * 1e6 / PER_BATCH)
    return statistics.median(results)


async def _measure(name: str, wallet: object, lists: object, block: int) -> None:
    kind = "bench-" + new_id()
    blocks = StatusListAllocator(lists, SystemClock(), block_size=block)  # type: ignore[arg-type]
    block_kind = StatusListKind("bench-blocks-" + new_id(), 1_000_000, "/")

    async def reserve() -> object:
        candidate = NewStatusList(new_id(), secrets.token_bytes(32), datetime.now(UTC))
        return await lists.reserve(DEFAULT_TENANT_ID, kind, 1_000_000, 1, candidate)  # type: ignore[attr-defined]

    async def round_trip() -> object:
        return await wallet.config_version(DEFAULT_TENANT_ID)  # type: ignore[attr-defined]

    async def allocate() -> object:
        return await blocks.allocate(DEFAULT_TENANT_ID, block_kind, 1)

    reserve_us, trip_us = await _median_us(reserve), await _median_us(round_trip)
    block_us = await _median_us(allocate)
    difference = reserve_us - trip_us
    print(
        f"{name:10} reserve {reserve_us:7.1f} µs   bare statement {trip_us:7.1f} µs   difference {difference:6.1f} µs"
        f"   allocate from blocks of {block} {block_us:6.1f} µs"
    )


def _permutation_us() -> tuple[float, float]:
    key = os.urandom(32)
    started = time.perf_counter()
    for _ in range(200):
        IndexPermutation(key, 1_000_000)
    build = (time.perf_counter() - started) * 1e6 / 200
    permutation = IndexPermutation(key, 1_000_000)
    started = time.perf_counter()
    for position in range(20_000):
        permutation.index_at(position)
    return build, (time.perf_counter() - started) * 1e6 / 20_000


async def main(postgres_url: str, block: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        upgrade_database(url)
        sqlite_wallet = SqliteWalletStore(sqlite_path(url))
        await _measure("SQLite", sqlite_wallet, SqliteStatusListStore(sqlite_wallet), block)
        await sqlite_wallet.aclose()
    with fresh_postgres_database(postgres_url) as url:
        upgrade_database(url)
        postgres_wallet = PostgresWalletStore(libpq_dsn(url), pool_size=2)
        await _measure("PostgreSQL", postgres_wallet, PostgresStatusListStore(postgres_wallet.pool), block)
        await postgres_wallet.aclose()
    build, index = _permutation_us()
    print(f"permutation: built once per list per process {build:.1f} µs, one index {index:.1f} µs CPU")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--block", type=int, default=100)
    arguments = parser.parse_args()
    uvloop.run(main(arguments.postgres_url, arguments.block))
