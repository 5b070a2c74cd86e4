"""Markdown for bench/compare.py's report (a dict, also written as JSON with ``--json``)."""

from __future__ import annotations

import statistics
from typing import Any

from lean_wallet import STEPS

CLIENT_BUDGET_MS = 1.5  # the load generator's budget per issuance (issue text)


def _nan(value: float) -> bool:
    return value != value


def _f(value: float, digits: int = 2) -> str:
    return "—" if value is None or _nan(value) else f"{value:.{digits}f}"


def _lat(latency: dict[str, float]) -> str:
    return f"{latency['p50']:.1f} / {latency['p95']:.1f} / {latency['p99']:.1f}"


def _levels(report: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(run, level) for run in report["runs"] for level in run["levels"]]


def _errors(report: dict[str, Any]) -> list[str]:
    found = []
    for run in report["runs"]:
        for error in run.get("warmup_errors", []):
            found.append(f"{run['label']} warm-up: {error}")
        for level in run["levels"]:
            for error in level["errors"]:
                found.append(f"{run['label']} {level['wallets']} wallets: {error}")
            for error in level["offers"]["errors"]:
                found.append(f"{run['label']} offers: {error}")
            if level["issued"] < level["offers"]["count"] and not level["errors"]:
                found.append(f"{run['label']}: {level['issued']} of {level['offers']['count']} issued (time limit)")
        for sample in run.get("soak", []):
            for error in sample["errors"] + sample["offer_errors"]:
                found.append(f"{run['label']} soak: {error}")
    return found


def _peer_reference(report: dict[str, Any], wallets: int) -> dict[str, float] | None:
    levels = [lv for run, lv in _levels(report) if run["issuer"] == "peer" and lv["wallets"] == wallets]
    if not levels:
        return None
    return {
        "issuances_per_s": statistics.mean(lv["issuances_per_s"] for lv in levels),
        "server_cpu_ms": statistics.mean(lv["server_cpu_ms"] for lv in levels),
        "runs": len(levels),
    }


def _find(report: dict[str, Any], db: str, workers: int, wallets: int) -> dict[str, Any] | None:
    for run, level in _levels(report):
        same_run = run["issuer"] == "openissuer" and run["db"] == db and run["workers"] == workers
        if same_run and level["wallets"] == wallets:
            return level
    return None


def header(report: dict[str, Any]) -> list[str]:
    args = report["args"]
    floors = " / ".join(f"{floor['ms']:.3f}" for floor in report["floors"])
    credential_sizes: dict[str, float] = {}
    for run in report["runs"]:
        for level in run["levels"] + run.get("soak", []):
            credential_sizes.setdefault(run["issuer"], level["credential_chars"])
    sizes = ", ".join(f"{issuer} {size:,.0f}" for issuer, size in credential_sizes.items())
    lines = [
        "# openissuer and the peer issuer, same run",
        "",
        f"`{report['command']}`",
        "",
        f"- Started {report['started']}; {report['machine']}.",
        f"- openissuer: commit {report['commit']}, code {report['code']}.",
        f"- Peer: {report['peer'] or 'not run (--no-peer)'}.",
        f"- Pinning: one-worker servers and the peer on core(s) {args['server_cpus']} (`taskset -c`); openissuer "
        f"with 2+ workers on cores {args['multi_worker_cpus']}, **sharing core {args['client_cpu']} with the load "
        f"generator**; the load generator (this process, lean_wallet.py on uvloop) on core {args['client_cpu']} "
        "(`sched_setaffinity`). PostgreSQL's backends are the database server's processes and are not pinned: they "
        "run on whichever core is free.",
        "- Flow: offers by reference, created through each issuer's own API and fetched (`credential_offer_uri`) "
        "before the measured phase, both measured apart; measured: each wallet (own P-256 key, own keep-alive "
        "connection"
        + (
            ", **a new connection for every flow**, the connect counted in the token step"
            if args.get("new_connection_per_flow")
            else ", kept from flow to flow"
        )
        + ") runs token → nonce → credential (`proofs.jwt`, ES256). Server CPU = utime + stime of the "
        "server's process tree from /proc over the measured phase ÷ issuances.",
        f"- Credential: an mDL with {report['elements']} elements (16 + a 10 KB portrait) from both; median "
        f"credential size (base64url IssuerSigned, characters): {sizes or '—'}.",
        f"- Signature floor (one ES256 verify + one ES256 sign, `cryptography`, median of 7 batches of 400, on the "
        f"client core): **{report['floor_ms']:.3f} ms** (at start / after the runs / at the end: "
        f"{floors}).",
        "",
    ]
    errors = _errors(report)
    if errors:
        lines += [
            f"> **ERRORS: {len(errors)} failed flows, offers or incomplete phases. The numbers of the runs named "
            "below are not clean.**",
            ">",
            *[f"> - {error}" for error in errors[:12]],
            "",
        ]
    else:
        lines += ["No errors: every offer was created and fetched, every flow issued a credential.", ""]
    return lines


