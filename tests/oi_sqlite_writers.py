"""A process that writes through the SQLite wallet store while it checkpoints, for tests/contract/test_sqlite_busy.py
(a spawned process imports it by this module's name)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

from openissuer.adapters.sql.sqlite_wallet_store import SqliteWalletStore

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def write_and_checkpoint(path: str, prefix: bytes, writes: int) -> tuple[int, int, int, int]:
    """In a process of its own: ``writes`` nonce writes through a store that checkpoints every 5 writes; return the
    writes that succeeded, the checkpoints taken, the largest size of the log seen after a write (bytes) and how
    many restarting steps gave up (busy past their wait)."""

    async def run() -> tuple[int, int, int, int]:
        store = SqliteWalletStore(path, checkpoint_every=5)
        checkpoints = gave_up = 0
        real = store._checkpoint

        def checkpoint() -> bool:
            nonlocal checkpoints, gave_up
            checkpoints += 1
            restarted = real()
            gave_up += not restarted
            return restarted

        store._checkpoint = checkpoint  # type: ignore[method-assign]
        done = largest = 0
        for index in range(writes):
            await store.use_nonces([prefix + index.to_bytes(4, "big") * 7], NOW + timedelta(minutes=5))
            done += 1
            largest = max(largest, os.path.getsize(f"{path}-wal"))
            await asyncio.sleep(0.0005)  # as between requests: the loop runs the finished checkpoint's callback
        if store._checkpointing is not None:
            await asyncio.wait({store._checkpointing})
        await store.aclose()
        return done, checkpoints, largest, gave_up

    return asyncio.run(run())
