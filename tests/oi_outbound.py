"""Outbound-guard helpers for tests that must reach one loopback server with the guard ON, and fake DNS."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from openissuer.adapters.http import OutboundGuard
from openissuer.adapters.http.guard import IPAddress, Resolver, resolve_host


class ExemptPortGuard(OutboundGuard):
    """The production guard (allow_private=False) with one local server port exempt from URL and address rules."""

    def __init__(self, exempt_port: int, *, resolver: Resolver | None = None) -> None:
        super().__init__(allow_private=False, resolver=resolver)
        self.exempt_port = exempt_port

    def check_url(self, url: str) -> str:
        if urlsplit(url).port == self.exempt_port:
            return url
        return super().check_url(url)

    def check_addresses(self, host: str, port: int, addresses: Sequence[IPAddress]) -> None:
        if port != self.exempt_port:
            super().check_addresses(host, port, addresses)


def static_resolver(
    answers: dict[str, list[str]], calls: list[str] | None = None, *, fallback: bool = False
) -> Resolver:
    """Answer from ``answers``; other names fail, or go to the real resolver when ``fallback``."""

    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host in answers:
            return answers[host]
        if fallback:
            return await resolve_host(host, port)
        raise OSError("unknown host")

    return resolve
