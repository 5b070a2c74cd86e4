"""Run ``openissuer serve`` with SQLite's own statement trace counted, for the round-trip count on SQLite.

SQLite has no server and no wire to watch, so the count comes from the engine: every connection the process
opens through Python's ``sqlite3`` module (whatever sits on top: aiosqlite + SQLAlchemy today, or driver-level
code later) gets a trace callback (``sqlite3_trace_v2``), which SQLite calls once for each statement it starts
running, BEGIN / COMMIT / ROLLBACK and PRAGMAs included. Nothing of openissuer is patched; only the standard
library's ``sqlite3.connect`` is wrapped. The counts go to a shared file (``BENCH_SQLITE_TRACE_FILE``, int64
slots, see ``SLOTS``) that the bench reads between requests. Same arguments as ``python -m openissuer``; one
worker (the counters live in this process).
"""

from __future__ import annotations

import mmap
import os
import sqlite3
import struct
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

SLOTS = (
    "statements",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "PRAGMA",
    "other",
)
SLOT_BYTES = 8


def _index(statement: str) -> int:
    words = statement.split(None, 1)
    verb = words[0].upper().rstrip(";") if words else ""
    if verb in ("END",):
        verb = "COMMIT"
    return SLOTS.index(verb) if verb in SLOTS else SLOTS.index("other")


def install(path: str) -> None:
    """Wrap ``sqlite3.connect`` so that every connection counts its statements into the file at ``path``."""
    with open(path, "r+b") as handle:
        shared = mmap.mmap(handle.fileno(), len(SLOTS) * SLOT_BYTES)
    counters = memoryview(shared).cast("q")
    lock = threading.Lock()

    def trace(statement: str) -> None:
        if statement.startswith("--"):  # a trigger's sub-statement: part of the statement already counted
            return
        index = _index(statement)
        with lock:
            counters[0] += 1
            counters[index] += 1

    original = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = original(*args, **kwargs)
        connection.set_trace_callback(trace)
        return connection

    sqlite3.connect = connect  # type: ignore[assignment]


class TraceFile:
    """The bench's side: create the shared file, read the counters."""

    def __init__(self, path: Path) -> None:
        path.write_bytes(b"\0" * len(SLOTS) * SLOT_BYTES)
        self.path = path
        self._handle = path.open("r+b")
        self._map = mmap.mmap(self._handle.fileno(), len(SLOTS) * SLOT_BYTES)

    def snapshot(self) -> Counter[str]:
        values = struct.unpack(f"{len(SLOTS)}q", self._map[: len(SLOTS) * SLOT_BYTES])
        counts = Counter({"statements": values[0]})
        for name, value in zip(SLOTS[1:], values[1:], strict=True):
            counts[f"statement {name}"] = value
        return counts

    def close(self) -> None:
        self._map.close()
        self._handle.close()


def main() -> None:
    install(os.environ["BENCH_SQLITE_TRACE_FILE"])
    from openissuer.cli import main as openissuer_main

    sys.argv = ["openissuer", *sys.argv[1:]]
    openissuer_main()


if __name__ == "__main__":
    main()
