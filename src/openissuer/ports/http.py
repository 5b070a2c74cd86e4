"""The outbound HTTP port: one ``request`` method for every call the core makes to a tenant-configured endpoint.

Claims sources, interaction hooks, authentication providers and webhooks are URLs a tenant controls, so every call
goes through an implementation that refuses non-public targets (SSRF), caps time and response size, and follows
redirects only after re-checking them (mattr-vii.md §1.3, §13). Failures are the ``OutboundRequestError`` family
below; their public ``description`` never contains the URL, and their ``target`` is the URL without credentials,
query or fragment.
"""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from openissuer.domain.urls import redact_url
from openissuer.errors import IssuerError


@dataclass(frozen=True)
class HttpResponse:
    """A complete response: status, lower-cased headers (repeated fields joined by ", "), body and the final URL."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    url: str = ""

    def json(self) -> Any:
        """Return the body parsed as JSON; raise ValueError when it is not JSON."""
        return _json.loads(self.body)


class HttpFetcher(Protocol):
    """Make one outbound HTTP request, following vetted redirects, and return the whole response."""

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
        """Send ``method url`` and return the response; raise an ``OutboundRequestError`` subclass on failure.

        ``data`` is a raw body (bytes) or form fields (a mapping, sent urlencoded); ``json`` is serialised as JSON;
        ``timeout`` (seconds) bounds the whole exchange including redirects and replaces the fetcher's default.
        Any status code is a response, not an error: callers decide what a 4xx or 5xx means to them.
        """
        ...


class OutboundRequestError(IssuerError):
    """An outbound request failed; ``description`` is public and URL-free, ``target`` is the redacted URL."""

    code = "server_error"
    status = 502
    default_description: ClassVar[str] = "The outbound request failed"

    def __init__(self, description: str | None = None, *, url: str | None = None, detail: str | None = None) -> None:
        text = description or self.default_description
        self.target: str | None = redact_url(url) if url else None
        log_detail = detail or text
        if self.target:
            log_detail = f"{log_detail} ({self.target})"
        super().__init__(text, detail=log_detail)


class OutboundBlockedError(OutboundRequestError):
    """The guard refused the target: a disallowed URL, scheme or name, or an address that is not public."""

    default_description = "The outbound request was refused: the target is not allowed"


class OutboundTimeoutError(OutboundRequestError):
    """Connecting, sending, waiting or reading took longer than allowed."""

    status = 504
    default_description = "The outbound request timed out"


class OutboundResponseTooLargeError(OutboundRequestError):
    """The response body is larger than the fetcher accepts."""

    default_description = "The outbound response is too large"


class OutboundEncodingError(OutboundRequestError):
    """The response came compressed (a ``Content-Encoding`` other than ``identity``) though only ``identity`` was
    accepted: refused unread, since decompressing it could take far more memory than the body's size cap allows."""

    default_description = "The outbound response was compressed, though an uncompressed one was asked for"


class OutboundConnectionError(OutboundRequestError):
    """The target could not be resolved, connected to, or spoke malformed HTTP or TLS."""

    default_description = "The outbound request could not connect"


class OutboundRedirectError(OutboundRequestError):
    """The target redirected too often, to an unusable location, or a request with a body to another origin."""

    default_description = "The outbound request was redirected too many times"
