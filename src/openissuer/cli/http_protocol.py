"""uvicorn's httptools protocol with each response's head and body written to the socket together.

uvicorn writes the status line and headers when the app sends ``http.response.start`` and the body when it sends
``http.response.body``: two ``write`` calls, so two ``send`` system calls and, with ``TCP_NODELAY``, two TCP
segments for every response, however small. Here the transport the request cycles write to holds a write back
until the end of the current event-loop step: the head and a body sent right after it (every response of this
app) leave in one ``send``. Anything else (a body sent later, a streamed response) is flushed at the latest by a
callback at the end of the step, so nothing waits longer than that; a ``close`` and the peer's end of input (the
event loop closes the real transport itself when ``eof_received`` returns None) flush first. Flow control (pausing
reads and writes) stays with the real transport. What it saves: docs/performance.md (the levers).

``openissuer serve`` runs ``WalletHttpProtocol``, this protocol with the wallet endpoints' plain requests answered
past the ASGI stack (its docstring).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HEADER_VALUE_RE, STATUS_LINE, HttpToolsProtocol

from openissuer.web.middleware import MAX_BODY_BYTES, finish_headers, record_request, start_request
from openissuer.web.wallet_http import Handler, RouteLabel, WalletEndpoints, response_headers, wallet_request

_MAX_BODY_DIGITS = len(str(MAX_BODY_BYTES))  # a longer Content-Length (zero-padded) takes uvicorn's path


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

    def write_now(self, data: bytes) -> None:
        """Write ``data`` at once, after anything held: for a caller that has a whole response in one piece."""
        self.flush()
        if not self._transport.is_closing():
            self._transport.write(data)

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


class _NoWaiters:
    """uvicorn's protocol sets a cycle's ``message_event`` when the connection is lost; nothing waits on it here."""

    def set(self) -> None:
        pass


class _WalletCycle:
    """A request the wallet fast path answers: what uvicorn's protocol reads of a request cycle (``response_complete``,
    ``disconnected``, ``keep_alive``, ``message_event``), plus the request's route and body."""

    __slots__ = ("body", "disconnected", "handler", "keep_alive", "label", "method", "path", "response_complete")
    message_event = _NoWaiters()

    def __init__(self, method: str, path: str, handler: Handler, label: RouteLabel) -> None:
        self.method = method
        self.path = path
        self.handler = handler
        self.label = label
        self.body = bytearray()
        self.response_complete = False
        self.disconnected = False
        self.keep_alive = True


