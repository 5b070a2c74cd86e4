"""Run the example programs printed in docs/ exactly as a reader would copy them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from oi_testing import free_port

DOCS = Path(__file__).resolve().parents[1] / "docs"


def docs_example(page: str, name: str) -> str:
    """The Python block that follows ``<!-- example: name -->`` on ``docs/page``."""
    text = (DOCS / page).read_text()
    marker = f"<!-- example: {name} -->\n```python\n"
    start = text.index(marker) + len(marker)
    return text[start : text.index("```", start)]


@contextmanager
def running_example(page: str, name: str, directory: Path, **env: str) -> Iterator[int]:
    """Save the example as ``name`` in ``directory``, run it with ``PORT`` (a free port) and ``env``; yield the
    port once it accepts connections; stop it on exit."""
    path = directory / name
    path.write_text(docs_example(page, name))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(path)],
        env={**os.environ, **env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {process.stderr.read().decode() if process.stderr else ''}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
