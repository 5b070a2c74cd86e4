"""Where the server's time goes during wallet flows: a py-spy CPU profile and database counts per request.

    .venv/bin/pip install py-spy          # once; not a project dependency
    .venv/bin/python bench/profile_issuance.py --db sqlite --wallets 8 --issuances 400

Starts one server worker under bench/instrumented_server.py (``openissuer serve`` plus database counters), sets up
the issuer, warms up, creates the offers, then samples the worker with ``py-spy record`` while the wallets run
token -> nonce -> credential. Idle samples (the event loop waiting) are left out by py-spy, so the percentages are
shares of the server's CPU time. Prints Markdown: CPU by component (self and inclusive), the heaviest functions,
the share of each endpoint, and the database statements / round trips per request.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import uvloop
from load import create_offers, new_http_client, run_wallets, set_up_issuer
from proc_stats import cpu_seconds, thread_cpu_seconds
from server_process import running_server

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
STDLIB = set(sys.stdlib_module_names)
# Endpoint handlers of src/openissuer/web/routers/wallet.py (a sample under one of them belongs to that endpoint).
ENDPOINTS = {"token": "POST token", "nonce": "POST nonce", "credential": "POST credential"}


def component(file: str) -> str:
    """Name the code a frame's file belongs to: an openissuer subpackage, a library, or the standard library."""
    parts = file.replace("\\", "/").split("/")
    if "openissuer" in parts:
        rest = parts[parts.index("openissuer") + 1 :]
        return "openissuer." + (rest[0].removesuffix(".py") if rest else "")
    top = parts[0].removesuffix(".py")
    if top in STDLIB or top.startswith("_"):
        return f"stdlib {top}"
    return top or "(unknown)"


