"""The portal through the in-process ASGI app: sessions, CSRF, roles, redirects, errors next to their fields.

Each security rule the portal enforces has a test here that tries to break it (the browser tests walk the happy
path): a forged post, a missing or foreign CSRF token, an auditor's write, a wrong secret, an unknown client, an
expired or replayed session, a fixed session id, an off-site ``next``.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from e2e.conftest import ADMIN_ID, ADMIN_SECRET, Api, portal_of
from oi_portal import PORTAL_COOKIE, SAMPLE_OBJECTS, PortalClient, csrf_of, sample_page
from oi_testing import FakeClock, make_settings
from openissuer.bootstrap import build
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.services.housekeeping import Housekeeping
from openissuer.services.portal_sessions import hash_session_id
from openissuer.web.app import create_app
from openissuer.web.metrics import REGISTRY
from openissuer.web.portal.offers import qr_data_uri

READ_PAGES = [
    "/",
    "/iacas",
    "/signers/document-signers",
    "/signers/status-list-signers",
    "/configurations",
    "/configurations/mobile/new",
    "/configurations/sd-jwt/new",
    "/offers",
    "/users",
    "/status-lists",
    "/status-lists/mobile/lists",
    "/status-lists/sd-jwt/lists",
    "/status-lists/mobile/configurations/new",
    "/authentication",
    "/authentication/providers/new",
    "/authentication/wallet-clients/new",
    "/claims-sources",
    "/claims-sources/new",
    "/interaction-hook",
    "/events",
    "/webhooks",
    "/api-clients",
    "/settings",
    "/wallet-security",
    "/cwt",
]


async def iaca_count(api: Api) -> int:
    response = await api.http.get("/v2/credentials/mobile/iacas", headers=await api.auth())
    return len(response.json()["data"])


async def test_a_page_without_a_session_redirects_to_sign_in_and_back(api: Api) -> None:
    portal = portal_of(api)
    response = await portal.get("/iacas?limit=5")
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/sign-in?next=%2Fportal%2Fiacas%3Flimit%3D5"
    page = await portal.http.get(response.headers["location"])
    assert 'name="next" value="/portal/iacas?limit=5"' in page.text
    signed_in = await portal.sign_in(ADMIN_ID, ADMIN_SECRET, next_path="/portal/iacas?limit=5")
    assert signed_in.headers["location"] == "/portal/iacas?limit=5"


async def test_the_session_cookie_is_httponly_secure_over_https_and_samesite_strict(api: Api) -> None:
    portal = portal_of(api)
    response = await portal.sign_in(ADMIN_ID, ADMIN_SECRET)
    cookie = next(v for v in response.headers.get_list("set-cookie") if v.startswith(PORTAL_COOKIE + "="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie and "Path=/portal" in cookie
    # Reached over plain http (TLS ended at a proxy uvicorn does not believe): the public URL is https, so the
    # cookies stay Secure and never travel over plain http.
    plain = httpx.AsyncClient(transport=portal.http._transport, base_url="http://issuer.example")  # type: ignore[attr-defined]
    page = await plain.get("/portal/sign-in")
    assert all("Secure" in v for v in page.headers.get_list("set-cookie"))


class TestPlainHttpIssuer:
    """An issuer whose public URL is http (a laptop's demo): its cookies cannot be Secure, or they never come back."""

    @pytest.fixture
    def api_settings(self) -> dict[str, object]:
        return {"public_url": "http://127.0.0.1:8000"}

    async def test_the_cookie_is_not_secure(self, api: Api) -> None:
        plain = httpx.AsyncClient(transport=portal_of(api).http._transport, base_url="http://127.0.0.1:8000")  # type: ignore[attr-defined]
        page = await plain.get("/portal/sign-in")
        response = await plain.post(
            "/portal/sign-in",
            data={"client_id": ADMIN_ID, "client_secret": ADMIN_SECRET, "csrf_token": csrf_of(page.text)},
        )
        cookie = next(v for v in response.headers.get_list("set-cookie") if v.startswith(PORTAL_COOKIE + "="))
        assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [(ADMIN_ID, "wrong-secret-0123456789"), ("nobody", ADMIN_SECRET), ("", ""), ("x" * 300, "y" * 5000)],
)
async def test_a_failed_sign_in_says_the_same_whatever_was_wrong(api: Api, client_id: str, secret: str) -> None:
    portal = portal_of(api)
    response = await portal.sign_in(client_id, secret)
    assert response.status_code == 401
    assert "the client ID or the secret is not correct" in response.text
    assert PORTAL_COOKIE not in portal.http.cookies
    assert (await portal.get("/")).status_code == 303


