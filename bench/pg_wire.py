"""Count PostgreSQL round trips from outside the server: a TCP proxy that reads the wire protocol.

The server under test is given ``127.0.0.1:<proxy port>`` instead of PostgreSQL's address; the proxy forwards
every byte unchanged and counts, per direction, the protocol-3 messages it sees (PostgreSQL's "Frontend/Backend
Protocol" chapter). Nothing in the server is patched, so the count holds for any driver or data layer
(SQLAlchemy + psycopg today, driver-level SQL later, pipelining included):

- **round trips**: client flights, i.e. times the client sent data after PostgreSQL had answered (a flight split
  over several TCP segments counts once; pipelined statements sent before waiting count once);
- **sync points**: ``ReadyForQuery`` messages (one per simple ``Query`` or extended-protocol ``Sync``);
- **statements** by verb: each simple ``Query`` (its first word; an empty query such as a pool's ``;`` ping is
  ``(empty)``) and each extended ``Execute`` (the verb of the statement its portal was bound to, also for
  prepared statements that are no longer parsed);
- **transaction blocks**: ``ReadyForQuery`` going from in-transaction (``T``/``E``) back to idle (``I``), and
  **autocommit statements**: statements that ran outside a block (each its own transaction);
- connections opened (with their start-up round trips), and bytes each way.

It needs a connection without TLS (``sslmode=disable``, or a server without ``ssl``): an encrypted stream cannot
be read. It is used in a short phase of its own, never while throughput or CPU is being measured.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field

SSL_REQUEST, GSSENC_REQUEST, CANCEL_REQUEST = 80877103, 80877104, 80877102


def _verb(query: bytes) -> str:
    text = query.strip().lstrip(b"(").strip()
    if not text or text == b";":
        return "(empty)"
    return text.split(None, 1)[0].rstrip(b";").decode(errors="replace").upper()


def _cstring(buf: bytes, start: int) -> tuple[bytes, int]:
    end = buf.index(b"\0", start)
    return buf[start:end], end + 1


@dataclass
class _Connection:
    counts: Counter[str]
    up: bytearray = field(default_factory=bytearray)
    down: bytearray = field(default_factory=bytearray)
    startup: bool = True
    pending_single_byte: int = 0  # answers to SSLRequest / GSSENCRequest: one untyped byte each
    server_spoke: bool = True
    status: bytes = b"I"
    executed: bool = False  # a statement ran since the last ReadyForQuery
    statements: dict[bytes, str] = field(default_factory=dict)  # prepared statement name -> verb
    portals: dict[bytes, str] = field(default_factory=dict)  # portal name -> verb

    def client(self, data: bytes) -> None:
        self.counts["bytes to PostgreSQL"] += len(data)
        if self.server_spoke:
            self.counts["round trips"] += 1
            self.server_spoke = False
        self.up += data
        buf = self.up
        while True:
            if self.startup:
                if len(buf) < 8 or len(buf) < (length := int.from_bytes(buf[:4], "big")):
                    return
                code = int.from_bytes(buf[4:8], "big")
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    self.pending_single_byte += 1
                elif code != CANCEL_REQUEST:
                    self.startup = False
                del buf[:length]
                continue
            if len(buf) < 5 or len(buf) < 1 + (length := int.from_bytes(buf[1:5], "big")):
                return
            kind, body = buf[0:1], bytes(buf[5 : 1 + length])
            del buf[: 1 + length]
            self._frontend(kind, body)

    def _frontend(self, kind: bytes, body: bytes) -> None:
        if kind == b"Q":
            verb = _verb(body[:-1])
            self.counts["statements"] += 1
            self.counts[f"statement {verb}"] += 1
            self.executed = self.executed or verb != "(empty)"
        elif kind == b"P":
            name, at = _cstring(body, 0)
            query, _ = _cstring(body, at)
            self.statements[name] = _verb(query)
            self.counts["Parse"] += 1
        elif kind == b"B":
            portal, at = _cstring(body, 0)
            statement, _ = _cstring(body, at)
            self.portals[portal] = self.statements.get(statement, "?")
        elif kind == b"E":
            portal, _ = _cstring(body, 0)
            self.counts["statements"] += 1
            self.counts[f"statement {self.portals.get(portal, '?')}"] += 1
            self.executed = True
        elif kind == b"C" and body[:1] == b"S":  # Close of a prepared statement
            self.statements.pop(_cstring(body, 1)[0], None)

    def server(self, data: bytes) -> None:
        self.counts["bytes from PostgreSQL"] += len(data)
        self.server_spoke = True
        self.down += data
        buf = self.down
        while True:
            if self.pending_single_byte and buf:
                del buf[:1]
                self.pending_single_byte -= 1
                continue
            if len(buf) < 5 or len(buf) < 1 + (length := int.from_bytes(buf[1:5], "big")):
                return
            kind, status = buf[0:1], bytes(buf[5:6])
            del buf[: 1 + length]
            if kind == b"Z":
                self.counts["sync points"] += 1
                if status == b"I" and self.status in (b"T", b"E"):
                    self.counts["transaction blocks"] += 1
                elif status == b"I" and self.executed:
                    self.counts["autocommit statements"] += 1
                self.status = status
                self.executed = False


class PgWireCounter:
    """A counting TCP proxy to PostgreSQL, running on its own event loop in a daemon thread."""

    def __init__(self, upstream_host: str = "127.0.0.1", upstream_port: int = 5432) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.port = 0
        self._thread = threading.Thread(target=self._run, name="pg-wire-counter", daemon=True)

    def __enter__(self) -> PgWireCounter:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the PostgreSQL counting proxy did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        counts: Counter[str] = Counter({"connections": 1})
        connection = _Connection(counts)
        self._merge(counts)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, upstream: bool) -> None:
            try:
                while data := await source.read(65536):
                    (connection.client if upstream else connection.server)(data)
                    self._merge(counts)
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))

    def _merge(self, counts: Counter[str]) -> None:
        with self._lock:
            self.counts.update(counts)
        counts.clear()
