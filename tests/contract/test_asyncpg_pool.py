"""The wallet hot path's asyncpg connection pool against a real PostgreSQL: its size holds under concurrency,
callers beyond it wait their turn, a refused statement keeps its connection, an interrupted one never comes back,
a connection closed while idle is replaced, and closing the pool ends every wait."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from openissuer.adapters.sql.asyncpg_pool import ConnectionPool, PoolClosedError
from openissuer.adapters.sql.engine import libpq_dsn

pytestmark = pytest.mark.postgres

PID = "SELECT pg_backend_pid() AS pid"


@pytest.fixture
def dsn(postgres_server_url: str) -> str:
    return libpq_dsn(postgres_server_url)


def pool_of(dsn: str, size: int) -> ConnectionPool:
    return ConnectionPool(lambda: asyncpg.connect(dsn), size=size)


async def test_concurrent_statements_share_at_most_size_connections(dsn: str) -> None:
    pool = pool_of(dsn, 2)
    try:
        rows = await asyncio.gather(
            *(pool.fetchrow("SELECT pg_sleep(0.05), pg_backend_pid() AS pid") for _ in range(8))
        )
        assert len({row["pid"] for row in rows}) == 2
        assert pool.opened == 2
        assert [row["n"] for row in await pool.fetch("SELECT generate_series(1, 3) AS n")] == [1, 2, 3]
        assert await pool.execute("SELECT 1") == "SELECT 1"
    finally:
        await pool.close()


async def test_a_refused_statement_keeps_its_connection(dsn: str) -> None:
    pool = pool_of(dsn, 1)
    try:
        before = (await pool.fetchrow(PID))["pid"]
        with pytest.raises(asyncpg.DivisionByZeroError):
            await pool.fetchrow("SELECT 1 / 0")
        assert pool.opened == 1
        assert (await pool.fetchrow(PID))["pid"] == before
    finally:
        await pool.close()


async def test_an_interrupted_statement_never_returns_its_connection(dsn: str) -> None:
    pool = pool_of(dsn, 1)
    try:
        before = (await pool.fetchrow(PID))["pid"]
        slow = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(30)"))
        await asyncio.sleep(0.2)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert pool.opened == 0
        after = await asyncio.wait_for(pool.fetchrow(PID), 10)
        assert after["pid"] != before and pool.opened == 1
    finally:
        await pool.close()


async def test_a_connection_closed_while_idle_is_replaced(dsn: str) -> None:
    pool = pool_of(dsn, 1)
    admin = await asyncpg.connect(dsn)
    try:
        before = (await pool.fetchrow(PID))["pid"]
        await admin.execute("SELECT pg_terminate_backend($1)", before)
        for _ in range(100):  # until the backend is gone
            if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", before):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the client reads the server's goodbye: the idle connection is now closed
        after = (await pool.fetchrow(PID))["pid"]  # no error: the closed connection is not handed out
        assert after != before and pool.opened == 1
    finally:
        await admin.close()
        await pool.close()


async def test_a_caller_cancelled_while_waiting_leaks_nothing(dsn: str) -> None:
    pool = pool_of(dsn, 1)
    try:
        busy = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(0.3)"))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(pool.fetchrow("SELECT 1"))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await busy
        assert (await asyncio.wait_for(pool.fetchrow("SELECT 2 AS n"), 5))["n"] == 2
        assert pool.opened == 1
    finally:
        await pool.close()


async def test_closing_the_pool_ends_every_wait(dsn: str) -> None:
    pool = pool_of(dsn, 1)
    busy = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(0.3)"))
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(pool.fetchrow("SELECT 1"))
    await asyncio.sleep(0.05)
    await pool.close()
    with pytest.raises(PoolClosedError):
        await waiting
    await busy  # the statement in flight finishes; its connection is closed, not pooled
    assert pool.opened == 0
    with pytest.raises(PoolClosedError):
        await pool.fetchrow("SELECT 1")
