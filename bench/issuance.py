"""Issuance benchmark: complete OID4VCI wallet flows against a running openissuer, with CPU per issuance.

    .venv/bin/python bench/issuance.py --db sqlite,postgres --wallets 1,8,32 --issuances 400 --workers 1
    .venv/bin/python bench/issuance.py --db postgres --wallets 8,32 --issuances 600 --workers 1,2
    .venv/bin/python bench/issuance.py --db postgres --wallets 8 --workers 1 --soak 10000

For each concurrency level the bench creates the offers through the management API (the "offer" phase, the issuer
backend's call, measured apart), then N wallets claim them: token -> nonce -> credential. Server CPU is read from
/proc for the server process and all its children (uvicorn workers) before and after each phase. In the same run
the signature floor (one ES256 verify + one ES256 sign with ``cryptography``) is measured, and CPU per issuance is
reported as a multiple of it. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench_wallet import STEPS
from load import Issuer, PhaseResult, create_offers, new_http_client, percentile, run_wallets, set_up_issuer
from proc_stats import (
    Usage,
    machine_busy_seconds,
    pids_listening_on,
    process_tree,
    rss_mib,
    tree_root,
    usage,
    usage_delta,
    worker_pids,
)
from server_process import DEFAULT_POSTGRES_URL, Server, code_under_test, postgres_backend_pids, running_server
from signature_floor import measure_floor

MAX_SECONDS_PER_PHASE = 170.0


@dataclass
class Target:
    """The server the bench measures: its URL, process tree root and (for PostgreSQL) its database."""

    base_url: str
    root_pid: int | None
    database: str | None  # PostgreSQL database whose backends are measured too
    postgres_url: str


class Meter:
    """CPU seconds of the server tree, of its PostgreSQL backends and of this process over one phase."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def _server(self) -> Usage:
        return usage([] if self.target.root_pid is None else process_tree(self.target.root_pid))

    def _database(self) -> Usage:
        if self.target.database is None:
            return usage([])
        return usage(postgres_backend_pids(self.target.postgres_url, self.target.database))

    def start(self) -> None:
        self._wall = time.perf_counter()
        self._client = time.process_time()
        self._machine = machine_busy_seconds()
        self._db = self._database()
        self._srv = self._server()

    def stop(self) -> dict[str, float]:
        srv, db = self._server(), self._database()
        user, system, switches = usage_delta(self._srv, srv)
        db_user, db_system, _ = usage_delta(self._db, db)
        measured = self.target.root_pid is not None
        client = time.process_time() - self._client
        machine = machine_busy_seconds() - self._machine
        ours = (user + system if measured else 0.0) + db_user + db_system + client
        return {
            "machine_cpu_s": machine,
            "other_cpu_s": max(machine - ours, 0.0),
            "wall_s": time.perf_counter() - self._wall,
            "server_cpu_s": user + system if measured else float("nan"),
            "server_system_s": system if measured else float("nan"),
            "server_switches": switches if measured else float("nan"),
            "db_cpu_s": db_user + db_system if self.target.database else float("nan"),
            "client_cpu_s": client,
        }


def _latency_ms(values: list[float]) -> dict[str, float]:
    return {f"p{q}": percentile(values, q) * 1000 for q in (50, 95, 99)}


def summarise(
    wallets: int, offers: PhaseResult, offer_cpu: dict[str, float], flows: PhaseResult, cpu: dict[str, float]
) -> dict[str, Any]:
    """One level's numbers: throughput, latency per step, CPU per issuance (server, database, client)."""
    n = max(flows.count, 1)
    return {
        "wallets": wallets,
        "issuances": flows.count,
        "errors": flows.errors + offers.errors,
        "issuances_per_s": flows.count / flows.seconds if flows.seconds else 0.0,
        "latency_ms": {step: _latency_ms(flows.timings[step]) for step in (*STEPS, "flow")},
        "server_cpu_ms": cpu["server_cpu_s"] * 1000 / n,
        "server_system_share": cpu["server_system_s"] / cpu["server_cpu_s"] if cpu["server_cpu_s"] else 0.0,
        "server_switches": cpu["server_switches"] / n,
        "db_cpu_ms": cpu["db_cpu_s"] * 1000 / n,
        "client_cpu_ms": cpu["client_cpu_s"] * 1000 / n,
        "server_busy_cores": cpu["server_cpu_s"] / cpu["wall_s"],
        "other_busy_cores": cpu["other_cpu_s"] / cpu["wall_s"],
        "offer": {
            "count": offers.count,
            "per_s": offers.count / offers.seconds if offers.seconds else 0.0,
            "latency_ms": _latency_ms(offers.timings["offer"]),
            "server_cpu_ms": offer_cpu["server_cpu_s"] * 1000 / max(offers.count, 1),
            "db_cpu_ms": offer_cpu["db_cpu_s"] * 1000 / max(offers.count, 1),
        },
    }


