"""Start ``openissuer serve`` for a benchmark: a fresh data dir, a fresh bench_* PostgreSQL database if asked.

Everything listens on 127.0.0.1 only. The bench owns what it creates here and removes it on the way out.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ADMIN_ID = "bench-admin"
ADMIN_SECRET = "bench-admin-secret-" + "0123456789abcdef"
BENCH_DIR = Path(__file__).resolve().parent


@dataclass
class Server:
    base_url: str
    root_pid: int
    log_path: Path
    database: str  # "sqlite" or the PostgreSQL database name


def code_under_test() -> str:
    """Name the openissuer code the server will run: its directory and a digest of its Python files."""
    spec = importlib.util.find_spec("openissuer")
    if spec is None or not spec.submodule_search_locations:
        return "openissuer not found"
    root = Path(next(iter(spec.submodule_search_locations)))
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return f"{root} (sha256 of its .py files {digest.hexdigest()[:16]})"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create an empty ``bench_<random>`` database, yield its SQLAlchemy URL, drop it afterwards."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _server_env(data_dir: Path, public_url: str, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENISSUER_")}
    env.update(
        OPENISSUER_DATA_DIR=str(data_dir),
        OPENISSUER_MASTER_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="),
        OPENISSUER_BOOTSTRAP_CLIENT_ID=ADMIN_ID,
        OPENISSUER_BOOTSTRAP_CLIENT_SECRET=ADMIN_SECRET,
        OPENISSUER_PUBLIC_URL=public_url,
        OPENISSUER_LOG_LEVEL="warning",
        # Offers are created a level ahead of the wallets that redeem them; the soak runs for minutes.
        OPENISSUER_OFFER_DEFAULT_TTL="3600",
        OPENISSUER_OFFER_MAX_TTL="3600",
    )
    if database_url:
        env["OPENISSUER_DATABASE_URL"] = database_url
    return env


def _wait_ready(process: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base_url}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready after {timeout} s:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.1)


@contextmanager
def running_server(
    *,
    db: str,
    workers: int,
    postgres_url: str = DEFAULT_POSTGRES_URL,
    instrumented: bool = False,
    runner: Path | None = None,
    cpus: str | None = None,
    database_url_via: Callable[[str], str] | None = None,
    extra_env: dict[str, str] | None = None,
    wrapper: list[str] | None = None,
    ready_timeout: float = 60,
) -> Iterator[Server]:
    """Start ``python -m openissuer serve`` (or the instrumented wrapper) and stop it afterwards.

    ``runner``: a script run instead of ``-m openissuer`` (it must take the same arguments); ``cpus``: pin the
    server and its workers with ``taskset -c``; ``database_url_via``: rewrite the PostgreSQL URL the server is
    given (e.g. to go through a counting proxy); ``extra_env``: more environment variables for the server;
    ``wrapper``: a command the server runs under (e.g. ``valgrind --tool=callgrind``), after ``taskset``;
    ``ready_timeout``: seconds to wait for ``/ready``.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="openissuer-bench-"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with _database(db, postgres_url) as database_url:
        server_url = (
            database_url if database_url is None or database_url_via is None else database_url_via(database_url)
        )
        env = _server_env(data_dir / "data", base_url, server_url)
        env.update(extra_env or {})
        if instrumented:
            runner = BENCH_DIR / "instrumented_server.py"
        command = ["taskset", "-c", cpus] if cpus else []
        command += wrapper or []
        command += [sys.executable, str(runner)] if runner else [sys.executable, "-m", "openissuer"]
        command += ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        log_path = data_dir / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(process, base_url, log_path, ready_timeout)
            name = "sqlite" if database_url is None else str(make_url(database_url).database)
            yield Server(base_url=base_url, root_pid=process.pid, log_path=log_path, database=name)
        except BaseException:
            print(f"--- server log (tail) ---\n{log_path.read_text()[-6000:]}", file=sys.stderr)
            raise
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def _database(db: str, postgres_url: str) -> Iterator[str | None]:
    if db == "sqlite":
        yield None
    elif db == "postgres":
        with fresh_postgres_database(postgres_url) as url:
            yield url
    else:
        raise ValueError(f"unknown --db {db!r}")


def postgres_backend_pids(postgres_url: str, database: str) -> list[int]:
    """Return the pids of the PostgreSQL backends connected to ``database`` (the server's pooled connections)."""
    with psycopg.connect(_libpq(postgres_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database,)
        ).fetchall()
    return [int(row[0]) for row in rows]