async def test_the_sign_in_form_needs_its_own_csrf_token(api: Api) -> None:
    portal = portal_of(api)
    await portal.http.get("/portal/sign-in")
    form = {"client_id": ADMIN_ID, "client_secret": ADMIN_SECRET, "csrf_token": "forged"}
    response = await portal.http.post("/portal/sign-in", data=form)
    assert response.status_code == 403
    assert PORTAL_COOKIE not in portal.http.cookies


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/",
        "//evil.example/portal/",
        "/\\evil.example",
        "/v1/api-clients",
        "/portal\\..",
        "javascript:x",
    ],
)
async def test_next_never_leaves_the_portal(api: Api, next_path: str) -> None:
    response = await portal_of(api).sign_in(ADMIN_ID, ADMIN_SECRET, next_path=next_path)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/"


async def test_sign_in_makes_a_new_session_id_and_ends_the_one_the_browser_came_with(api: Api) -> None:
    portal = portal_of(api)
    await portal.sign_in(ADMIN_ID, ADMIN_SECRET)
    first = portal.session_id
    assert first
    await portal.sign_in(ADMIN_ID, ADMIN_SECRET)
    second = portal.session_id
    assert second and second != first
    fixed = portal_of(api)
    fixed.http.cookies.set(PORTAL_COOKIE, first, domain="issuer.example", path="/portal")
    assert (await fixed.get("/")).status_code == 303  # the replaced session is gone
    planted = portal_of(api)
    planted.http.cookies.set(PORTAL_COOKIE, "attacker-chosen-id", domain="issuer.example", path="/portal")
    await planted.sign_in(ADMIN_ID, ADMIN_SECRET)
    assert planted.session_id not in {None, "attacker-chosen-id"}


async def test_only_a_hash_of_the_session_id_is_stored(api: Api, admin: PortalClient) -> None:
    assert admin.session_id
    async with api.container.uow_factory(read_only=True) as uow:
        stored = await uow.portal_sessions.get(hash_session_id(admin.session_id))
        assert await uow.portal_sessions.get(admin.session_id.encode()) is None
    assert stored is not None and stored.client_id == ADMIN_ID


async def test_sessions_expire_when_idle_and_after_their_absolute_lifetime(api: Api, clock: FakeClock) -> None:
    portal = portal_of(api)
    await portal.sign_in(ADMIN_ID, ADMIN_SECRET)
    clock.advance(seconds=1799)
    assert (await portal.get("/")).status_code == 200  # used: the idle timer starts again
    clock.advance(seconds=1799)
    assert (await portal.get("/")).status_code == 200
    clock.advance(seconds=1801)
    assert (await portal.get("/")).status_code == 303  # idle for more than 30 minutes
    await portal.sign_in(ADMIN_ID, ADMIN_SECRET)
    for _ in range(16):  # in use every 29 minutes, yet over after 8 hours
        clock.advance(seconds=29 * 60)
        assert (await portal.get("/")).status_code == 200
    clock.advance(seconds=29 * 60)
    assert (await portal.get("/")).status_code == 303


async def test_expired_sessions_are_purged(api: Api, clock: FakeClock) -> None:
    portal = portal_of(api)
    await portal.sign_in(ADMIN_ID, ADMIN_SECRET)
    old = portal.session_id
    assert old
    clock.advance(seconds=3600)
    await portal_of(api).sign_in(ADMIN_ID, ADMIN_SECRET)  # every sign-in purges the expired sessions
    async with api.container.uow_factory(read_only=True) as uow:
        assert await uow.portal_sessions.get(hash_session_id(old)) is None


async def test_sign_out_deletes_the_session(api: Api, admin: PortalClient) -> None:
    session_id = admin.session_id
    response = await admin.post("/sign-out")
    assert response.status_code == 303
    replay = portal_of(api)
    replay.http.cookies.set(PORTAL_COOKIE, str(session_id), domain="issuer.example", path="/portal")
    assert (await replay.get("/")).status_code == 303


