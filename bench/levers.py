"""The lever table: the same load against several commits of openissuer and the Node.js peer, in one invocation.

    .venv/bin/python bench/levers.py --db sqlite,postgres --rounds 2 --output bench/results/levers.md

Each lever is a commit of this repository. The commits are checked out with ``git worktree add --detach`` into a
temporary directory, and each server runs that commit's code (``PYTHONPATH`` puts its ``src`` first; the
dependencies are this virtual environment's). The runs use compare.py's machinery unchanged: the same pinning, the
same lean load generator, the same CPU accounting. The order is interleaved (``--rounds`` times: the peer, then
every commit on every database), so that drift on a shared machine falls on all of them alike; each cell of the
table is the median over the rounds. The ratios are against the first commit (the baseline) and against the peer
of the same invocation. A lever given as ``label=dir:PATH`` is a tree used as it is (uncommitted or built code):
neither checked out nor removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import compare
from compare import measure_floor, prepared_peer, run_with_retries
from server_process import running_server

REPOSITORY = Path(__file__).resolve().parent.parent

# The levers of the hot-path issue, oldest first. Each is the commit right after the lever landed on main.
DEFAULT_LEVERS = (
    "session start (SQLAlchemy units of work, FastAPI routes)=eedb810",
    "issuance core: format plugins, tenants, configuration cache=42c8122",
    "driver-level store + stateless c_nonce=c9c0ea8",
    "plain ASGI wallet handlers + orjson=8068f67",
    "mDoc built without waste=de8fda3",
    "no pool reset query, SQLite checkpoints off the loop=2261622",
    "+ three formats, claims sources, compatibility, HAIP checks, rate limits, events, status lists=56eb4ec",
    "+ rarer SQLite checkpoints, orjson and faster ids, rate-limiter map updated in place=HEAD",
)


@dataclass(frozen=True)
class Lever:
    label: str
    ref: str
    commit: str  # the short commit, or a ``dir:`` lever's resolved path

    @property
    def short(self) -> str:
        """How a table names the lever's code: the commit, or the directory."""
        return self.commit if self.ref.startswith("dir:") else self.commit[:7]


def parse_levers(specs: list[str]) -> list[Lever]:
    levers = []
    for spec in specs:
        label, _, ref = spec.rpartition("=")
        if not label or not ref:
            raise SystemExit(f"--lever wants label=commit or label=dir:PATH, not {spec!r}")
        if ref.startswith("dir:"):
            tree = Path(ref.removeprefix("dir:")).resolve()
            if not (tree / "src" / "openissuer").is_dir():
                raise SystemExit(f"--lever {spec!r}: {tree} has no src/openissuer")
            levers.append(Lever(label, ref, str(tree)))
            continue
        commit = _git("rev-parse", "--short", ref)
        levers.append(Lever(label, ref, commit))
    return levers


def _git(*command: str) -> str:
    return subprocess.run(["git", *command], cwd=REPOSITORY, capture_output=True, text=True, check=True).stdout.strip()


@contextmanager
def checked_out(levers: list[Lever]) -> Iterator[dict[str, Path]]:
    """Check each lever's commit out into a temporary worktree; remove them afterwards. A ``dir:`` lever's tree
    (an uncommitted or built tree, used as it is) is neither created nor removed."""
    root = Path(tempfile.mkdtemp(prefix="openissuer-levers-"))
    trees: dict[str, Path] = {}
    given = {lever.commit: Path(lever.commit) for lever in levers if lever.ref.startswith("dir:")}
    try:
        for lever in levers:
            if lever.ref.startswith("dir:"):
                continue
            tree = root / lever.commit
            if lever.commit not in trees:
                _git("worktree", "add", "--detach", str(tree), lever.commit)
            trees[lever.commit] = tree
        yield {**trees, **given}
    finally:
        for tree in set(trees.values()):
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPOSITORY, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def code_of(tree: Path) -> Iterator[None]:
    """Let servers started meanwhile run the code in ``tree`` (its ``src`` ahead of the installed package)."""
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(tree / "src") + (os.pathsep + previous if previous else "")
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous


def _openissuer(args: argparse.Namespace, db: str, label: str) -> Any:
    @contextmanager
    def context() -> Iterator[compare.Target]:
        with running_server(db=db, workers=1, postgres_url=args.postgres_url, cpus=args.server_cpus) as server:
            database = None if db == "sqlite" else server.database
            yield compare.Target(
                "openissuer", label, db, 1, args.server_cpus, server.base_url, server.root_pid, database
            )

    return context()


