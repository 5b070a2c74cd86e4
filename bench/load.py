"""Load phases shared by the benchmark scripts: issuer set-up, offer creation and concurrent wallet flows.

The offers are the issuer backend's calls (management API), so they are created in a phase of their own and
measured apart from the wallets' token -> nonce -> credential flows.
"""

from __future__ import annotations

import asyncio
import base64
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from bench_wallet import STEPS, IssuerMetadata, Offer, Wallet, discover
from server_process import ADMIN_ID, ADMIN_SECRET

MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"
# An mDL-like document: the mandatory ISO 18013-5 elements, a small portrait and driving privileges.
PORTRAIT = base64.b64encode(bytes(range(256)) * 12).decode()  # ~3 KB, a tiny JPEG's size
CLAIMS: dict[str, Any] = {
    "given_name": "Ana",
    "family_name": "Ngata",
    "birth_date": "1990-01-02",
    "issue_date": "2025-01-01",
    "expiry_date": "2030-01-01",
    "issuing_authority": "NZTA",
    "document_number": "DL1234567",
    "portrait": PORTRAIT,
    "driving_privileges": [{"vehicle_category_code": "B", "issue_date": "2010-01-01"}],
    "un_distinguishing_sign": "NZ",
}
MAPPINGS: dict[str, dict[str, Any]] = {
    "given_name": {"mapFrom": "claims.given_name", "type": "string", "required": True},
    "family_name": {"mapFrom": "claims.family_name", "type": "string", "required": True},
    "birth_date": {"mapFrom": "claims.birth_date", "type": "date", "required": True},
    "issue_date": {"mapFrom": "claims.issue_date", "type": "date", "required": True},
    "expiry_date": {"mapFrom": "claims.expiry_date", "type": "date", "required": True},
    "issuing_country": {"defaultValue": "NZ", "type": "string"},
    "issuing_authority": {"mapFrom": "claims.issuing_authority", "type": "string", "required": True},
    "document_number": {"mapFrom": "claims.document_number", "type": "string", "required": True},
    "portrait": {"mapFrom": "claims.portrait", "type": "bytes", "required": True},
    "driving_privileges": {"mapFrom": "claims.driving_privileges", "type": "array", "required": True},
    "un_distinguishing_sign": {"mapFrom": "claims.un_distinguishing_sign", "type": "string"},
}


@dataclass
class Issuer:
    """The bench's view of a running issuer: where it is and the management token of its admin client."""

    base_url: str
    headers: dict[str, str]
    configuration_id: str
    metadata: IssuerMetadata


def _check(response: httpx.Response, expected: int, what: str) -> dict[str, Any]:
    if response.status_code != expected:
        raise RuntimeError(f"{what}: HTTP {response.status_code} {response.text[:500]}")
    return dict(response.json()) if response.content else {}


async def set_up_issuer(http: httpx.AsyncClient, base_url: str) -> Issuer:
    """Create and activate an IACA and an mDL configuration through the management API."""
    token = _check(
        await http.post(
            f"{base_url}/v1/auth/token",
            json={"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET},
        ),
        200,
        "management token",
    )
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    iaca = _check(
        await http.post(f"{base_url}/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"}),
        201,
        "create IACA",
    )
    _check(
        await http.put(f"{base_url}/v2/credentials/mobile/iacas/{iaca['id']}", headers=headers, json={"active": True}),
        200,
        "activate IACA",
    )
    configuration = _check(
        await http.post(
            f"{base_url}/v2/credentials/mobile/configurations",
            headers=headers,
            json={"type": MDL, "claimMappings": {NS: MAPPINGS}, "expiresIn": {"days": 365}},
        ),
        201,
        "create mDL configuration",
    )
    return Issuer(base_url, headers, configuration["id"], await discover(http, base_url))


@dataclass
class PhaseResult:
    count: int
    seconds: float
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


async def _bounded(count: int, concurrency: int, deadline: float, work: Callable[[int], Any], errors: list[str]) -> int:
    """Run ``work(i)`` for i < count with ``concurrency`` tasks until done or past ``deadline``; return done."""
    next_index = 0
    done = 0

    async def worker() -> None:
        nonlocal next_index, done
        while next_index < count and time.monotonic() < deadline and len(errors) < 10:
            index = next_index
            next_index += 1
            try:
                await work(index)
                done += 1
            except Exception as exc:  # a failed flow is reported, not retried
                errors.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def create_offers(
    http: httpx.AsyncClient, issuer: Issuer, count: int, concurrency: int, deadline: float
) -> tuple[list[Offer], PhaseResult]:
    """Create ``count`` pre-authorized offers (by value, no tx_code) with ``concurrency`` requests at a time."""
    offers: list[Offer] = []
    timings: dict[str, list[float]] = {"offer": []}
    errors: list[str] = []
    body = {"credentials": [issuer.configuration_id], "claims": CLAIMS}

    async def one(_index: int) -> None:
        started = time.perf_counter()
        response = await http.post(
            f"{issuer.base_url}/v1/openid/offers/pre-authorized", headers=issuer.headers, json=body
        )
        timings["offer"].append(time.perf_counter() - started)
        offers.append(Offer.from_uri(_check(response, 200, "create offer")["uri"]))

    started = time.perf_counter()
    await _bounded(count, concurrency, deadline, one, errors)
    return offers, PhaseResult(len(offers), time.perf_counter() - started, timings, errors)


async def run_wallets(
    http: httpx.AsyncClient, issuer: Issuer, offers: list[Offer], wallets: int, deadline: float
) -> PhaseResult:
    """Let ``wallets`` concurrent wallets, each with its own key, claim one credential per offer."""
    pool = [Wallet(http, issuer.metadata) for _ in range(wallets)]
    free: asyncio.Queue[Wallet] = asyncio.Queue()
    for wallet in pool:
        free.put_nowait(wallet)
    timings: dict[str, list[float]] = {step: [] for step in (*STEPS, "flow")}
    errors: list[str] = []
    checked = False

    async def one(index: int) -> None:
        nonlocal checked
        wallet = await free.get()
        try:
            credential = await wallet.claim(offers[index], timings)
            if not checked:
                checked = True
                wallet.check_bound(credential)
        finally:
            free.put_nowait(wallet)

    started = time.perf_counter()
    done = await _bounded(len(offers), wallets, deadline, one, errors)
    return PhaseResult(done, time.perf_counter() - started, timings, errors)


def new_http_client(connections: int) -> httpx.AsyncClient:
    """One client with a keep-alive pool as large as the concurrency (127.0.0.1 only, no proxies from env)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(limits=limits, timeout=60, trust_env=False)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
