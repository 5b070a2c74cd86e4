"""One ASGI middleware for every request: a request id, an access log line and the metrics.

The access log records the route template (``/v1/openid/credential-offers/{reference}``), not the path: paths can
hold capability references and query strings carry authorization codes and state. Only a path that matched no
route is logged as it is.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openissuer.domain.ids import new_hex_id
from openissuer.errors import PayloadTooLargeError
from openissuer.services.request_context import bind_request_id
from openissuer.web.errors import render_error
from openissuer.web.metrics import observe_request
from openissuer.web.strict_input import is_wallet_path

log = logging.getLogger("openissuer.access")
REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _request_id_of(headers: Any) -> str:
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return new_hex_id()


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


MAX_BODY_BYTES = 1024 * 1024


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _limit_body(receive: Receive, limit: int) -> Receive:
    """Wrap ``receive`` so that a body growing past ``limit`` bytes raises PayloadTooLargeError."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLargeError(f"The request body is larger than {limit} bytes")
        return message

    return limited


_NO_STORE = (b"cache-control", b"no-store")


def _has_cache_control(headers: Any) -> bool:
    return any(name.lower() == b"cache-control" for name, _ in headers)


def start_request(headers: Any) -> str:
    """Begin a request: its id (the client's valid ``X-Request-ID``, else a new one), bound to the logging context
    and to the audit events it causes. ``headers``: the request's (lower-case name, value) byte pairs."""
    request_id = _request_id_of(headers)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    bind_request_id(request_id)
    return request_id


def finish_headers(
    status: int, headers: list[tuple[bytes, bytes]], request_id: str, path: str
) -> list[tuple[bytes, bytes]]:
    """The response headers plus ``X-Request-ID`` and, on any error of a wallet endpoint without its own
    ``Cache-Control`` (routing and size errors too), ``Cache-Control: no-store``."""
    extra = [(REQUEST_ID_HEADER, request_id.encode())]
    if status >= 400 and is_wallet_path(path) and not _has_cache_control(headers):
        extra.append(_NO_STORE)
    return [*headers, *extra]


def record_request(method: str, route: str, path: str, status: int, elapsed: float) -> None:
    """The request's metrics and access log line (the route template; the path only when no route matched)."""
    observe_request(method, route, status, elapsed)
    unmatched = {"path": path[:200]} if route == "unmatched" else {}
    log.info(
        "request",
        extra={
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            **unmatched,
        },
    )


class RequestContextMiddleware:
    """Bind a request id to the logging context, echo it in ``X-Request-ID``, log and measure the request.

    Request bodies are limited to ``MAX_BODY_BYTES`` (413): no endpoint takes more, and parsing less is cheaper.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = start_request(scope.get("headers", ()))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = finish_headers(status, list(message.get("headers", [])), request_id, scope["path"])
            await send(message)

        try:
            declared = _declared_length(scope)
            if declared is not None and declared > MAX_BODY_BYTES:
                too_large = PayloadTooLargeError(f"The request body is larger than {MAX_BODY_BYTES} bytes")
                await render_error(too_large)(scope, receive, send_with_id)
                return
            await self.app(scope, _limit_body(receive, MAX_BODY_BYTES), send_with_id)
        finally:
            record_request(
                scope["method"], _route_template(scope), scope["path"], status, time.perf_counter() - started
            )
