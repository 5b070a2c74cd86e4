"""Revocation-list indexes under load: 1,000 concurrent CWT issuances through two ``openissuer serve`` processes on
one PostgreSQL database get 1,000 distinct indexes (each credential request's entry is reserved by one statement)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import cbor2
import httpx
import pytest
from sqlalchemy import func, select

from oi_cwt import CLAIMS, COURSE, compact_bytes
from oi_server import admin_headers, running_server, server_env
from oi_testing import free_port
from oi_wallet import Wallet
from openissuer.adapters.sql import tables
from openissuer.adapters.sql.engine import create_sync_db_engine

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ISSUANCES = 1000


def _status(encoded: str) -> tuple[str, int]:
    claims = cbor2.loads(cbor2.loads(compact_bytes(encoded)).value[2])
    return claims[-65537][3], claims[-65537][2]


async def _issue_concurrently(first: str, second: str) -> list[str]:
    headers = admin_headers(first)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=16)) as http:
        configuration = await http.post(f"{first}/v2/credentials/compact/configurations", headers=headers, json=COURSE)
        assert configuration.status_code == 201, configuration.text
        configuration_id = configuration.json()["id"]
        offer = await http.post(
            f"{first}/v1/openid/offers/pre-authorized",
            headers=headers,
            json={"credentials": [configuration_id], "claims": CLAIMS},
        )
        wallet = Wallet(http)
        credential_offer = await wallet.read_offer(offer.json()["uri"])
        assert credential_offer["credential_issuer"] == first, credential_offer
        token = await wallet.token(credential_offer)
        assert token.status_code == 200, token.text
        authorization = {"Authorization": f"Bearer {token.json()['access_token']}"}
        body = {"credential_configuration_id": configuration_id}

        async def one(base: str) -> str:
            response = await http.post(f"{base}/v1/openid/credential", json=body, headers=authorization)
            assert response.status_code == 200, response.text
            return str(response.json()["credentials"][0]["credential"])

        return await asyncio.gather(*(one(first if n % 2 else second) for n in range(ISSUANCES)))


def test_concurrent_issuances_in_two_processes_get_distinct_indexes(tmp_path: Path, fresh_postgres_url: str) -> None:
    port = free_port()
    env = server_env(
        tmp_path,
        OPENISSUER_DATABASE_URL=fresh_postgres_url,
        OPENISSUER_PUBLIC_URL=f"http://127.0.0.1:{port}",
        OPENISSUER_CREDENTIALS_PER_GRANT=str(ISSUANCES),  # one access token for all (the bound is 1,000 per grant)
    )
    second_env = {**env, "OPENISSUER_AUTO_MIGRATE": "false"}
    with running_server(env, port=port) as first, running_server(second_env) as second:
        started = time.monotonic()
        credentials = asyncio.run(_issue_concurrently(first, second))
        elapsed = time.monotonic() - started
    entries = {_status(encoded) for encoded in credentials}
    assert len(credentials) == ISSUANCES and len(entries) == ISSUANCES
    assert len({url for url, _ in entries}) == 1  # one list of 1,000,000 holds them all
    assert all(0 <= index < 1_000_000 for _, index in entries)
    engine = create_sync_db_engine(fresh_postgres_url)
    try:
        with engine.connect() as connection:
            t = tables.issued_credentials
            stored = connection.execute(select(func.count(func.distinct(t.c.status_index)))).scalar()
            allocated = connection.execute(select(tables.status_lists.c.allocated)).scalars().all()
    finally:
        engine.dispose()
    assert stored == ISSUANCES and allocated == [ISSUANCES]
    print(f"{ISSUANCES} issuances across two processes in {elapsed:.1f} s")
