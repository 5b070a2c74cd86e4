"""A bare HTTP/1.1 server for bench/request_cost.py: uvloop and httptools, one fixed JSON response to any request.

    python bench/bare_http_server.py PORT

The floor of a Python HTTP server on this machine: parsing a request and writing a response of a nonce response's
size (with its headers) in one write, nothing else. Loopback only; keep-alive; no error handling beyond closing the
connection on a malformed request.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import httptools
import uvloop

BODY = b'{"c_nonce":"' + b"n" * 120 + b'"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\ncache-control: no-store\r\n"
    b"x-request-id: 0123456789abcdef0123456789abcdef\r\n\r\n%s" % (len(BODY), BODY)
)


class BareProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport  # uvloop's transport, which is not an asyncio.Transport subclass
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:
        self.transport.write(RESPONSE)


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(BareProtocol, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1])))
