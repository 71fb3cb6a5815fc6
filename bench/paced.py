"""The pacing tool of issue #11: an open-loop load of ~50 users each acting about once a second.

    .venv/bin/python bench/paced.py [--users 50] [--rate 50] [--duration 400]
                                    [--mix home=2,list=3,page=3,vote=2] [--session-age 3600]
                                    [--households 3000] [--issues 5000] [--comments 2000]
                                    [--timeout 10] [--postgres URL] [--no-write]

wrk measures a closed loop (N connections, each sending its next request when the last one is
answered), which hides a slow server behind fewer requests. This tool is open-loop: request k
is due at start + k / rate whatever happened before it, user k mod users sends it (so with 50
users at 50 requests/s each user acts once a second), and its latency is measured from the
time it was due, not from when it could be sent (corrected for coordinated omission: a
stalled server shows as the latency of every request that waited for it). The client is
asyncio (on uvloop when installed) + httpx in this process, one HTTP client (connection pool,
cookie) per user; the app runs in its own uvicorn process with the flags of every benchmark
(bench/serve.py).

The data: a hall of N households with one owner each (bench/vote.py), an open owners' ballot
over the hall, N issues and one issue with M comments (bench/run.py). The users are owners,
each with a session created `--session-age` seconds ago (default one hour: every session is
due for its `last_seen_at` touch from its first request). Each action is, by the weights of
`--mix`: the hall home GET /halls/{id}, the issue list GET /halls/{id}/issues, the issue
page GET /halls/{id}/issues/{id}, or a vote through the JSON API (201 with a receipt).

Run it for --duration 400 (the default): the app writes a session's `last_seen_at` at most
once per touch interval (YST_SESSION_TOUCH_SECONDS, 300 s, after the response:
app/accounts/sessions.py), and a run of 400 s takes every session past it, under load. Reported per
kind: count, p50/p90/p99/max latency, 5xx, other non-2xx/3xx, socket errors and timeouts
(no answer within --timeout); p99 and 5xx per minute; the client's own scheduling lag (how
late it sent, which the latencies already include); and "zero lost" for the votes (every
acknowledged receipt in the ledger). Targets: p99 < 100 ms, 0 5xx, 0 timeouts.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.db import Database  # noqa: E402
from bench import run as pages  # noqa: E402
from bench import vote  # noqa: E402
from bench.serve import APP, SECRET, fresh_database, machine, serve, write_section  # noqa: E402

T = TypeVar("T")
MARKER = "## Paced load: 50 users acting once a second (issue #11)"
KINDS = ("home", "list", "page", "vote")
LABELS = {
    "home": "hall home GET /halls/{id}",
    "list": "issue list GET /halls/{id}/issues",
    "page": "issue page GET /halls/{id}/issues/{id}",
    "vote": "vote POST /api/v1/…/votes (201)",
}
P99_TARGET_MS = 100


@dataclass
class Outcome:
    kind: str
    due: float  # seconds since the start
    latency_ms: float
    status: int = 0  # 0: no answer
    error: str = ""  # "timeout" or "socket"


@dataclass
class Load:
    outcomes: list[Outcome] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0


def parse_mix(text: str) -> dict[str, int]:
    mix = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind not in KINDS:
            raise SystemExit(f"--mix: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        mix[kind] = int(weight)
    return mix


async def drive(
    base: str,
    creds: list[tuple[str, str]],
    paths: dict[str, str],
    args: argparse.Namespace,
) -> Load:
    """Send request k at start + k / rate, each on its own task; gather the outcomes."""
    mix = parse_mix(args.mix)
    kinds = list(mix)
    weights = [mix[k] for k in kinds]
    rng = random.Random(11)
    timeout = httpx.Timeout(args.timeout)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=4)
    clients = [
        httpx.AsyncClient(
            base_url=base,
            headers={"Cookie": cookie},
            timeout=timeout,
            limits=limits,
            follow_redirects=False,
        )
        for cookie, _ in creds
    ]
    load = Load()
    loop = asyncio.get_running_loop()

    async def act(user: int, kind: str, due: float, start: float) -> None:
        client = clients[user]
        outcome = Outcome(kind=kind, due=due - start, latency_ms=0.0)
        try:
            if kind == "vote":
                response = await client.post(
                    paths["vote"],
                    headers={"X-CSRF-Token": creds[user][1], "Origin": base},
                    json={"option": rng.choice(["yes", "no"]), "submission_id": str(uuid.uuid4())},
                )
                if response.status_code == 201:
                    load.receipts.append(response.json()["receipt"])
            else:
                response = await client.get(paths[kind])
            outcome.status = response.status_code
        except httpx.TimeoutException:
            outcome.error = "timeout"
        except httpx.TransportError:
            outcome.error = "socket"
        outcome.latency_ms = (loop.time() - due) * 1000
        load.outcomes.append(outcome)

    total = int(args.rate * args.duration)
    tasks: set[asyncio.Task[None]] = set()
    start = loop.time() + 0.5
    started = time.monotonic()
    try:
        for k in range(total):
            due = start + k / args.rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            load.lags_ms.append(max(0.0, loop.time() - due) * 1000)
            kind = rng.choices(kinds, weights)[0]
            task = asyncio.create_task(act(k % len(clients), kind, due, start))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if k and k % (int(args.rate) * 60) == 0:
                print(f"{k / args.rate:.0f}s: {len(load.outcomes)} answered, {len(tasks)} open")
        await asyncio.gather(*tasks)
    finally:
        load.wall_s = time.monotonic() - started
        for client in clients:
            await client.aclose()
    return load


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """The client on uvloop when installed (less of its own lag), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def pct(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def summarize(load: Load, lost: int) -> tuple[str, str]:
    """The table per kind, and the per-minute line."""
    lines = [
        "| action | requests | p50 ms | p90 ms | p99 ms | max ms | 5xx | other non-2xx/3xx "
        "| socket errors | timeouts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in load.outcomes:
        groups[outcome.kind].append(outcome)
    order = [k for k in KINDS if k in groups]
    for kind, rows in [*((k, groups[k]) for k in order), ("all", load.outcomes)]:
        answered = sorted(o.latency_ms for o in rows)
        label = LABELS.get(kind, "**all**")
        lines.append(
            f"| {label} | {len(rows):,} | {pct(answered, 0.5):.1f} | {pct(answered, 0.9):.1f} "
            f"| {pct(answered, 0.99):.1f} | {pct(answered, 1.0):.1f} "
            f"| {sum(1 for o in rows if o.status >= 500)} "
            f"| {sum(1 for o in rows if 400 <= o.status < 500)} "
            f"| {sum(1 for o in rows if o.error == 'socket')} "
            f"| {sum(1 for o in rows if o.error == 'timeout')} |"
        )
    minutes: dict[int, list[Outcome]] = defaultdict(list)
    for outcome in load.outcomes:
        minutes[int(outcome.due // 60)].append(outcome)
    per_minute = " · ".join(
        f"{m + 1}: {pct(sorted(o.latency_ms for o in rows), 0.99):.0f} ms"
        + (f" ({n5} × 5xx)" if (n5 := sum(1 for o in rows if o.status >= 500)) else "")
        for m, rows in sorted(minutes.items())
    )
    lags = sorted(load.lags_ms)
    notes = (
        f"p99 per minute of the run: {per_minute}.\n\n"
        f"{len(load.outcomes):,} requests sent and answered in {load.wall_s:.1f} s "
        "(the last due time plus the wait for the last answers); the client's scheduling lag "
        f"(already inside the latencies) p99 {pct(lags, 0.99):.1f} ms, max {pct(lags, 1.0):.1f} ms. "
        f"Acknowledged votes {len(load.receipts):,}, lost {lost}."
    )
    return "\n".join(lines), notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rate", type=float, default=50.0, help="requests/s in all")
    parser.add_argument("--duration", type=int, default=400, help="seconds of load")
    parser.add_argument("--mix", default="home=2,list=3,page=3,vote=2", help="weights per action")
    parser.add_argument(
        "--session-age",
        type=float,
        default=3600,
        help="seconds since each session was last seen when the load starts",
    )
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds without an answer")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server instead of SQLite")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    assert args.users <= args.households, "every user is an owner"
    with fresh_database(args.postgres) as (url, tmp):
        started = time.monotonic()
        hall_id, ballot_id = vote.seed(url, args.households)
        db = Database.connect(url)
        try:
            users = vote.voters_of(db)[: args.users]
            with db.session() as s:
                big_id = pages.add_issues(
                    s,
                    hall_id=hall_id,
                    proposer_id=users[0].id or 0,
                    issues=args.issues,
                    comments=args.comments,
                )
            settings = Settings(database_url=url, secret_key=SECRET)
            vote.log_in_all(db, settings, users, tmp / "creds.tsv", age=args.session_age)
            creds = [
                (cookie, token)
                for cookie, token in (
                    line.split("\t")
                    for line in (tmp / "creds.tsv").read_text(encoding="utf-8").splitlines()
                )
            ]
            print(f"seeded in {time.monotonic() - started:.1f}s")
            paths = {
                "home": f"/halls/{hall_id}",
                "list": f"/halls/{hall_id}/issues",
                "page": f"/halls/{hall_id}/issues/{big_id}",
                "vote": f"/api/v1/halls/{hall_id}/ballots/{ballot_id}/votes",
            }
            before = vote.ledger_votes(db, ballot_id)
            with serve(APP, env={"DATABASE_URL": url}) as (base,):
                for kind in ("home", "list", "page"):  # warm up; fail loudly on an error page
                    response = httpx.get(
                        base + paths[kind], headers={"Cookie": creds[0][0]}, timeout=30
                    )
                    response.raise_for_status()
                print(
                    f"{args.users} users, {args.rate:g} requests/s for {args.duration}s "
                    f"against {base}"
                )
                load = run_loop(drive(base, creds, paths, args))
            lost = vote.check_lost(db, ballot_id, load.receipts, before)["lost"]
        finally:
            db.dispose()
    result, notes = summarize(load, lost)
    print(result)
    print(notes)
    fivexx = sum(1 for o in load.outcomes if o.status >= 500)
    timeouts = sum(1 for o in load.outcomes if o.error == "timeout")
    p99 = pct(sorted(o.latency_ms for o in load.outcomes), 0.99)
    verdict = (
        f"p99 {p99:.0f} ms (target < {P99_TARGET_MS} ms), {fivexx} × 5xx, {timeouts} timeouts "
        "(targets 0): "
        + ("met" if p99 < P99_TARGET_MS and not fivexx and not timeouts else "not met")
    )
    print(verdict)
    if not args.no_write:
        database = "PostgreSQL" if args.postgres else "SQLite (WAL, synchronous=FULL)"
        command = (
            f"`.venv/bin/python bench/paced.py --users {args.users} --rate {args.rate:g} "
            f"--duration {args.duration} --mix {args.mix} --session-age {args.session_age:g} "
            f"--households {args.households} --issues {args.issues} --comments {args.comments} "
            f"--timeout {args.timeout:g}" + (" --postgres URL" if args.postgres else "") + "`"
        )
        marker = MARKER + (", PostgreSQL" if args.postgres else "")
        write_section(
            marker,
            f"{marker}\n\n{machine(database)}. Open loop, paced by bench/paced.py (asyncio + "
            f"httpx in its own process): {args.rate:g} requests/s at fixed times for "
            f"{args.duration} s, request k sent by user k mod {args.users}, latency measured from "
            "the time each request was due (coordinated omission corrected). Sessions last seen "
            f"{args.session_age:g} s before the start, so every one is touched under load, and "
            "again every touch interval through the run.\n\n"
            f"Command: {command}\n\n{result}\n\n{notes}\n\n**{verdict}.**\n",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
