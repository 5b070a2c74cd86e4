"""The server's HTTP protocol writes a response's head and body in one transport write (cli/http_protocol.py).

Driven through uvicorn's real httptools protocol with a recording transport: what the socket would receive, write by
write.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvloop
from uvicorn.config import Config
from uvicorn.server import Server, ServerState

from oi_http_protocol import RecordingTransport
from openissuer.cli.http_protocol import CoalescingHttpToolsProtocol, CoalescingTransport


async def _small(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _slow_body(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"transfer-encoding", b"chunked")]})
    await asyncio.sleep(0.05)
    await send({"type": "http.response.body", "body": b"late", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _serve(app: Any, request: bytes) -> RecordingTransport:
    config = Config(app=app, lifespan="off", log_config=None)
    protocol = CoalescingHttpToolsProtocol(config, ServerState(), {}, asyncio.get_running_loop())
    transport = RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(request)
    for _ in range(50):
        await asyncio.sleep(0.01)
        if protocol.cycle is not None and protocol.cycle.response_complete:
            break
    await asyncio.sleep(0)  # the end-of-step flush
    protocol.connection_lost(None)
    return transport


async def test_a_response_leaves_in_one_write() -> None:
    transport = await _serve(_small, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert body == b"ok"


async def test_two_responses_on_a_keep_alive_connection_are_two_writes() -> None:
    transport = await _serve(_small, b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    assert [write.count(b"HTTP/1.1 200 OK") for write in transport.writes] == [1, 1]


async def test_a_head_whose_body_comes_later_is_not_held_back() -> None:
    transport = await _serve(_slow_body, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\n")  # the head went out before the body was sent
    assert b"".join(transport.writes[1:]) == b"4\r\nlate\r\n0\r\n\r\n"


async def test_held_data_is_written_at_the_end_of_the_step_or_before_a_close() -> None:
    loop = asyncio.get_running_loop()
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, loop)
    transport.write(b"a")
    assert inner.writes == []
    await asyncio.sleep(0)
    assert inner.writes == [b"a"]
    transport.write(b"b")
    transport.close()
    assert inner.writes == [b"a", b"b"]
    assert inner.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing left
    assert inner.writes == [b"a", b"b"]


async def test_the_transport_passes_everything_else_to_the_real_one() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.pause_reading()
    assert not inner.reading
    assert transport.get_extra_info("peername") == ("127.0.0.1", 50000)
    assert not transport.is_closing()


async def test_held_data_is_written_when_the_peer_ends_its_input() -> None:
    # On EOF the event loop closes the real transport itself (uvicorn's eof_received returns None).
    config = Config(app=_small, lifespan="off", log_config=None)
    protocol = CoalescingHttpToolsProtocol(config, ServerState(), {}, asyncio.get_running_loop())
    inner = RecordingTransport()
    protocol.connection_made(inner)
    protocol.transport.write(b"held")
    protocol.eof_received()
    assert inner.writes == [b"held"]
    inner.close()  # what the loop does next
    await asyncio.sleep(0)  # the scheduled flush finds nothing left
    assert inner.writes == [b"held"]


async def test_held_data_is_dropped_when_the_connection_is_lost_meanwhile() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"a")
    inner.close()  # the peer reset the connection before the end of the step
    await asyncio.sleep(0)
    assert inner.writes == []


async def _late_last_chunk(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"transfer-encoding", b"chunked")]})
    await send({"type": "http.response.body", "body": b"first", "more_body": True})
    await asyncio.sleep(0.05)
    await send({"type": "http.response.body", "body": b"LAST"})  # a lone write, held to the end of the step
    _last_sent.set()
    time.sleep(0.2)


_last_sent = threading.Event()


def _half_closing_client(port: int, received: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        _last_sent.wait(5)
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(5)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
        received.append(data)


async def _serve_on_a_socket() -> bytes:
    config = Config(_late_last_chunk, host="127.0.0.1", port=0, http=CoalescingHttpToolsProtocol, lifespan="off")
    config.log_config = None
    server = Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    received: list[bytes] = []
    client = threading.Thread(target=_half_closing_client, args=(port, received))
    client.start()
    while client.is_alive():
        await asyncio.sleep(0.01)
    server.should_exit = True
    await serving
    return received[0]


def test_a_client_that_half_closes_gets_the_whole_response_on_uvloop() -> None:
    # uvloop handles I/O (here the client's EOF) before the step's scheduled callbacks: the held last chunk must
    # still be written before the loop closes the connection.
    _last_sent.clear()
    response = uvloop.run(_serve_on_a_socket())
    assert response.endswith(b"5\r\nfirst\r\n4\r\nLAST\r\n0\r\n\r\n")


@pytest.mark.parametrize(
    "test",
    [
        test_a_response_leaves_in_one_write,
        test_two_responses_on_a_keep_alive_connection_are_two_writes,
        test_a_head_whose_body_comes_later_is_not_held_back,
        test_held_data_is_written_at_the_end_of_the_step_or_before_a_close,
        test_held_data_is_written_when_the_peer_ends_its_input,
        test_held_data_is_dropped_when_the_connection_is_lost_meanwhile,
    ],
    ids=lambda test: test.__name__,
)
def test_the_same_on_uvloop(test: Callable[[], Awaitable[None]]) -> None:
    uvloop.run(test())


async def test_a_whole_response_is_written_at_once_after_anything_held() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"held")
    transport.write_now(b"whole")
    assert inner.writes == [b"held", b"whole"]  # in order, without waiting for the end of the step
    inner.close()
    transport.write_now(b"late")  # the connection is gone: nothing is written (RecordingTransport would fail)
    await asyncio.sleep(0)
    assert inner.writes == [b"held", b"whole"]
