"""A tenant's public URL through ``POST /v1/tenants``, on SQLite and PostgreSQL: validated, stored normalised, and
one tenant per host as wallet requests are routed (``Host`` without :80 and :443, IDNA A-label, no trailing dot).
"""

from __future__ import annotations

from typing import Any

from e2e.conftest import Api
from e2e.test_tenants import api_database_url, api_settings, platform_headers  # noqa: F401 - fixtures
from openissuer.domain.ids import DEFAULT_TENANT_ID


async def create(api: Api, headers: dict[str, str], url: str) -> Any:
    return await api.http.post("/v1/tenants", headers=headers, json={"name": "T", "publicUrl": url})


async def listed(api: Api, headers: dict[str, str]) -> set[str]:
    return {t["publicUrl"] for t in (await api.http.get("/v1/tenants", headers=headers)).json()["data"]}


async def issuer_at(api: Api, url: str) -> str:
    """The credential issuer a wallet gets at ``url`` (its host is the request's ``Host``)."""
    await api.container.tenants.forget()
    return str((await api.http.get(url + "/.well-known/openid-credential-issuer")).json()["credential_issuer"])


SHARED_HOSTS = [
    # the port a Host header names is dropped when it is 80 or 443, whatever the scheme (a proxy may end TLS)
    ("https://a.example", "https://a.example:80"),
    ("https://b.example", "http://b.example:443"),
    ("http://c.example:443", "https://c.example"),
    ("https://d.example:80/one", "http://d.example/two"),
    # wallets send the IDNA A-label in Host; a trailing dot names the same host
    ("https://bücher.example", "https://xn--bcher-kva.example"),
    ("https://xn--mller-kva.example", "https://MÜLLER.example/x"),
    ("https://dup.example.com.", "https://dup.example.com"),
    ("https://dot.example.com", "https://DOT.example.com./x"),
    # the default tenant's host (OPENISSUER_PUBLIC_URL is https://issuer.example)
    ("https://e.example", "http://issuer.example:443/x"),
]


async def test_two_tenants_cannot_share_a_host(api: Api) -> None:
    platform = await platform_headers(api)
    for first, second in SHARED_HOSTS:
        created = await create(api, platform, first)
        assert created.status_code == 201, created.text
        before = await listed(api, platform)
        refused = await create(api, platform, second)
        assert refused.status_code == 409, (first, second, refused.text)
        assert refused.json()["details"][0]["param"] == "publicUrl"
        assert await listed(api, platform) == before


async def test_the_public_url_is_stored_normalised_and_its_wallets_reach_it(api: Api) -> None:
    platform = await platform_headers(api)
    well_known = "/.well-known/openid-credential-issuer"
    for typed, stored, metadata_urls in (
        (
            "HTTPS://Bücher.Example:443/Issuer/",
            "https://xn--bcher-kva.example/Issuer",
            [f"https://xn--bcher-kva.example{well_known}/Issuer"],
        ),
        ("https://dup.example.com./", "https://dup.example.com", [f"https://dup.example.com{well_known}"]),
        (
            "https://c.example:80",  # the other scheme's default port: reached with or without it
            "https://c.example:80",
            [f"http://c.example:80{well_known}", f"https://c.example{well_known}"],
        ),
        ("http://[0:0::1]:8080", "http://[::1]:8080", [f"http://[::1]:8080{well_known}"]),
    ):
        created = await create(api, platform, typed)
        assert created.status_code == 201, created.text
        assert created.json()["publicUrl"] == stored
        read = await api.http.get(f"/v1/tenants/{created.json()['id']}", headers=platform)
        assert read.json()["publicUrl"] == stored
        await api.container.tenants.forget()
        for url in metadata_urls:
            found = await api.http.get(url)
            assert found.status_code == 200, (url, found.text)
            assert found.json()["credential_issuer"] == stored, url


INVALID_PUBLIC_URLS = [
    "https://a b.example",
    "https://<script>.example",
    "https://<script>alert(1)</script>.example",
    "https://a\t.example",
    "https://a.exa\nmple",
    "https://a.example/a b",
    "https://a.example/a\x01b",
    "https://a.example/a\x7fb",
    "https://a.example/../..",
    "https://a.example/x/../y",
    "https://a.example/./x",
    "https://a.example/x/%2e%2E",
    "https://a.example//x",
    "https://a.example/<script>",
    "https://a.example/a%zz",
    "https://a.example/a\\b",
    "https://a%2eexample",
    "https://a.example..",
    "https://a.example:0",
    "https://a.example:65536",
    "https://[fe80::1%25eth0]",
    "https://a.example?",
    "https://a.example#",
    "https://a.example/?q=1",
    "https://user@a.example",
    "ftp://a.example",
    "https://",
    "a.example",
    "not a url",
    "",
]


async def test_an_invalid_public_url_is_refused_and_nothing_is_stored(api: Api) -> None:
    platform = await platform_headers(api)
    before = await listed(api, platform)
    for bad in INVALID_PUBLIC_URLS:
        refused = await create(api, platform, bad)
        assert refused.status_code == 400, (bad, refused.text)
        body = refused.json()
        assert set(body) == {"code", "message", "details"}, bad
        assert [d["param"] for d in body["details"]] == ["publicUrl"], bad
    assert await listed(api, platform) == before


async def test_an_unknown_host_is_still_the_default_tenants(api: Api) -> None:
    platform = await platform_headers(api)
    assert (await create(api, platform, "https://e.example:8443")).status_code == 201
    for url in ("https://e.example", "https://e.example:8444", "https://nobody.example"):
        assert await issuer_at(api, url) == "https://issuer.example"
    assert (await api.container.tenants.resolve_host("e.example:8443")).id != DEFAULT_TENANT_ID
