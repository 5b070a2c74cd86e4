"""Same-run benchmark: openissuer and the Node.js peer issuer, one cheap load generator, one invocation.

    .venv/bin/python bench/compare.py --wallets 8 --issuances 2000 --db sqlite,postgres --workers 1,2
    .venv/bin/python bench/compare.py --wallets 8 --db sqlite --soak 10000 --no-peer

Starts the peer (a private copy of ``--peer-dir``, npm-installed in a temporary directory) and openissuer (a fresh
data directory, or a fresh ``bench_*`` PostgreSQL database that is dropped afterwards) one after the other, each
pinned with ``taskset`` to the server core(s), while this process, the load generator, pins itself to the client
core. For every server: set-up and warm-up (not measured), then the offers are created (the issuer backend's call)
and fetched by reference (the wallet's first step), each measured apart, then N wallets run
**token -> nonce -> credential** with lean_wallet.py while the server's, its PostgreSQL backends' and this
process's CPU are read from /proc. The peer runs first and last, so that drift on a shared machine shows. A short
phase of its own then counts openissuer's database round trips per request from the database side (pg_wire.py on
PostgreSQL, sqlite_traced_server.py on SQLite). Markdown goes to stdout (and ``--output``); see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import uvloop
from lean_http import Client
from lean_wallet import STEPS, FlowResult, Metadata, Offer, Wallet, discover, new_timings, resolve_offer, run_flows
from peer_process import DEFAULT_PEER_DIR, PreparedPeer, prepared_peer, running_peer
from pg_wire import PgWireCounter
from proc_stats import all_processes_cpu, machine_times, process_tree, rss_mib, usage, usage_delta, worker_pids
from server_process import (
    ADMIN_ID,
    ADMIN_SECRET,
    BENCH_DIR,
    DEFAULT_POSTGRES_URL,
    _libpq,
    code_under_test,
    postgres_backend_pids,
    running_server,
)
from signature_floor import Floor, measure_floor
from sqlalchemy.engine import make_url
from sqlite_traced_server import TraceFile

T = TypeVar("T")
MAX_SECONDS_PER_PHASE = 170.0
MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"

# The peer's mDL (animo_issuer.mjs, mdlClaims): 16 elements plus a 10 KB portrait. The same values, sent as the
# offer's claims and mapped by the mDL configuration below. Differences that cannot be mirrored: the peer puts
# CBOR full-dates (tag 1004) inside driving_privileges; openissuer's "array" type keeps JSON values (text dates).
PORTRAIT = base64.b64encode(random.Random(18013).randbytes(10 * 1024)).decode()
CLAIMS: dict[str, Any] = {
    "family_name": "Mustermann",
    "given_name": "Erika",
    "birth_date": "1971-09-01",
    "issue_date": "2024-01-15",
    "expiry_date": "2034-01-14",
    "issuing_authority": "Stadt Musterstadt Fahrerlaubnisbehoerde",
    "document_number": "T22000129",
    "portrait": PORTRAIT,
    "driving_privileges": [
        {"vehicle_category_code": "B", "issue_date": "2010-05-01", "expiry_date": "2034-01-14"},
        {"vehicle_category_code": "AM", "issue_date": "2010-05-01"},
    ],
    "un_distinguishing_sign": "D",
    "sex": 2,
    "height": 168,
    "resident_address": "Heidestrasse 17, 51147 Koeln",
    "nationality": "DE",
    "age_over_18": True,
    "age_over_21": True,
}
_TYPES = {
    "birth_date": "date",
    "issue_date": "date",
    "expiry_date": "date",
    "portrait": "bytes",
    "driving_privileges": "array",
    "sex": "number",
    "height": "number",
    "age_over_18": "boolean",
    "age_over_21": "boolean",
}
MAPPINGS: dict[str, dict[str, Any]] = {
    name: {"mapFrom": f"claims.{name}", "type": _TYPES.get(name, "string"), "required": True} for name in CLAIMS
}
MAPPINGS["issuing_country"] = {"defaultValue": "DE", "type": "string"}  # static, as in the peer
ELEMENTS = len(MAPPINGS)


# --------------------------------------------------------------------------------------------------- measuring


@dataclass
class Meter:
    """CPU seconds of a server process tree, of its PostgreSQL backends and of this process, over one phase.

    The client's clock is read last when a phase starts and first when it ends, so that the meter's own /proc and
    pg_stat_activity reads are not counted as load-generator CPU.
    """

    root_pid: int
    postgres_url: str
    database: str | None = None

    def _database(self) -> Any:
        return usage(postgres_backend_pids(self.postgres_url, self.database) if self.database else [])

    def start(self) -> None:
        self._srv = usage(process_tree(self.root_pid))
        self._db = self._database()
        self._processes = all_processes_cpu()
        self._machine = machine_times()
        self._wall = time.perf_counter()
        self._client = time.process_time()

    def stop(self) -> dict[str, Any]:
        client = time.process_time() - self._client
        wall = time.perf_counter() - self._wall
        machine = machine_times()
        processes = all_processes_cpu()
        tree = process_tree(self.root_pid)
        after = usage(tree)
        user, system, switches = usage_delta(self._srv, after)
        per_process = {
            pid: after.user[pid] + after.system[pid] - self._srv.user.get(pid, 0.0) - self._srv.system.get(pid, 0.0)
            for pid in after.user
        }
        backends = postgres_backend_pids(self.postgres_url, self.database) if self.database else []
        db_user, db_system, _ = usage_delta(self._db, usage(backends))
        server, db = user + system, db_user + db_system
        ours = {*tree, *backends, os.getpid()}
        others: Counter[str] = Counter()
        for pid, (name, seconds) in processes.items():
            if pid not in ours and (spent := seconds - self._processes.get(pid, (name, 0.0))[1]) > 0:
                others[name] += spent
        return {
            "wall_s": wall,
            "server_cpu_s": server,
            "server_system_s": system,
            "server_switches": switches,
            "db_cpu_s": db if self.database else float("nan"),
            "client_cpu_s": client,
            "other_cpu_s": max(machine["busy"] - self._machine["busy"] - server - db - client, 0.0),
            "steal_s": machine["steal"] - self._machine["steal"],
            "other_processes": {name: round(seconds / wall, 2) for name, seconds in others.most_common(3)},
            "server_process_cores": sorted(
                (round(cpu / wall, 2) for cpu in per_process.values() if cpu / wall >= 0.01), reverse=True
            ),
        }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(q / 100 * len(ordered)))) - 1]


def _latency(values: list[float]) -> dict[str, float]:
    return {f"p{q}": percentile(values, q) * 1000 for q in (50, 95, 99)}


# ------------------------------------------------------------------------------------------------ the issuers


async def _parallel(
    count: int, concurrency: int, deadline: float, work: Callable[[Client, int], Awaitable[T]], max_errors: int = 20
) -> tuple[list[T], list[str]]:
    """``work(client, i)`` for i < count, ``concurrency`` at a time (a client each), bounded in time and errors."""
    results: list[T] = []
    errors: list[str] = []
    position = 0

    async def run() -> None:
        nonlocal position
        client = Client()
        try:
            while position < count and time.monotonic() < deadline and len(errors) < max_errors:
                index = position
                position += 1
                try:
                    results.append(await work(client, index))
                except Exception as exc:  # reported, not retried
                    errors.append(f"{type(exc).__name__}: {exc}"[:400])
        finally:
            client.close()

    await asyncio.gather(*(run() for _ in range(max(1, min(concurrency, count)))))
    return results, errors


def _json(response: Any, expected: int, what: str) -> Any:
    if response.status != expected:
        raise RuntimeError(f"{what}: HTTP {response.status} {response.body[:400]!r}")
    return json.loads(response.body) if response.body else {}


class OpenissuerAdmin:
    """openissuer's management API: an IACA, the mDL configuration, and pre-authorized offers by reference."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.headers: tuple[tuple[str, str], ...] = ()
        self.configuration_id = ""

    async def set_up(self) -> None:
        client = Client()
        try:
            body = {"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET}
            token = _json(await self._post(client, "/v1/auth/token", body), 200, "management token")
            self.headers = (("Content-Type", "application/json"), ("Authorization", f"Bearer {token['access_token']}"))
            iaca = _json(await self._post(client, "/v2/credentials/mobile/iacas", {"country": "DE"}), 201, "IACA")
            response = await client.call(
                "PUT",
                f"{self.base_url}/v2/credentials/mobile/iacas/{iaca['id']}",
                json.dumps({"active": True}).encode(),
                self.headers,
            )
            _json(response, 200, "activate IACA")
            configuration = {"type": MDL, "claimMappings": {NS: MAPPINGS}, "expiresIn": {"days": 365}}
            created = _json(
                await self._post(client, "/v2/credentials/mobile/configurations", configuration), 201, "mDL config"
            )
            self.configuration_id = created["id"]
        finally:
            client.close()

    async def _post(self, client: Client, path: str, body: dict[str, Any]) -> Any:
        headers = self.headers or (("Content-Type", "application/json"),)
        return await client.call("POST", self.base_url + path, json.dumps(body).encode(), headers)

    async def create_offers(self, count: int, concurrency: int, deadline: float) -> tuple[list[str], list[str]]:
        body = {"credentials": [self.configuration_id], "claims": CLAIMS, "byReference": True}

        async def one(client: Client, _index: int) -> str:
            response = await self._post(client, "/v1/openid/offers/pre-authorized", body)
            return str(_json(response, 200, "create offer")["uri"])

        return await _parallel(count, concurrency, deadline, one)


class PeerAdmin:
    """The peer's ``POST /admin/offers?n=N``: N offers by reference in one call (at most 10,000)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def set_up(self) -> None:
        return None

    async def create_offers(self, count: int, concurrency: int, deadline: float) -> tuple[list[str], list[str]]:
        batches = [min(1000, count - start) for start in range(0, count, 1000)]

        async def one(client: Client, index: int) -> list[str]:
            response = await client.call("POST", f"{self.base_url}/admin/offers?n={batches[index]}")
            if response.status != 200:
                raise RuntimeError(f"mint offers: HTTP {response.status}")
            return response.body.decode().split()

        results, errors = await _parallel(len(batches), 1, deadline, one)
        return [uri for batch in results for uri in batch], errors


async def resolve_all(uris: list[str], concurrency: int, deadline: float) -> tuple[list[Offer], list[str]]:
    """The wallet's first step for each offer: parse it, fetching ``credential_offer_uri``."""
    return await _parallel(len(uris), concurrency, deadline, lambda client, i: resolve_offer(client, uris[i]))


# -------------------------------------------------------------------------------------------------- one server


@dataclass
class Target:
    issuer: str  # "openissuer" or "peer"
    label: str
    db: str | None
    workers: int
    cpus: str
    base_url: str
    root_pid: int
    database: str | None  # PostgreSQL database whose backends are measured


def _rss(target: Target) -> list[float]:
    pids = worker_pids(target.root_pid) if target.issuer == "openissuer" else [target.root_pid]
    return [value for pid in pids if (value := rss_mib(pid)) is not None]


def _summary(result: FlowResult, cpu: dict[str, float]) -> dict[str, Any]:
    n = max(result.issued, 1)
    wall = cpu["wall_s"] or 1.0
    return {
        "issued": result.issued,
        "errors": result.errors,
        "connects": result.connects,
        "seconds": result.seconds,
        "issuances_per_s": result.issued / result.seconds if result.seconds else 0.0,
        "latency_ms": {step: _latency(result.timings[step]) for step in (*STEPS, "flow")},
        "credential_chars": statistics.median(result.timings["bytes"]) if result.timings["bytes"] else 0,
        "server_cpu_ms": cpu["server_cpu_s"] * 1000 / n,
        "server_system_share": cpu["server_system_s"] / cpu["server_cpu_s"] if cpu["server_cpu_s"] else 0.0,
        "server_switches": cpu["server_switches"] / n,
        "db_cpu_ms": cpu["db_cpu_s"] * 1000 / n,
        "client_cpu_ms": cpu["client_cpu_s"] * 1000 / n,
        "server_cores": cpu["server_cpu_s"] / wall,
        "db_cores": cpu["db_cpu_s"] / wall,
        "client_cores": cpu["client_cpu_s"] / wall,
        "other_cores": cpu["other_cpu_s"] / wall,
        "steal_cores": cpu["steal_s"] / wall,
        "other_processes": cpu["other_processes"],
        "server_process_cores": cpu["server_process_cores"],
    }


async def prepare_offers(
    admin: Any, count: int, concurrency: int, meter: Meter | None
) -> tuple[list[Offer], dict[str, Any]]:
    """Create ``count`` offers (backend) and resolve them (wallet), each metered apart when a meter is given."""
    phase: dict[str, Any] = {"count": count}
    if meter:
        meter.start()
    started = time.perf_counter()
    uris, errors = await admin.create_offers(count, concurrency, time.monotonic() + MAX_SECONDS_PER_PHASE)
    phase["create_s"] = time.perf_counter() - started
    if meter:
        phase["create_cpu"] = meter.stop()
        meter.start()
    started = time.perf_counter()
    offers, resolve_errors = await resolve_all(uris, concurrency, time.monotonic() + MAX_SECONDS_PER_PHASE)
    phase["resolve_s"] = time.perf_counter() - started
    if meter:
        phase["resolve_cpu"] = meter.stop()
    phase.update(created=len(uris), resolved=len(offers), errors=errors + resolve_errors)
    return offers, phase


async def measure(target: Target, admin: Any, args: argparse.Namespace, postgres_url: str) -> dict[str, Any]:
    """Set up, warm up, then per concurrency level: offers (metered apart) and the wallets' flows (metered)."""
    meter = Meter(target.root_pid, postgres_url, target.database)
    await admin.set_up()
    levels = args.wallet_levels
    report: dict[str, Any] = {"levels": [], "soak": [], "warmup_errors": []}
    offers, phase = await prepare_offers(admin, args.warmup, min(8, levels[0]), None)
    client = Client()
    try:
        metadata = await discover(client, offers[0].credential_issuer) if offers else None
    finally:
        client.close()
    if metadata is None:
        raise RuntimeError(f"{target.label}: no offer for the warm-up: {phase['errors'][:3]}")
    warm = await run_flows(metadata, offers, levels[0], time.monotonic() + MAX_SECONDS_PER_PHASE)
    report["warmup_errors"] = phase["errors"] + warm.errors
    report["rss_after_warmup"] = _rss(target)
    if args.soak:
        report["soak"] = await soak(target, admin, metadata, meter, args)
        return report
    for wallets in levels:
        offers, phase = await prepare_offers(admin, args.issuances, args.offer_concurrency or wallets, meter)
        meter.start()
        flows = await run_flows(
            metadata,
            offers,
            wallets,
            time.monotonic() + MAX_SECONDS_PER_PHASE,
            new_connection_per_flow=args.new_connection_per_flow,
        )
        level = _summary(flows, meter.stop())
        level.update(wallets=wallets, offers=phase, rss_mib=_rss(target))
        report["levels"].append(level)
        print(
            f"{target.label:<32} {wallets:>3} wallets: {level['issued']} issued, {level['issuances_per_s']:.1f}/s, "
            f"server {level['server_cpu_ms']:.2f} ms/iss, client {level['client_cpu_ms']:.2f} ms/iss, "
            f"errors {len(level['errors']) + len(phase['errors'])}",
            file=sys.stderr,
            flush=True,
        )
    return report


async def soak(target: Target, admin: Any, metadata: Metadata, meter: Meter, args: argparse.Namespace) -> list[Any]:
    """``--soak`` issuances in chunks of ``--soak-sample``: offers made between chunks, RSS sampled after each."""
    samples: list[Any] = []
    done = 0
    wallets = args.wallet_levels[0]
    while done < args.soak:
        chunk = min(args.soak_sample, args.soak - done)
        offers, phase = await prepare_offers(admin, chunk, wallets, None)
        meter.start()
        flows = await run_flows(
            metadata,
            offers,
            wallets,
            time.monotonic() + MAX_SECONDS_PER_PHASE,
            new_connection_per_flow=args.new_connection_per_flow,
        )
        level = _summary(flows, meter.stop())
        done += flows.issued
        samples.append({**level, "issued": done, "rss_mib": _rss(target), "offer_errors": phase["errors"]})
        print(f"{target.label} soak {done:>6}: RSS {samples[-1]['rss_mib']} MiB", file=sys.stderr, flush=True)
        if flows.issued == 0 or flows.errors or phase["errors"]:
            print(f"soak stopped: {(flows.errors + phase['errors'])[:3]}", file=sys.stderr)
            break
    return samples


# ------------------------------------------------------------------------------------------ round trips per request


async def count_round_trips(
    base_url: str,
    snapshot: Callable[[], Counter[str]],
    args: argparse.Namespace,
    window: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """One wallet, one request at a time: database work counted between requests, averaged over the flows.

    ``args.rt_warmup`` flows first (PostgreSQL drivers prepare statements after a few uses on each pooled
    connection, so early flows cost more round trips), then ``args.rt_flows`` counted ones. ``window`` is called
    right before the first and right after the last counted flow (to read database-side counters).
    """
    flows, settle, warm = args.rt_flows, args.rt_settle, args.rt_warmup
    admin = OpenissuerAdmin(base_url)
    await admin.set_up()
    client = Client()
    totals: dict[str, Counter[str]] = {step: Counter() for step in ("offer", "offer fetch", *STEPS)}
    try:
        uris, errors = await admin.create_offers(1, 1, time.monotonic() + 60)
        if errors:
            raise RuntimeError(f"round-trip phase: {errors[0]}")
        metadata = await discover(client, (await resolve_offer(client, uris[0])).credential_issuer)
        wallet = Wallet(metadata)
        timings = new_timings()
        deadline = time.monotonic() + MAX_SECONDS_PER_PHASE
        previous = snapshot()
        counting = False

        async def probe(step: str) -> None:
            """Attribute the counters' movement since the last probe to ``step`` (after a settling pause)."""
            nonlocal previous
            await asyncio.sleep(settle)  # work the server does after answering belongs to this request
            now = snapshot()
            if counting:
                totals[step] += now - previous
            previous = now

        for index in range(warm + flows):
            if time.monotonic() > deadline:
                raise RuntimeError("round-trip phase: out of time")
            counting = False
            if index == warm and window is not None:
                window()
            await probe("")  # a fresh baseline: nothing between two flows is attributed to a request
            counting = index >= warm
            uris, errors = await admin.create_offers(1, 1, deadline)
            if errors:
                raise RuntimeError(f"round-trip phase: {errors[0]}")
            await probe("offer")
            offer = await resolve_offer(client, uris[0])
            await probe("offer fetch")
            await wallet.claim(offer, timings, probe)
        wallet.close()
        if window is not None:
            window()
    finally:
        client.close()
    return {step: {key: value / flows for key, value in counts.items()} for step, counts in totals.items()}


def _pg_transactions(postgres_url: str, database: str) -> int:
    with psycopg.connect(_libpq(postgres_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (database,)
        ).fetchone()
    return int(row[0]) if row else 0


def _settled_pg_transactions(postgres_url: str, database: str) -> int:
    """pg_stat_database's count once every backend has reported its counters.

    PostgreSQL 15 backends report at most once a second while busy and, once idle, within 10 s
    (PGSTAT_IDLE_INTERVAL); so wait that long after the last request, then read.
    """
    time.sleep(10.5)
    return _pg_transactions(postgres_url, database)


def round_trips(db: str, args: argparse.Namespace) -> dict[str, Any]:
    """Start a one-worker openissuer wired for counting and count its database work per request."""
    flows = args.rt_flows
    if db == "postgres":
        with PgWireCounter(*_postgres_address(args.postgres_url)) as proxy:

            def via_proxy(url: str) -> str:
                parsed = make_url(url).set(host="127.0.0.1", port=proxy.port)
                return parsed.update_query_dict({"sslmode": "disable"}).render_as_string(hide_password=False)

            with running_server(
                db="postgres",
                workers=1,
                postgres_url=args.postgres_url,
                cpus=args.server_cpus,
                database_url_via=via_proxy,
            ) as server:
                readings: list[int] = []

                def window(name: str = server.database) -> None:
                    readings.append(_settled_pg_transactions(args.postgres_url, name))

                counts = _run(count_round_trips(server.base_url, proxy.snapshot, args, window))
                xacts = readings[-1] - readings[0]
        method = "pg_wire.py proxy between the server and PostgreSQL"
        return {
            "db": db,
            "flows": flows,
            "warmup": args.rt_warmup,
            "per_request": counts,
            "pg_stat_xacts": xacts,
            "method": method,
        }
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-trace-") as tmp:
        trace = TraceFile(Path(tmp) / "counts")
        try:
            with running_server(
                db="sqlite",
                workers=1,
                cpus=args.server_cpus,
                runner=BENCH_DIR / "sqlite_traced_server.py",
                extra_env={"BENCH_SQLITE_TRACE_FILE": str(trace.path)},
            ) as server:
                counts = _run(count_round_trips(server.base_url, trace.snapshot, args))
        finally:
            trace.close()
    return {
        "db": db,
        "flows": flows,
        "warmup": args.rt_warmup,
        "per_request": counts,
        "method": "sqlite3 trace callback",
    }


def _postgres_address(url: str) -> tuple[str, int]:
    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432


# ------------------------------------------------------------------------------------------------------ running


def _run(coroutine: Awaitable[T]) -> T:
    return uvloop.run(coroutine)  # type: ignore[arg-type]


@contextmanager
def _openissuer(args: argparse.Namespace, db: str, workers: int, label: str) -> Iterator[Target]:
    cpus = args.server_cpus if workers == 1 else args.multi_worker_cpus
    with running_server(db=db, workers=workers, postgres_url=args.postgres_url, cpus=cpus) as server:
        database = None if db == "sqlite" else server.database
        yield Target("openissuer", label, db, workers, cpus, server.base_url, server.root_pid, database)


@contextmanager
def _peer(args: argparse.Namespace, prepared: PreparedPeer, label: str) -> Iterator[Target]:
    with running_peer(prepared, args.server_cpus) as peer:
        yield Target("peer", label, None, 1, args.server_cpus, peer.base_url, peer.root_pid, None)


def wait_until_quiet(max_seconds: float, threshold: float = 0.15, window: float = 3.0) -> dict[str, Any]:
    """Wait (at most ``max_seconds``) until the machine's CPU use over ``window`` s is below ``threshold`` cores.

    On a shared machine other people's work (test suites) comes and goes; starting a run in a quiet moment makes
    its numbers comparable. Nothing of ours runs while waiting, so all the load seen is other load.
    """
    started = time.monotonic()
    while True:
        before = machine_times()["busy"]
        time.sleep(window)
        load = (machine_times()["busy"] - before) / window
        waited = time.monotonic() - started
        if load < threshold or waited >= max_seconds:
            return {"waited_s": round(waited, 1), "load_cores": round(load, 2), "quiet": load < threshold}


def run_target(args: argparse.Namespace, context: Any) -> dict[str, Any]:
    quiet = wait_until_quiet(args.wait_quiet) if args.wait_quiet else None
    if quiet and not quiet["quiet"]:
        print(f"machine not quiet after {quiet['waited_s']} s ({quiet['load_cores']} cores busy)", file=sys.stderr)
    with context as target:
        admin = OpenissuerAdmin(target.base_url) if target.issuer == "openissuer" else PeerAdmin(target.base_url)
        started = time.strftime("%H:%M:%S")
        report = _run(measure(target, admin, args, args.postgres_url))
    return {
        "issuer": target.issuer,
        "label": target.label,
        "db": target.db,
        "workers": target.workers,
        "cpus": target.cpus,
        "started": started,
        "quiet": quiet,
        **report,
    }


def _git(*command: str) -> str:
    try:
        return subprocess.run(
            ["git", *command], cwd=BENCH_DIR, capture_output=True, text=True, timeout=30, check=True
        ).stdout.rstrip("\n")
    except (OSError, subprocess.SubprocessError):
        return "?"


def _commit() -> str:
    """The worktree's commit, and the files that differ from it (a report must say what code it ran)."""
    dirty = [line[3:] for line in _git("status", "--porcelain").splitlines() if line.strip()]
    more = f" and {len(dirty) - 5} more" if len(dirty) > 5 else ""
    return _git("rev-parse", "--short", "HEAD") + (f" (uncommitted: {', '.join(dirty[:5])}{more})" if dirty else "")


def _noise(run: dict[str, Any]) -> float:
    """The highest other load (cores) of a run's measured phases; infinite for a failed run."""
    phases = run["levels"] + run.get("soak", [])
    return max((phase["other_cores"] for phase in phases), default=float("inf"))


def run_with_retries(args: argparse.Namespace, label: str, make: Callable[[], Any]) -> dict[str, Any]:
    """Run one server; while other load spoilt it (> --max-other-load) and --retries remain, run it again.

    The attempt with the least other load is kept; the report says how many there were.
    """
    attempts: list[dict[str, Any]] = []
    for _ in range(1 + args.retries):
        try:
            attempts.append(run_target(args, make()))
        except Exception as exc:  # one server failing must not hide the others' numbers
            traceback.print_exc()
            attempts.append({"label": label, "issuer": "failed", "levels": [], "warmup_errors": [repr(exc)]})
        if _noise(attempts[-1]) <= args.max_other_load:
            break
        print(f"{label}: other load {_noise(attempts[-1]):.2f} cores, over --max-other-load", file=sys.stderr)
    best = min(attempts, key=_noise)
    best["attempts"] = [round(_noise(attempt), 2) for attempt in attempts]
    return best


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.sched_setaffinity(0, {args.client_cpu})
    command = "python bench/compare.py " + " ".join(sys.argv[1:] if argv is None else argv)
    report: dict[str, Any] = {
        "command": command,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"nproc {os.cpu_count()}, {platform.platform()}, Python {platform.python_version()}",
        "code": code_under_test(),
        "commit": _commit(),
        "args": {k: v for k, v in vars(args).items() if isinstance(v, str | int | float | bool | list)},
        "elements": ELEMENTS,
        "runs": [],
        "round_trips": [],
        "floors": [],
    }
    floors: list[Floor] = [measure_floor()]
    with ExitStack() as stack:
        prepared = None if args.no_peer else stack.enter_context(prepared_peer(args.peer_dir))
        report["peer"] = prepared.description if prepared else None
        plan: list[tuple[str, Callable[[], Any]]] = []
        peer_runs = 0 if prepared is None else (1 if args.soak else args.peer_runs)
        if prepared is not None and peer_runs:
            first = "peer (first)" if peer_runs > 1 else "peer"
            plan.append((first, lambda: _peer(args, prepared, first)))
        for db in args.dbs:
            for workers in args.worker_counts:
                label = f"openissuer {'SQLite' if db == 'sqlite' else 'PostgreSQL'} {workers}w"
                plan.append((label, lambda db=db, workers=workers, label=label: _openissuer(args, db, workers, label)))
        if prepared is not None and peer_runs > 1:
            plan.append(("peer (last)", lambda: _peer(args, prepared, "peer (last)")))
        for label, make in plan:
            report["runs"].append(run_with_retries(args, label, make))
    floors.append(measure_floor())
    if args.rt_flows and not args.soak:
        for db in args.dbs:
            report["round_trips"].append(round_trips(db, args))
    floors.append(measure_floor())
    report["floors"] = [{"sign_ms": f.sign_ms, "verify_ms": f.verify_ms, "ms": f.ms} for f in floors]
    report["floor_ms"] = statistics.median(f.ms for f in floors)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    from compare_report import markdown

    text = markdown(report)
    if args.output:
        args.output.write_text(text)
    print(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wallets", default="8", help="Concurrent wallets; a list (1,8) runs each level (default 8).")
    parser.add_argument("--issuances", type=int, default=2000, help="Measured issuances per level (default 2000).")
    parser.add_argument("--warmup", type=int, default=100, help="Issuances before measuring (default 100).")
    parser.add_argument("--db", default="sqlite,postgres", help="openissuer databases: sqlite, postgres or both.")
    parser.add_argument("--workers", default="1,2", help="openissuer worker counts, e.g. 1,2 (default).")
    parser.add_argument("--offer-concurrency", type=int, help="Concurrent offer creations (default: the wallets).")
    parser.add_argument(
        "--new-connection-per-flow",
        action="store_true",
        help="Each flow opens its own connection (as a new wallet would); default: a wallet keeps its connection.",
    )
    parser.add_argument("--no-peer", action="store_true", help="Measure openissuer only.")
    parser.add_argument("--peer-dir", type=Path, default=DEFAULT_PEER_DIR, help=f"Default {DEFAULT_PEER_DIR}.")
    parser.add_argument("--peer-runs", type=int, default=2, choices=(1, 2), help="2: the peer runs first and last.")
    parser.add_argument("--server-cpus", default="0", help="taskset -c list for one-worker servers (default 0).")
    parser.add_argument("--multi-worker-cpus", default="0,1", help="taskset -c list with 2+ workers (default 0,1).")
    parser.add_argument("--client-cpu", type=int, default=1, help="The core of this process, the load (default 1).")
    parser.add_argument("--soak", type=int, default=0, help="Instead: this many issuances on one worker, RSS sampled.")
    parser.add_argument("--soak-sample", type=int, default=1000, help="Issuances between RSS samples (1000).")
    parser.add_argument("--rt-flows", type=int, default=30, help="Flows counted for round trips (0: skip; 30).")
    parser.add_argument("--rt-warmup", type=int, default=60, help="Flows before counting round trips (60).")
    parser.add_argument("--rt-settle", type=float, default=0.02, help="Pause (s) before reading the counters.")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        help="Before each server: wait up to this many seconds for the machine to be idle (< 0.15 cores busy).",
    )
    parser.add_argument(
        "--max-other-load",
        type=float,
        default=0.3,
        help="A run with more other load than this (cores) is repeated while --retries remain (default 0.3).",
    )
    parser.add_argument("--retries", type=int, default=0, help="Extra attempts for a noisy run (default 0).")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--output", type=Path, help="Also write the Markdown report here.")
    parser.add_argument("--json", type=Path, help="Also write every number as JSON here.")
    args = parser.parse_args(argv)
    args.dbs = [db for db in args.db.split(",") if db]
    args.worker_counts = [int(x) for x in args.workers.split(",")]
    args.wallet_levels = [int(x) for x in args.wallets.split(",")]
    if not set(args.dbs) <= {"sqlite", "postgres"}:
        parser.error("--db takes sqlite, postgres or sqlite,postgres")
    if args.soak and args.worker_counts != [1]:
        if "--workers" in (argv if argv is not None else sys.argv):
            parser.error("--soak measures one worker: use --workers 1")
        args.worker_counts = [1]
    if min(args.wallet_levels) < 1 or args.issuances < 1 or args.warmup < 1:
        parser.error("--wallets, --issuances and --warmup must be positive")
    return args


if __name__ == "__main__":
    main()
