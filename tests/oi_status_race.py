"""Worker processes racing for status-list positions on one database (the ``oi_race.py`` pattern, returning what
each reservation got rather than a win count).

Each worker opens its own hot-path store (asyncpg pool or SQLite connection), warms up, says ``ready`` and waits;
for a round the parent sends a tenant (which must exist), a list kind, a list size and a block size; every worker
makes ``tasks`` concurrent reservations of 1-3 positions (up to the block size each) and answers with
``[list_id, first, count]`` for each.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oi_race import TIMEOUT, _Worker

READY = "ready"


async def _work(url: str, tasks: int) -> None:
    import secrets

    from openissuer.adapters.sql.engine import is_sqlite, libpq_dsn, sqlite_path
    from openissuer.adapters.sql.postgres_status_lists import PostgresStatusListStore
    from openissuer.adapters.sql.postgres_wallet_store import PostgresWalletStore
    from openissuer.adapters.sql.sqlite_status_lists import SqliteStatusListStore
    from openissuer.adapters.sql.sqlite_wallet_store import SqliteWalletStore
    from openissuer.domain.ids import new_id
    from openissuer.ports.status_lists import NewStatusList

    wallet: Any = (
        SqliteWalletStore(sqlite_path(url))
        if is_sqlite(url)
        else PostgresWalletStore(libpq_dsn(url), pool_size=min(tasks, 8))
    )
    store: Any = SqliteStatusListStore(wallet) if is_sqlite(url) else PostgresStatusListStore(wallet.pool)
    await asyncio.gather(*(wallet.config_version("warm-up") for _ in range(min(tasks, 8))))
    print(READY, flush=True)
    try:
        while line := await asyncio.to_thread(sys.stdin.readline):
            round_ = json.loads(line)

            async def reserve(n: int, tenant: str, kind: str, size: int, block: int | None) -> list[Any]:
                candidate = NewStatusList(new_id(), secrets.token_bytes(32), datetime.now(UTC))
                got = await store.reserve(tenant, kind, size, 1 + n % 3, candidate, up_to=block)
                return [got.list_id, got.first, got.count]

            tries = (
                reserve(n, round_["tenant"], round_["kind"], round_["size"], round_.get("block")) for n in range(tasks)
            )
            print(json.dumps(await asyncio.gather(*tries)), flush=True)
    finally:
        await wallet.aclose()


class Allocators:
    def __init__(self, workers: list[_Worker]) -> None:
        self._workers = workers

    def reserve(self, tenant_id: str, kind: str, *, size: int, block: int | None = None) -> list[tuple[str, int, int]]:
        """Let every worker reserve on lists of ``kind`` at once; return every reservation made."""
        import time

        line = json.dumps({"tenant": tenant_id, "kind": kind, "size": size, "block": block}).encode() + b"\n"
        for worker in self._workers:
            assert worker.process.stdin is not None
            worker.process.stdin.write(line)
            worker.process.stdin.flush()
        deadline = time.monotonic() + TIMEOUT
        taken: list[tuple[str, int, int]] = []
        for worker in self._workers:
            taken += [tuple(item) for item in json.loads(worker.read_line(deadline))]  # type: ignore[misc]
        return taken


@contextmanager
def racing_allocators(url: str, *, processes: int = 3, tasks: int = 4) -> Iterator[Allocators]:
    """Start ``processes`` workers on the (migrated) database at ``url``."""
    import time

    config = json.dumps({"url": url, "tasks": tasks})
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENISSUER_")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent), env.get("PYTHONPATH", "")])
    workers = [
        _Worker(
            subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), config],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
        )
        for _ in range(processes)
    ]
    try:
        deadline = time.monotonic() + TIMEOUT
        for worker in workers:
            assert worker.read_line(deadline) == READY
        yield Allocators(workers)
    finally:
        for worker in workers:
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        for worker in workers:
            try:
                worker.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            if worker.process.stdout is not None:
                worker.process.stdout.close()


if __name__ == "__main__":
    _config = json.loads(sys.argv[1])
    asyncio.run(_work(_config["url"], int(_config["tasks"])))
