"""A minimal HTTP/1.1 keep-alive client on an asyncio Protocol, for load generation at a low client CPU cost.

One ``Connection`` carries one request at a time (a wallet's flow is sequential), with requests built by hand and
responses framed by ``Content-Length`` or ``Transfer-Encoding: chunked`` (Node's default). Only what the bench
needs: no TLS, no redirects, no proxies, no compression; 127.0.0.1 only. Headers are returned raw; the caller
looks up what it needs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class HttpError(Exception):
    """The connection failed or the response could not be framed."""


@dataclass(frozen=True)
class Url:
    """An http URL on this machine, split once: host, port, and the request target (path + query)."""

    host: str
    port: int
    target: str

    @classmethod
    def parse(cls, url: str) -> Url:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK:
            raise HttpError(f"the bench only talks to http://127.0.0.1, not {url!r}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.hostname, parts.port or 80, target)

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class Response:
    status: int
    head: bytes  # status line and headers, as received
    body: bytes
    close: bool = False  # the server said Connection: close

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        key = name.lower().encode() + b":"
        for line in self.head.split(b"\r\n")[1:]:
            if line[: len(key)].lower() == key:
                return line[len(key) :].strip().decode("latin-1")
        return None


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self._head_end = -1
        self._length = -1  # Content-Length, or -1 with chunked, -2 until the head is parsed
        self._chunked = False
        self._close = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HttpError(f"connection closed: {exc}"))

    def expect(self) -> asyncio.Future[Response]:
        self.buffer.clear()
        self._head_end = -1
        self._length = -2
        self._chunked = False
        self._close = False
        self.waiter = asyncio.get_running_loop().create_future()
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        try:
            response = self._parse()
        except Exception as exc:  # a malformed response fails the request that is waiting for it
            waiter.set_exception(exc)
            return
        if response is not None:
            self.waiter = None
            waiter.set_result(response)

    def _parse(self) -> Response | None:
        buf = self.buffer
        if self._length == -2:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 65536:
                    raise HttpError("response head too long")
                return None
            self._head_end = end + 4
            self._length = 0  # no framing header: only for bodiless answers (the bench never sends HEAD)
            for line in bytes(buf[:end]).split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    self._length = int(value)
                elif name == b"transfer-encoding":
                    self._chunked = value.strip().lower().endswith(b"chunked")
                elif name == b"connection":
                    self._close = value.strip().lower() == b"close"
            if self._length > MAX_RESPONSE_BYTES:
                raise HttpError("response too large")
        if self._chunked:
            body = self._dechunk()
            if body is None:
                return None
        else:
            if len(buf) < self._head_end + self._length:
                return None
            body = bytes(buf[self._head_end : self._head_end + self._length])
        head = bytes(buf[: self._head_end - 4])
        if not head.startswith(b"HTTP/1."):
            raise HttpError(f"not an HTTP/1.x response: {head[:40]!r}")
        return Response(int(head[9:12]), head, body, self._close)

    def _dechunk(self) -> bytes | None:
        buf, pos, parts = self.buffer, self._head_end, []
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(bytes(buf[pos:line_end]).split(b";", 1)[0], 16)
            if size == 0:
                if buf.find(b"\r\n\r\n", line_end) < 0:  # the last chunk, trailers (if any), an empty line
                    return None
                return b"".join(parts)
            start = line_end + 2
            if len(buf) < start + size + 2:
                return None
            parts.append(bytes(buf[start : start + size]))
            pos = start + size + 2
            if pos > MAX_RESPONSE_BYTES:
                raise HttpError("response too large")


class Connection:
    """One keep-alive connection to ``host:port``; reconnects when the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.authority = f"{host}:{port}".encode()
        self._protocol: _Protocol | None = None
        self.connects = 0

    async def _ensure(self) -> _Protocol:
        protocol = self._protocol
        if protocol is None or protocol.closed:
            loop = asyncio.get_running_loop()
            _transport, protocol = await loop.create_connection(_Protocol, self.host, self.port)
            self._protocol = protocol
            self.connects += 1
        return protocol

    async def send(self, request: bytes) -> Response:
        """Send one complete request (head and body, built by the caller) and return its response."""
        protocol = await self._ensure()
        waiter = protocol.expect()
        assert protocol.transport is not None
        protocol.transport.write(request)
        response = await waiter
        if response.close:
            protocol.transport.close()
            protocol.closed = True
        return response

    def request(self, method: str, target: str, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()) -> bytes:
        """Build a request (for set-up calls; the hot path prebuilds its heads)."""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.authority.decode()}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None


class Client:
    """Connections by authority, for set-up calls (metadata, management API, offers) outside the measured flows."""

    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}

    def connection(self, url: Url) -> Connection:
        connection = self._connections.get(url.authority)
        if connection is None:
            connection = self._connections[url.authority] = Connection(url.host, url.port)
        return connection

    async def call(
        self, method: str, url: str, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()
    ) -> Response:
        parsed = Url.parse(url)
        connection = self.connection(parsed)
        return await connection.send(connection.request(method, parsed.target, body, headers))

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
