"""What PostgreSQL's backends of the bench databases are doing, sampled: a poor man's profiler of the database side.

    .venv/bin/python bench/pg_waits.py --seconds 50 &
    .venv/bin/python bench/compare.py --wallets 8 --db postgres --soak 8000 --no-peer

Polls ``pg_stat_activity`` every ``--interval`` seconds for the active backends of the databases whose name starts
with ``--database-prefix`` (compare.py's ``bench_``) and counts each (statement, wait event) pair, for the first and
the second half of the sampling apart, so a change over a long run shows. Prints Markdown. It reads only
``pg_stat_activity``: no extension (``pg_stat_statements`` needs a server restart) and nothing written.
"""

from __future__ import annotations

import argparse
import collections
import re
import time

import psycopg

_SPACES = re.compile(r"\s+")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=50.0)
    parser.add_argument("--interval", type=float, default=0.005)
    parser.add_argument("--database-prefix", default="bench_")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    total: collections.Counter[tuple[str, str]] = collections.Counter()
    halves = (collections.Counter[tuple[str, str]](), collections.Counter[tuple[str, str]]())
    query = (
        "SELECT query, coalesce(wait_event_type || ':' || wait_event, 'on CPU') FROM pg_stat_activity "
        "WHERE datname LIKE %s AND state = 'active'"
    )
    samples = 0
    with psycopg.connect(args.url, autocommit=True) as connection:
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < args.seconds:
            for text, wait in connection.execute(query, (args.database_prefix + "%",)).fetchall():
                key = (_SPACES.sub(" ", text or "").strip()[:80], wait)
                total[key] += 1
                halves[0 if elapsed < args.seconds / 2 else 1][key] += 1
            samples += 1
            time.sleep(args.interval)
    print(f"`python bench/pg_waits.py --seconds {args.seconds:g}`: {samples} samples of pg_stat_activity\n")
    print("| statement | wait | samples | first half | second half |")
    print("|---|---|---:|---:|---:|")
    for (text, wait), count in total.most_common(args.top):
        print(f"| `{text}` | {wait} | {count} | {halves[0][(text, wait)]} | {halves[1][(text, wait)]} |")


if __name__ == "__main__":
    main()