class WalletHttpProtocol(CoalescingHttpToolsProtocol):
    """The server's HTTP protocol: a wallet endpoint's plain request is answered here, past the ASGI stack.

    A request for a wallet endpoint (``WalletEndpoints.route``: token, nonce, credential, the offer by reference,
    the metadata) that is plain HTTP/1.1 (keep-alive, a ``Content-Length`` body of at most ``MAX_BODY_BYTES``, no
    ``Expect``, no upgrade, no percent-encoded path) and arrives while no other request of its connection is in
    progress is run by ``WalletEndpoints.respond``, the handler the ASGI path runs, in a task of its own, without
    uvicorn's ASGI request cycle, the ASGI messages and the middleware layers (a third of a nonce request's server
    CPU: bench/results/request-cost.md).
    It gets what the request middleware gives every request: the request id bound to the logging context and echoed
    in ``X-Request-ID``, ``Cache-Control: no-store`` on errors, the access log line and the metrics
    (``web/middleware.py``), and the server's default headers; like uvicorn's cycle, it holds its response back
    while the client is not reading (the transport paused writing). Every other request, including a wallet request
    pipelined behind one in progress (uvicorn queues it, with reading paused), goes through uvicorn's cycle and the
    ASGI app as before.
    The fast path is off when the app is wrapped (``trust_forwarded_for`` puts uvicorn's proxy-header middleware
    around it), served under a root path, or given a concurrency limit.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        endpoints = getattr(self.app, "wallet_endpoints", None)
        plain = not self.root_path and self.limit_concurrency is None
        self._wallet = endpoints if plain and isinstance(endpoints, WalletEndpoints) else None
        self._wallet_cycle: _WalletCycle | None = None  # the fast-path request in progress

    def on_headers_complete(self) -> None:
        cycle = self._fast_cycle()
        if cycle is None:
            super().on_headers_complete()
            return
        self.cycle = self._wallet_cycle = cycle  # type: ignore[assignment]

    def _fast_cycle(self) -> _WalletCycle | None:
        """The fast-path cycle of the request whose headers just arrived, or None for uvicorn's path."""
        wallet = self._wallet
        busy = self.cycle is not None and not self.cycle.response_complete
        if wallet is None or busy or self.pipeline or self.expect_100_continue:
            return None
        parser = self.parser
        if parser.get_http_version() != "1.1" or not parser.should_keep_alive() or parser.should_upgrade():
            return None
        try:
            path = httptools.parse_url(self.url).path.decode("ascii")
            method = parser.get_method().decode("ascii")
        except (httptools.HttpParserInvalidURLError, UnicodeDecodeError):
            return None  # uvicorn's path answers it as it would have
        if "%" in path:
            return None
        route = wallet.route(method, path)
        if route is None:
            return None
        for name, value in self.headers:
            if name == b"transfer-encoding":
                return None
            if name == b"content-length" and (
                not value.isdigit() or len(value) > _MAX_BODY_DIGITS or int(value) > MAX_BODY_BYTES
            ):
                # uvicorn's path refuses a body over the limit (413) as it would have, and reads a zero-padded
                # length longer than int() takes (4,300 digits) as it would have
                return None
        return _WalletCycle(method, path, *route)

    def on_body(self, body: bytes) -> None:
        cycle = self._wallet_cycle
        if cycle is not None and self.cycle is cycle:  # type: ignore[comparison-overlap]
            cycle.body += body
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        cycle = self._wallet_cycle
        if cycle is not None and self.cycle is cycle:  # type: ignore[comparison-overlap]
            # A fresh context when uvicorn is told to give each request one (``reset_contextvars``), as it does.
            context = contextvars.Context() if getattr(self.config, "reset_contextvars", False) else None
            task = self.loop.create_task(self._answer(cycle, self.headers), context=context)
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)
            return
        super().on_message_complete()

    async def _answer(self, cycle: _WalletCycle, headers: list[tuple[bytes, bytes]]) -> None:
        """Run the request's handler and write its response, as the ASGI path would."""
        assert self._wallet is not None
        started = time.perf_counter()
        request_id = start_request(headers)
        status = 500
        try:
            request = wallet_request(cycle.path, headers, bytes(cycle.body), self.client)
            response = await self._wallet.respond(cycle.handler, cycle.label, request)
            status = response.status
            if not cycle.disconnected:
                fields = finish_headers(
                    status, [*self.server_state.default_headers, *response_headers(response)], request_id, cycle.path
                )
                data = _response_bytes(status, fields, response.body, keep_alive=cycle.keep_alive)
                if self.flow.write_paused:
                    # The client reads slower than it asks (the socket's buffer is full): wait, as uvicorn's send
                    # waits, so that its next requests queue behind this one with reading paused instead of
                    # piling answers up in the server's memory.
                    await self.flow.drain()
                if not cycle.disconnected:
                    self.transport.write_now(data)  # type: ignore[attr-defined]  # a whole response: nothing to hold
        except Exception:  # not the handler's (respond answers those): closed unanswered, as uvicorn does
            self.logger.exception("Exception in the wallet fast path")
            self.transport.close()
        except BaseException:  # cancelled: the server is stopping
            self.transport.close()
            raise
        finally:
            cycle.response_complete = True
            if self._wallet_cycle is cycle:
                self._wallet_cycle = None
            record_request(cycle.method, cycle.label.path, cycle.path, status, time.perf_counter() - started)
        if not cycle.keep_alive:
            self.transport.close()  # the server is shutting down
        self.on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._wallet_cycle is not None:
            self._wallet_cycle.disconnected = True
        super().connection_lost(exc)


def _response_bytes(status: int, headers: list[tuple[bytes, bytes]], body: bytes, *, keep_alive: bool) -> bytes:
    """A response's status line, headers and body, as uvicorn writes them (a header value with a control character
    is refused, as uvicorn refuses it)."""
    content = [STATUS_LINE[status]]
    for name, value in headers:
        if HEADER_VALUE_RE.search(value):
            raise RuntimeError("Invalid HTTP header value.")
        content += (name, b": ", value, b"\r\n")
    if not keep_alive:
        content.append(b"connection: close\r\n")
    content += (b"\r\n", body)
    return b"".join(content)
