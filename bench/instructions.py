"""Instructions per issuance, counted by callgrind: a repeatable figure for levers too small for a timed run.

    .venv/bin/python bench/instructions.py --lever before=16e38a5 --lever after=HEAD --db sqlite,postgres

This machine's speed drifts by ±20 % from one minute to the next, so a lever worth 1–3 % of an issuance's CPU cannot
be seen in a whole-server run (compare.py, levers.py). Instructions can: ``valgrind --tool=callgrind`` counts the
instructions a process executes, whatever else the machine is doing, and the count repeats for the same code and the
same inputs. What it does not count: time in the kernel (system calls, page faults), cache misses and waiting.

For each lever (a commit, checked out into a temporary worktree as levers.py does) and database, the server
(``openissuer serve``, one worker) runs under callgrind with instrumentation off, so that start-up and set-up run
at near native speed. The bench sets up the issuer (IACA, the mDL configuration of compare.py) and creates and
resolves the offers, then switches instrumentation on (``callgrind_control --instr=on``), warms up with
``--warmup`` flows, zeroes the counters, and lets **one wallet** run ``--issuances`` flows (token → nonce →
credential, compare.py's lean wallet and credential), one request at a time, so that the event loop does the same
steps in every run. Then it dumps the counters (``callgrind_control --dump``) and reports the server's instructions
(all its threads; PostgreSQL's backends are other processes and are not counted) per issuance, and the ratio to the
first lever. The webhook delivery worker is off in these runs: idle, it polls once a second, which counts per second
of the run, not per issuance (under callgrind a run's length varies with the machine's load). ``--repeat`` runs
everything again, interleaved, to show how well the count repeats (the offers, keys and ids are random, and the
server's timers tick a few times a second, so the last digits move).

Under callgrind the server is 20–50 × slower; a lever and database take 1–3 minutes with the defaults.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop
from compare import MAX_SECONDS_PER_PHASE, OpenissuerAdmin, prepare_offers
from lean_http import Client
from lean_wallet import discover, run_flows
from levers import checked_out, code_of, parse_levers
from server_process import DEFAULT_POSTGRES_URL, running_server


def _control(*arguments: str) -> None:
    subprocess.run(["callgrind_control", *arguments], check=True, capture_output=True, timeout=120)


def _instructions(dump: Path) -> int:
    """The ``summary:`` (or ``totals:``) line of a callgrind output file: instructions executed (Ir)."""
    for line in dump.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no summary in {dump}")


def _wait_for_dump(directory: Path, before: set[Path], timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [path for path in directory.glob("callgrind.out.*") if path not in before]
        if new:
            time.sleep(1)  # let callgrind finish writing it
            return max(new, key=lambda path: path.stat().st_mtime)
        time.sleep(0.2)
    raise RuntimeError("callgrind wrote no dump")


async def _drive(base_url: str, pid: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    admin = OpenissuerAdmin(base_url)
    await admin.set_up()
    deadline = time.monotonic() + MAX_SECONDS_PER_PHASE * 4
    offers, phase = await prepare_offers(admin, args.warmup + args.issuances, 1, None)
    if len(offers) != args.warmup + args.issuances:
        raise RuntimeError(f"offers: {phase['errors'][:3]}")
    client = Client()
    try:
        metadata = await discover(client, offers[0].credential_issuer)
    finally:
        client.close()
    _control("--instr=on", str(pid))
    warm = await run_flows(metadata, offers[: args.warmup], 1, deadline)
    _control("--zero", str(pid))
    before = set(out.glob("callgrind.out.*"))  # noqa: ASYNC240 - a bench, between two measured phases
    flows = await run_flows(metadata, offers[args.warmup :], 1, deadline)
    _control("--dump", str(pid))
    dump = _wait_for_dump(out, before)
    errors = warm.errors + flows.errors
    if errors or flows.issued != args.issuances:
        raise RuntimeError(f"{flows.issued} of {args.issuances} issued; errors: {errors[:3]}")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(dump, args.keep / f"callgrind.out.{time.strftime('%H%M%S')}.{pid}")
    return {"instructions": _instructions(dump) / flows.issued, "seconds": flows.seconds}


def measure(args: argparse.Namespace, db: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="callgrind-") as directory:
        out = Path(directory)
        wrapper = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}/callgrind.out.%p",
        ]
        with running_server(
            db=db,
            workers=1,
            postgres_url=args.postgres_url,
            wrapper=wrapper,
            ready_timeout=600,
            # The idle delivery worker polls once a second: instructions per second, not per issuance, which
            # would make the count depend on how fast the machine ran the phase.
            extra_env={"OPENISSUER_DELIVERY_WORKER": "false"},
        ) as server:
            return uvloop.run(_drive(server.base_url, server.root_pid, args, out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--lever", action="append", required=True, help="label=commit or label=dir:PATH (repeat; the first is the base)"
    )
    parser.add_argument("--db", default="sqlite", help="sqlite, postgres or both (comma-separated)")
    parser.add_argument("--issuances", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=1, help="interleaved repetitions of every lever and database")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--keep", type=Path, help="copy each run's callgrind dump here (for callgrind_annotate)")
    args = parser.parse_args()
    levers = parse_levers(args.lever)
    dbs = args.db.split(",")
    counts: dict[tuple[str, str], list[float]] = {}
    with checked_out(levers) as trees:
        for _ in range(args.repeat):
            for db in dbs:
                for lever in levers:
                    with code_of(trees[lever.commit]):
                        result = measure(args, db)
                    counts.setdefault((lever.label, db), []).append(result["instructions"])
                    print(
                        f"{lever.label} ({lever.short}) {db}: {result['instructions'] / 1e6:.3f} M instructions"
                        f" per issuance ({result['seconds']:.0f} s under callgrind)",
                        file=sys.stderr,
                        flush=True,
                    )
    lines = [
        f"`python bench/instructions.py {' '.join(sys.argv[1:])}`",
        "",
        f"- {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; one wallet, {args.issuances} issuances per run after "
        f"{args.warmup} warm-up flows; the server's instructions (callgrind, all threads, user space only)",
        "",
        "| lever | commit | " + " | ".join(f"{db}: M instructions per issuance | ÷ first" for db in dbs) + " |",
        "|---|---|" + "---:|---:|" * len(dbs),
    ]
    for lever in levers:
        cells = []
        for db in dbs:
            values = counts[(lever.label, db)]
            base = min(counts[(levers[0].label, db)])
            cells.append(", ".join(f"{v / 1e6:.3f}" for v in values) + f" | {min(values) / base:.3f}")
        lines.append(f"| {lever.label} | {lever.short} | " + " | ".join(cells) + " |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        args.output.write_text(report)


if __name__ == "__main__":
    main()
