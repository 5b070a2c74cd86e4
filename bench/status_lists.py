"""What IETF Token Status Lists cost a running server, as ratios measured in one run.

    .venv/bin/python bench/status_lists.py [--db postgres,sqlite] [--issuances 200] [--pairs 5] [--verifiers 1000]

For each database: one ``openissuer serve`` worker with an active IACA and two mDoc configurations that differ
only in ``includeStatus``. Then ``--pairs`` pairs of rounds, off then on, each of ``--issuances`` wallets' flows
(token -> nonce -> credential, 8 at a time, lean wallet): issuances/s, the credential step's median latency and
server CPU per issuance; the ratios on ÷ off are the medians of the pairs' ratios (each pair ran back to back, so
drift on the shared machine hits both sides of a ratio alike).
Then ``--verifiers`` verifiers fetch the list's token, 8 at a time on keep-alive connections (the token is cached:
each request reads the list's revision and returns the signed bytes), once plainly (200) and once revalidating
with ``If-None-Match`` (304): requests/s, median latency, server CPU per request, and that CPU as a share of one
issuance's. Server CPU is utime+stime of the server process tree from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from lean_http import Client
from lean_wallet import Offer, discover, parse_offer, run_flows
from load import CLAIMS, MAPPINGS, MDL, NS
from proc_stats import process_tree, usage, usage_delta
from server_process import ADMIN_ID, ADMIN_SECRET, DEFAULT_POSTGRES_URL, running_server

WALLETS = 8
DEADLINE = 170.0


def _server_cpu(root: int) -> Any:
    return usage(process_tree(root))


def _cpu_between(before: Any, after: Any) -> float:
    user, system, _ = usage_delta(before, after)
    return user + system


async def _set_up(base: str) -> tuple[dict[str, str], dict[bool, str]]:
    async with httpx.AsyncClient(timeout=30) as http:
        token = await http.post(
            f"{base}/v1/auth/token",
            json={"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET},
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        iaca = (await http.post(f"{base}/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"})).json()
        await http.put(f"{base}/v2/credentials/mobile/iacas/{iaca['id']}", headers=headers, json={"active": True})
        configurations = {}
        for include_status in (False, True):
            body = {
                "type": MDL if include_status else MDL + ".plain",
                "claimMappings": {NS: MAPPINGS},
                "expiresIn": {"days": 365},
                "includeStatus": include_status,
            }
            created = await http.post(f"{base}/v2/credentials/mobile/configurations", headers=headers, json=body)
            assert created.status_code == 201, created.text
            configurations[include_status] = created.json()["id"]
    return headers, configurations


async def _offers(base: str, headers: dict[str, str], configuration_id: str, count: int) -> list[Offer]:
    async with httpx.AsyncClient(timeout=30) as http:
        semaphore = asyncio.Semaphore(8)

        async def one() -> Offer:
            async with semaphore:
                response = await http.post(
                    f"{base}/v1/openid/offers/pre-authorized",
                    headers=headers,
                    json={"credentials": [configuration_id], "claims": CLAIMS},
                )
            return parse_offer(json.loads(parse_qs(urlsplit(response.json()["uri"]).query)["credential_offer"][0]))

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def _issue(base: str, root: int, metadata: Any, offers: list[Offer]) -> dict[str, float]:
    before = _server_cpu(root)
    result = await run_flows(metadata, offers, WALLETS, time.monotonic() + DEADLINE)
    cpu = _cpu_between(before, _server_cpu(root))
    assert not result.errors, result.errors[:3]
    return {
        "per_second": result.issued / result.seconds,
        "credential_ms": statistics.median(result.timings["credential"]) * 1000,
        "cpu_ms": cpu * 1000 / result.issued,
    }


async def _verifiers(root: int, token_url: str, count: int, etag: str | None) -> dict[str, float]:
    clients = [Client() for _ in range(WALLETS)]
    latencies: list[float] = []
    headers = (("If-None-Match", etag),) if etag else ()
    expected = 304 if etag else 200

    async def run(client: Client, share: int) -> None:
        for _ in range(share):
            started = time.perf_counter()
            response = await client.call("GET", token_url, headers=headers)
            latencies.append(time.perf_counter() - started)
            assert response.status == expected, response.status

    before = _server_cpu(root)
    started = time.perf_counter()
    await asyncio.gather(*(run(client, count // WALLETS) for client in clients))
    seconds = time.perf_counter() - started
    cpu = _cpu_between(before, _server_cpu(root))
    for client in clients:
        client.close()
    done = len(latencies)
    return {
        "per_second": done / seconds,
        "latency_ms": statistics.median(latencies) * 1000,
        "cpu_ms": cpu * 1000 / done,
    }


async def _run(db: str, issuances: int, pairs: int, verifiers: int, postgres_url: str) -> dict[str, Any]:
    with running_server(db=db, workers=1, postgres_url=postgres_url) as server:
        assert server.root_pid is not None
        headers, configurations = await _set_up(server.base_url)
        client = Client()
        metadata = await discover(client, server.base_url)
        client.close()
        rounds: dict[bool, list[dict[str, float]]] = {False: [], True: []}
        half = issuances // 2
        await _issue(
            server.base_url,
            server.root_pid,
            metadata,
            await _offers(server.base_url, headers, configurations[True], 40),
        )
        for include_status in (False, True, False, True):
            offers = await _offers(server.base_url, headers, configurations[include_status], half)
            rounds[include_status].append(await _issue(server.base_url, server.root_pid, metadata, offers))
        async with httpx.AsyncClient(timeout=30) as http:
            lists = (await http.get(f"{server.base_url}/v2/credentials/mobile/status-lists", headers=headers)).json()
            token_url = lists["data"][0]["uri"]
            first = await http.get(token_url)
            assert first.status_code == 200
        served = await _verifiers(server.root_pid, token_url, verifiers, None)
        revalidated = await _verifiers(server.root_pid, token_url, verifiers, first.headers["etag"])
    off = {k: statistics.median(r[k] for r in rounds[False]) for k in rounds[False][0]}
    on = {k: statistics.median(r[k] for r in rounds[True]) for k in rounds[True][0]}
    ratio = {k: statistics.median(b[k] / a[k] for a, b in zip(rounds[False], rounds[True], strict=True)) for k in off}
    return {
        "off": off,
        "on": on,
        "ratio": ratio,
        "served": served,
        "revalidated": revalidated,
        "token_bytes": len(first.content),
    }


def _report(db: str, r: dict[str, Any]) -> str:
    off, on, ratio, served, revalidated = r["off"], r["on"], r["ratio"], r["served"], r["revalidated"]
    lines = [
        f"### {db}",
        "",
        "| issuance (medians of the rounds) | issuances/s | credential step p50 | server CPU per issuance |",
        "|---|---:|---:|---:|",
        f"| status off | {off['per_second']:.0f} | {off['credential_ms']:.2f} ms | {off['cpu_ms']:.2f} ms |",
        f"| status on | {on['per_second']:.0f} | {on['credential_ms']:.2f} ms | {on['cpu_ms']:.2f} ms |",
        f"| **on ÷ off** (median of the pairs) | **{ratio['per_second']:.2f}** | "
        f"**{ratio['credential_ms']:.2f}** | **{ratio['cpu_ms']:.2f}** |",
        "",
        f"| the cached token ({r['token_bytes']} bytes) to verifiers | requests/s | p50 | server CPU per request | "
        "÷ CPU of one issuance (status on) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, v in (("200 (the token)", served), ("304 (If-None-Match)", revalidated)):
        lines.append(
            f"| {name} | {v['per_second']:.0f} | {v['latency_ms']:.2f} ms | {v['cpu_ms']:.3f} ms | "
            f"{v['cpu_ms'] / on['cpu_ms']:.3f} |"
        )
    return "\n".join(lines) + "\n"


async def main(dbs: list[str], issuances: int, pairs: int, verifiers: int, postgres_url: str) -> None:
    for db in dbs:
        print(_report(db, await _run(db, issuances, pairs, verifiers, postgres_url)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgres,sqlite")
    parser.add_argument("--issuances", type=int, default=200, help="per round")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--verifiers", type=int, default=1000)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.db.split(","), arguments.issuances, arguments.pairs, arguments.verifiers, arguments.postgres_url)
    )
