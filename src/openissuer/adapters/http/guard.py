"""The SSRF guard: which URLs, host names and IP addresses outbound requests may reach.

Rules (mattr-vii.md §1.3, §13): the URL passes ``validate_outbound_url`` (https, no credentials, no IP literal), the
host is not a cloud metadata name, and EVERY address the name resolves to is a public unicast address. The address
check runs at connect time on the addresses actually dialled (see ``transport.py``), so a DNS answer cannot change
between the check and the connection.

``allow_private`` (development and tests) permits http, IP literals and non-public addresses; cloud metadata
endpoints stay refused even then, because nothing legitimate lives there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from openissuer.domain.urls import InvalidOutboundUrlError, redact_url, validate_outbound_url
from openissuer.ports.http import OutboundBlockedError, OutboundConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

log = logging.getLogger("openissuer.adapters.http")

METADATA_HOSTNAMES = frozenset({"metadata.google.internal", "metadata"})
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT; not is_private
_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address


def classify_address(address: IPAddress) -> str | None:
    """Return why ``address`` is not a public unicast address (e.g. ``"loopback"``), or None when it is public.

    Covers loopback, RFC 1918 / fc00::/7 private, link-local (169.254/16 with cloud metadata, fe80::/10), the
    deprecated site-local fec0::/10 (not private or reserved to ``ipaddress``, yet routed inside sites),
    unspecified, multicast, reserved, RFC 6598 shared 100.64/10, anything IANA does not list as globally reachable,
    and IPv6 forms that embed an IPv4 address (IPv4-mapped, 6to4, NAT64), judged by the embedded address.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = classify_address(embedded)
            return f"{reason} (IPv4 embedded in IPv6)" if reason else None
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address in METADATA_ADDRESSES, "cloud metadata"),
        (address.is_link_local, "link-local"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),  # fec0::/10, RFC 3879
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE, "shared (CGNAT)"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not globally reachable"),
    )
    return next((reason for blocked, reason in checks if blocked), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


async def resolve_host(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the event loop's getaddrinfo; return its distinct addresses in preference order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class OutboundGuard:
    """Decide whether a URL may be requested and which resolved addresses may be connected to.

    Subclass and override ``check_url`` / ``check_addresses`` for a custom policy (tests use this to exempt one
    local server); ``resolver`` replaces DNS (tests; the default is the event loop's getaddrinfo).
    """

    def __init__(self, *, allow_private: bool, resolver: Resolver | None = None) -> None:
        self.allow_private = allow_private
        self._resolver: Resolver = resolver or resolve_host

    def check_url(self, url: str) -> str:
        """Return the normalised URL, or raise OutboundBlockedError when the URL or its host name is not allowed.

        Query strings and fragments are allowed here (callers add parameters); the configuration-time rules that
        forbid them are applied when the URL is stored.
        """
        try:
            normalised = validate_outbound_url(
                url, allow_private=self.allow_private, allow_query=True, allow_fragment=True
            )
        except InvalidOutboundUrlError as error:
            raise self._blocked(str(error), url) from None
        self.check_host_name(urlsplit(normalised).hostname or "", url)
        return normalised

    def check_host_name(self, host: str, url: str | None = None) -> None:
        """Raise OutboundBlockedError for cloud metadata names and addresses, whatever ``allow_private`` says."""
        name = host.strip("[]").rstrip(".").lower()
        if name in METADATA_HOSTNAMES:
            raise self._blocked("the host is a cloud metadata endpoint", url)
        try:
            literal = ipaddress.ip_address(name.split("%", 1)[0])
        except ValueError:
            return
        if literal in METADATA_ADDRESSES or (
            isinstance(literal, ipaddress.IPv6Address) and literal.ipv4_mapped in METADATA_ADDRESSES
        ):
            raise self._blocked("the host is a cloud metadata endpoint", url)

    def check_addresses(self, host: str, port: int, addresses: Sequence[IPAddress]) -> None:
        """Raise OutboundBlockedError unless every address is public (skipped, except metadata, when allowed)."""
        for address in addresses:
            self.check_host_name(str(address))
            if self.allow_private:
                continue
            reason = classify_address(address)
            if reason is not None:
                log.info("outbound request blocked", extra={"host": host, "port": port, "reason": reason})
                raise OutboundBlockedError(
                    f"The outbound request was refused: the target address is {reason}",
                    detail=f"{host}:{port} resolves to {address} ({reason})",
                )

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Resolve ``host`` and return its addresses once every one of them passed ``check_addresses``."""
        self.check_host_name(host)
        try:
            answers = await self._resolver(host, port)
            addresses = [ipaddress.ip_address(answer) for answer in answers]
        except (OSError, ValueError) as error:
            raise OutboundConnectionError(
                "The outbound request could not connect: the host name did not resolve", detail=type(error).__name__
            ) from None
        if not addresses:
            raise OutboundConnectionError("The outbound request could not connect: the host name did not resolve")
        self.check_addresses(host, port, addresses)
        return addresses

    @staticmethod
    def _blocked(reason: str, url: str | None) -> OutboundBlockedError:
        if url is not None:
            log.info("outbound request blocked", extra={"target": redact_url(url), "reason": reason})
        return OutboundBlockedError(f"The outbound request was refused: {reason}", url=url)