def parse_raw(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    """Return (frames root-first as (function, file), count) from py-spy's ``--format raw`` output."""
    samples = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for raw in stack.split(";"):
            match = FRAME.match(raw)
            frames.append((match["function"], match["file"]) if match else (raw, ""))
        samples.append((frames, int(count)))
    return samples


def _pct(part: int, total: int) -> str:
    return f"{100 * part / total:.1f}%" if total else "—"


BUCKETS = {
    "psycopg": "database driver (psycopg: building and sending commands, socket I/O)",
    "aiosqlite": "database driver (aiosqlite: queueing calls to its thread, wake-ups)",
    "sqlite3": "database driver (aiosqlite: queueing calls to its thread, wake-ups)",
    "sqlalchemy": "SQLAlchemy Core (statement building, cache keys, execution context, results, pool, greenlets)",
    "greenlet": "SQLAlchemy Core (statement building, cache keys, execution context, results, pool, greenlets)",
    "cryptography": "signatures and mDoc encoding (openissuer.crypto / formats, cryptography, cbor2)",
    "cbor2": "signatures and mDoc encoding (openissuer.crypto / formats, cryptography, cbor2)",
    "openissuer.crypto": "signatures and mDoc encoding (openissuer.crypto / formats, cryptography, cbor2)",
    "openissuer.formats": "signatures and mDoc encoding (openissuer.crypto / formats, cryptography, cbor2)",
    "uvicorn": "HTTP server and framework (uvicorn, starlette, fastapi, anyio, openissuer.web)",
    "starlette": "HTTP server and framework (uvicorn, starlette, fastapi, anyio, openissuer.web)",
    "fastapi": "HTTP server and framework (uvicorn, starlette, fastapi, anyio, openissuer.web)",
    "anyio": "HTTP server and framework (uvicorn, starlette, fastapi, anyio, openissuer.web)",
    "python_multipart": "HTTP server and framework (uvicorn, starlette, fastapi, anyio, openissuer.web)",
    "openissuer.web": "HTTP server and framework (uvicorn, starlette, fastapi, anyio, openissuer.web)",
    "prometheus_client": "logging and metrics",
    "structlog": "logging and metrics",
    "stdlib logging": "logging and metrics",
    "instrumented_server": "the bench's own counters (instrumented_server.py)",
}
OTHER_OPENISSUER = "openissuer services, protocol, claims, adapters (their own Python)"


def cost_bucket(frames: list[tuple[str, str]]) -> str:
    """Attribute a sample to the library running it; standard-library frames count for the code that called them."""
    if not frames:
        return "(no Python frame: native code)"
    if frames[-1][0] == "Runner.run":
        return "event loop native code (uvloop: polling, callbacks, wake-ups)"
    for _, file in reversed(frames):
        name = component(file)
        if name.startswith("stdlib") or name.startswith("<"):
            continue
        if name in BUCKETS:
            return BUCKETS[name]
        return OTHER_OPENISSUER if name.startswith("openissuer") else f"other: {name}"
    return "standard library only"


def _endpoint(frames: list[tuple[str, str]]) -> str:
    for function, file in frames:
        if file.endswith("web/routers/wallet.py") and function in ENDPOINTS:
            return f"`{function}` endpoint handler and everything it awaits"
    if not frames or not frames[0][1]:
        return "(no Python frame: native code of the event loop)"
    if component(frames[0][1]) == "sqlalchemy":
        return "SQLAlchemy work inside its greenlets (statement execution; py-spy cannot tie it to a request)"
    return "HTTP server, framework and middleware outside the endpoint handlers"


def analyse(samples: list[tuple[list[tuple[str, str]], int]], top: int) -> str:
    """Render the profile of the event-loop thread as Markdown tables.

    Samples rooted in ``Thread._bootstrap`` are other threads (aiosqlite connections, anyio's pool): py-spy cannot
    tell when those wait, so they are counted apart and their real CPU is read from /proc instead.
    """
    other_threads = sum(count for frames, count in samples if frames and frames[0][0] == "Thread._bootstrap")
    samples = [(frames, count) for frames, count in samples if not frames or frames[0][0] != "Thread._bootstrap"]
    total = sum(count for _, count in samples)
    self_by_component: Counter[str] = Counter()
    self_by_file: Counter[str] = Counter()
    inclusive_by_component: Counter[str] = Counter()
    inclusive_openissuer: Counter[str] = Counter()
    inclusive_library: Counter[str] = Counter()
    by_endpoint: Counter[str] = Counter()
    by_bucket: Counter[str] = Counter()
    for frames, count in samples:
        by_endpoint[_endpoint(frames)] += count
        by_bucket[cost_bucket(frames)] += count
        if not frames:
            self_by_component["(no Python frame)"] += count
            continue
        leaf_file = frames[-1][1]
        self_by_component[component(leaf_file)] += count
        self_by_file[leaf_file or "(unknown)"] += count
        for name in {component(file) for _, file in frames}:
            inclusive_by_component[name] += count
        for function, file in set(frames):
            if component(file).startswith("openissuer"):
                inclusive_openissuer[f"{function} ({file})"] += count
            else:
                inclusive_library[f"{function} ({file})"] += count
    out = [
        f"{total} samples of the event-loop thread (idle excluded; {other_threads} samples of other threads left "
        "out, see the per-thread CPU above).",
        "",
    ]
    out += _table("Cost buckets (self time; standard-library calls count for their caller)", by_bucket, total, top)
    out += _table("Self time by component (the code running when sampled)", self_by_component, total, top)
    out += _table("Self time by file", self_by_file, total, top)
    out += _table("Inclusive time by component (on the stack when sampled)", inclusive_by_component, total, top)
    out += _table("Where the samples fall", by_endpoint, total, top)
    out += _table("Heaviest openissuer functions (inclusive)", inclusive_openissuer, total, top)
    out += _table("Heaviest library functions (inclusive)", inclusive_library, total, top)
    return "\n".join(out)


def _table(title: str, counter: Counter[str], total: int, top: int) -> list[str]:
    lines = [f"**{title}**", "", "| share | what |", "|---:|---|"]
    lines += [f"| {_pct(count, total)} | {name} |" for name, count in counter.most_common(top)]
    return [*lines, ""]


def database_table(stats: dict[str, Any]) -> str:
    """Render the per-request database counts of bench/instrumented_server.py as Markdown."""
    kinds = [
        "SQL statements",
        "commits",
        "rollbacks",
        "savepoints",
        "pool checkouts",
        "PostgreSQL round trips",
        "driver thread hops (aiosqlite)",
    ]
    lines = [
        "**Database work per request** (averages over the profiled requests)",
        "",
        "| request | requests | " + " | ".join(kinds) + " |",
        "|---|---:|" + "---:|" * len(kinds),
    ]
    shapes = ["", "**SQL statements (SQLAlchemy) and driver calls per request, by shape**", ""]
    for route, data in sorted(stats.items()):
        counts = data["counts"]
        requests = counts.get("requests", 0)
        if not requests:
            continue
        cells = [f"{counts.get(kind, 0) / requests:.2f}" for kind in kinds]
        lines.append(f"| {route} | {requests} | " + " | ".join(cells) + " |")
        ordered = sorted(data["statements"].items(), key=lambda item: -item[1])
        shapes.append(f"- {route}: " + "; ".join(f"{shape} ×{count / requests:.2f}" for shape, count in ordered))
        driver = sorted(data.get("driver", {}).items(), key=lambda item: -item[1])
        shapes.append("  - driver: " + "; ".join(f"{shape} ×{count / requests:.2f}" for shape, count in driver))
    return "\n".join(lines + shapes) + "\n"


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy (see bench/README.md)")
    return found


async def profile(args: argparse.Namespace, base_url: str, pid: int, raw_path: Path) -> dict[str, Any]:
    async with new_http_client(args.wallets + 4) as http:
        issuer = await set_up_issuer(http, base_url)
        deadline = time.monotonic() + 170
        concurrency = 1 if args.db == "sqlite" else args.wallets
        warm, _ = await create_offers(http, issuer, args.warmup, concurrency, deadline)
        await run_wallets(http, issuer, warm, min(args.wallets, 8), deadline)
        offers, offer_phase = await create_offers(http, issuer, args.issuances, concurrency, deadline)
        if offer_phase.errors:
            raise RuntimeError(f"offer creation failed: {offer_phase.errors[:3]}")
        await http.post(f"{base_url}/__bench/reset")
        command = [_py_spy(), "record", "--pid", str(pid), "--rate", str(args.rate), "--format", "raw"]
        command += ["--output", str(raw_path)]
        if not args.blocking:
            command.append("--nonblocking")
        if args.native:
            command.append("--native")
        if args.gil:
            command.append("--gil")
        spy = await asyncio.create_subprocess_exec(*command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        await asyncio.sleep(1.5)  # let py-spy attach before the load starts
        cpu_before, threads_before = cpu_seconds(pid), thread_cpu_seconds(pid)
        flows = await run_wallets(http, issuer, offers, args.wallets, time.monotonic() + 170)
        cpu_used, threads_after = cpu_seconds(pid) - cpu_before, thread_cpu_seconds(pid)
        main_thread = threads_after.get(pid, 0.0) - threads_before.get(pid, 0.0)
        other_threads = sum(v - threads_before.get(t, 0.0) for t, v in threads_after.items() if t != pid)
        spy.send_signal(signal.SIGINT)
        _, spy_err = await asyncio.wait_for(spy.communicate(), timeout=60)
        if spy.returncode not in (0, -signal.SIGINT):
            raise RuntimeError(f"py-spy failed: {spy_err.decode()[-2000:]}")
        stats = (await http.get(f"{base_url}/__bench/stats")).json()
        return {
            "flows": flows,
            "cpu_s": cpu_used,
            "main_thread_s": main_thread,
            "other_threads_s": other_threads,
            "threads": len(threads_after),
            "stats": stats,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--wallets", type=int, default=8)
    parser.add_argument("--issuances", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rate", type=int, default=500, help="py-spy samples per second (default 500).")
    parser.add_argument("--native", action="store_true", help="Also sample native frames (py-spy --native).")
    parser.add_argument(
        "--blocking",
        action="store_true",
        help="Pause the server for each sample: whole stacks, but time blocked in system calls counts as busy.",
    )
    parser.add_argument("--gil", action="store_true", help="Only sample the thread holding the GIL (py-spy --gil).")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="Copy py-spy's raw collapsed stacks here.")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="openissuer-profile-"))
    raw_path = workdir / "profile.raw"
    try:
        with running_server(db=args.db, workers=1, instrumented=True) as server:
            result = uvloop.run(profile(args, server.base_url, server.root_pid, raw_path))
        flows = result["flows"]
        print(f"`python bench/profile_issuance.py {' '.join(sys.argv[1:])}`\n")
        print(
            f"{args.db}, 1 worker, {args.wallets} wallets: {flows.count} issuances in {flows.seconds:.1f} s, "
            f"server CPU {result['cpu_s'] * 1000 / max(flows.count, 1):.2f} ms/issuance under py-spy "
            f"({args.rate} Hz{', blocking' if args.blocking else ', non-blocking'}), errors {len(flows.errors)}.\n"
        )
        n = max(flows.count, 1)
        print(
            f"Server CPU by thread: event-loop thread {result['main_thread_s'] * 1000 / n:.2f} ms/issuance, "
            f"the {result['threads'] - 1} other threads (aiosqlite connection threads, anyio thread pool) "
            f"{result['other_threads_s'] * 1000 / n:.2f} ms/issuance.\n"
        )
        samples = parse_raw(raw_path)
        main_samples = sum(c for frames, c in samples if not frames or frames[0][0] != "Thread._bootstrap")
        coverage = 100 * main_samples / args.rate / max(result["main_thread_s"], 1e-9)
        print(
            f"The event-loop thread's samples cover {coverage:.0f}% of its CPU time "
            "(over 100%: py-spy counted waiting as busy; read shares with care).\n"
        )
        print(analyse(samples, args.top))
        print(database_table(result["stats"]))
        if args.keep:
            shutil.copy(raw_path, args.keep)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