async def test_deleting_the_api_client_ends_its_sessions(api: Api, admin: PortalClient) -> None:
    created = await admin.post("/api-clients", {"name": "temp", "role-admin": "on"})
    assert created.status_code == 201
    client_id = re.search(r'id="new-client-id">([^<]+)<', created.text)
    secret = re.search(r'id="new-client-secret">([^<]+)<', created.text)
    assert client_id and secret
    other = portal_of(api)
    assert (await other.sign_in(client_id.group(1), secret.group(1))).status_code == 303
    listing = await admin.get("/api-clients")
    assert secret.group(1) not in listing.text  # shown once
    record = next(
        c
        for c in (
            await api.container.api_clients.list_clients("00000000-0000-4000-8000-000000000000", limit=100, after=None)
        ).items
        if c.client_id == client_id.group(1)
    )
    assert (await admin.post(f"/api-clients/{record.id}/delete")).status_code == 303
    assert (await other.get("/")).status_code == 303


async def test_the_new_client_secret_is_never_logged(
    api: Api, admin: PortalClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await admin.post("/api-clients", {"name": "logged", "role-auditor": "on"})
    secret = re.search(r'id="new-client-secret">([^<]+)<', created.text)
    assert secret
    assert secret.group(1) not in caplog.text
    assert str(admin.session_id) not in caplog.text


@pytest.mark.parametrize("path", READ_PAGES)
async def test_every_page_renders_for_an_admin(admin: PortalClient, path: str) -> None:
    response = await admin.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"
    assert "<h1>" in response.text and '<main id="main">' in response.text


async def sample_objects(api: Api) -> dict[str, str]:
    """Make one object of each kind through the API; return the portal's page of each (by kind) and their ids."""
    headers = await api.auth()
    made: dict[str, str] = {}
    for method, path, body, page in SAMPLE_OBJECTS:
        response = await api.http.request(method, path, headers=headers, json=body)
        assert response.status_code in {200, 201}, response.text
        made[page] = sample_page(page, response.json())
    iaca = (await api.http.post("/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"})).json()
    made["/iacas/{id}"] = f"/iacas/{iaca['id']}"
    return made


async def sample_tenant(api: Api) -> str:
    """Make a tenant (through the service, as a platform admin would); return its portal page."""
    created = await api.container.tenant_admin.create(SAMPLE_TENANT, "https://sample-tenant.example")
    return f"/tenants/{created.tenant.id}"


async def write_targets(api: Api) -> dict[str, str]:
    """The sample objects' pages, and a tenant's."""
    return {**await sample_objects(api), "/tenants/{id}": await sample_tenant(api)}


SAMPLE_TENANT = "Sample tenant"
# Posts that change nothing and that an auditor may make (the service permits the role): the only forms besides
# sign-out that an auditor's page may carry.
READ_POSTS: list[tuple[str, dict[str, str]]] = [("/cwt/verify", {"payload": "CSC:/1/AAAA"})]
READ_POST_BUTTONS = ('<button type="submit">Verify</button>',)


async def test_an_auditor_sees_every_page_without_a_write_control(api: Api, auditor: PortalClient) -> None:
    pages = [*READ_PAGES, *(await sample_objects(api)).values()]
    for path in pages:
        response = await auditor.get(path)
        assert response.status_code == 200, (path, response.text)
        forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', response.text)
        reads = {f"/portal{p}" for p, _ in READ_POSTS}
        assert [f for f in forms if f not in reads] == ["/portal/sign-out"], (path, forms)  # only sign-out writes
        text = response.text.replace('<button type="submit" class="secondary">Sign out</button>', "")
        for allowed in ('<button type="submit">Filter</button>', *READ_POST_BUTTONS):
            text = text.replace(allowed, "")
        assert "<button" not in text, path


@pytest.mark.parametrize("role", ["admin", "auditor"])
async def test_the_tenants_page_is_refused_and_hidden_unless_platform_admin(
    api: Api, admin: PortalClient, auditor: PortalClient, role: str
) -> None:
    portal = admin if role == "admin" else auditor
    tenant_page = await sample_tenant(api)
    assert 'href="/portal/tenants"' not in (await portal.get("/")).text
    for path in ("/tenants", tenant_page):
        response = await portal.get(path)
        assert response.status_code == 403, (path, response.text)
        assert "role does not permit" in response.text and SAMPLE_TENANT not in response.text


async def everything(api: Api) -> list[object]:
    """What the management API shows of the tenant's state (the event log records every write), the deployment's
    tenants and the tenant's records of issued credentials (a signed CWT is one)."""
    headers = await api.auth()
    tenants = await api.container.tenant_admin.list_tenants(limit=1000, after=None)
    async with api.container.uow_factory(read_only=True) as uow:
        records = await uow.issued_credentials.list(DEFAULT_TENANT_ID, limit=1000, after=None)
    paths = [
        "/v2/credentials/mobile/iacas",
        "/v2/credentials/mobile/configurations",
        "/v1/api-clients",
        "/v1/users/authentication-providers",
        "/v1/openid/clients",
        "/v1/claim-sources",
        "/v1/openid/configuration",
        "/v2/credentials/mobile/status-lists/configurations",
        "/v1/config/tenant",
        "/v1/openid/wallet-security",
        "/v1/events?limit=1000",
    ]
    return [
        [(t.id, t.name) for t in tenants.items],
        [r.id for r in records.items],
        *[(await api.http.get(path, headers=headers)).json() for path in paths],
    ]


