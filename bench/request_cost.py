"""What one cheap wallet request costs the server: a nonce-only load, per commit, next to a bare HTTP server.

    .venv/bin/python bench/request_cost.py --lever before=2c78663 --lever after=HEAD --rounds 2

The nonce endpoint does almost nothing of its own (a MAC over an expiry, no database), so its cost is mostly the HTTP
server, the framework and the request middleware: what every wallet request pays before its handler's own work.
For each ``--lever`` (a commit checked out into a temporary worktree, or ``dir:PATH``, as in levers.py) and round,
one openissuer worker on SQLite, pinned to core 0, answers ``--requests`` (20,000) ``POST /v1/openid/nonce`` from
``--connections`` (8) keep-alive connections of lean_http.py's client on core 1, after 1,600 not measured; then the
same load against a bare server in this directory's ``bare_http_server`` (uvloop + httptools, one fixed response of
the same size, nothing else): the floor of a Python HTTP server on this machine. Reported: the server's CPU per
request (its process tree, from /proc), requests per second and the client's CPU per request, medians over rounds.

The load runs flat out, so the client is busier here than in an issuance run (where it sleeps between responses and
each response wakes it): the kernel's share of a request differs, and the bare server's figure is a floor, not a
target. Compare the levers with each other, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import uvloop
from lean_http import Connection
from levers import checked_out, code_of, parse_levers
from proc_stats import cpu_seconds
from server_process import free_port, running_server

WARMUP_PER_CONNECTION = 200
BARE_SERVER = Path(__file__).with_name("bare_http_server.py")


async def _load(port: int, pid: int, requests: int, connections: int) -> tuple[float, float, float]:
    """Warm up, then send ``requests`` nonce requests; return server µs/request, requests/s, client µs/request."""
    request = f"POST /v1/openid/nonce HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n".encode()
    clients = [Connection("127.0.0.1", port) for _ in range(connections)]

    async def send(client: Connection, count: int) -> None:
        for _ in range(count):
            response = await client.send(request)
            if response.status != 200:
                raise RuntimeError(f"{response.status}: {response.body[:200]!r}")

    try:
        await asyncio.gather(*(send(client, WARMUP_PER_CONNECTION) for client in clients))
        server_before, wall_before, client_before = cpu_seconds(pid), time.monotonic(), time.process_time()
        await asyncio.gather(*(send(client, requests // connections) for client in clients))
        server, wall = cpu_seconds(pid) - server_before, time.monotonic() - wall_before
        client = time.process_time() - client_before
    finally:
        for connection in clients:
            connection.close()
    sent = requests // connections * connections
    return server / sent * 1e6, sent / wall, client / sent * 1e6


def _bare(args: argparse.Namespace) -> tuple[float, float, float]:
    port = free_port()
    command = ["taskset", "-c", args.server_cpus, sys.executable, str(BARE_SERVER), str(port)]
    process = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                return uvloop.run(_load(port, process.pid, args.requests, args.connections))
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        process.kill()
        process.wait()


def _openissuer(args: argparse.Namespace) -> tuple[float, float, float]:
    with running_server(db="sqlite", workers=1, cpus=args.server_cpus) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        return uvloop.run(_load(port, server.root_pid, args.requests, args.connections))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lever", action="append", help="label=commit or label=dir:PATH (repeat); default HEAD")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.client_cpu})
    levers = parse_levers(args.lever or ["HEAD=HEAD"])
    results: dict[str, list[tuple[float, float, float]]] = {}
    with checked_out(levers) as trees:
        for round_number in range(args.rounds):
            for lever in levers:
                with code_of(trees[lever.commit]):
                    results.setdefault(f"{lever.label} ({lever.short})", []).append(_openissuer(args))
                print(f"round {round_number + 1}: {lever.label} {results[f'{lever.label} ({lever.short})'][-1]}")
            results.setdefault("bare uvloop + httptools server", []).append(_bare(args))
    lines = [
        "# What a nonce request costs the server",
        "",
        f"`python bench/request_cost.py {' '.join(sys.argv[1:])}`",
        "",
        f"- {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {args.requests} requests on {args.connections} keep-alive "
        f"connections per run, {args.rounds} round(s), medians; server on core(s) {args.server_cpus}, client on "
        f"core {args.client_cpu}; openissuer: one worker on SQLite.",
        "",
        "| server | server CPU µs/request | requests/s | client CPU µs/request | per round (server µs) |",
        "|---|---:|---:|---:|---|",
    ]
    for name, runs in results.items():
        server, rate, client = (statistics.median(run[i] for run in runs) for i in range(3))
        rounds = ", ".join(f"{run[0]:.1f}" for run in runs)
        lines.append(f"| {name} | {server:.1f} | {rate:.0f} | {client:.1f} | {rounds} |")
    text = "\n".join(lines) + "\n"
    if args.output:
        args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
