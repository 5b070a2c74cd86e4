"""The server application with one fault injected, for crash tests: the process kills itself (SIGKILL) after the
credential endpoint has done its work (committed) and before the first byte of the response leaves.

It only wraps the real app from the outside (``openissuer.cli.asgi.create_app``), and only while the file named
by ``OI_CRASH_MARKER`` exists; that file is removed first, so the fault happens once.

    python -m uvicorn oi_crash_app:create_app --factory --port 8000     (with tests/ on PYTHONPATH)
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from openissuer.cli.asgi import create_app as create_real_app

CREDENTIAL_PATH = "/v1/openid/credential"


def create_app() -> Any:
    app = create_real_app()
    marker = Path(os.environ["OI_CRASH_MARKER"])

    async def crashing(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != CREDENTIAL_PATH:
            await app(scope, receive, send)
            return

        async def send_or_die(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200 and marker.exists():
                marker.unlink()
                os.kill(os.getpid(), signal.SIGKILL)
            await send(message)

        await app(scope, receive, send_or_die)

    return crashing
