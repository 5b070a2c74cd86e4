"""The SQLite wallet store never blocks the event loop on a lock and never fails with "database is locked": while
another connection holds the write lock it waits asynchronously and tries again, up to a deadline (then 503)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openissuer.adapters.sql import sqlite_wallet_store
from openissuer.adapters.sql.migrate import upgrade_database
from openissuer.adapters.sql.sqlite_wallet_store import SqliteWalletStore
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.errors import TemporarilyUnavailableError

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = tmp_path / "busy.db"
    upgrade_database(f"sqlite:///{path}")
    return str(path)


def hold_write_lock(path: str, seconds: float, started: threading.Event) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    started.set()
    time.sleep(seconds)
    connection.execute("COMMIT")
    connection.close()


async def test_a_write_waits_for_the_lock_without_blocking_the_loop(database: str) -> None:
    store = SqliteWalletStore(database)
    started = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(database, 0.3, started))
    holder.start()
    started.wait()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    running = asyncio.create_task(ticker())
    began = time.monotonic()
    await store.use_nonces([b"n" * 32], NOW + timedelta(minutes=5))  # a write: it needs the lock
    waited = time.monotonic() - began
    running.cancel()
    holder.join()
    assert waited >= 0.25  # it did wait for the other connection
    assert ticks >= 10  # and the loop kept running meanwhile (a blocked loop would not tick)
    assert await store.config_version(DEFAULT_TENANT_ID) == 0
    await store.aclose()


async def test_past_the_deadline_the_request_is_refused_as_unavailable(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_wallet_store, "BUSY_DEADLINE", 0.1)
    store = SqliteWalletStore(database)
    started = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(database, 0.5, started))
    holder.start()
    started.wait()
    with pytest.raises(TemporarilyUnavailableError) as refused:
        await store.use_nonces([b"m" * 32], NOW)
    assert (refused.value.status, refused.value.headers) == (503, {"Retry-After": "1"})
    holder.join()
    await store.use_nonces([b"m" * 32], NOW)  # and works once the lock is free
    await store.aclose()
