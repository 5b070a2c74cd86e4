"""A lost response is not a lost credential: a server process dies between the commit and the response; the
wallet repeats the request with the same access token and a fresh nonce, and gets a credential; a repeat beyond
the per-grant bound is refused. On SQLite and PostgreSQL, with real server processes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest

from e2e.test_server_processes import admin_headers, running_server, server_env
from oi_testing import free_port, make_settings
from oi_wallet import Wallet
from openissuer.bootstrap import build
from openissuer.domain.ids import DEFAULT_TENANT_ID

pytestmark = pytest.mark.slow
MDL = "org.iso.18013.5.1.mDL"


def _set_up(base: str) -> tuple[str, str]:
    """An active IACA, a configuration and an offer; return the configuration id and the offer URI."""
    headers = admin_headers(base)
    iaca = httpx.post(f"{base}/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"}).json()
    httpx.put(f"{base}/v2/credentials/mobile/iacas/{iaca['id']}", headers=headers, json={"active": True})
    configuration = httpx.post(
        f"{base}/v2/credentials/mobile/configurations",
        headers=headers,
        json={"type": MDL, "claimMappings": {"ns": {"a": {"defaultValue": "x"}}}, "expiresIn": {"days": 30}},
    ).json()
    offer = httpx.post(
        f"{base}/v1/openid/offers/pre-authorized", headers=headers, json={"credentials": [configuration["id"]]}
    ).json()
    return configuration["id"], offer["uri"]


async def _request(wallet: Wallet, access_token: str, configuration_id: str) -> httpx.Response:
    metadata, _ = await wallet.discover(
        (await wallet.http.get("/.well-known/openid-credential-issuer")).json()["credential_issuer"]
    )
    body = {
        "credential_configuration_id": configuration_id,
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]},
    }
    return await wallet.credential(metadata, access_token, body)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_repeated_request_after_a_crash_gets_a_credential_until_the_bound(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    extra = {
        "OPENISSUER_PUBLIC_URL": base,
        "OPENISSUER_BATCH_SIZE": "1",
        "OPENISSUER_CREDENTIALS_PER_GRANT": "2",
        "OI_CRASH_MARKER": str(tmp_path / "crash-once"),
        "PYTHONPATH": str(Path(__file__).parents[1]),
    }
    if backend == "postgres":
        extra["OPENISSUER_DATABASE_URL"] = request.getfixturevalue("fresh_postgres_url")
    env = server_env(tmp_path, **extra)
    crashing = [sys.executable, "-m", "uvicorn", "oi_crash_app:create_app", "--factory", "--log-level", "warning"]

    async def flow() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            wallet = Wallet(http)
            with running_server(env, port=port) as started:  # migrates and seeds the database
                configuration_id, uri = _set_up(started)
            with running_server(env, port=port, command=crashing):
                offer = await wallet.read_offer(uri)
                access_token = (await wallet.token(offer)).json()["access_token"]
                (tmp_path / "crash-once").touch()
                with pytest.raises(httpx.TransportError):  # the process died after committing
                    await _request(wallet, access_token, configuration_id)
            with running_server(env, port=port):
                retried = await _request(wallet, access_token, configuration_id)
                assert retried.status_code == 200, retried.text
                beyond = await _request(wallet, access_token, configuration_id)
                assert beyond.status_code == 400
                assert beyond.json()["error"] == "credential_request_denied"

    asyncio.run(flow())
    assert not (tmp_path / "crash-once").exists()  # the fault did happen
    # both credentials are recorded: the one whose response was lost, and the retry's
    database_url = extra.get("OPENISSUER_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'openissuer.db'}")
    assert len(asyncio.run(_records(tmp_path, database_url))) == 2


async def _records(tmp_path: Path, database_url: str) -> list[object]:
    container = build(make_settings(tmp_path, database_url=database_url))  # type: ignore[arg-type]
    try:
        async with container.uow_factory(read_only=True) as uow:
            return list((await uow.issued_credentials.list(DEFAULT_TENANT_ID, limit=10, after=None)).items)
    finally:
        await container.aclose()