# Every kind of form post, valid as an admin would send it (``{...}``: a sample object's page, see sample_objects).
WRITES: list[tuple[str, dict[str, str]]] = [
    ("/iacas", {"country": "NZ"}),
    ("/api-clients", {"name": "x", "role-admin": "on"}),
    ("/configurations/mobile/new", {"credentialType": "x", "claim_count": "0"}),
    ("/authentication/providers/new", {"url": "https://idp2.example.com", "clientId": "c", "clientSecret": "s" * 16}),
    ("{/authentication/providers/{id}}", {"url": "https://idp.example.com", "clientId": "other"}),
    ("{/authentication/providers/{id}}/delete", {}),
    ("/authentication/wallet-clients/new", {"redirectUris": "https://w.example.com/cb"}),
    ("{/authentication/wallet-clients/{id}}", {"redirectUris": "https://w.example.com/other"}),
    ("{/authentication/wallet-clients/{id}}/delete", {}),
    ("/claims-sources/new", {"name": "n", "url": "https://c.example.com/x", "authType": "api-key", "apiKey": "k" * 16}),
    ("{/claims-sources/{id}}", {"name": "renamed", "url": "https://claims.example.com/c", "authType": "api-key"}),
    ("{/claims-sources/{id}}/delete", {}),
    ("/interaction-hook", {"url": "https://hook.example.com/other"}),
    ("/interaction-hook/delete", {}),
    ("/status-lists/mobile/configurations/new", {"docType": "x", "expiryDuration-days": "1"}),
    ("{/status-lists/mobile/configurations/{id}}", {"expiryDuration-days": "9"}),
    ("{/status-lists/mobile/configurations/{id}}/delete", {}),
    ("/offers", {"claim-0-name": "given_name", "claim-0-value": "Ana", "expiresIn": "600"}),
    ("/webhooks", {"url": "https://hooks.example.com/x", "event-OpenIdOfferRedeemed": "on"}),
    ("/settings", {"defaultCountry": "NZ"}),
    ("/wallet-security", {"dpopRequired": "on"}),
    ("/users/some-user/credentials/some-credential/status", {"profile": "mobile", "status": "invalid"}),
    ("/users/some-user/credentials/some-credential/delete", {"profile": "mobile"}),
    ("/tenants", {"name": "New tenant", "publicUrl": "https://new-tenant.example"}),
    ("{/tenants/{id}}/delete", {"confirmName": SAMPLE_TENANT}),
    ("/cwt/sign", {"type": "Course", "claims": '{"name": "Ana"}', "exp": "2030-01-01T00:00", "revocable": "on"}),
]
# Every kind of form post: the writes and the posts that only read.
FORMS = [*WRITES, *READ_POSTS]


def write_path(template: str, made: dict[str, str]) -> str:
    """``template`` with a sample object's page in place of ``{<page template>}``."""
    match = re.fullmatch(r"\{(.+\})\}(.*)", template)
    return made[match.group(1)] + match.group(2) if match else template


@pytest.mark.parametrize(("path", "form"), WRITES)
async def test_a_forged_write_from_an_auditor_gets_403_and_changes_nothing(
    api: Api, auditor: PortalClient, path: str, form: dict[str, str]
) -> None:
    path = write_path(path, await write_targets(api))
    before = await everything(api)
    response = await auditor.post(path, form)  # with the auditor session's valid CSRF token
    assert response.status_code == 403, response.text
    assert "role does not permit" in response.text
    assert await everything(api) == before


@pytest.mark.parametrize(("path", "form"), FORMS)
async def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(
    api: Api, admin: PortalClient, path: str, form: dict[str, str]
) -> None:
    path = write_path(path, await write_targets(api))
    before = await everything(api)
    response = await admin.post(path, form, csrf="")
    assert response.status_code == 403
    assert "not sent from your portal session" in response.text
    assert await everything(api) == before


async def test_sign_out_without_a_csrf_token_is_refused(admin: PortalClient) -> None:
    response = await admin.post("/sign-out", csrf="")
    assert response.status_code == 403
    assert (await admin.get("/")).status_code == 200  # still signed in


