"""Branding image URLs fetched through the outbound guard and kept as ``data:`` URIs (reference §4.2), with every
rule on what is fetched and what is kept broken once."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from oi_outbound import static_resolver
from oi_testing import FakeClock, make_settings
from openissuer.adapters.http import GuardedHttpFetcher
from openissuer.bootstrap import build
from openissuer.ports.http import HttpResponse, OutboundTimeoutError
from openissuer.web.app import create_app

ADMIN = {"bootstrap_client_id": "test-admin", "bootstrap_client_secret": "test-admin-secret-0123456789"}
PATH = "/v2/credentials/mobile/configurations"
LOGO_URL = "https://cdn.issuer-assets.com/logo.png?v=3"


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    )


PNG = png()


@dataclass
class FakeFetcher:
    """Answers every request with ``answer`` (or raises ``error``) and records the URLs asked for."""

    answer: HttpResponse = field(default_factory=lambda: HttpResponse(200, {"content-type": "image/png"}, PNG))
    error: Exception | None = None
    urls: list[str] = field(default_factory=list)

    async def request(self, method: str, url: str, **_: Any) -> HttpResponse:
        self.urls.append(url)
        if self.error is not None:
            raise self.error
        return self.answer

    async def aclose(self) -> None:
        return None


async def _client(tmp_path: Path, fetcher: Any) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    container = build(make_settings(tmp_path, **ADMIN), clock=FakeClock(), fetcher=fetcher)  # type: ignore[arg-type]
    await container.start()
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="https://issuer.example") as http:
        token = await http.post(
            "/oauth/token",
            json={"client_id": ADMIN["bootstrap_client_id"], "client_secret": ADMIN["bootstrap_client_secret"]},
        )
        yield http, {"Authorization": f"Bearer {token.json()['access_token']}"}
    await container.aclose()


@pytest.fixture
def fetcher() -> FakeFetcher:
    return FakeFetcher()


@pytest.fixture
async def client(tmp_path: Path, fetcher: FakeFetcher) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    async for pair in _client(tmp_path, fetcher):
        yield pair


def body(**branding: str) -> dict[str, Any]:
    return {
        "type": "org.iso.18013.5.1.mDL",
        "claimMappings": {"org.iso.18013.5.1": {"given_name": {"mapFrom": "claims.given_name", "type": "string"}}},
        "expiresIn": {"days": 30},
        "branding": {"name": "Licence", **branding},
    }


async def test_an_https_logo_is_fetched_once_and_kept_as_a_data_uri(
    client: tuple[httpx.AsyncClient, dict[str, str]], fetcher: FakeFetcher
) -> None:
    http, headers = client
    created = await http.post(PATH, headers=headers, json=body(issuerLogo=LOGO_URL, watermarkImage=LOGO_URL))
    assert created.status_code == 201, created.text
    data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert created.json()["branding"]["issuerLogo"] == data_uri
    assert created.json()["branding"]["watermarkImage"] == data_uri
    assert fetcher.urls == [LOGO_URL, LOGO_URL]
    metadata = (await http.get("/.well-known/openid-credential-issuer")).json()
    entry = metadata["credential_configurations_supported"][created.json()["id"]]
    assert entry["credential_metadata"]["display"][0]["logo"] == {"uri": data_uri}
    assert len(fetcher.urls) == 2  # publishing the metadata fetches nothing
    inline = await http.put(f"{PATH}/{created.json()['id']}", headers=headers, json=body(issuerLogo=data_uri))
    assert inline.status_code == 200 and len(fetcher.urls) == 2  # a data: URI is kept as given


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (HttpResponse(404, {"content-type": "image/png"}, PNG), "answered 404"),
        (HttpResponse(200, {"content-type": "image/svg+xml"}, b"<svg onload='alert(1)'/>"), "PNG"),
        (HttpResponse(200, {"content-type": "image/png"}, b"<html>not an image</html>"), "PNG"),
        (HttpResponse(200, {"content-type": "text/html"}, PNG), "Content-Type"),
        (HttpResponse(200, {"content-type": "image/jpeg"}, PNG), "Content-Type"),
        (HttpResponse(200, {"content-type": "image/png"}, PNG + b"\x00" * (256 * 1024)), "larger than 256 KB"),
    ],
)
async def test_what_is_fetched_must_be_a_small_image_of_an_accepted_type(
    client: tuple[httpx.AsyncClient, dict[str, str]], fetcher: FakeFetcher, answer: HttpResponse, message: str
) -> None:
    http, headers = client
    fetcher.answer = answer
    response = await http.post(PATH, headers=headers, json=body(issuerLogo=LOGO_URL))
    assert response.status_code == 400, response.text
    detail = response.json()["details"][0]
    assert detail["param"] == "branding.issuerLogo" and message in detail["msg"]
    assert (await http.get(PATH, headers=headers)).json()["data"] == []


async def test_a_jpeg_watermark_is_refused(
    client: tuple[httpx.AsyncClient, dict[str, str]], fetcher: FakeFetcher
) -> None:
    http, headers = client
    fetcher.answer = HttpResponse(200, {"content-type": "image/jpeg"}, b"\xff\xd8\xff\xe0jpeg")
    response = await http.post(PATH, headers=headers, json=body(watermarkImage=LOGO_URL))
    assert response.status_code == 400 and response.json()["details"][0]["param"] == "branding.watermarkImage"
    logo = await http.post(PATH, headers=headers, json=body(issuerLogo=LOGO_URL))
    assert logo.status_code == 201 and logo.json()["branding"]["issuerLogo"].startswith("data:image/jpeg;base64,")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/logo.png",
        "https://localhost/logo.png",
        "https://logo.internal/logo.png",
        "https://user:pw@cdn.issuer-assets.com/logo.png",
        "https://cdn.issuer-assets.com/logo.png#frag",
    ],
)
async def test_logo_urls_follow_the_outbound_url_rules(
    client: tuple[httpx.AsyncClient, dict[str, str]], fetcher: FakeFetcher, url: str
) -> None:
    http, headers = client
    response = await http.post(PATH, headers=headers, json=body(issuerLogo=url))
    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["param"] == "branding.issuerLogo"
    assert fetcher.urls == []  # refused before any request


async def test_a_fetch_that_fails_is_a_400_without_the_url(
    client: tuple[httpx.AsyncClient, dict[str, str]], fetcher: FakeFetcher
) -> None:
    http, headers = client
    fetcher.error = OutboundTimeoutError(url=LOGO_URL)
    response = await http.post(PATH, headers=headers, json=body(issuerLogo=LOGO_URL))
    assert response.status_code == 400
    assert response.json()["details"][0]["msg"] == "could not be fetched: The outbound request timed out"


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::ffff:127.0.0.1"])
async def test_the_guard_refuses_names_that_resolve_to_private_addresses(tmp_path: Path, address: str) -> None:
    calls: list[str] = []
    guarded = GuardedHttpFetcher(
        allow_private=False, resolver=static_resolver({"cdn.issuer-assets.com": [address]}, calls)
    )
    try:
        async for http, headers in _client(tmp_path, guarded):
            response = await http.post(PATH, headers=headers, json=body(issuerLogo=LOGO_URL))
            assert response.status_code == 400, response.text
            assert response.json()["details"][0]["msg"].startswith(
                "could not be fetched: The outbound request was refused"
            )
    finally:
        await guarded.aclose()
    assert calls == ["cdn.issuer-assets.com"]  # resolved, checked, never connected
