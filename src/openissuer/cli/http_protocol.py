"""uvicorn's httptools protocol with each response's head and body written to the socket together.

uvicorn writes the status line and headers when the app sends ``http.response.start`` and the body when it sends
``http.response.body``: two ``write`` calls, so two ``send`` system calls and, with ``TCP_NODELAY``, two TCP
segments for every response, however small. Here the transport the request cycles write to holds a write back
until the end of the current event-loop step: the head and a body sent right after it (every response of this
app) leave in one ``send``. Anything else (a body sent later, a streamed response) is flushed at the latest by a
callback at the end of the step, so nothing waits longer than that; a ``close`` and the peer's end of input (the
event loop closes the real transport itself when ``eof_received`` returns None) flush first. Flow control (pausing
reads and writes) stays with the real transport. ``openissuer serve`` always uses this protocol (httptools).
What it saves: docs/performance.md (the levers).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A transport whose writes within one event-loop step go out as one write of the real transport."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hold ``data``: a second write in the same step sends both; otherwise the step's end sends it."""
        pending = self._pending
        if pending is None:
            self._pending = [bytes(data)]
            self._loop.call_soon(self.flush)
            return
        pending.append(bytes(data))
        self.flush()

    def flush(self) -> None:
        """Write what is held, in one write of the real transport. Every path that closes the connection while it
        is still open flushes first; when the connection is already lost (the peer reset it), what is held cannot
        be delivered and is dropped."""
        pending = self._pending
        if pending:
            self._pending = None
            if not self._transport.is_closing():
                self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def writelines(self, data: Any) -> None:
        for chunk in data:
            self.write(chunk)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose request cycles write through a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]

    def eof_received(self) -> None:
        # The peer will send no more. uvicorn returns None, on which the event loop closes the real transport
        # itself, past this wrapper: write what is held first (on uvloop an EOF can arrive between a write and its
        # end-of-step flush).
        self.transport.flush()  # type: ignore[attr-defined]
        super().eof_received()