async def run_level(
    http: Any, issuer: Issuer, meter: Meter, wallets: int, issuances: int, offer_concurrency: int | None
) -> dict[str, Any]:
    meter.start()
    concurrency = offer_concurrency or wallets
    offers, offer_phase = await create_offers(
        http, issuer, issuances, concurrency, time.monotonic() + MAX_SECONDS_PER_PHASE
    )
    offer_cpu = meter.stop()
    meter.start()
    flows = await run_wallets(http, issuer, offers, wallets, time.monotonic() + MAX_SECONDS_PER_PHASE)
    cpu = meter.stop()
    level = summarise(wallets, offer_phase, offer_cpu, flows, cpu)
    level["offer"]["concurrency"] = concurrency
    return level


def _rss(target: Target) -> list[float]:
    if target.root_pid is None:
        return []
    return [value for pid in worker_pids(target.root_pid) if (value := rss_mib(pid)) is not None]


async def bench(args: argparse.Namespace, target: Target, offer_concurrency: int | None) -> dict[str, Any]:
    levels = [int(x) for x in args.wallets.split(",")]
    async with new_http_client(max(levels) + 4) as http:
        issuer = await set_up_issuer(http, target.base_url)
        meter = Meter(target)
        if args.warmup:  # first issuance creates the document signer; caches and pools fill up
            warm = await run_level(http, issuer, meter, min(8, max(levels)), args.warmup, offer_concurrency)
            if warm["errors"]:
                raise RuntimeError(f"warm-up failed: {warm['errors'][:3]}")
        results: dict[str, Any] = {"rss_mib_after_warmup": _rss(target), "levels": [], "soak": []}
        if args.soak:
            results["soak"] = await soak(http, issuer, meter, target, args, offer_concurrency)
            return results
        for wallets in levels:
            level = await run_level(http, issuer, meter, wallets, args.issuances, offer_concurrency)
            level["rss_mib"] = _rss(target)
            results["levels"].append(level)
            print(_level_line(level), file=sys.stderr, flush=True)
        return results


async def soak(
    http: Any, issuer: Issuer, meter: Meter, target: Target, args: argparse.Namespace, offer_concurrency: int | None
) -> list[Any]:
    """Issue ``--soak`` credentials in chunks of ``--soak-sample``, sampling worker RSS after each chunk."""
    samples = []
    done = 0
    wallets = int(args.wallets.split(",")[0])
    while done < args.soak:
        chunk = min(args.soak_sample, args.soak - done)
        level = await run_level(http, issuer, meter, wallets, chunk, offer_concurrency)
        if level["errors"]:
            raise RuntimeError(f"soak failed after {done} issuances: {level['errors'][:3]}")
        done += level["issuances"]
        sample = {
            "issued": done,
            "rss_mib": _rss(target),
            "issuances_per_s": level["issuances_per_s"],
            "server_cpu_ms": level["server_cpu_ms"],
            "credential_p50_ms": level["latency_ms"]["credential"]["p50"],
        }
        samples.append(sample)
        print(f"soak {done:>6}: RSS {sample['rss_mib']} MiB, {sample['issuances_per_s']:.0f}/s", file=sys.stderr)
    return samples


def _level_line(level: dict[str, Any]) -> str:
    return (
        f"{level['wallets']:>3} wallets: {level['issuances']} issuances, {level['issuances_per_s']:.1f}/s, "
        f"server CPU {level['server_cpu_ms']:.2f} ms/issuance, errors {len(level['errors'])}"
    )


def _fmt(latency: dict[str, float]) -> str:
    return f"{latency['p50']:.1f} / {latency['p95']:.1f} / {latency['p99']:.1f}"


