"""The SSRF guard refuses every non-public address range, metadata names and loopback names (mattr-vii.md §13)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from openissuer.adapters.http.guard import OutboundGuard, Resolver, classify_address
from openissuer.ports.http import OutboundBlockedError, OutboundConnectionError


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.0.0.1", "private"),
        ("10.255.255.255", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.127.255.254", "shared (CGNAT)"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "private"),  # TEST-NET-1 documentation range
        ("198.18.0.1", "private"),  # benchmarking
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fec0::1", "site-local"),
        ("feff:ffff::1", "site-local"),
        ("fd12:3456::1", "private"),
        ("fd00:ec2::254", "cloud metadata"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "private"),  # documentation
        ("::ffff:127.0.0.1", "loopback (IPv4 embedded in IPv6)"),
        ("::ffff:10.0.0.1", "private (IPv4 embedded in IPv6)"),
        ("::ffff:169.254.169.254", "cloud metadata (IPv4 embedded in IPv6)"),
        ("2002:7f00:1::1", "loopback (IPv4 embedded in IPv6)"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a00:1", "private (IPv4 embedded in IPv6)"),  # NAT64 of 10.0.0.1
    ],
)
def test_non_public_addresses_are_classified(address: str, reason: str) -> None:
    assert classify_address(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert classify_address(ipaddress.ip_address(address)) is None


def _resolver(answers: dict[str, Sequence[str]], calls: list[str] | None = None) -> Resolver:
    async def resolve(host: str, port: int) -> Sequence[str]:
        if calls is not None:
            calls.append(host)
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    return resolve


async def test_localhost_is_refused_after_real_resolution() -> None:
    with pytest.raises(OutboundBlockedError, match="loopback"):
        await OutboundGuard(allow_private=False).resolve("localhost", 443)


async def test_localhost_resolves_when_private_targets_are_allowed() -> None:
    addresses = await OutboundGuard(allow_private=True).resolve("localhost", 443)
    assert addresses and all(address.is_loopback for address in addresses)


async def test_a_public_name_passes_and_returns_its_addresses() -> None:
    guard = OutboundGuard(
        allow_private=False, resolver=_resolver({"api.example.com": ["93.184.216.34", "2606:4700::1"]})
    )
    assert [str(a) for a in await guard.resolve("api.example.com", 443)] == ["93.184.216.34", "2606:4700::1"]


async def test_one_private_answer_among_public_ones_blocks_the_name() -> None:
    guard = OutboundGuard(allow_private=False, resolver=_resolver({"mixed.example.com": ["93.184.216.34", "10.0.0.7"]}))
    with pytest.raises(OutboundBlockedError, match="private") as caught:
        await guard.resolve("mixed.example.com", 443)
    assert "mixed.example.com" not in caught.value.description  # names stay in the log-only detail
    assert caught.value.detail is not None and "10.0.0.7" in caught.value.detail


@pytest.mark.parametrize("answer", ["169.254.169.254", "::ffff:127.0.0.1", "100.64.1.2", "0.0.0.0"])  # noqa: S104
async def test_rebinding_style_answers_are_blocked(answer: str) -> None:
    guard = OutboundGuard(allow_private=False, resolver=_resolver({"rebind.example.com": [answer]}))
    with pytest.raises(OutboundBlockedError):
        await guard.resolve("rebind.example.com", 443)


@pytest.mark.parametrize("host", ["metadata.google.internal", "METADATA.GOOGLE.INTERNAL.", "metadata"])
@pytest.mark.parametrize("allow_private", [False, True])
async def test_metadata_names_are_refused_without_resolving(host: str, allow_private: bool) -> None:
    calls: list[str] = []
    guard = OutboundGuard(allow_private=allow_private, resolver=_resolver({host: ["8.8.8.8"]}, calls))
    with pytest.raises(OutboundBlockedError, match="metadata"):
        await guard.resolve(host, 80)
    assert calls == []


async def test_metadata_address_is_refused_even_when_private_targets_are_allowed() -> None:
    guard = OutboundGuard(allow_private=True, resolver=_resolver({"meta.example.com": ["169.254.169.254"]}))
    with pytest.raises(OutboundBlockedError, match="metadata"):
        await guard.resolve("meta.example.com", 80)


async def test_private_answers_pass_when_private_targets_are_allowed() -> None:
    guard = OutboundGuard(allow_private=True, resolver=_resolver({"claims.internal": ["10.0.0.7"]}))
    assert [str(a) for a in await guard.resolve("claims.internal", 80)] == ["10.0.0.7"]


async def test_an_unresolvable_name_is_a_connection_error() -> None:
    guard = OutboundGuard(allow_private=False, resolver=_resolver({}))
    with pytest.raises(OutboundConnectionError, match="did not resolve"):
        await guard.resolve("nowhere.example.com", 443)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/", "must use https"),
        ("https://127.0.0.1/", "IP address"),
        ("https://[::1]/", "IP address"),
        ("https://2130706433/", "IP address"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("ftp://example.com/", "must use https"),
    ],
)
def test_check_url_refuses_what_the_url_rules_refuse(url: str, reason: str) -> None:
    with pytest.raises(OutboundBlockedError, match=reason) as caught:
        OutboundGuard(allow_private=False).check_url(url)
    assert "pw@" not in str(caught.value)


def test_check_url_allows_query_and_fragment_at_request_time() -> None:
    guard = OutboundGuard(allow_private=False)
    assert guard.check_url("https://Claims.Example.com/x?user=1#f") == "https://claims.example.com/x?user=1#f"


def test_check_url_redacts_the_target_of_the_error() -> None:
    with pytest.raises(OutboundBlockedError) as caught:
        OutboundGuard(allow_private=False).check_url("http://example.com/p?token=s3cr3t")
    assert caught.value.target == "http://example.com/p"
    assert "s3cr3t" not in (caught.value.detail or "") and "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/", "http://localhost/", "https://[::1]:8443/x?y=1"])
def test_check_url_with_allow_private_permits_local_development_targets(url: str) -> None:
    OutboundGuard(allow_private=True).check_url(url)


def test_check_url_with_allow_private_still_refuses_metadata_literals() -> None:
    with pytest.raises(OutboundBlockedError, match="metadata"):
        OutboundGuard(allow_private=True).check_url("http://169.254.169.254/latest/meta-data/")
