"""What issue 14's checks cost a plain Bearer request (no DPoP, attestation or encryption): each piece of work the
token and credential requests now do at the edge, measured against what they did before, in the same run.

    .venv/bin/python bench/wallet_edge.py

Before -> after, per request:
- the credential request body: ``orjson.loads`` -> ``parse_json_input`` (duplicate members, depth, number range,
  NUL); also the standard library with a duplicate-refusing hook, the other correct choice;
- the proof's header and payload: ``json.loads`` with hooks (the old JWS parser) -> ``parse_json_input``;
- the token form: the old ``parse_qsl`` loop -> ``parse_form_fields``;
- the ASGI headers: a dict comprehension -> the loop that joins repeated headers;
- what a Bearer token request and credential request add: the policy lookup, the sender check, the rate limiter
  with the default limits (per offer 60/min) and with every limit on.

Medians of 7 batches; nothing is asserted. Compare numbers within one run only.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from oi_haip import jwt_proof, new_key
from oi_testing import FakeClock
from openissuer.adapters.memory.store import InMemoryStore
from openissuer.adapters.memory.uow import InMemoryUnitOfWork
from openissuer.adapters.memory.wallet_store import InMemoryWalletStore
from openissuer.crypto.base64url import decode_base64url
from openissuer.domain.json_input import parse_json_input
from openissuer.domain.offers import AccessGrant
from openissuer.domain.wallet_security import DEFAULT_POLICY
from openissuer.services.dpop import verify_sender_constraint
from openissuer.services.rate_limits import ADDRESS, OFFER, RateLimiter, RateLimits
from openissuer.services.wallet_policy import WalletPolicyService
from openissuer.web.strict_input import parse_form_fields

BATCHES = 7


def median_us(work: Callable[[], Any], number: int) -> float:
    times = []
    for _ in range(BATCHES):
        start = time.perf_counter()
        for _ in range(number):
            work()
        times.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(times)


def median_async_us(loop: asyncio.AbstractEventLoop, work: Callable[[], Any], number: int) -> float:
    async def batch() -> float:
        start = time.perf_counter()
        for _ in range(number):
            await work()
        return (time.perf_counter() - start) / number * 1e6

    return statistics.median(loop.run_until_complete(batch()) for _ in range(BATCHES))


def _old_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate")
    return result


def _old_constant(name: str) -> Any:
    raise ValueError(name)


def old_jws_json(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_old_duplicates, parse_constant=_old_constant)


def old_form(body: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100):
        if key in fields:
            raise ValueError(key)
        fields[key] = value
    return fields


HEADERS = [
    (b"host", b"issuer.example"),
    (b"user-agent", b"wallet/1.0"),
    (b"accept", b"*/*"),
    (b"content-type", b"application/json"),
    (b"content-length", b"700"),
    (b"authorization", b"Bearer 2m1yXkq0Y1tq2yqf5cZP0n4Yv1s8D3x5jQ8b7QYw9-c"),
]


def old_headers() -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in HEADERS}


def new_headers() -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in HEADERS:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def main() -> None:
    proof = jwt_proof(new_key(), "https://issuer.example", "AQAAAABpV2v3Rk9Qd0F1eUZrQ2lXbHpKMGc1Wm1vZ0FBQUE")
    body = orjson.dumps(
        {"credential_configuration_id": "a7e0c4f2-3b1d-4b8e-9f55-6a0d2c1e9b77", "proofs": {"jwt": [proof]}}
    )
    header_raw, payload_raw = (decode_base64url(part) for part in proof.split(".")[:2])
    form = b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=" + b"x" * 43
    rows: list[tuple[str, float, float]] = []
    n = 20000
    rows.append(
        (
            "credential body (orjson -> strict)",
            median_us(lambda: orjson.loads(body), n),
            median_us(lambda: parse_json_input(body), n),
        )
    )
    rows.append(
        (
            "  stdlib json + duplicate hook, for comparison",
            median_us(lambda: old_jws_json(body), n),
            median_us(lambda: parse_json_input(body), n),
        )
    )
    rows.append(
        (
            "proof header + payload (json hooks -> strict)",
            median_us(lambda: (old_jws_json(header_raw), old_jws_json(payload_raw)), n),
            median_us(lambda: (parse_json_input(header_raw), parse_json_input(payload_raw)), n),
        )
    )
    rows.append(("token form", median_us(lambda: old_form(form), n), median_us(lambda: parse_form_fields(form), n)))
    rows.append(("ASGI headers", median_us(old_headers, n), median_us(new_headers, n)))

    loop = asyncio.new_event_loop()
    memory = InMemoryStore()
    store = InMemoryWalletStore(memory)
    clock = FakeClock()
    policies = WalletPolicyService(
        lambda read_only=False: InMemoryUnitOfWork(memory, read_only=read_only), store, clock
    )
    tenant = "00000000-0000-4000-8000-000000000000"
    loop.run_until_complete(policies.recent(tenant))
    grant = AccessGrant(b"t" * 32, tenant, "u", ("c",), {}, "n", {}, clock.now(), clock.now())
    default = RateLimiter(
        store, clock, RateLimits(per_offer=10**9), flush_interval=0.25
    )  # as the default: per offer only
    every = RateLimiter(
        store, clock, RateLimits(per_address=10**9, per_client=10**9, per_offer=10**9), flush_interval=0.25
    )
    token = "2m1yXkq0Y1tq2yqf5cZP0n4Yv1s8D3x5jQ8b7QYw9-c"

    async def noop() -> None:
        return None

    base = median_async_us(loop, noop, n)
    rows.append(
        ("policy (token endpoint, recent)", 0.0, median_async_us(loop, lambda: policies.recent(tenant), n) - base)
    )
    rows.append(
        (
            "policy (credential, at_version) + sender check",
            0.0,
            median_async_us(loop, lambda: _credential_checks(policies, tenant, grant), n) - base,
        )
    )
    rows.append(
        (
            "rate limiter, per offer only (the default kinds)",
            0.0,
            median_async_us(loop, lambda: default.check(tenant, [(ADDRESS, "203.0.113.9"), (OFFER, token)]), n) - base,
        )
    )
    rows.append(
        (
            "rate limiter, every limit on (credential)",
            0.0,
            median_async_us(loop, lambda: every.check(tenant, [(ADDRESS, "203.0.113.9"), (OFFER, token)]), n) - base,
        )
    )
    loop.close()

    print(f"Python {sys.version.split()[0]}; medians of {BATCHES} batches, µs per call\n")
    print("| work | before | after |")
    print("|---|---:|---:|")
    for name, before, after in rows:
        print(f"| {name} | {before:.2f} | {after:.2f} |")


async def _credential_checks(policies: WalletPolicyService, tenant: str, grant: AccessGrant) -> None:
    policy = await policies.at_version(tenant, 0)
    verify_sender_constraint(grant, None, policy or DEFAULT_POLICY, frozenset())


if __name__ == "__main__":
    main()