async def test_a_post_with_another_sessions_csrf_token_is_refused(api: Api, admin: PortalClient) -> None:
    other = portal_of(api)
    await other.sign_in(ADMIN_ID, ADMIN_SECRET)
    assert other.csrf and other.csrf != admin.csrf
    before = await iaca_count(api)
    response = await admin.post("/iacas", {"country": "NZ"}, csrf=other.csrf)
    assert response.status_code == 403
    assert await iaca_count(api) == before
    assert (await admin.post("/iacas", {"country": "NZ"})).status_code == 303  # its own token works


@pytest.mark.parametrize(("path", "form"), FORMS)
async def test_every_form_refuses_another_sessions_csrf_token_and_changes_nothing(
    api: Api, admin: PortalClient, platform_admin: PortalClient, path: str, form: dict[str, str]
) -> None:
    """Even the token of a session with more rights (a platform admin's) does not carry over to another session."""
    path = write_path(path, await write_targets(api))
    before = await everything(api)
    for token in (platform_admin.csrf, admin.csrf):
        response = await (admin if token != admin.csrf else platform_admin).post(path, form, csrf=token)
        assert response.status_code == 403, response.text
        assert "not sent from your portal session" in response.text
    assert await everything(api) == before


async def test_bad_input_is_shown_next_to_its_field_and_stores_nothing(api: Api, admin: PortalClient) -> None:
    response = await admin.post("/iacas", {"country": "XX", "notAfter": "not-a-date"})
    assert response.status_code == 400
    assert 'id="e-notAfter"' in response.text and 'aria-invalid="true"' in response.text
    response = await admin.post("/iacas", {"country": "XX"})
    assert response.status_code == 400
    assert re.search(r'id="e-country">must be an ISO 3166-1 alpha-2 code', response.text)
    assert await iaca_count(api) == 0
    form = {
        "credentialType": "org.example.x",
        "expiresIn-days": "30",
        "claim_count": "1",
        "claim-0-namespace": "org.example",
        "claim-0-name": "a",
        "claim-0-mapFrom": "nowhere.a",
        "claim-0-type": "string",
        "action": "save",
    }
    response = await admin.post("/configurations/mobile/new", form)
    assert response.status_code == 400
    assert re.search(r'id="e-claim-0-mapFrom">must start with one of', response.text)
    response = await admin.post("/offers", {"claim-0-value": "orphan"})
    assert response.status_code == 400
    assert 'id="e-claim-0-name"' in response.text
    listing = await api.http.get("/v2/credentials/mobile/configurations", headers=await api.auth())
    assert listing.json()["data"] == []


async def test_the_preview_is_the_metadata_entry_and_stores_nothing(api: Api, admin: PortalClient) -> None:
    form = {
        "credentialType": "https://example.com/pid",
        "expiresIn-days": "30",
        "claim_count": "1",
        "claim-0-name": "given_name",
        "claim-0-mapFrom": "claims.given_name",
        "claim-0-type": "string",
        "claim-0-selectivelyDisclosable": "on",
    }
    response = await admin.post("/configurations/sd-jwt/preview", form)
    assert response.status_code == 200
    assert "&#34;vct&#34;: &#34;https://example.com/pid&#34;" in response.text
    listing = await api.http.get("/v2/credentials/sd-jwt/configurations", headers=await api.auth())
    assert listing.json()["data"] == []