def markdown(report: dict[str, Any]) -> str:
    """Render the report's tables as Markdown (what docs/performance.md shows)."""
    floor = report["floor_ms"]
    lines = [
        f"**{report['db']}, {report['workers']} worker(s)**; machine: {report['machine']}. Signature floor "
        f"(ES256 verify + sign, median CPU): {floor:.3f} ms (before {report['floor_before_ms']:.3f}, "
        f"after {report['floor_after_ms']:.3f}). Started {report['started']}; code: {report['code']}.",
        "",
    ]
    if report["levels"]:
        lines += [
            "| wallets | issuances | issuances/s | token p50/p95/p99 ms | nonce p50/p95/p99 ms | "
            "credential p50/p95/p99 ms | whole flow p50/p99 ms |",
            "|---:|---:|---:|---|---|---|---|",
        ]
        for lv in report["levels"]:
            lat = lv["latency_ms"]
            lines.append(
                f"| {lv['wallets']} | {lv['issuances']} | {lv['issuances_per_s']:.1f} | {_fmt(lat['token'])} | "
                f"{_fmt(lat['nonce'])} | {_fmt(lat['credential'])} | "
                f"{lat['flow']['p50']:.1f} / {lat['flow']['p99']:.1f} |"
            )
        lines += [
            "",
            "| wallets | server CPU ms/issuance | × floor | kernel share | context switches/issuance | "
            "server cores busy | PG backends CPU ms/issuance | bench client CPU ms/issuance | "
            "other load (cores) | worker RSS MiB |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for lv in report["levels"]:
            db_cpu = "—" if lv["db_cpu_ms"] != lv["db_cpu_ms"] else f"{lv['db_cpu_ms']:.2f}"
            lines.append(
                f"| {lv['wallets']} | {lv['server_cpu_ms']:.2f} | {lv['server_cpu_ms'] / floor:.0f}× | "
                f"{lv['server_system_share']:.0%} | {lv['server_switches']:.0f} | {lv['server_busy_cores']:.2f} | "
                f"{db_cpu} | {lv['client_cpu_ms']:.2f} | {lv['other_busy_cores']:.2f} | "
                f"{', '.join(f'{r:.0f}' for r in lv['rss_mib'])} |"
            )
        lines += [
            "",
            "Offer creation (management API, the issuer backend's call), before each level:",
            "",
            "| concurrency | offers/s | offer p50/p95/p99 ms | server CPU ms/offer | × floor |",
            "|---:|---:|---|---:|---:|",
        ]
        for lv in report["levels"]:
            offer = lv["offer"]
            lines.append(
                f"| {offer['concurrency']} | {offer['per_s']:.1f} | {_fmt(offer['latency_ms'])} | "
                f"{offer['server_cpu_ms']:.2f} | {offer['server_cpu_ms'] / floor:.0f}× |"
            )
    if report["soak"]:
        lines += [
            "",
            "| issued | worker RSS MiB | issuances/s | server CPU ms/issuance | credential p50 ms |",
            "|---:|---:|---:|---:|---:|",
            f"| 0 (after warm-up) | {', '.join(f'{r:.1f}' for r in report['rss_mib_after_warmup'])} | | | |",
        ]
        for s in report["soak"]:
            lines.append(
                f"| {s['issued']} | {', '.join(f'{r:.1f}' for r in s['rss_mib'])} | {s['issuances_per_s']:.1f} | "
                f"{s['server_cpu_ms']:.2f} | {s['credential_p50_ms']:.1f} |"
            )
    errors = [e for lv in report["levels"] for e in lv["errors"]]
    if errors:
        lines += ["", f"Errors ({len(errors)}): {errors[:3]}"]
    return "\n".join(lines) + "\n"


def comparisons(runs: list[dict[str, Any]]) -> str:
    """Ratios between the runs of one invocation: PostgreSQL / SQLite, and each worker count / the first."""
    lines: list[str] = []
    by_key = {(run["db"], run["workers"], lv["wallets"]): lv for run in runs for lv in run["levels"]}
    dbs = list(dict.fromkeys(run["db"] for run in runs))
    workers = list(dict.fromkeys(run["workers"] for run in runs))
    wallets = list(dict.fromkeys(key[2] for key in by_key))
    if len(dbs) == 2:
        lines += [
            "**PostgreSQL / SQLite, same invocation**",
            "",
            "| workers | wallets | SQLite CPU ms/issuance | PostgreSQL CPU ms/issuance | ratio | ratio with PG "
            "backends' CPU | SQLite issuances/s | PostgreSQL issuances/s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for w in workers:
            for n in wallets:
                lite, pg = by_key.get(("sqlite", w, n)), by_key.get(("postgres", w, n))
                if lite and pg:
                    lines.append(
                        f"| {w} | {n} | {lite['server_cpu_ms']:.2f} | {pg['server_cpu_ms']:.2f} | "
                        f"{pg['server_cpu_ms'] / lite['server_cpu_ms']:.2f} | "
                        f"{(pg['server_cpu_ms'] + pg['db_cpu_ms']) / lite['server_cpu_ms']:.2f} | "
                        f"{lite['issuances_per_s']:.1f} | {pg['issuances_per_s']:.1f} |"
                    )
        lines.append("")
    if len(workers) > 1:
        first = workers[0]
        lines += [
            f"**Workers, same invocation (relative to {first} worker{'s' if first > 1 else ''})**",
            "",
            "| db | wallets | workers | issuances/s | × throughput | server CPU ms/issuance | server cores busy | "
            "bench client CPU ms/issuance | other load (cores) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for db in dbs:
            for n in wallets:
                base = by_key.get((db, first, n))
                for w in workers:
                    lv = by_key.get((db, w, n))
                    if base and lv:
                        lines.append(
                            f"| {db} | {n} | {w} | {lv['issuances_per_s']:.1f} | "
                            f"{lv['issuances_per_s'] / base['issuances_per_s']:.2f} | {lv['server_cpu_ms']:.2f} | "
                            f"{lv['server_busy_cores']:.2f} | {lv['client_cpu_ms']:.2f} | "
                            f"{lv['other_busy_cores']:.2f} |"
                        )
        lines.append("")
    return "\n".join(lines)


def _attach(args: argparse.Namespace) -> Target:
    parts = urlsplit(args.server_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("--server-url must be on this machine (127.0.0.1): the bench sends load only there")
    root = args.server_pid
    if root is None and parts.port:
        root = tree_root(pids_listening_on(parts.port))
    if root is None:
        print("warning: server process not found; CPU and RSS are not measured (use --server-pid)", file=sys.stderr)
    return Target(args.server_url.rstrip("/"), root, args.pg_database, args.postgres_url)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--db", default="sqlite", help="sqlite, postgres, or both as sqlite,postgres (run one after the other)."
    )
    parser.add_argument("--wallets", default="1,8,32", help="Concurrency levels, comma-separated (default 1,8,32).")
    parser.add_argument("--issuances", type=int, default=300, help="Issuances per level (default 300).")
    parser.add_argument("--workers", default="1", help="Server worker processes; a list such as 1,2 runs each.")
    parser.add_argument("--warmup", type=int, default=50, help="Issuances before measuring (default 50).")
    parser.add_argument("--soak", type=int, default=0, help="Instead of levels: this many issuances, RSS sampled.")
    parser.add_argument("--soak-sample", type=int, default=1000, help="Issuances between RSS samples.")
    parser.add_argument(
        "--offer-concurrency",
        type=int,
        help="Concurrent offer creations (default: the level's wallet count; 1 on SQLite, see bench/README.md).",
    )
    parser.add_argument("--server-url", help="Measure an already running server instead of starting one.")
    parser.add_argument("--server-pid", type=int, help="Its process id (found from the port when omitted).")
    parser.add_argument("--pg-database", help="With --server-url: its PostgreSQL database, to measure backends.")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--json", type=Path, help="Also write the full results as JSON here.")
    args = parser.parse_args(argv)
    args.dbs = args.db.split(",")
    args.worker_counts = [int(x) for x in args.workers.split(",")]
    if not set(args.dbs) <= {"sqlite", "postgres"}:
        parser.error("--db takes sqlite, postgres or sqlite,postgres")
    if args.soak and args.worker_counts != [1] and not args.server_url:
        parser.error("--soak measures one worker: use --workers 1")
    if args.server_url and (len(args.dbs) > 1 or len(args.worker_counts) > 1):
        parser.error("--server-url measures one server: give one --db and one --workers")
    return args


def _run_async(coroutine: Any) -> Any:
    """Run the load on uvloop when it is installed (it is, with uvicorn[standard]): less client CPU per request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def run_one(args: argparse.Namespace, db: str, workers: int) -> dict[str, Any]:
    """Start (or attach to) one server and run the levels or the soak against it."""
    offer_concurrency = args.offer_concurrency or (1 if db == "sqlite" else None)
    with ExitStack() as stack:
        if args.server_url:
            target = _attach(args)
            if target.root_pid is not None:
                workers = len(worker_pids(target.root_pid))
        else:
            server: Server = stack.enter_context(running_server(db=db, workers=workers))
            database = None if db == "sqlite" else server.database
            target = Target(server.base_url, server.root_pid, database, args.postgres_url)
        started = time.time()
        results = _run_async(bench(args, target, offer_concurrency))
    return {
        "db": db,
        "workers": workers,
        "code": "the attached server's (not known to the bench)" if args.server_url else code_under_test(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        **results,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    command = "python bench/issuance.py " + " ".join(sys.argv[1:] if argv is None else argv)
    floors = [measure_floor()]
    runs = []
    for db in args.dbs:
        for workers in args.worker_counts:
            runs.append(run_one(args, db, workers))
            floors.append(measure_floor())  # the floor around each run: before it and after it
    machine = f"nproc {os.cpu_count()}, Python {platform.python_version()}, {platform.machine()}"
    for index, run in enumerate(runs):
        run.update(
            command=command,
            machine=machine,
            floor_before_ms=floors[index].ms,
            floor_after_ms=floors[index + 1].ms,
            floor_ms=statistics.mean([floors[index].ms, floors[index + 1].ms]),
        )
    if args.json:
        floor_batches = [asdict(floor) for floor in floors]
        args.json.write_text(json.dumps({"runs": runs, "floors": floor_batches}, indent=2))
    print(f"`{command}`\n")
    for run in runs:
        print(markdown(run))
    print(comparisons(runs))


if __name__ == "__main__":
    main()