def throughput_table(report: dict[str, Any]) -> list[str]:
    floor = report["floor_ms"]
    lines = [
        "## Throughput and CPU per issuance",
        "",
        "| run | wallets | issued | issuances/s | server CPU ms/issuance | × floor | PG backends ms/issuance | "
        "server + PG ms/issuance | kernel share | context switches/issuance | server cores busy | "
        "client CPU ms/issuance | client core busy | other load (cores) | RSS MiB | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for run, lv in _levels(report):
        db = lv["db_cpu_ms"]
        both = lv["server_cpu_ms"] + (0.0 if _nan(db) else db)
        lines.append(
            f"| {run['label']} | {lv['wallets']} | {lv['issued']} | {lv['issuances_per_s']:.1f} | "
            f"{lv['server_cpu_ms']:.2f} | {lv['server_cpu_ms'] / floor:.0f}× | {_f(db)} | {both:.2f} | "
            f"{lv['server_system_share']:.0%} | {lv['server_switches']:.1f} | {lv['server_cores']:.2f} | "
            f"{lv['client_cpu_ms']:.2f} | {lv['client_cores']:.2f} | {lv['other_cores']:.2f} | "
            f"{', '.join(f'{r:.0f}' for r in lv['rss_mib'])} | {len(lv['errors'])} |"
        )
    noisy = [
        f"{run['label']} {lv['other_cores']:.2f} ("
        + ", ".join(f"{name} {cores:.2f}" for name, cores in lv["other_processes"].items() if cores >= 0.01)
        + ")"
        for run, lv in _levels(report)
        if lv["other_cores"] >= 0.1
    ]
    steal = max((lv["steal_cores"] for _, lv in _levels(report)), default=0.0)
    waits = [
        f"{run['label']} {run['quiet']['waited_s']:.0f} s" + ("" if run["quiet"]["quiet"] else " (not quiet)")
        for run in report["runs"]
        if run.get("quiet")
    ]
    repeated = [
        f"{run['label']} ({len(run['attempts'])} attempts, other load "
        + " / ".join(f"{load:.2f}" for load in run["attempts"])
        + ")"
        for run in report["runs"]
        if len(run.get("attempts", [])) > 1
    ]
    lines += [
        "",
        "Other load, in cores, with the busiest other processes over the measured phase (processes that start and "
        "end within the phase may escape the names): "
        + ("; ".join(noisy) if noisy else "below 0.1 core in every run")
        + f". Steal time (the hypervisor running something else): at most {steal:.2f} cores."
        + (f" Waited for a quiet machine (`--wait-quiet`) before: {', '.join(waits)}." if waits else "")
        + (
            f" Repeated because of other load (`--retries`, the least noisy attempt shown): {'; '.join(repeated)}."
            if repeated
            else ""
        ),
    ]
    client = [lv["client_cpu_ms"] for _, lv in _levels(report)]
    busy = [lv["client_cores"] for _, lv in _levels(report)]
    if client:
        verdict = "within" if max(client) <= CLIENT_BUDGET_MS else "**over**"
        lines += [
            "",
            f"Load generator: {min(client):.2f}–{max(client):.2f} ms CPU per issuance ({verdict} the "
            f"{CLIENT_BUDGET_MS} ms budget), its core busy {min(busy):.2f}–{max(busy):.2f} of 1.0"
            + (" — **the client was saturated in some runs**." if max(busy) > 0.9 else ", never saturated."),
        ]
    return [*lines, ""]


def latency_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "## Latency (ms, p50 / p95 / p99, as the wallet sees it)",
        "",
        "| run | wallets | token | nonce | credential | whole issuance | issuance p99 ÷ p50 |",
        "|---|---:|---|---|---|---|---:|",
    ]
    for run, lv in _levels(report):
        lat = lv["latency_ms"]
        lines.append(
            f"| {run['label']} | {lv['wallets']} | "
            + " | ".join(_lat(lat[step]) for step in (*STEPS, "flow"))
            + f" | {lat['flow']['p99'] / lat['flow']['p50']:.1f} |"
        )
    return [*lines, ""]


