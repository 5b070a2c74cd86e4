"""An httpx transport whose every TCP connection goes to an address the guard vetted a moment before.

DNS pinning: httpcore asks its network backend to ``connect_tcp(host, port)`` and afterwards starts TLS with
``server_hostname=host``. ``GuardedNetworkBackend`` resolves ``host`` itself, has the guard check every answer, and
dials the vetted IP literal; TLS SNI, certificate verification and the ``Host`` header keep the original name. There
is no second lookup, so a DNS answer that changes between check and connect (rebinding) changes nothing. Pooled
keep-alive connections are keyed by (scheme, host, port) and were vetted when they were opened.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import contextmanager

import httpcore
import httpx

from openissuer.adapters.http.guard import OutboundGuard
from openissuer.ports.http import OutboundConnectionError

# Most specific first: the first isinstance match wins.
_HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolve, vet and dial in one step: connect only to addresses ``guard.resolve`` accepted."""

    def __init__(self, guard: OutboundGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first vetted address of ``host`` that accepts; the connect timeout covers resolution."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._guard.resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout("resolving the host name timed out") from None
        last_error: Exception = httpcore.ConnectError("no address to connect to")
        for address in addresses:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=remaining, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectTimeout:
                raise
            except httpcore.ConnectError as error:  # refused or unreachable: try the next vetted address
                last_error = error
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Refuse: outbound requests go over TCP only."""
        raise OutboundConnectionError("The outbound request could not connect: unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        """Sleep on the inner backend (httpcore's retry back-off)."""
        await self._inner.sleep(seconds)


class PinnedHttpTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over an httpcore pool whose connections come from ``GuardedNetworkBackend``.

    Used directly rather than through ``httpx.AsyncClient``: the client would keep a cookie jar shared by every
    tenant's endpoints, read proxies and .netrc credentials from the environment, and log each full URL (query
    string included) at INFO on the ``httpx`` logger.
    """

    def __init__(
        self,
        guard: OutboundGuard,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 100,
        max_keepalive_connections: int = 20,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=GuardedNetworkBackend(guard),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over the pool; raise httpx's exceptions like ``httpx.AsyncHTTPTransport`` does."""
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._pool.aclose()


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


@contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        for core_type, httpx_type in _HTTPCORE_TO_HTTPX:
            if isinstance(error, core_type):
                raise httpx_type(str(error)) from error
        raise
