"""Run ``openissuer serve`` in this process with database counters, for bench/profile_issuance.py.

Same arguments as ``python -m openissuer``; use ``--workers 1`` (the counters live in this process). Adds:

- ``GET /__bench/stats``: per request path, the requests served and the database work they caused: SQL
  statements executed by SQLAlchemy (with their shapes), transactions committed / rolled back, pool checkouts, and
  what the driver sent: psycopg commands (each one network round trip: statements, the pool's pre-ping, and the
  BEGIN / COMMIT / ROLLBACK psycopg issues itself) or aiosqlite calls (each one hop to the connection's thread);
- ``POST /__bench/reset``: zero the counters (after set-up and warm-up).

The counters are a few dict increments per statement; they do not change what the server does.
"""

from __future__ import annotations

import contextvars
import json
import re
import sys
from collections import Counter, defaultdict
from typing import Any

ROUTE: contextvars.ContextVar[str] = contextvars.ContextVar("bench_route", default="(no request)")
COUNTS: defaultdict[str, Counter[str]] = defaultdict(Counter)
STATEMENTS: defaultdict[str, Counter[str]] = defaultdict(Counter)
DRIVER: defaultdict[str, Counter[str]] = defaultdict(Counter)
_SPACES = re.compile(r"\s+")


_SHAPES: dict[str, str] = {}


def _shape(statement: str) -> str:
    """Return a short, parameter-free description of a statement: its verb and tables (memoised)."""
    shape = _SHAPES.get(statement)
    if shape is None:
        if len(_SHAPES) > 10_000:
            _SHAPES.clear()
        shape = _SHAPES[statement] = _describe(statement)
    return shape


def _describe(statement: str) -> str:
    text = _SPACES.sub(" ", statement).strip()
    tables = re.findall(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+([a-z_]+)", text, re.I)
    verb = text.split(" ", 1)[0].upper()
    extra = " RETURNING" if " RETURNING " in text.upper() else ""
    return f"{verb} {', '.join(dict.fromkeys(tables))}{extra}".strip()


def _count(kind: str, amount: int = 1) -> None:
    COUNTS[ROUTE.get()][kind] += amount


def install_counters() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    def before_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        _count("SQL statements")
        STATEMENTS[ROUTE.get()][_shape(statement)] += 1

    event.listen(Engine, "before_cursor_execute", before_execute)
    event.listen(Engine, "commit", lambda _conn: _count("commits"))
    event.listen(Engine, "rollback", lambda _conn: _count("rollbacks"))
    event.listen(Engine, "savepoint", lambda _conn, _name: _count("savepoints"))
    event.listen(Pool, "checkout", lambda *_args: _count("pool checkouts"))

    try:
        import psycopg
    except ImportError:
        pass
    else:
        original_cursor_execute = psycopg.AsyncCursor.execute

        async def recording_execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            DRIVER[ROUTE.get()][_shape(query if isinstance(query, str) else str(query))] += 1
            _count("PostgreSQL round trips")
            return await original_cursor_execute(self, query, *args, **kwargs)

        psycopg.AsyncCursor.execute = recording_execute  # type: ignore[method-assign]

        from psycopg._connection_base import BaseConnection

        original_command = BaseConnection._exec_command

        def recording_command(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
            text = command.decode(errors="replace") if isinstance(command, bytes) else str(command)
            DRIVER[ROUTE.get()][_shape(text)] += 1
            _count("PostgreSQL round trips")
            return original_command(self, command, *args, **kwargs)

        BaseConnection._exec_command = recording_command  # type: ignore[method-assign]

    import aiosqlite

    original_execute = aiosqlite.Connection._execute

    async def counting_execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        _count("driver thread hops (aiosqlite)")
        DRIVER[ROUTE.get()][getattr(fn, "__name__", type(fn).__name__)] += 1
        return await original_execute(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = counting_execute  # type: ignore[method-assign]


async def _send_json(send: Any, status: int, body: Any) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def wrap_app_factory() -> None:
    import openissuer.cli.asgi as asgi

    original_factory = asgi.create_app

    def create_app() -> Any:
        app = original_factory()

        async def counted(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            path = scope["path"]
            if path == "/__bench/stats":
                stats = {
                    route: {
                        "counts": dict(COUNTS[route]),
                        "statements": dict(STATEMENTS[route]),
                        "driver": dict(DRIVER[route]),
                    }
                    for route in COUNTS
                }
                await _send_json(send, 200, stats)
                return
            if path == "/__bench/reset":
                COUNTS.clear()
                STATEMENTS.clear()
                DRIVER.clear()
                await _send_json(send, 200, {})
                return
            token = ROUTE.set(f"{scope['method']} {path}")
            _count("requests")
            try:
                await app(scope, receive, send)
            finally:
                ROUTE.reset(token)

        return counted

    asgi.create_app = create_app  # type: ignore[assignment]


def main() -> None:
    install_counters()
    wrap_app_factory()
    from openissuer.cli import main as openissuer_main

    sys.argv = ["openissuer", *sys.argv[1:]]
    openissuer_main()


if __name__ == "__main__":
    main()