async def test_large_lists_are_paged_with_the_api_cursor(api: Api, admin: PortalClient) -> None:
    for index in range(3):
        await admin.post("/webhooks", {"url": f"https://hooks{index}.example.com/x", "event-OpenIdOfferRedeemed": "on"})
    first = await admin.get("/webhooks?limit=2")
    link = re.search(r'<a href="(/portal/webhooks\?[^"]+)">Next page</a>', first.text)
    assert link
    second = await admin.http.get(link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert second.text.count("hooks") + first.text.count("hooks") >= 3
    assert (await admin.get("/webhooks?cursor=bogus")).status_code == 400


async def test_each_group_of_a_page_pages_its_own_list(api: Api, admin: PortalClient) -> None:
    """Status lists and configurations show one list per profile on one page: a group's "Next page" pages that group,
    also when the page shown is already another group's second page."""
    headers = await api.auth()
    for profile, field in (("mobile", "docType"), ("sd-jwt", "vct")):
        for index in range(3):
            body = {field: f"urn:{profile}:{index}", "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 2}}
            created = await api.http.post(
                f"/v2/credentials/{profile}/status-lists/configurations", json=body, headers=headers
            )
            assert created.status_code == 201, created.text

    def next_links(html: str) -> dict[str, str]:
        found = re.findall(r'aria-label="Pages of ([a-z-]+)"><a href="([^"]+)">Next page</a>', html)
        return {profile: link.replace("&amp;", "&") for profile, link in found}

    def shown(html: str, profile: str) -> set[str]:
        return set(re.findall(rf"urn:{profile}:\d", html))

    first = await admin.get("/status-lists?limit=2")
    assert set(next_links(first.text)) == {"mobile", "sd-jwt"}
    mobile_second = await admin.http.get(next_links(first.text)["mobile"])
    assert mobile_second.status_code == 200
    assert len(shown(mobile_second.text, "mobile")) == 1
    assert shown(mobile_second.text, "mobile").isdisjoint(shown(first.text, "mobile"))
    # From mobile's second page, sd-jwt's link still pages sd-jwt (and not mobile, with sd-jwt's cursor):
    sd_jwt_second = await admin.http.get(next_links(mobile_second.text)["sd-jwt"])
    assert sd_jwt_second.status_code == 200
    assert len(shown(sd_jwt_second.text, "sd-jwt")) == 1
    assert shown(sd_jwt_second.text, "sd-jwt") | shown(first.text, "sd-jwt") == {f"urn:sd-jwt:{i}" for i in range(3)}


async def test_the_portal_is_not_in_the_openapi_description(api: Api) -> None:
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith("/portal")]


async def test_portal_sessions_on_every_backend(every_backend_url: str, tmp_path: Path, clock: FakeClock) -> None:
    settings = make_settings(
        tmp_path, bootstrap_client_id=ADMIN_ID, bootstrap_client_secret=ADMIN_SECRET, database_url=every_backend_url
    )
    container = build(settings, clock=clock)  # type: ignore[arg-type]
    await container.start()
    try:
        app = create_app(container)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://i.example") as http:
            portal = PortalClient(http)
            assert (await portal.sign_in(ADMIN_ID, ADMIN_SECRET)).status_code == 303
            assert (await portal.get("/iacas")).status_code == 200
            clock.advance(seconds=120)
            assert (await portal.get("/")).status_code == 200  # touched
            clock.advance(seconds=1900)
            assert await container.portal_sessions.purge() == 1  # used 1900 s ago: the idle limit is 1800 s
            assert (await portal.get("/")).status_code == 303
            assert await container.portal_sessions.purge() == 0
            await portal.sign_in(ADMIN_ID, ADMIN_SECRET)
            clock.advance(seconds=7200)
            assert await container.portal_sessions.purge() == 1
    finally:
        await container.aclose()


async def test_housekeeping_purges_expired_portal_sessions_in_bounded_batches(
    every_backend_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    settings = make_settings(
        tmp_path, bootstrap_client_id=ADMIN_ID, bootstrap_client_secret=ADMIN_SECRET, database_url=every_backend_url
    )
    container = build(settings, clock=clock)  # type: ignore[arg-type]
    await container.start()
    try:
        stale = [(await container.portal_sessions.sign_in(ADMIN_ID, ADMIN_SECRET)).session_id for _ in range(5)]
        clock.advance(seconds=1000)
        fresh = (await container.portal_sessions.sign_in(ADMIN_ID, ADMIN_SECRET)).session_id
        clock.advance(seconds=900)  # the first five idle for 1900 s (the limit is 1800 s), the last for 900 s
        housekeeping = Housekeeping(
            container.uow_factory,
            clock,
            event_retention=None,
            delivery_retention=timedelta(days=7),
            holder="test",
            lease=timedelta(seconds=15),
            portal_session_ttls=(timedelta(seconds=1800), timedelta(hours=8)),
            batch_size=2,
            max_batches=2,
            pause=0,
        )
        assert (await housekeeping.run_once()).portal_sessions == 4  # two batches of two this round
        assert (await housekeeping.run_once()).portal_sessions == 1
        assert (await housekeeping.run_once()).portal_sessions == 0
        assert [await container.portal_sessions.resume(s) for s in stale] == [None] * 5
        assert await container.portal_sessions.resume(fresh) is not None
    finally:
        await container.aclose()


async def test_the_worker_housekeeping_purges_portal_sessions(api: Api, admin: PortalClient, clock: FakeClock) -> None:
    """The housekeeping the serve and worker processes run (bootstrap) has the portal's session lifetimes."""
    assert admin.session_id
    clock.advance(seconds=1801)
    assert (await api.container.housekeeping.run_once()).portal_sessions == 1
    async with api.container.uow_factory(read_only=True) as uow:
        assert await uow.portal_sessions.get(hash_session_id(admin.session_id)) is None


async def test_portal_requests_are_logged_and_counted_under_their_portal_route(
    api: Api, admin: PortalClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openissuer.access")
    iaca = (
        await api.http.post("/v2/credentials/mobile/iacas", headers=await api.auth(), json={"country": "NZ"})
    ).json()
    assert (await admin.get(f"/iacas/{iaca['id']}")).status_code == 200
    assert (await admin.http.get("/portal/sign-in")).status_code == 200
    routes = [r.__dict__["route"] for r in caplog.records if r.name == "openissuer.access"]
    assert routes[-2:] == ["/portal/iacas/{iaca_id}", "/portal/sign-in"]
    sample = REGISTRY.get_sample_value(
        "openissuer_http_requests_total", {"method": "GET", "route": "/portal/iacas/{iaca_id}", "status": "200"}
    )
    assert sample is not None and sample >= 1


JUNK = ["", "x" * 5000, "1" * 5000, "[" * 5000, '{"a": {"mapFrom": ' + "1" * 5000 + "}}", "\u0000\ud7ff", "-1", "on"]


@pytest.mark.parametrize(("path", "form"), FORMS)
async def test_junk_in_any_form_is_refused_without_a_server_error(
    api: Api, admin: PortalClient, platform_admin: PortalClient, path: str, form: dict[str, str]
) -> None:
    # The tenants' forms reach past the role check only for a platform admin.
    portal = platform_admin if path.startswith(("/tenants", "{/tenants")) else admin
    path = write_path(path, await write_targets(api))
    fields = {*form, "url", "name", "clientId", "scope", "staticRequestParameters", "requestParameters", "authType"}
    for junk in JUNK:
        response = await portal.post(path, dict.fromkeys(fields, junk))
        assert response.status_code < 500, (path, junk[:20], response.text)


# --- the security review's findings (each a rule the portal now enforces) -------------------------------------------


class _FormReader(HTMLParser):
    """The fields a browser would submit with the form ``form_id``: inputs (checkboxes only when checked), the
    selected option of each select, textareas."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or ("name" not in a and tag != "option"):
            return
        if tag == "input" and (a.get("type") != "checkbox" or "checked" in a) and a.get("type") != "submit":
            self.fields[a["name"]] = a.get("value", "on" if a.get("type") == "checkbox" else "")
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select is not None and "selected" in a:
            self.fields[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data


async def test_saving_a_configuration_from_the_editor_keeps_what_the_editor_does_not_show(
    api: Api, admin: PortalClient
) -> None:
    """A default value, display names and a static claim survive a save from the portal unchanged."""
    headers = await api.auth()
    mappings = {
        "org.example": {
            "given_name": {
                "mapFrom": "claims.given_name",
                "type": "string",
                "required": True,
                "display": [{"name": "Given name", "locale": "en"}],
            },
            "country": {"mapFrom": "claims.country", "type": "string", "defaultValue": "NZ"},
            "issuer_note": {"defaultValue": "issued by openissuer", "type": "string"},
        }
    }
    body = {"type": "org.example.kept", "claimMappings": mappings, "expiresIn": {"days": 30}}
    created = await api.http.post("/v2/credentials/mobile/configurations", headers=headers, json=body)
    assert created.status_code == 201, created.text
    path = f"/configurations/mobile/{created.json()['id']}"
    page = await admin.get(path)
    assert "Also kept as it is" in page.text and "defaultValue" in page.text and "display" in page.text
    reader = _FormReader("configuration-form")
    reader.feed(page.text)
    fields = {**reader.fields, "action": "save"}
    saved = await admin.post(path, fields)
    assert saved.status_code == 303, saved.text
    stored = await api.http.get(f"/v2/credentials/mobile/configurations/{created.json()['id']}", headers=headers)
    assert stored.json()["claimMappings"] == mappings


async def test_a_form_of_more_claims_than_the_editor_holds_is_refused_not_cut(admin: PortalClient) -> None:
    response = await admin.post("/configurations/mobile/new", {"credentialType": "x", "claim_count": "61"})
    assert response.status_code == 400 and "at most 60 claims" in response.text


async def test_posts_another_site_or_origin_made_are_refused(api: Api, admin: PortalClient) -> None:
    """Fetch Metadata: a post a browser says came from another origin (a sibling subdomain is same-site but not
    same-origin) is refused, the sign-in form included (login CSRF), with a valid token."""
    for site in ("cross-site", "same-site"):
        headers = {"Sec-Fetch-Site": site}
        response = await admin.http.post("/portal/iacas", data={"csrf_token": admin.csrf}, headers=headers)
        assert response.status_code == 403, response.text
        fresh = portal_of(api)
        page = await fresh.http.get("/portal/sign-in")
        form = {"client_id": ADMIN_ID, "client_secret": ADMIN_SECRET, "csrf_token": csrf_of(page.text)}
        refused = await fresh.http.post("/portal/sign-in", data=form, headers=headers)
        assert refused.status_code == 403 and PORTAL_COOKIE not in fresh.http.cookies
    assert await iaca_count(api) == 0
    same = await admin.http.post(
        "/portal/iacas", data={"csrf_token": admin.csrf, "country": "NZ"}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert same.status_code == 303, same.text


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/offers", "claimsJson"),
        ("/configurations/mobile/preview", "options"),
        ("/configurations/mobile/new", "options"),
    ],
)
async def test_deeply_nested_json_in_a_form_is_a_field_error(admin: PortalClient, path: str, field: str) -> None:
    response = await admin.post(path, {field: "[" * 50_000, "credentialType": "x", "claim_count": "0"})
    assert response.status_code < 500, response.text


def test_an_offer_too_long_for_a_qr_code_has_no_image() -> None:
    assert qr_data_uri("openid-credential-offer://?credential_offer=" + "x" * 8000) is None
    assert (qr_data_uri("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fa") or "").startswith("data:")


async def test_a_refusal_while_showing_a_form_again_is_an_html_page(api: Api) -> None:
    """An issuer's post to the API clients page is refused, and so is listing them to show the form again: the
    answer is the portal's HTML error page with its headers, not the API's JSON."""
    headers = await api.auth()
    issuer = await api.http.post("/v1/api-clients", headers=headers, json={"name": "i", "roles": ["issuer"]})
    portal = portal_of(api)
    await portal.sign_in(issuer.json()["clientId"], issuer.json()["clientSecret"])
    response = await portal.post("/api-clients", {"name": "x", "role-admin": "on"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_a_failed_sign_in_is_logged_with_the_client_id_never_the_secret(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    portal = portal_of(api)
    with caplog.at_level(logging.INFO, logger="openissuer.portal"):
        await portal.sign_in(ADMIN_ID, "not-the-secret-0123456789")
    failed = [r for r in caplog.records if r.getMessage() == "portal sign-in failed"]
    assert [getattr(r, "client_id", None) for r in failed] == [ADMIN_ID]
    assert "not-the-secret-0123456789" not in caplog.text


@pytest.mark.parametrize(
    "every_backend_url", ["memory", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
class TestNulCharacters:
    """A NUL character in a form field (percent-encoded: no browser form sends one) is a 400 before anything is
    read or stored: in memory, and on PostgreSQL, which refuses it in any text value (it was a 500 there)."""

    @pytest.fixture
    def api_database_url(self, every_backend_url: str) -> str:
        return every_backend_url

    @pytest.mark.parametrize(
        ("path", "form"),
        [
            ("/api-clients", {"name": "ops\x00", "role-admin": "on"}),
            ("/authentication/wallet-clients/new", {"clientId": "w\x00", "redirectUris": "https://w.example.com/cb"}),
            ("/iacas", {"country": "NZ", "x\x00": "1"}),
        ],
    )
    async def test_a_form_post_is_refused(self, api: Api, admin: PortalClient, path: str, form: dict[str, str]) -> None:
        before = await everything(api)
        response = await admin.post(path, form)
        assert response.status_code == 400, response.text
        assert "NUL" in response.text
        assert await everything(api) == before

    async def test_the_sign_in_form_and_basic_credentials_are_refused(self, api: Api) -> None:
        fresh = portal_of(api)
        page = await fresh.http.get("/portal/sign-in")
        form = {"client_id": "a\x00b", "client_secret": ADMIN_SECRET, "csrf_token": csrf_of(page.text)}
        response = await fresh.http.post("/portal/sign-in", data=form)
        assert response.status_code == 400 and PORTAL_COOKIE not in fresh.http.cookies
        basic = httpx.BasicAuth("a\x00b", "secret")
        token = await api.http.post("/v1/auth/token", data={"grant_type": "client_credentials"}, auth=basic)
        assert token.status_code == 401 and token.json()["error"] == "invalid_client", token.text
