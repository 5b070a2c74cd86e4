"""The host key of a tenant's public URL is the key its wallets' ``Host`` headers get, so a tenant created with a
URL is the tenant its wallets' requests are routed to, and two URLs with one key are one host (409)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openissuer.domain.urls import host_of_url, normalise_public_url
from openissuer.services.tenancy import host_of_header

PORTS = st.sampled_from([None, 80, 443, 8080, 8443])
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(scheme=st.sampled_from(["http", "https"]), labels=st.lists(LABEL, min_size=1, max_size=3), port=PORTS)
def test_a_url_and_the_host_header_its_wallets_send_have_one_key(scheme: str, labels: list[str], port: int) -> None:
    host = ".".join([*labels, "example"])
    authority = host if port is None else f"{host}:{port}"
    url = normalise_public_url(f"{scheme}://{authority}/p")
    header = url.partition("://")[2].partition("/")[0]  # what a client sends for this URL
    assert host_of_url(url) == host_of_header(header) == host_of_header(authority) == host_of_header(authority.upper())


@pytest.mark.parametrize(
    ("url", "header"),
    [
        ("https://a.example:80", "a.example"),
        ("https://a.example:80", "a.example:80"),
        ("http://a.example:443", "a.example:443"),
        ("http://a.example:443", "a.example"),
        ("https://bücher.example", "xn--bcher-kva.example"),
        ("https://BÜCHER.example.:443/x", "XN--BCHER-KVA.example"),
        ("https://dup.example.com.", "dup.example.com"),
        ("http://[0:0::1]:8080", "[::1]:8080"),
        ("http://[::1]:443", "[::1]"),
    ],
)
def test_the_host_key_of_a_url_is_the_host_headers(url: str, header: str) -> None:
    assert host_of_url(url) == host_of_header(header)


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://A.Example", "https://a.example"),
        ("https://a.example:443/", "https://a.example"),
        ("http://a.example:80/x/", "http://a.example/x"),
        ("https://a.example:80", "https://a.example:80"),
        ("https://bücher.example/Ü", "https://xn--bcher-kva.example/%C3%9C"),
        ("https://dup.example.com./t", "https://dup.example.com/t"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://a.example/t;v=1/~x/a%2Fb", "https://a.example/t;v=1/~x/a%2Fb"),
    ],
)
def test_a_public_url_is_normalised(url: str, normalised: str) -> None:
    assert normalise_public_url(url) == normalised
    assert normalise_public_url(normalised) == normalised