def ratio_table(report: dict[str, Any]) -> list[str]:
    lines = ["## openissuer ÷ peer (same run)", ""]
    wallets_seen = sorted({lv["wallets"] for _, lv in _levels(report)})
    rows = []
    for wallets in wallets_seen:
        peer = _peer_reference(report, wallets)
        if peer is None:
            continue
        rows.append(
            f"Peer at {wallets} wallets (mean of {peer['runs']} run(s)): {peer['issuances_per_s']:.1f} issuances/s, "
            f"{peer['server_cpu_ms']:.2f} ms server CPU per issuance."
        )
        for run, lv in _levels(report):
            if run["issuer"] != "openissuer" or lv["wallets"] != wallets:
                continue
            db = 0.0 if _nan(lv["db_cpu_ms"]) else lv["db_cpu_ms"]
            rows.append(
                f"| {run['label']} | {wallets} | {lv['issuances_per_s'] / peer['issuances_per_s']:.2f} | "
                f"{lv['server_cpu_ms'] / peer['server_cpu_ms']:.2f} | "
                f"{(lv['server_cpu_ms'] + db) / peer['server_cpu_ms']:.2f} |"
            )
    if not rows:
        return []
    table = [
        "| openissuer run | wallets | throughput ÷ peer's | server CPU per issuance ÷ peer's | "
        "(server + PG backends) ÷ peer's |",
        "|---|---:|---:|---:|---:|",
    ]
    notes = [row for row in rows if not row.startswith("|")]
    return [*lines, *notes, "", *table, *[row for row in rows if row.startswith("|")], ""]


