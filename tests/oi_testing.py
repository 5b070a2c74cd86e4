"""Helpers shared by the test modules (importable because pytest puts tests/ on the path)."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy.engine import make_url

TEST_MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LW9mLTMyLWJ5dGVzLTEyMzQ"  # 32 bytes, base64url; tests only


def libpq_url(url: str) -> str:
    """Return a SQLAlchemy PostgreSQL URL as a libpq URL for psycopg.connect."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def free_port() -> int:
    """Return a TCP port that is free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def create_postgres_database(server_url: str) -> str:
    """Create an empty, uniquely named database on the server; return its URL."""
    name = f"openissuer_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_settings(tmp_path: object, **overrides: object) -> object:
    """Return Settings for an in-process app: memory storage unless overridden, a fixed master key."""
    from openissuer.config import Settings

    values: dict[str, object] = {
        "data_dir": tmp_path,
        "database_url": "memory://",
        "master_key": TEST_MASTER_KEY,
        "public_url": "https://issuer.example",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