def figures(run: dict[str, Any]) -> dict[str, float] | None:
    if not run.get("levels"):
        return None
    level = run["levels"][0]
    if level["errors"]:
        return None
    database = level["db_cpu_ms"]
    return {
        "throughput": level["issuances_per_s"],
        "cpu": level["server_cpu_ms"],
        "db": database if database == database else 0.0,  # NaN (no PostgreSQL backends) counts as 0
        "p50": level["latency_ms"]["flow"]["p50"],
        "p99": level["latency_ms"]["flow"]["p99"],
        "other": level["other_cores"],
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(levers: list[Lever], dbs: list[str], results: dict[tuple[str, str], list[dict[str, float]]]) -> str:
    peer = results.get(("peer", "peer"), [])
    peer_throughput = median([r["throughput"] for r in peer])
    peer_cpu = median([r["cpu"] for r in peer])
    lines = [
        "| lever (commit) | database | issuances/s | × baseline | ÷ peer | server CPU ms/issuance | × baseline "
        "| ÷ peer | PG backends ms | p99 ÷ p50 | other load (cores) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    if peer:
        lines.append(
            f"| Node.js peer (in memory) | — | {peer_throughput:.0f} | | 1.00 | {peer_cpu:.2f} | | 1.00 | — | "
            f"{median([r['p99'] / r['p50'] for r in peer]):.1f} | {median([r['other'] for r in peer]):.2f} |"
        )
    for db in dbs:
        base = results.get((levers[0].commit, db), [])
        base_throughput = median([r["throughput"] for r in base])
        base_cpu = median([r["cpu"] for r in base])
        for lever in levers:
            runs = results.get((lever.commit, db), [])
            if not runs:
                lines.append(f"| {lever.label} ({lever.commit}) | {db} | failed | | | | | | | | |")
                continue
            throughput = median([r["throughput"] for r in runs])
            cpu = median([r["cpu"] for r in runs])
            backends = median([r["db"] for r in runs])
            lines.append(
                f"| {lever.label} ({lever.commit}) | {db} | {throughput:.0f} | {throughput / base_throughput:.2f} | "
                f"{throughput / peer_throughput:.2f} | {cpu:.2f} | {cpu / base_cpu:.2f} | {cpu / peer_cpu:.2f} | "
                f"{backends:.2f} | {median([r['p99'] / r['p50'] for r in runs]):.1f} | "
                f"{median([r['other'] for r in runs]):.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--lever", action="append", help="label=commit or label=dir:PATH, oldest first (repeat); default: the issue's"
    )
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", type=Path)
    known, rest = parser.parse_known_args()
    levers = parse_levers(known.lever or list(DEFAULT_LEVERS))
    dbs = [db for db in known.db.split(",") if db]
    # compare.py's own options (wallets, issuances, pinning, --wait-quiet, --retries, ...) apply to every run.
    args = compare.parse_args(["--rt-flows", "0", *rest])
    os.sched_setaffinity(0, {args.client_cpu})
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    floors = [measure_floor()]
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with checked_out(levers) as trees, prepared_peer(args.peer_dir) as peer:
        for round_number in range(known.rounds):
            plan: list[tuple[tuple[str, str], str, Any]] = [
                (("peer", "peer"), "peer", lambda: compare._peer(args, peer, "peer"))
            ]
            for db in dbs:
                for lever in levers:
                    label = f"{lever.label} {db}"
                    plan.append(((lever.commit, db), label, (lever, db, label)))
            for key, label, make in plan:
                print(f"round {round_number + 1}: {label}", file=sys.stderr)
                if isinstance(make, tuple):
                    lever, db, label = make
                    with code_of(trees[lever.commit]):
                        run = run_with_retries(args, label, lambda db=db, label=label: _openissuer(args, db, label))
                else:
                    run = run_with_retries(args, label, make)
                measured = figures(run)
                if measured is not None:
                    results.setdefault(key, []).append(measured)
    floors.append(measure_floor())
    text = "\n".join(
        [
            "# The hot-path levers, same run",
            "",
            f"`python bench/levers.py {' '.join(sys.argv[1:])}`",
            "",
            f"- Started {started}; nproc {os.cpu_count()}; {known.rounds} round(s), each the peer then every commit on "
            "every database, interleaved; each cell is the median over the rounds.",
            f"- {args.wallets} wallets, {args.issuances} issuances per run, one worker pinned to core(s) "
            f"{args.server_cpus}, the load generator on core {args.client_cpu} (compare.py's method: offers created "
            "and fetched before the measured token → nonce → credential flows).",
            f"- Signature floor (one ES256 verify + sign) at start / end: {floors[0].ms:.3f} / {floors[-1].ms:.3f} ms.",
            "- Server CPU is the server's process tree; PostgreSQL's backends are the next column (not pinned).",
            "",
            table(levers, dbs, results),
            "",
        ]
    )
    if known.output:
        known.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
