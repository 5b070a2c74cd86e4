"""The CPU price of the server's plumbing on this machine, next to the signature floor.

    .venv/bin/python bench/round_trip_cost.py [--postgres-url URL]

Measures, in this process with uvloop like the server: a hop to another thread and back, a hop through the
default thread pool (what FastAPI does for a plain ``def`` dependency), one PostgreSQL round trip with psycopg
async, one SQLAlchemy Core unit of work (pool checkout with pre-ping, BEGIN, ``SELECT 1``, COMMIT) on PostgreSQL,
and one aiosqlite statement. Each is the median CPU time (user + system) per operation over several batches.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosqlite
import psycopg
import uvloop
from server_process import DEFAULT_POSTGRES_URL, fresh_postgres_database
from signature_floor import measure_floor
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

BATCHES = 5


async def _median_cpu_us(action: Callable[[], Awaitable[object]], per_batch: int) -> float:
    for _ in range(20):
        await action()
    results = []
    for _ in range(BATCHES):
        started = time.process_time()
        for _ in range(per_batch):
            await action()
        results.append((time.process_time() - started) * 1e6 / per_batch)
    return statistics.median(results)


def thread_hop_us(count: int = 5000) -> float:
    """A round trip to a waiting thread through two SimpleQueues (what aiosqlite does per call)."""
    requests: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    replies: queue.SimpleQueue[int] = queue.SimpleQueue()

    def worker() -> None:
        while (item := requests.get()) is not None:
            replies.put(item)

    thread = threading.Thread(target=worker)
    thread.start()
    results = []
    for _ in range(BATCHES):
        started = time.process_time()
        for i in range(count):
            requests.put(i)
            replies.get()
        results.append((time.process_time() - started) * 1e6 / count)
    requests.put(None)
    thread.join()
    return statistics.median(results)


async def measure(postgres_url: str | None) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    costs = {"thread hop (SimpleQueue there and back)": thread_hop_us()}
    costs["thread-pool hop (run_in_executor)"] = await _median_cpu_us(lambda: loop.run_in_executor(None, int), 2000)
    with tempfile.TemporaryDirectory() as tmp:
        async with aiosqlite.connect(Path(tmp) / "x.db") as db:

            async def sqlite_statement() -> None:
                cursor = await db.execute("SELECT 1")
                await cursor.fetchall()
                await cursor.close()

            costs["aiosqlite statement (execute, fetchall, close: 3 hops)"] = await _median_cpu_us(
                sqlite_statement, 1000
            )
    if postgres_url:
        libpq = postgres_url.replace("postgresql+psycopg://", "postgresql://")
        async with await psycopg.AsyncConnection.connect(libpq, autocommit=True) as conn:
            costs["PostgreSQL round trip (psycopg async, empty query)"] = await _median_cpu_us(
                lambda: conn.execute(";"), 1000
            )
        engine = create_async_engine(postgres_url, pool_pre_ping=True)

        async def unit_of_work() -> None:
            async with engine.connect() as c:
                await c.execute(text("SELECT 1"))
                await c.commit()

        costs["SQLAlchemy Core unit of work on PostgreSQL (pre-ping, BEGIN, SELECT 1, COMMIT)"] = await _median_cpu_us(
            unit_of_work, 500
        )
        await engine.dispose()
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    floor = measure_floor()
    if args.no_postgres:
        costs = uvloop.run(measure(None))
    else:
        with fresh_postgres_database(args.postgres_url) as url:
            costs = uvloop.run(measure(url))
    print(f"Signature floor (ES256 verify + sign): {floor.ms * 1000:.0f} µs CPU\n")
    print("| operation | CPU µs in the calling process | × floor |")
    print("|---|---:|---:|")
    for name, micros in costs.items():
        print(f"| {name} | {micros:.0f} | {micros / (floor.ms * 1000):.2f} |")


if __name__ == "__main__":
    main()
