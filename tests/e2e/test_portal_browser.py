"""The portal in a real browser: Debian's Chromium driven by Playwright against a real ``openissuer serve`` process
on SQLite. A new operator's path (sign in, create and activate an IACA, an mDL configuration with four claims made in
the editor, a Pre-authorized offer whose QR code is read back from the page's image and claimed by the test wallet,
an offer revoked and its event found, sign-out) and axe-core on every page (no serious or critical violation).

Screenshots of the main pages go to docs/portal/ with OPENISSUER_PORTAL_SCREENSHOTS=1 (else to a temporary folder).
Chromium and axe-core are installed by ``make browser`` (``make test`` runs it); the test fails if they are missing.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

from oi_issuer import MDL, Setup
from oi_portal import SAMPLE_OBJECTS, sample_page
from oi_server import ADMIN_ID, ADMIN_SECRET, running_server, server_env
from oi_testing import free_port
from oi_wallet import Wallet

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("OPENISSUER_TEST_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "portal"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make browser` (make test does)"
    assert AXE.exists(), f"{AXE} is missing: run `make browser` (make test does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The server's environment (its database too), which the command line shares."""
    tmp_path = tmp_path_factory.mktemp("portal")
    return server_env(tmp_path, OPENISSUER_PUBLIC_URL=f"http://127.0.0.1:{free_port()}")


@pytest.fixture(scope="module")
def server(environment: dict[str, str]) -> Iterator[str]:
    port = int(environment["OPENISSUER_PUBLIC_URL"].rsplit(":", 1)[1])
    with running_server(environment, port=port) as base:
        yield base


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("OPENISSUER_PORTAL_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        return SHOTS
    return tmp_path_factory.mktemp("shots")


def check_accessibility(page: Page) -> None:
    """Run axe-core in the page; fail on any serious or critical violation."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))"""
    )
    serious = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert serious == [], f"{page.url}: {serious}"


def sign_in(page: Page, base: str, client_id: str = ADMIN_ID, secret: str = ADMIN_SECRET) -> None:
    page.goto(f"{base}/portal/")
    expect(page.get_by_role("heading", name="Sign in to the portal")).to_be_visible()
    page.get_by_label("Client ID").fill(client_id)
    page.get_by_label("Client secret").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()


def claim(uri: str, tx_code: str | None) -> tuple[list[str], Wallet]:
    """The test wallet claims the offer (in its own thread and event loop: Playwright's sync API owns this one)."""
    result: dict[str, Any] = {}

    async def run() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            wallet = Wallet(http)
            try:
                result["credentials"] = await wallet.claim(uri, tx_code)
            except BaseException as exc:  # reported by the test thread below
                result["error"] = exc
            result["wallet"] = wallet

    thread = threading.Thread(target=lambda: asyncio.run(run()))
    thread.start()
    thread.join(60)
    assert "credentials" in result, f"the wallet did not finish: {result.get('error')!r}"
    return result["credentials"], result["wallet"]


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, "expected one QR code in the image"
    return str(results[0].text)


FOUR_CLAIMS = [
    ("given_name", "claims.given_name", "string", True),
    ("family_name", "claims.family_name", "string", True),
    ("birth_date", "claims.birth_date", "date", True),
    ("document_number", "claims.document_number", "string", False),
]


