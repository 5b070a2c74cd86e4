"""Real ``openissuer serve`` processes for tests: their environment, starting one until it is ready, an admin token."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from oi_testing import TEST_MASTER_KEY, free_port

ADMIN_ID = "process-admin"
ADMIN_SECRET = "process-admin-secret-0123456789"


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENISSUER_")}
    env.update(
        OPENISSUER_DATA_DIR=str(tmp_path / "data"),
        OPENISSUER_MASTER_KEY=TEST_MASTER_KEY,
        OPENISSUER_BOOTSTRAP_CLIENT_ID=ADMIN_ID,
        OPENISSUER_BOOTSTRAP_CLIENT_SECRET=ADMIN_SECRET,
        OPENISSUER_LOG_LEVEL="warning",
    )
    env.update(extra)
    return env


@contextmanager
def running_server(
    env: dict[str, str], *args: str, port: int | None = None, command: list[str] | None = None
) -> Iterator[str]:
    """Run ``openissuer serve`` (or ``command``, given ``--port``) until the block ends; yield its base URL."""
    port = port or free_port()
    process = subprocess.Popen(
        [*(command or [sys.executable, "-m", "openissuer", "serve"]), "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(f"server exited with {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not become ready in 30 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def admin_headers(base: str) -> dict[str, str]:
    response = httpx.post(f"{base}/v1/auth/token", json={"client_id": ADMIN_ID, "client_secret": ADMIN_SECRET})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