def workers_table(report: dict[str, Any]) -> list[str]:
    counts = sorted({run["workers"] for run in report["runs"] if run["issuer"] == "openissuer"})
    if len(counts) < 2:
        return []
    first = counts[0]
    lines = [
        f"## Workers (relative to {first})",
        "",
        "| db | wallets | workers | cores | issuances/s | × throughput | server CPU ms/issuance | server cores busy | "
        "by process | PG backends cores busy | client core busy | other load (cores) |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for db in dict.fromkeys(run["db"] for run in report["runs"] if run["issuer"] == "openissuer"):
        for wallets in sorted({lv["wallets"] for _, lv in _levels(report)}):
            base = _find(report, db, first, wallets)
            for run in report["runs"]:
                if run["issuer"] != "openissuer" or run["db"] != db:
                    continue
                lv = _find(report, db, run["workers"], wallets)
                if base is None or lv is None:
                    continue
                lines.append(
                    f"| {db} | {wallets} | {run['workers']} | {run['cpus']} | {lv['issuances_per_s']:.1f} | "
                    f"{lv['issuances_per_s'] / base['issuances_per_s']:.2f} | {lv['server_cpu_ms']:.2f} | "
                    f"{lv['server_cores']:.2f} | {' + '.join(f'{c:.2f}' for c in lv['server_process_cores'])} | "
                    f"{_f(lv['db_cores'])} | {lv['client_cores']:.2f} | {lv['other_cores']:.2f} |"
                )
    return [*lines, ""]


def offers_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "## Offers, measured apart (the issuer backend creates them; the wallet fetches `credential_offer_uri`)",
        "",
        "| run | concurrency | offers | created/s | server CPU ms/offer (create) | PG ms/offer (create) | "
        "fetched/s | server CPU ms/offer (fetch) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run, lv in _levels(report):
        offers = lv["offers"]
        create, fetch = offers["create_cpu"], offers["resolve_cpu"]
        n = max(offers["created"], 1)
        lines.append(
            f"| {run['label']} | {report['args'].get('offer_concurrency') or lv['wallets']} | {offers['created']} | "
            f"{offers['created'] / offers['create_s']:.0f} | {create['server_cpu_s'] * 1000 / n:.2f} | "
            f"{_f(create['db_cpu_s'] * 1000 / n)} | {offers['resolved'] / offers['resolve_s']:.0f} | "
            f"{fetch['server_cpu_s'] * 1000 / max(offers['resolved'], 1):.2f} |"
        )
    return [
        *lines,
        "",
        "The peer makes its offers in batches of 1,000 per call (`POST /admin/offers?n=`), openissuer one per call "
        "through the management API: the create columns are not comparable between them.",
        "",
    ]


def _n(value: float) -> str:
    """A mean count: whole numbers as such, others with two decimals."""
    return f"{value:.0f}" if abs(value - round(value)) < 0.005 else f"{value:.2f}"


def _verbs(counts: dict[str, float]) -> str:
    verbs = {k.removeprefix("statement "): v for k, v in counts.items() if k.startswith("statement ") and v}
    return ", ".join(f"{verb} {_n(value)}" for verb, value in sorted(verbs.items(), key=lambda kv: -kv[1]))


def round_trip_tables(report: dict[str, Any]) -> list[str]:
    if not report["round_trips"]:
        return []
    lines = [
        "## Database round trips per request (openissuer, a separate phase: one wallet, one request at a time)",
        "",
    ]
    issuance = ("token", "nonce", "credential")
    for rt in report["round_trips"]:
        per = rt["per_request"]
        total: dict[str, float] = {}
        for step in issuance:
            for key, value in per[step].items():
                total[key] = total.get(key, 0.0) + value
        rows = [*((step, per[step]) for step in ("offer", "offer fetch", *issuance)), ("one issuance", total)]
        if rt["db"] == "postgres":
            lines += [
                f"**PostgreSQL**, counted on the wire by a proxy between the server and PostgreSQL (bench/pg_wire.py), "
                f"mean of {rt['flows']} flows after {rt['warmup']} warm-up flows:",
                "",
                "| request | round trips | statements | sync points | transaction blocks | autocommit statements | "
                "connections opened | statements by verb |",
                "|---|---:|---:|---:|---:|---:|---:|---|",
            ]
            for name, counts in rows:
                keys = ("round trips", "statements", "sync points", "transaction blocks", "autocommit statements")
                cells = " | ".join(_n(counts.get(key, 0)) for key in (*keys, "connections"))
                lines.append(f"| {name} | {cells} | {_verbs(counts)} |")
            per_flow = rt["pg_stat_xacts"] / rt["flows"] if rt["flows"] else float("nan")
            wire = sum(
                per[step].get("transaction blocks", 0) + per[step].get("autocommit statements", 0) for step in per
            )
            lines += [
                "",
                f"Cross-check from the database's own counters: `pg_stat_database` (xact_commit + xact_rollback) "
                f"moved by {rt['pg_stat_xacts']} over the counted flows, {per_flow:.2f} transactions per flow "
                f"(offer + fetch + issuance); on the wire: {wire:.2f} (transaction blocks + autocommit statements).",
                "",
            ]
        else:
            lines += [
                f"**SQLite**, counted by SQLite itself (a `sqlite3` trace callback on every connection the server "
                f"opens, bench/sqlite_traced_server.py), mean of {rt['flows']} flows after {rt['warmup']} warm-up "
                "flows. SQLite has no network round trip; each statement is one call into the engine (with "
                "aiosqlite, several hops to its thread).",
                "",
                "| request | statements | statements by verb |",
                "|---|---:|---|",
            ]
            for name, counts in rows:
                lines.append(f"| {name} | {_n(counts.get('statements', 0))} | {_verbs(counts)} |")
            lines.append("")
    return lines


def soak_table(report: dict[str, Any]) -> list[str]:
    runs = [run for run in report["runs"] if run.get("soak")]
    if not runs:
        return []
    lines = [
        f"## Soak: {report['args']['soak']:,} issuances, one worker, RSS every {report['args']['soak_sample']:,}",
        "",
        "| run | issued | RSS MiB | issuances/s | server CPU ms/issuance | credential p50 ms | issuance p99 ms | "
        "other load (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        rss = ", ".join(f"{r:.1f}" for r in run["rss_after_warmup"])
        lines.append(f"| {run['label']} | 0 (after warm-up) | {rss} | | | | | |")
        for s in run["soak"]:
            lines.append(
                f"| {run['label']} | {s['issued']:,} | {', '.join(f'{r:.1f}' for r in s['rss_mib'])} | "
                f"{s['issuances_per_s']:.1f} | {s['server_cpu_ms']:.2f} | {s['latency_ms']['credential']['p50']:.1f} "
                f"| {s['latency_ms']['flow']['p99']:.1f} | {s['other_cores']:.2f} |"
            )
    lines.append("")
    for run in runs:
        first, last = run["rss_after_warmup"], run["soak"][-1]["rss_mib"]
        if first and last:
            lines.append(
                f"{run['label']}: RSS {sum(first):.1f} → {sum(last):.1f} MiB after {run['soak'][-1]['issued']:,} "
                f"issuances ({sum(last) - sum(first):+.1f} MiB)."
            )
    return [*lines, ""]


def targets_table(report: dict[str, Any]) -> list[str]:
    levels = sorted({lv["wallets"] for _, lv in _levels(report)})
    wallets = 8 if 8 in levels else (levels[0] if levels else 0)
    floor = report["floor_ms"]
    peer = _peer_reference(report, wallets)
    rows = []
    cpu_parts, throughput_parts, workers_parts, tail_parts = [], [], [], []
    for db, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        one = _find(report, db, 1, wallets)
        if one is None:
            continue
        versus = f", {one['server_cpu_ms'] / peer['server_cpu_ms']:.2f}× the peer's" if peer else ""
        pg = "" if _nan(one["db_cpu_ms"]) else f" (+ {one['db_cpu_ms']:.2f} ms in PostgreSQL's backends)"
        cpu_parts.append(
            f"{name} **{one['server_cpu_ms']:.2f} ms** = {one['server_cpu_ms'] / floor:.0f}× floor{versus}{pg}"
        )
        if peer:
            throughput_parts.append(f"{name} {one['issuances_per_s'] / peer['issuances_per_s']:.2f}×")
        for run in report["runs"]:
            if run["issuer"] == "openissuer" and run["db"] == db and run["workers"] > 1:
                more = _find(report, db, run["workers"], wallets)
                if more:
                    workers_parts.append(
                        f"{name} {run['workers']} workers ÷ 1: {more['issuances_per_s'] / one['issuances_per_s']:.2f}× "
                        f"(server cores busy {one['server_cores']:.2f} → {more['server_cores']:.2f}, by process "
                        f"{' + '.join(f'{c:.2f}' for c in more['server_process_cores'])})"
                    )
        lat = one["latency_ms"]
        tail_parts.append(
            f"{name}: issuance p99 ÷ p50 {lat['flow']['p99'] / lat['flow']['p50']:.1f} "
            f"({lat['flow']['p50']:.0f} → {lat['flow']['p99']:.0f} ms), credential "
            f"{lat['credential']['p99'] / lat['credential']['p50']:.1f}"
        )
    if peer:
        cpu_parts.append(f"peer {peer['server_cpu_ms']:.2f} ms")
    if cpu_parts:
        rows.append(
            f"| server CPU per full pre-authorized mDoc issuance (token, nonce, credential), {wallets} wallets, "
            f"1 worker | {'; '.join(cpu_parts)} | (ratio only) |"
        )
    if peer and throughput_parts:
        met = all(float(part.split()[-1].rstrip("×")) >= 2 for part in throughput_parts)
        rows.append(
            f"| throughput at {wallets} wallets ≥ 2× the peer's (1 worker) | {'; '.join(throughput_parts)} | "
            f"{'yes' if met else '**no**'} |"
        )
    if workers_parts:
        rows.append(
            f"| 2 workers on 2 cores vs 1 worker, {wallets} wallets | {'; '.join(workers_parts)} | not cleanly "
            "measurable here: with 2 workers the server shares core 1 with the load generator, and PostgreSQL's "
            "backends need CPU too |"
        )
    if tail_parts:
        rows.append(f"| p99 vs p50 latency, {wallets} wallets, 1 worker | {'; '.join(tail_parts)} | (ratio only) |")
    soaks = [run for run in report["runs"] if run.get("soak")]
    if soaks:
        parts = [
            f"{run['label']} {sum(run['rss_after_warmup']):.1f} → {sum(run['soak'][-1]['rss_mib']):.1f} MiB over "
            f"{run['soak'][-1]['issued']:,}"
            for run in soaks
            if run["rss_after_warmup"] and run["soak"][-1]["rss_mib"]
        ]
        rows.append(f"| memory flat over 10,000 issuances | {'; '.join(parts)} | see the soak table |")
    else:
        rows.append("| memory flat over 10,000 issuances | not run in this invocation (`--soak 10000`) | — |")
    client = [lv["client_cpu_ms"] for _, lv in _levels(report)] + [
        s["client_cpu_ms"] for run in soaks for s in run["soak"]
    ]
    if client:
        rows.append(
            f"| load generator ≤ {CLIENT_BUDGET_MS} ms client CPU per issuance | "
            f"{min(client):.2f}–{max(client):.2f} ms | {'yes' if max(client) <= CLIENT_BUDGET_MS else '**no**'} |"
        )
    return [
        "## Targets (same-run ratios; nothing here is asserted by tests)",
        "",
        "| target | measured | met? |",
        "|---|---|---|",
        *rows,
        "",
    ]


def markdown(report: dict[str, Any]) -> str:
    lines = header(report)
    lines += targets_table(report)
    if any(run["levels"] for run in report["runs"]):
        lines += throughput_table(report)
        lines += ratio_table(report)
        lines += latency_table(report)
        lines += workers_table(report)
        lines += offers_table(report)
    lines += round_trip_tables(report)
    lines += soak_table(report)
    return "\n".join(lines).rstrip() + "\n"
