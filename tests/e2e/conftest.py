"""Fixtures for in-process end-to-end tests through the ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from oi_portal import PortalClient
from oi_testing import FakeClock, make_settings
from openissuer.adapters.sql.migrate import upgrade_database
from openissuer.bootstrap import Container, build
from openissuer.domain.api_clients import Role
from openissuer.web.app import create_app

ADMIN_ID = "test-admin"
ADMIN_SECRET = "test-admin-secret-0123456789"
AUDITOR_ID = "portal-auditor"
AUDITOR_SECRET = "portal-auditor-secret-0123456789"


@dataclass
class Api:
    """An HTTP client on the app plus the container behind it."""

    http: httpx.AsyncClient
    container: Container
    clock: FakeClock

    async def token(self, client_id: str = ADMIN_ID, client_secret: str = ADMIN_SECRET) -> str:
        response = await self.http.post(
            "/v1/auth/token",
            json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def auth(self, client_id: str = ADMIN_ID, client_secret: str = ADMIN_SECRET) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(client_id, client_secret)}"}


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def every_backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database of each kind in turn (modules opt in by overriding ``api_database_url``)."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'api.db'}"
    else:
        url = str(request.getfixturevalue("fresh_postgres_url"))
    upgrade_database(url)
    return url


@pytest.fixture
def api_database_url() -> str:
    """The storage behind ``api``; a module may override this fixture to run on SQLite and PostgreSQL too."""
    return "memory://"


@pytest.fixture
def api_settings() -> dict[str, object]:
    """Extra settings for ``api``; a module may override this fixture."""
    return {}


@pytest.fixture
def api_formats() -> list[object] | None:
    """The credential formats behind ``api`` (None: the built-in ones); a module may override this fixture."""
    return None


@pytest.fixture
async def api(
    tmp_path: Path,
    clock: FakeClock,
    api_database_url: str,
    api_settings: dict[str, object],
    api_formats: list[object] | None,
) -> AsyncIterator[Api]:
    settings = make_settings(
        tmp_path,
        bootstrap_client_id=ADMIN_ID,
        bootstrap_client_secret=ADMIN_SECRET,
        management_token_ttl=600,
        database_url=api_database_url,
        **api_settings,
    )
    container = build(settings, clock=clock, formats=api_formats)  # type: ignore[arg-type]
    await container.start()
    transport = httpx.ASGITransport(app=create_app(container), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://issuer.example") as http:
        yield Api(http=http, container=container, clock=clock)
    await container.aclose()


def portal_of(api: Api) -> PortalClient:
    transport = httpx.ASGITransport(app=api.http._transport.app)  # type: ignore[attr-defined]
    return PortalClient(httpx.AsyncClient(transport=transport, base_url="https://issuer.example"))


@pytest.fixture
async def admin(api: Api) -> PortalClient:
    portal = portal_of(api)
    assert (await portal.sign_in(ADMIN_ID, ADMIN_SECRET)).status_code == 303
    return portal


@pytest.fixture
async def auditor(api: Api) -> PortalClient:
    await api.container.api_clients.create_client(
        "00000000-0000-4000-8000-000000000000",
        name="auditor",
        roles=(Role.AUDITOR,),
        client_id=AUDITOR_ID,
        client_secret=AUDITOR_SECRET,
    )
    portal = portal_of(api)
    assert (await portal.sign_in(AUDITOR_ID, AUDITOR_SECRET)).status_code == 303
    return portal


PLATFORM_ADMIN_ID = "portal-platform-admin"
PLATFORM_ADMIN_SECRET = "portal-platform-admin-secret-0123456789"


@pytest.fixture
async def platform_admin(api: Api) -> PortalClient:
    """A portal session of a platform admin (of the default tenant, like every platform admin)."""
    await api.container.api_clients.create_client(
        "00000000-0000-4000-8000-000000000000",
        name="platform",
        roles=(Role.PLATFORM_ADMIN,),
        client_id=PLATFORM_ADMIN_ID,
        client_secret=PLATFORM_ADMIN_SECRET,
    )
    portal = portal_of(api)
    assert (await portal.sign_in(PLATFORM_ADMIN_ID, PLATFORM_ADMIN_SECRET)).status_code == 303
    return portal