def test_a_new_operator_issues_an_mdl_through_the_portal(browser: Browser, server: str, shots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations portal.js asks for
    page.goto(f"{server}/portal/")
    check_accessibility(page)
    page.screenshot(path=shots / "sign-in.png")
    sign_in(page, server)

    # An IACA, created and activated.
    page.get_by_role("link", name="IACAs and signers", exact=True).click()
    page.get_by_label("Country").fill("NZ")
    page.get_by_role("button", name="Create IACA").click()
    expect(page.get_by_text("Created.")).to_be_visible()
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Activated.")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("Active")
    iaca_pem = page.locator("pre").inner_text()
    check_accessibility(page)
    page.screenshot(path=shots / "iaca.png", full_page=True)

    # An mDL configuration with four claims, made in the editor: first with a mistake shown next to its field.
    page.get_by_role("link", name="Credential configurations", exact=True).click()
    page.get_by_role("link", name="New mso_mdoc configuration").click()
    page.get_by_label("Credential type").fill(MDL)
    page.get_by_label("Days").fill("365")
    page.get_by_label("Display name").fill("Driver licence")
    page.get_by_label("Revocable (includeStatus)").check()  # its credentials get a status list entry
    for index, (name, path, claim_type, required) in enumerate(FOUR_CLAIMS):
        if index:
            page.get_by_role("button", name="Add a claim").click()
        row = page.locator("fieldset.claim").nth(index)
        row.get_by_label("Claim name").fill(name)
        row.get_by_label("Source path").fill(path if index != 2 else "birth_date")  # a mistake, fixed below
        row.get_by_label("Type").select_option(claim_type)
        if required:
            row.get_by_label("Required").check()
    page.get_by_role("button", name="Preview").click()
    mistake = page.locator("#e-claim-2-mapFrom")
    expect(mistake).to_contain_text("must start with one of")
    check_accessibility(page)
    page.locator("#f-claim-2-mapFrom").fill("claims.birth_date")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-json")).to_contain_text('"format": "mso_mdoc"')
    expect(page.locator("#preview-json")).to_contain_text("document_number")
    page.screenshot(path=shots / "configuration-editor.png", full_page=True)
    page.get_by_role("button", name="Create configuration").click()
    expect(page.get_by_text("Created.")).to_be_visible()
    configuration_id = page.url.split("/")[-1].split("?")[0]
    check_accessibility(page)

    # A Pre-authorized offer with a transaction code; its QR code read back from the page's image.
    page.get_by_role("link", name="Offers", exact=True).click()
    page.get_by_label(f"{MDL} (mso_mdoc)").first.check()
    values = {"given_name": "Ana", "family_name": "Ngata", "birth_date": "1990-01-02", "document_number": "DL-1"}
    for index, (name, value) in enumerate(values.items()):
        page.get_by_label(f"Claim {index + 1} name").fill(name)
        page.get_by_label(f"Claim {index + 1} value").fill(value)
    page.get_by_label("Require a transaction code").check()
    check_accessibility(page)
    page.screenshot(path=shots / "offers.png", full_page=True)
    page.get_by_role("button", name="Create offer", exact=True).click()
    tx_code = page.locator("#tx-code").inner_text().strip()
    assert re.fullmatch(r"\d{6}", tx_code)
    uri = decode_qr(page.locator("#offer-qr").screenshot())
    assert uri == page.locator("#offer-uri").inner_text().strip()
    assert page.locator("#offer-link").get_attribute("href") == uri
    check_accessibility(page)
    page.screenshot(path=shots / "offer.png", full_page=True)

    credentials, wallet = claim(uri, tx_code)
    claims = Setup(None, {}, iaca_pem, configuration_id).verify(credentials[0], wallet)
    assert claims == {
        "given_name": "Ana",
        "family_name": "Ngata",
        "birth_date": claims["birth_date"],
        "document_number": "DL-1",
    }
    assert str(claims["birth_date"]) == "1990-01-02"

    # The credential is suspended from its user's page, one credential at a time.
    page.get_by_role("link", name="Users", exact=True).click()
    page.locator("main table a").first.click()
    page.locator("#credentials select").select_option("suspended")
    page.get_by_role("button", name="Set status").click()
    expect(page.get_by_text("Suspended.")).to_be_visible()
    expect(page.locator("#credentials")).to_contain_text("suspended")
    check_accessibility(page)

    # Another offer, revoked; the revocation is in the event log.
    page.get_by_role("link", name="Offers", exact=True).click()
    page.get_by_label(f"{MDL} (mso_mdoc)").first.check()
    page.get_by_role("button", name="Create offer", exact=True).click()  # without the claims the mDL requires
    expect(page.locator(".problem")).to_contain_text("given_name")
    for index, (name, value) in enumerate(values.items()):
        page.get_by_label(f"Claim {index + 1} name").fill(name)
        page.get_by_label(f"Claim {index + 1} value").fill(value)
    page.get_by_role("button", name="Create offer", exact=True).click()
    revoked_id = page.locator("#offer-id").inner_text().strip()
    page.get_by_role("button", name="Revoke this offer").click()
    expect(page.get_by_text("Revoked.")).to_be_visible()
    page.get_by_role("link", name="Events", exact=True).click()
    page.get_by_label("Type").select_option("OPENID_PRE_AUTHORIZED_OFFER_REVOKE_SUCCESS")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#events")).to_contain_text(revoked_id)
    check_accessibility(page)
    page.get_by_role("link", name="Overview", exact=True).click()
    expect(page.locator("main")).to_contain_text("OPENID_CREDENTIAL_ISSUE_SUCCESS")
    page.screenshot(path=shots / "overview.png", full_page=True)
    page.get_by_role("link", name="Events", exact=True).click()
    page.screenshot(path=shots / "events.png", full_page=True)

    # Sign out: the session no longer works, even with the old cookie.
    cookie = next(c for c in context.cookies() if c["name"] == "openissuer_portal")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    replay = httpx.get(f"{server}/portal/", cookies={"openissuer_portal": cookie["value"]})
    assert replay.status_code == 303 and replay.headers["location"].startswith("/portal/sign-in")
    context.close()


def test_every_page_passes_axe_for_an_admin_and_an_auditor(browser: Browser, server: str, shots: Path) -> None:
    """axe-core on every portal page (after the operator's path above has filled them), also on a phone's width
    and as an auditor, whose pages have no write control."""
    from e2e.test_portal import READ_PAGES  # the same list the in-process tests render

    headers = {
        "Authorization": "Bearer "
        + httpx.post(f"{server}/v1/auth/token", json={"client_id": ADMIN_ID, "client_secret": ADMIN_SECRET}).json()[
            "access_token"
        ]
    }
    auditor = httpx.post(f"{server}/v1/api-clients", headers=headers, json={"name": "a11y", "roles": ["auditor"]})
    assert auditor.status_code == 201, auditor.text
    iacas = httpx.get(f"{server}/v2/credentials/mobile/iacas", headers=headers).json()["data"]
    pages = [*READ_PAGES, *(f"/iacas/{i['id']}" for i in iacas)]
    for method, path, body, page_path in SAMPLE_OBJECTS:  # the create and edit pages of each kind, filled in
        made = httpx.request(method, f"{server}{path}", headers=headers, json=body)
        assert made.status_code in {200, 201}, made.text
        pages.append(sample_page(page_path, made.json()))
    users = httpx.get(f"{server}/v1/users", headers=headers).json()["data"]
    pages += [f"/users/{u['id']}" for u in users[:1]]  # a user with a credential from the operator's path
    for client_id, secret, viewport in (
        (ADMIN_ID, ADMIN_SECRET, {"width": 1280, "height": 900}),
        (auditor.json()["clientId"], auditor.json()["clientSecret"], {"width": 390, "height": 844}),
    ):
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(10_000)
        page = context.new_page()
        sign_in(page, server, client_id, secret)
        for path in pages:
            response = page.goto(f"{server}/portal{path}")
            assert response is not None and response.status == 200, path
            check_accessibility(page)
        if client_id == ADMIN_ID:
            page.goto(f"{server}/portal/configurations")
            page.screenshot(path=shots / "configurations.png", full_page=True)
            page.goto(f"{server}/portal{next(p for p in pages if p.startswith('/claims-sources/'))}")
            page.screenshot(path=shots / "claims-source.png", full_page=True)
            page.goto(f"{server}/portal/{pages[-1].lstrip('/')}")
            page.screenshot(path=shots / "user.png", full_page=True)
        else:
            page.goto(f"{server}/portal/")
            page.screenshot(path=shots / "overview-phone-auditor.png", full_page=True)
        context.close()


def command_line_client(environment: dict[str, str], *roles: str) -> tuple[str, str]:
    """Make a management API client with ``openissuer clients create`` (how a platform admin is made); return its
    id and secret."""
    role_options = [option for role in roles for option in ("--role", role)]
    done = subprocess.run(
        [sys.executable, "-m", "openissuer", "clients", "create", "--name", "platform", *role_options],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    fields = dict(line.split(":", 1) for line in done.stdout.splitlines() if ":" in line)
    return fields["client_id"].strip(), fields["client_secret"].strip()


def test_a_platform_admin_creates_and_deletes_a_tenant_and_signs_and_verifies_a_cwt(
    browser: Browser, server: str, environment: dict[str, str], shots: Path
) -> None:
    """The tenants' pages (a platform admin's) and the CWT tools, each state of them checked with axe-core."""
    client_id, secret = command_line_client(environment, "platform-admin", "admin")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, server, client_id, secret)

    page.get_by_role("link", name="Tenants", exact=True).click()
    expect(page.get_by_role("heading", name="Tenants", exact=True)).to_be_visible()
    check_accessibility(page)
    page.get_by_label("Name").fill("Alpha")
    page.get_by_label("Public URL").fill("https://alpha.example")
    page.get_by_role("button", name="Create tenant").click()
    expect(page.get_by_text("Tenant created.")).to_be_visible()
    check_accessibility(page)
    admin_id = page.locator("#new-admin-client-id").inner_text()
    admin_secret = page.locator("#new-admin-client-secret").inner_text()
    token = httpx.post(f"{server}/v1/auth/token", json={"client_id": admin_id, "client_secret": admin_secret})
    assert token.status_code == 200, token.text  # the secret shown is the new tenant's admin client's
    page.screenshot(path=shots / "tenants.png", full_page=True)
    page.goto(f"{server}/portal/tenants")
    assert admin_secret not in page.content()  # shown once
    page.get_by_role("link", name="Alpha").click()
    check_accessibility(page)
    page.get_by_label("Type the tenant's name to confirm").fill("alpha")
    page.get_by_role("button", name="Delete the tenant and everything it holds").click()
    expect(page.locator("#e-confirmName")).to_have_text("must be the tenant's name, exactly")
    check_accessibility(page)
    page.get_by_label("Type the tenant's name to confirm").fill("Alpha")
    page.get_by_role("button", name="Delete the tenant and everything it holds").click()
    expect(page.get_by_text("Deleted.")).to_be_visible()
    expect(page.get_by_role("link", name="Alpha")).to_have_count(0)

    page.get_by_role("link", name="CWT tools", exact=True).click()
    check_accessibility(page)
    page.get_by_label("Type").fill("Course Credential")
    page.get_by_label("Claims").fill('{"name": "Emma Jane Tasma", "code": "HS.278"}')
    page.get_by_label("Expires (UTC)").fill("2030-01-31T12:00")
    page.get_by_label("Revocable").check()
    page.get_by_role("button", name="Sign CWT").click()
    expect(page.get_by_role("heading", name="Signed credential")).to_be_visible()
    check_accessibility(page)
    encoded = page.locator("#cwt-encoded").inner_text()
    qr = page.locator("#cwt-qr").get_attribute("src") or ""
    assert decode_qr(base64.b64decode(qr.removeprefix("data:image/png;base64,"))) == encoded
    assert '"name": "Emma Jane Tasma"' in page.locator("#cwt-decoded").inner_text()
    page.screenshot(path=shots / "cwt.png", full_page=True)
    page.get_by_label("Encoded credential").fill(encoded)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#cwt-verified")).to_be_visible()
    check_accessibility(page)
    page.get_by_label("Encoded credential").fill("CSC:/1/NOTACREDENTIAL")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#cwt-not-verified")).to_contain_text("PayloadInvalid")
    check_accessibility(page)
    context.close()

    # An auditor on a phone: no Tenants entry, the tenants page refused, verification only.
    gone = {"Authorization": "Bearer " + token.json()["access_token"]}
    assert httpx.get(f"{server}/v1/api-clients", headers=gone).status_code == 401  # the tenant's clients went too
    admin_token = httpx.post(f"{server}/v1/auth/token", json={"client_id": ADMIN_ID, "client_secret": ADMIN_SECRET})
    headers = {"Authorization": "Bearer " + admin_token.json()["access_token"]}
    auditor = httpx.post(f"{server}/v1/api-clients", headers=headers, json={"name": "a", "roles": ["auditor"]})
    assert auditor.status_code == 201, auditor.text
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, server, auditor.json()["clientId"], auditor.json()["clientSecret"])
    expect(page.get_by_role("link", name="Tenants", exact=True)).to_have_count(0)
    response = page.goto(f"{server}/portal/tenants")
    assert response is not None and response.status == 403
    check_accessibility(page)
    page.goto(f"{server}/portal/cwt")
    expect(page.get_by_role("button", name="Sign CWT")).to_have_count(0)
    page.get_by_label("Encoded credential").fill(encoded)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Verification")).to_be_visible()
    check_accessibility(page)
    context.close()
