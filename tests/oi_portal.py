"""A portal client for in-process tests: signs in through the form, reads CSRF tokens from pages, posts forms."""

from __future__ import annotations

import re
from typing import Any

import httpx

PORTAL_COOKIE = "openissuer_portal"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """Return the first CSRF token on a page."""
    match = _TOKEN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class PortalClient:
    """A browser-like session on the portal over an httpx client (cookies kept per client)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def sign_in(self, client_id: str, secret: str, *, next_path: str | None = None) -> httpx.Response:
        page = await self.http.get("/portal/sign-in")
        assert page.status_code == 200, page.text
        form = {"client_id": client_id, "client_secret": secret, "csrf_token": csrf_of(page.text)}
        if next_path is not None:
            form["next"] = next_path
        response = await self.http.post("/portal/sign-in", data=form)
        if response.status_code == 303:
            landing = await self.http.get("/portal/")
            self.csrf = csrf_of(landing.text)
        return response

    @property
    def session_id(self) -> str | None:
        return self.http.cookies.get(PORTAL_COOKIE)

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get("/portal" + path)

    async def post(self, path: str, form: dict[str, Any] | None = None, *, csrf: str | None = None) -> httpx.Response:
        data = dict(form or {})
        token = self.csrf if csrf is None else csrf
        if token:
            data["csrf_token"] = token
        return await self.http.post("/portal" + path, data=data)


# Objects made through the management API so that the portal's detail pages have something to show: (method, API
# path, body, the portal page of the object made, with ``{id}`` from the API's answer).
SAMPLE_OBJECTS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "POST",
        "/v1/users/authentication-providers",
        {"url": "https://idp.example.com", "clientId": "issuer", "clientSecret": "sample-provider-secret-1234"},
        "/authentication/providers/{id}",
    ),
    (
        "POST",
        "/v1/openid/clients",
        {"clientId": "sample-wallet", "redirectUris": ["https://wallet.example.com/cb"]},
        "/authentication/wallet-clients/{id}",
    ),
    (
        "POST",
        "/v1/claim-sources",
        {
            "name": "Sample",
            "url": "https://claims.example.com/c",
            "requestParameters": {"id": {"mapFrom": "claims.id"}},
            "authorization": {"type": "api-key", "value": "sample-api-key-5678"},
        },
        "/claims-sources/{id}",
    ),
    (
        "POST",
        "/v2/credentials/mobile/status-lists/configurations",
        {"docType": "org.iso.18013.5.1.mDL", "timeToLiveDuration": {"hours": 1}, "expiryDuration": {"days": 1}},
        "/status-lists/mobile/configurations/{id}",
    ),
    (
        "PUT",
        "/v1/openid/configuration",
        {"interactionHook": {"url": "https://hook.example.com/h"}},
        "/interaction-hook",
    ),
]


def sample_page(path: str, answer: dict[str, Any]) -> str:
    """The portal page of an object the API made (``answer``: its JSON answer)."""
    return path.format(id=answer.get("id", ""))
