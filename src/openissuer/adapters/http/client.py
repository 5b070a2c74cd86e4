"""``GuardedHttpFetcher``: the HttpFetcher every outbound call of the core goes through.

Enforces mattr-vii.md §13 "Outbound HTTP": timeouts (3 s by default, for the whole exchange including redirects),
an SSRF guard matching the §1.3 URL rules, re-checked on every redirect hop, and a response size cap applied while
the body streams in. Logs carry method, ``scheme://host[:port]/path``, status and hop only: never bodies, header
values or query strings.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from openissuer.adapters.http.guard import OutboundGuard, Resolver
from openissuer.adapters.http.transport import PinnedHttpTransport
from openissuer.domain.urls import redact_url
from openissuer.ports.http import (
    HttpResponse,
    OutboundConnectionError,
    OutboundEncodingError,
    OutboundRedirectError,
    OutboundRequestError,
    OutboundResponseTooLargeError,
    OutboundTimeoutError,
)

log = logging.getLogger("openissuer.adapters.http")

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_BODY_HEADERS = ("content-type", "content-length", "transfer-encoding", "content-encoding")
_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key")
_DEFAULT_HEADERS = {"user-agent": "openissuer", "accept": "*/*", "accept-encoding": "identity"}


class GuardedHttpFetcher:
    """Send outbound requests through the SSRF guard with DNS pinning, timeouts, a size cap and vetted redirects.

    ``allow_private`` permits http, IP literals and non-public addresses (development, tests). ``timeout`` bounds
    each exchange end to end and each connect/read/write phase. ``guard`` replaces the guard built from
    ``allow_private`` and ``resolver``. A custom ``transport`` (tests) replaces the pinned transport, so only the
    URL rules, not the address rules, are then enforced here.
    """

    def __init__(
        self,
        allow_private: bool,
        timeout: float = 3.0,
        max_response_bytes: int = 1_000_000,
        max_redirects: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        guard: OutboundGuard | None = None,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if timeout <= 0 or max_response_bytes <= 0 or max_redirects < 0:
            raise ValueError("timeout and max_response_bytes must be positive, max_redirects not negative")
        self._guard = guard or OutboundGuard(allow_private=allow_private, resolver=resolver)
        self._timeout = timeout
        self._max_response_bytes = max_response_bytes
        self._max_redirects = max_redirects
        self._transport = transport or PinnedHttpTransport(self._guard, ssl_context=ssl_context)

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> HttpResponse:
        """Send ``method url``, following up to ``max_redirects`` vetted redirects; see ``HttpFetcher.request``."""
        if data is not None and json is not None:
            raise ValueError("pass data or json, not both")
        if headers is not None and any(name.lower() == "host" for name in headers):
            raise ValueError("the Host header comes from the URL, so TLS SNI and Host always name the same host")
        limit = self._timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                return await self._follow(method.upper(), url, httpx.Headers(headers), data, json, limit)
        except TimeoutError:
            raise OutboundTimeoutError(url=url, detail=f"no complete response within {limit} s") from None

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _follow(
        self,
        method: str,
        url: str,
        headers: httpx.Headers,
        data: bytes | Mapping[str, str] | None,
        json: Any,
        limit: float,
    ) -> HttpResponse:
        current = url
        for hop in range(self._max_redirects + 1):
            checked = self._guard.check_url(current)
            request = _build_request(method, checked, headers, data, json, limit)
            response = await self._send(request, checked)
            try:
                log.debug(
                    "outbound response",
                    extra={"method": method, "target": redact_url(checked), "status": response.status_code, "hop": hop},
                )
                location = response.headers.get("location")
                if response.status_code not in _REDIRECT_STATUSES or location is None:
                    body = await self._read_capped(response, checked)
                    return HttpResponse(response.status_code, _flatten(response.headers), body, checked)
            finally:
                await response.aclose()
            current = _redirect_target(checked, location)
            method, data, json, headers = _redirect_request(response.status_code, method, data, json, headers)
            if not _same_origin(checked, current):
                if data is not None or json is not None:
                    # A 307/308 repeats the body, which may carry a client secret, a code or a PKCE verifier (token
                    # requests) or claims-source parameters: it never goes to an origin it was not addressed to.
                    raise OutboundRedirectError(
                        "The outbound request was redirected to another origin, which would receive its body",
                        url=url,
                        detail=f"{response.status_code} to {redact_url(current)}",
                    )
                headers = _without_credentials(headers)
        raise OutboundRedirectError(url=url, detail=f"more than {self._max_redirects} redirects")

    async def _send(self, request: httpx.Request, url: str) -> httpx.Response:
        try:
            response = await self._transport.handle_async_request(request)
        except OutboundRequestError:
            raise
        except httpx.TimeoutException:
            raise OutboundTimeoutError(url=url, detail="connect or first response timed out") from None
        except httpx.HTTPError as error:
            raise OutboundConnectionError(url=url, detail=f"{type(error).__name__}: {error}") from None
        response.request = request
        return response

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_response_bytes:
            raise OutboundResponseTooLargeError(url=url, detail=f"Content-Length {declared} over the cap")
        # Requests say ``Accept-Encoding: identity``. A compressed answer is refused before any of it is read: its
        # decoder inflates each chunk whole before the cap below could apply (1 KB of twice-gzipped zeros is 512 MB).
        encodings = [e.strip().lower() for e in response.headers.get_list("content-encoding", split_commas=True)]
        if any(e not in ("", "identity") for e in encodings):
            raise OutboundEncodingError(url=url, detail=f"Content-Encoding {', '.join(encodings)[:100]}")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_raw():  # identity only (above): the bytes as they arrive
                size += len(chunk)
                if size > self._max_response_bytes:
                    raise OutboundResponseTooLargeError(url=url, detail=f"body over {self._max_response_bytes} bytes")
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise OutboundTimeoutError(url=url, detail="reading the body timed out") from None
        except httpx.HTTPError as error:
            raise OutboundConnectionError(url=url, detail=f"{type(error).__name__}: {error}") from None
        return b"".join(chunks)


def _build_request(
    method: str, url: str, headers: httpx.Headers, data: bytes | Mapping[str, str] | None, json: Any, limit: float
) -> httpx.Request:
    merged = httpx.Headers(_DEFAULT_HEADERS)
    merged.update(headers)
    return httpx.Request(
        method,
        url,
        headers=merged,
        content=data if isinstance(data, bytes) else None,
        data=None if data is None or isinstance(data, bytes) else dict(data),
        json=json,
        extensions={"timeout": httpx.Timeout(limit).as_dict()},
    )


def _redirect_target(current: str, location: str) -> str:
    try:
        return str(httpx.URL(current).join(location))
    except (httpx.InvalidURL, ValueError):
        raise OutboundRedirectError("The outbound request was redirected to an invalid location", url=current) from None


def _redirect_request(
    status: int, method: str, data: bytes | Mapping[str, str] | None, json: Any, headers: httpx.Headers
) -> tuple[str, bytes | Mapping[str, str] | None, Any, httpx.Headers]:
    """Return the next hop's method, body and headers: RFC 9110 §15.4 as browsers and httpx apply it.

    303 becomes GET; so do 301 and 302 after a POST (the historical behaviour §15.4.2 allows); 307 and 308 repeat
    the request unchanged.
    """
    if method != "HEAD" and (status == 303 or (status in (301, 302) and method == "POST")):
        stripped = httpx.Headers({k: v for k, v in headers.multi_items() if k.lower() not in _BODY_HEADERS})
        return "GET", None, None, stripped
    return method, data, json, headers


def _same_origin(previous: str, following: str) -> bool:
    """Whether two URLs share scheme, host and port (RFC 6454 origin)."""
    before, after = httpx.URL(previous), httpx.URL(following)
    return (before.scheme, before.host, before.port) == (after.scheme, after.host, after.port)


def _without_credentials(headers: httpx.Headers) -> httpx.Headers:
    """Authorization, cookies and API keys stay with the origin they were addressed to."""
    return httpx.Headers({k: v for k, v in headers.multi_items() if k.lower() not in _CREDENTIAL_HEADERS})


def _flatten(headers: httpx.Headers) -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in headers.multi_items():
        key = name.lower()
        flat[key] = f"{flat[key]}, {value}" if key in flat else value
    return flat
