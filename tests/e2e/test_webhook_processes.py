"""Webhook delivery by real processes: ``openissuer serve`` killed with ``kill -9`` mid-delivery and restarted on
SQLite, and ``serve`` plus ``openissuer worker`` sharing one PostgreSQL outbox. A loopback receiver counts what
arrives; the outbox is filled through the same repository the services queue messages with."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from oi_testing import TEST_MASTER_KEY, free_port
from oi_webhooks import Receiver, running_receiver
from openissuer.adapters.sql.engine import create_async_db_engine, create_sync_db_engine
from openissuer.adapters.sql.uow import SqlUnitOfWork
from openissuer.domain.ids import DEFAULT_TENANT_ID, new_id
from openissuer.domain.webhooks import WebhookMessage

pytestmark = pytest.mark.slow

ADMIN_ID = "webhook-admin"
ADMIN_SECRET = "webhook-admin-secret-0123456789"
EVENT_TYPE = "OpenIdOfferRedeemed"


def worker_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENISSUER_")}
    env.update(
        OPENISSUER_DATA_DIR=str(tmp_path / "data"),
        OPENISSUER_MASTER_KEY=TEST_MASTER_KEY,
        OPENISSUER_BOOTSTRAP_CLIENT_ID=ADMIN_ID,
        OPENISSUER_BOOTSTRAP_CLIENT_SECRET=ADMIN_SECRET,
        OPENISSUER_OUTBOUND_ALLOW_PRIVATE="true",
        OPENISSUER_WORKER_POLL_INTERVAL="0.05",
        OPENISSUER_WORKER_LEASE_SECONDS="5",
        OPENISSUER_WEBHOOK_RETRY_BASE_SECONDS="0.2",
        OPENISSUER_WEBHOOK_RETRY_MAX_SECONDS="1",
        OPENISSUER_WEBHOOK_MAX_ATTEMPTS="20",
        OPENISSUER_LOG_LEVEL="info",
    )
    env.update(extra)
    return env


@contextmanager
def started(env: dict[str, str], log: Path, command: str = "serve") -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run ``openissuer serve`` (until ready) or ``openissuer worker`` (until running); output goes to ``log``."""
    port = free_port()
    args = [sys.executable, "-m", "openissuer", command] + (["--port", str(port)] if command == "serve" else [])
    with log.open("ab") as output:
        process = subprocess.Popen(args, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _ready(command, base, log):
            if process.poll() is not None:
                raise AssertionError(f"{command} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{command} did not start in 30 s")
            time.sleep(0.05)
        yield process, base
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(command: str, base: str, log: Path) -> bool:
    if command != "serve":
        return "webhook delivery worker running" in log.read_text()
    try:
        return httpx.get(f"{base}/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def create_webhook(base: str, url: str) -> str:
    token = httpx.post(f"{base}/v1/auth/token", json={"client_id": ADMIN_ID, "client_secret": ADMIN_SECRET})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    created = httpx.post(f"{base}/v1/webhooks", headers=headers, json={"url": url, "events": [EVENT_TYPE]})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def enqueue(database_url: str, count: int) -> set[str]:
    """Queue ``count`` messages for the default tenant's subscribed webhooks in one transaction; return their ids."""

    async def run() -> set[str]:
        engine = create_async_db_engine(database_url, pool_size=1)
        now = datetime.now(UTC)
        messages = [
            WebhookMessage(new_id(), DEFAULT_TENANT_ID, EVENT_TYPE, now, {"n": i, "offerId": new_id()})
            for i in range(count)
        ]
        try:
            async with SqlUnitOfWork(engine) as uow:
                assert await uow.outbox.enqueue(messages) == count
                await uow.commit()
        finally:
            await engine.dispose()
        return {m.id for m in messages}

    return asyncio.run(run())


def accepted_event_ids(receiver: Receiver) -> Counter[str]:
    return Counter(r.envelope["event"]["id"] for r in receiver.successes())


def test_kill_9_mid_delivery_then_restart_delivers_all_100_once_but_in_flight(tmp_path: Path) -> None:
    env = worker_env(tmp_path)
    database = tmp_path / "data" / "openissuer.db"
    with running_receiver(delay=0.1) as receiver:
        with started(env, tmp_path / "first.log") as (process, base):
            create_webhook(base, receiver.url)
            expected = enqueue(f"sqlite:///{database}", 100)
            receiver.wait_for(lambda r: len(r.received) >= 20)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        engine = create_sync_db_engine(f"sqlite:///{database}")
        try:
            with engine.connect() as connection:
                rows = connection.execute(text("SELECT event_id, status, attempts FROM webhook_deliveries")).all()
        finally:
            engine.dispose()
        in_flight = {row.event_id for row in rows if row.status == "pending" and row.attempts > 0}
        undelivered = {row.event_id for row in rows if row.status != "delivered"}
        assert len(rows) == 100 and 0 < len(undelivered) < 100  # killed mid-way
        with started(env, tmp_path / "second.log"):
            receiver.wait_for(lambda r: set(accepted_event_ids(r)) == expected, timeout=40)
            time.sleep(0.3)  # anything sent twice would arrive now
    counts = accepted_event_ids(receiver)
    assert set(counts) == expected
    duplicated = {event_id for event_id, n in counts.items() if n > 1}
    assert duplicated <= in_flight, (duplicated, in_flight)


@pytest.mark.postgres
def test_serve_and_a_worker_on_one_postgres_deliver_1000_events_without_duplicates(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    env = worker_env(tmp_path, OPENISSUER_DATABASE_URL=fresh_postgres_url)
    logs = {"serve": tmp_path / "serve.log", "worker": tmp_path / "worker.log"}
    with (
        running_receiver() as receiver,
        started(env, logs["serve"]) as (_, base),
        started(env, logs["worker"], "worker"),
    ):
        create_webhook(base, receiver.url)
        expected = enqueue(fresh_postgres_url, 1000)
        receiver.wait_for(lambda r: set(accepted_event_ids(r)) == expected, timeout=60)
        time.sleep(0.3)
    counts = accepted_event_ids(receiver)
    assert set(counts) == expected
    assert sum(counts.values()) == 1000  # nothing was in flight when a lease ran out, so nothing came twice
    per_process = {name: log.read_text().count('"webhook delivered"') for name, log in logs.items()}
    assert sum(per_process.values()) == 1000 and all(per_process.values()), per_process
