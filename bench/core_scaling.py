"""How much two busy cores of this machine give against one: the ceiling of any 2-worker speed-up here.

    .venv/bin/python bench/core_scaling.py            # ~1 min

Runs the same CPU-bound work (ES256 sign + verify with ``cryptography``, and a pure-Python loop: the two kinds of
work an issuance is made of) in one process pinned to the first core of this process's affinity set, then in two
processes pinned to its first two cores, started together (a barrier), alternating a few rounds so that drift falls
on both. A ratio a little above 2 is noise. Reports the work done per second by one process
alone and by the two together, and their ratio. On a machine whose two vCPUs are independent cores the ratio is
close to 2; a lower ratio (SMT siblings on the host, or a hypervisor that does not give both at once) caps every
2-worker run, openissuer's or anyone's, no matter what the server does. Nothing else should run meanwhile: the
report shows the other load.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from proc_stats import machine_busy_seconds


def _ecdsa(seconds: float) -> int:
    key = ec.generate_private_key(ec.SECP256R1())
    public, message, done = key.public_key(), b"x" * 200, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(20):
            public.verify(key.sign(message, ec.ECDSA(hashes.SHA256())), message, ec.ECDSA(hashes.SHA256()))
        done += 20
    return done


def _python(seconds: float) -> int:
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        total = 0
        for i in range(20_000):
            total += i * i % 7
        data = {str(i): [i, str(i)] for i in range(200)}
        total += sum(len(v[1]) for v in data.values())
        done += 1
    return done


WORK: dict[str, Callable[[float], int]] = {"ES256 sign + verify": _ecdsa, "pure Python": _python}


def _pinned(core: int, kind: str, seconds: float, ready: Any, out: Any) -> None:
    os.sched_setaffinity(0, {core})
    WORK[kind](0.2)  # warm up (imports, key generation) before the common start
    ready.wait(timeout=60)
    out.put(WORK[kind](seconds))


def run_on(cores: list[int], kind: str, seconds: float) -> list[int]:
    """Run the work on each core at once (one process each, started together); return the work each did."""
    out = multiprocessing.Queue()
    ready = multiprocessing.Barrier(len(cores))
    processes = [multiprocessing.Process(target=_pinned, args=(c, kind, seconds, ready, out)) for c in cores]
    for process in processes:
        process.start()
    results = [out.get(timeout=seconds + 90) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="Length of each measurement (4 s).")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))[:2]
    if len(cores) < 2:
        raise SystemExit("needs two cores in this process's affinity set")
    busy_before, wall_before = machine_busy_seconds(), time.monotonic()
    rows = []
    for kind in WORK:
        alone, together = [], []
        for _ in range(args.rounds):
            alone.append(run_on(cores[:1], kind, args.seconds)[0] / args.seconds)
            together.append(sum(run_on(cores, kind, args.seconds)) / args.seconds)
        one, two = statistics.median(alone), statistics.median(together)
        rows.append(f"| {kind} | {one:,.0f} | {two:,.0f} | {two / one:.2f} |")
    elapsed = time.monotonic() - wall_before
    measured_busy = len(WORK) * args.rounds * 3 * args.seconds  # core-seconds of the measured work itself
    other = max(0.0, (machine_busy_seconds() - busy_before) - measured_busy) / elapsed
    print("# Two busy cores against one\n")
    print(f"`python bench/core_scaling.py --seconds {args.seconds} --rounds {args.rounds}`\n")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(f"- {stamp}; cores {cores[0]} and {cores[1]}; medians of the rounds.")
    print(f"- Other load, roughly (machine busy time beyond the work's own): {other:.2f} cores.\n")
    print(f"| work | per second, one process on core {cores[0]} | per second, two processes on both | two ÷ one |")
    print("|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
