"""Status-list indexes under load: 1,000 concurrent CWT issuances and 1,000 mDocs (100 concurrent batches of 10)
through two ``openissuer serve`` processes on one PostgreSQL database get 1,000 distinct indexes each (positions
are reserved in blocks, one statement per block per process, and never handed out twice)."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

import cbor2
import httpx
import pytest
from sqlalchemy import func, select

from oi_cwt import CLAIMS, COURSE, compact_bytes
from oi_issuer import CLAIMS as MDL_CLAIMS
from oi_issuer import MDL, NS
from oi_server import admin_headers, running_server, server_env
from oi_testing import free_port
from oi_wallet import Wallet, new_key
from openissuer.adapters.sql import tables
from openissuer.adapters.sql.engine import create_sync_db_engine

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ISSUANCES = 1000
BATCH = 10
BLOCK = 100  # OPENISSUER_STATUS_LIST_BLOCK_SIZE's default


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


def _mdoc_status(encoded: str) -> tuple[str, int]:
    issuer_signed = cbor2.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    mso = cbor2.loads(cbor2.loads(issuer_signed["issuerAuth"][2]).value)
    return mso["status"]["status_list"]["uri"], mso["status"]["status_list"]["idx"]


async def _issue_mdocs_concurrently(first: str, second: str) -> list[str]:
    headers = admin_headers(first)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=16)) as http:
        iaca = (await http.post(f"{first}/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"})).json()
        await http.put(f"{first}/v2/credentials/mobile/iacas/{iaca['id']}", headers=headers, json={"active": True})
        mappings = {
            NS: {name: {"mapFrom": f"claims.{name}", "type": "string"} for name in ("given_name", "family_name")}
        }
        configuration = await http.post(
            f"{first}/v2/credentials/mobile/configurations",
            headers=headers,
            json={"type": MDL, "claimMappings": mappings, "expiresIn": {"days": 30}, "includeStatus": True},
        )
        assert configuration.status_code == 201, configuration.text
        configuration_id = configuration.json()["id"]
        offer = await http.post(
            f"{first}/v1/openid/offers/pre-authorized",
            headers=headers,
            json={"credentials": [configuration_id], "claims": MDL_CLAIMS},
        )
        wallet = Wallet(http)
        credential_offer = await wallet.read_offer(offer.json()["uri"])
        metadata, _ = await wallet.discover(credential_offer["credential_issuer"])
        token = await wallet.token(credential_offer)
        assert token.status_code == 200, token.text
        authorization = {"Authorization": f"Bearer {token.json()['access_token']}"}

        async def batch(base: str) -> list[str]:
            nonce = await wallet.nonce(metadata)
            proofs = [wallet.proof(metadata, nonce, key=new_key()) for _ in range(BATCH)]
            body = {"credential_configuration_id": configuration_id, "proofs": {"jwt": proofs}}
            response = await http.post(f"{base}/v1/openid/credential", json=body, headers=authorization)
            assert response.status_code == 200, response.text
            return [str(entry["credential"]) for entry in response.json()["credentials"]]

        batches = await asyncio.gather(*(batch(first if n % 2 else second) for n in range(ISSUANCES // BATCH)))
        return [credential for one in batches for credential in one]


def test_concurrent_issuances_in_two_processes_get_distinct_indexes(tmp_path: Path, fresh_postgres_url: str) -> None:
    port = free_port()
    env = server_env(
        tmp_path,
        OPENISSUER_DATABASE_URL=fresh_postgres_url,
        OPENISSUER_PUBLIC_URL=f"http://127.0.0.1:{port}",
        OPENISSUER_CREDENTIALS_PER_GRANT=str(ISSUANCES),  # one access token for all (the bound is 1,000 per grant)
        OPENISSUER_RATE_LIMIT_PER_OFFER="0",  # and so 1,000 credential requests with one token in a second
    )
    second_env = {**env, "OPENISSUER_AUTO_MIGRATE": "false"}
    with running_server(env, port=port) as first, running_server(second_env) as second:
        started = time.monotonic()
        credentials = asyncio.run(_issue_concurrently(first, second))
        elapsed = time.monotonic() - started
        mdocs = asyncio.run(_issue_mdocs_concurrently(first, second))
    mdoc_entries = {_mdoc_status(encoded) for encoded in mdocs}
    assert len(mdocs) == ISSUANCES and len(mdoc_entries) == ISSUANCES
    assert len({url for url, _ in mdoc_entries}) == 1 and all(0 <= index < 100_000 for _, index in mdoc_entries)
    entries = {_status(encoded) for encoded in credentials}
    assert len(credentials) == ISSUANCES and len(entries) == ISSUANCES
    assert len({url for url, _ in entries}) == 1  # one list of 1,000,000 holds them all
    assert all(0 <= index < 1_000_000 for _, index in entries)
    engine = create_sync_db_engine(fresh_postgres_url)
    try:
        with engine.connect() as connection:
            t = tables.issued_credentials
            stored = connection.execute(
                select(t.c.format, func.count(func.distinct(t.c.status_index))).group_by(t.c.format)
            ).all()
            allocated = connection.execute(select(tables.status_lists.c.allocated)).scalars().all()
    finally:
        engine.dispose()
    assert dict(stored) == {"cwt": ISSUANCES, "mso_mdoc": ISSUANCES}
    # Each process reserves blocks: at most the rest of one block per process is left unused on each list.
    assert len(allocated) == 2 and all(ISSUANCES <= a <= ISSUANCES + 2 * BLOCK for a in allocated)
    print(f"{ISSUANCES} issuances across two processes in {elapsed:.1f} s")
