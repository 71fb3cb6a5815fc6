"""Benchmark casting votes and tallying an owners' ballot (issue #4).

    .venv/bin/python bench/vote.py [--households 3000] [--duration 10] [--connections 8]
                                   [--tally-runs 21] [--profile 1000] [--no-write]

Seeds a fresh SQLite database with a hall of N households, each with one owner (with area),
and one open owners_ordinary ballot (民法典 278 items 1–5) over the whole hall. Serves the app
with one uvicorn worker on 127.0.0.1 (the flags of bench/run.py) and drives it with wrk:

- the bare endpoint GET /healthz, logged in;
- POST /api/v1/halls/{id}/ballots/{id}/votes (JSON) from all N voters in rotation: each
  request carries its voter's session cookie, the CSRF header for that session and a fresh
  submission id (bench/vote.lua). Re-votes are fine: the later vote counts;
- POST /halls/{id}/ballots/{id}/votes, the form the page posts (303 to the ballot page).

After each casting run it checks "zero lost": every acknowledged receipt is in the ledger,
and the ledger's vote events equal the acknowledged votes (plus at most one in-flight
request per connection, cut off when wrk stopped). Then every voter who has not voted yet
votes (in-process, through the service) and queries.tally over all N is timed.

--profile N casts N votes in-process through app.voting.service.cast_vote under cProfile and
prints where the time goes (a profile of the server process would miss the sync code, which
runs in the worker's thread pool).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.__main__ import migrate  # noqa: E402
from app.accounts import schemas as account_schemas  # noqa: E402
from app.accounts import service as accounts  # noqa: E402
from app.accounts.models import User, UserSession  # noqa: E402
from app.config import Settings  # noqa: E402
from app.core import clock, security  # noqa: E402
from app.db import Database  # noqa: E402
from app.halls import queries as hall_queries  # noqa: E402
from app.halls import roster, service  # noqa: E402
from app.halls.models import Hall  # noqa: E402
from app.halls.policies import HallAccess  # noqa: E402
from app.issues import schemas as issue_schemas  # noqa: E402
from app.issues import service as issues  # noqa: E402
from app.issues.models import Category  # noqa: E402
from app.voting import queries, schemas  # noqa: E402
from app.voting import service as voting  # noqa: E402
from app.voting.models import Ballot, LedgerEvent, Vote  # noqa: E402
from app.voting.rules import RuleKind  # noqa: E402
from app.web import csrf  # noqa: E402
from bench.run import SECRET, free_port, wrk  # noqa: E402

LUA = Path(__file__).resolve().parent / "vote.lua"
TALLY_TARGET_MS = 20
VOTES_TARGET = 1000


# --- seeding ----------------------------------------------------------------------------------


def roster_table(households: int) -> list[list[str]]:
    """Buildings of 500 flats (5 entrances × 25 floors × 4 flats), one owner per flat."""
    rows = [list(roster.COLUMNS)]
    for i in range(households):
        building, entrance = i // 500 + 1, i % 500 // 100 + 1
        room = f"{i % 100 // 4 + 1}{i % 4 + 1:02d}"
        area = f"{60 + i % 60}.{i * 7 % 100:02d}"
        rows.append(
            [f"{building}号楼", f"{entrance}单元", room, area, f"业主{i}", f"139{i:08d}", "业主"]
        )
    return rows


def seed(url: str, households: int) -> tuple[int, int]:
    """The hall and its open owners' ballot."""
    migrate(url)
    db = Database.connect(url)
    with db.session() as s:
        admin, _ = accounts.create_admin(session=s, phone="13800009999", name="管理员")
        street = service.create_street(
            session=s, district="东城区", name="基准街道", actor_id=admin.id
        )
        hall = service.create_hall(
            session=s, street=street, name="基准社区", address="", actor_id=admin.id
        )
        access = HallAccess(user_id=admin.id, hall_id=hall.id or 0, is_platform_admin=True)
        service.import_roster(
            session=s,
            access=access,
            actor=admin,
            roster=roster.parse_rows(roster_table(households)),
        )
        chair = accounts.register_user(
            session=s,
            form=account_schemas.RegisterForm(
                phone="13800007777", name="主任", password="bench password 1", consent=True
            ),
        ).user
        service.appoint_chair(session=s, access=access, actor_id=admin.id, hall=hall, user=chair)
        hall_id = hall.id or 0
    with db.session() as s:
        hall_row = s.get(Hall, hall_id)
        assert hall_row is not None
        chair_access = hall_queries.hall_access(s, user=chair, hall=hall_row)
        issue = issues.enter_issue_on_behalf(
            session=s,
            access=chair_access,
            actor=chair,
            form=issue_schemas.OnBehalfIssueForm(
                title="更换3号楼电梯",
                description="电梯老化，业主提议更换。",
                category=Category.ELEVATOR,
            ),
        )
    with db.session() as s:
        issues.accept_issue(
            session=s,
            access=chair_access,
            actor=chair,
            issue_id=issue.id or 0,
            form=issue_schemas.AcceptForm(),
        )
    with db.session() as s:
        solution = issues.add_solution(
            session=s,
            access=chair_access,
            actor=chair,
            issue_id=issue.id or 0,
            form=issue_schemas.SolutionForm(title="使用维修资金更换", description="按面积分摊"),
        )
        issues.close_deliberation(
            session=s,
            access=chair_access,
            actor=chair,
            issue_id=issue.id or 0,
            form=issue_schemas.CloseForm(
                agreements="同意更换",
                disagreements="分摊方式已解释",
                solution_ids=[solution.id or 0],
            ),
        )
    with db.session() as s:
        ballot = voting.create_ballot(
            session=s,
            access=chair_access,
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.BallotForm(title="是否同意更换电梯", rule=RuleKind.OWNERS_ORDINARY),
        )
    with db.session() as s:
        ballot = voting.open_ballot(
            session=s, access=chair_access, actor=chair, ballot_id=ballot.id or 0
        )
    db.dispose()
    return hall_id, ballot.id or 0


def voters_of(db: Database) -> list[User]:
    with db.session(read_only=True) as s:
        return list(
            s.exec(
                select(User).where(col(User.phone).startswith("139")).order_by(col(User.id))
            ).all()
        )


def log_in_all(db: Database, settings: Settings, users: list[User], path: Path) -> None:
    """A session per voter (as a login would store it), written as `cookie<TAB>csrf` lines."""
    now = clock.now()
    lines = []
    with db.session() as s:
        for user in users:
            token = security.new_token()
            s.add(
                UserSession(
                    token_hash=security.sha256_hex(token),
                    user_id=user.id or 0,
                    privileged=False,
                    created_at=now,
                    last_seen_at=now,
                )
            )
            lines.append(
                f"{settings.session_cookie}={token}\t{csrf.token_for(settings, sid=token, anon=None)}"
            )
        s.commit()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- serving and loading ----------------------------------------------------------------------


@contextmanager
def serve(url: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "YST_SECRET_KEY": SECRET}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def wrk_votes(
    base: str,
    path: str,
    creds: Path,
    out: Path,
    *,
    form: bool,
    run: int,
    duration: int,
    connections: int,
) -> dict[str, float]:
    env = {
        **os.environ,
        "VOTE_CREDS": str(creds),
        "VOTE_OUT": str(out),
        "VOTE_ORIGIN": base,
        "VOTE_FORM": "1" if form else "",
        "VOTE_RUN": str(run),
    }
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", str(LUA), base + path],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", result)
    total = re.search(r"(\d+) requests in", result)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", result)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", result
    )
    latency = re.search(r"Latency\s+([\d.]+\w+)", result)
    assert rps, result
    assert total, result
    return {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(g) for g in sockets.groups()) if sockets else 0,
        "latency": latency.group(1) if latency else "",  # type: ignore[dict-item]
    }


def check_lost(db: Database, ballot_id: int, acked: list[str], before: int) -> dict[str, int]:
    """Every acknowledged receipt in the ledger; ledger vote events vs acknowledged votes."""
    with db.session(read_only=True) as s:
        receipts = set(
            s.exec(
                select(LedgerEvent.receipt).where(
                    LedgerEvent.ballot_id == ballot_id, col(LedgerEvent.receipt).is_not(None)
                )
            ).all()
        )
        rows = s.exec(select(Vote.receipt).where(Vote.ballot_id == ballot_id)).all()
    lost = sum(1 for r in acked if r not in receipts)
    return {
        "acked": len(acked),
        "distinct_acked": len(set(acked)),
        "lost": lost,
        "ledger_votes": len(receipts) - before,
        "vote_rows": len(rows) - before,
        "unacked_commits": len(receipts) - before - len(set(acked)),
    }


def ledger_votes(db: Database, ballot_id: int) -> int:
    with db.session(read_only=True) as s:
        return len(
            s.exec(
                select(LedgerEvent.height).where(
                    LedgerEvent.ballot_id == ballot_id, col(LedgerEvent.receipt).is_not(None)
                )
            ).all()
        )


# --- in-process work --------------------------------------------------------------------------


def vote_everyone(db: Database, hall_id: int, ballot_id: int) -> int:
    """Every voter without a current vote votes now (through the service); returns how many."""
    with db.session(read_only=True) as s:
        hall = s.get(Hall, hall_id)
        assert hall is not None
        voted = set(
            s.exec(
                select(Vote.cast_by_id).where(
                    Vote.ballot_id == ballot_id, col(Vote.is_current).is_(True)
                )
            ).all()
        )
        users = [u for u in voters_of(db) if u.id not in voted]
        accesses = [hall_queries.hall_access(s, user=u, hall=hall) for u in users]
    for k, (user, access) in enumerate(zip(users, accesses, strict=True)):
        with db.session() as s:
            voting.cast_vote(
                session=s,
                access=access,
                actor=user,
                ballot_id=ballot_id,
                form=schemas.VoteForm(
                    option=("yes", "yes", "no", "abstain")[k % 4], submission_id=str(uuid.uuid4())
                ),
            )
    return len(users)


def time_tally(db: Database, ballot_id: int, runs: int) -> tuple[float, float, int]:
    """Median ms of queries.tally and of queries.verify_ballot; the votes counted."""
    tally_ms, verify_ms = [], []
    with db.session(read_only=True) as s:
        ballot = s.get(Ballot, ballot_id)
        assert ballot is not None
        outcome = queries.tally(s, ballot)
        for _ in range(runs):
            started = time.perf_counter()
            queries.tally(s, ballot)
            tally_ms.append((time.perf_counter() - started) * 1000)
        for _ in range(max(3, runs // 4)):
            started = time.perf_counter()
            verdict = queries.verify_ballot(s, ballot_id)
            verify_ms.append((time.perf_counter() - started) * 1000)
        assert verdict.ok, verdict.problems
    counted = sum(outcome.counts.values())
    return statistics.median(tally_ms), statistics.median(verify_ms), counted


def profile_casts(db: Database, hall_id: int, ballot_id: int, n: int) -> None:
    with db.session(read_only=True) as s:
        hall = s.get(Hall, hall_id)
        assert hall is not None
        users = voters_of(db)[:n]
        accesses = [hall_queries.hall_access(s, user=u, hall=hall) for u in users]

    def run() -> float:
        started = time.perf_counter()
        for user, access in zip(users, accesses, strict=True):
            with db.session() as s:
                voting.cast_vote(
                    session=s,
                    access=access,
                    actor=user,
                    ballot_id=ballot_id,
                    form=schemas.VoteForm(option="yes", submission_id=str(uuid.uuid4())),
                )
        return time.perf_counter() - started

    run()  # warm
    elapsed = run()
    print(
        f"\nin-process service.cast_vote, unprofiled: {n / elapsed:,.0f} votes/s "
        f"({elapsed / n * 1000:.2f} ms each)"
    )
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(r"app/|sqlite3|commit|flush|compile", 30)
    stats.sort_stats("tottime").print_stats(15)


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--tally-runs", type=int, default=21)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="yst-vote-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    started = time.monotonic()
    hall_id, ballot_id = seed(url, args.households)
    print(f"seeded {args.households} households with owners in {time.monotonic() - started:.1f}s")
    settings = Settings(database_url=url, secret_key=SECRET)
    db = Database.connect(url)
    try:
        if args.profile:
            profile_casts(db, hall_id, ballot_id, args.profile)
            return 0
        users = voters_of(db)
        assert len(users) == args.households
        creds = tmp / "creds.tsv"
        log_in_all(db, settings, users, creds)
        cookie = creds.read_text(encoding="utf-8").split("\t", 1)[0]
        api_path = f"/api/v1/halls/{hall_id}/ballots/{ballot_id}/votes"
        form_path = f"/halls/{hall_id}/ballots/{ballot_id}/votes"
        runs: list[tuple[str, dict[str, float], dict[str, int] | None]] = []
        with serve(url) as base:
            probe = httpx.post(
                base + api_path,
                headers={
                    "Cookie": cookie,
                    "X-CSRF-Token": creds.read_text(encoding="utf-8").split("\n")[0].split("\t")[1],
                    "Origin": base,
                },
                json={"option": "yes", "submission_id": str(uuid.uuid4())},
                timeout=10,
            )
            assert probe.status_code == 201, probe.text  # fail loudly on an error page
            bare = wrk(base + "/healthz", cookie, args.duration, args.connections)
            runs.append(("bare endpoint GET /healthz", {"rps": bare}, None))
            for run, (label, path, form) in enumerate(
                (
                    ("cast a vote: JSON API POST /api/v1/…/votes", api_path, False),
                    ("cast a vote: the page's form POST /halls/…/votes (303)", form_path, True),
                ),
                start=1,
            ):
                before = ledger_votes(db, ballot_id)
                out = tmp / f"acked-{'form' if form else 'api'}.txt"
                stats = wrk_votes(
                    base,
                    path,
                    creds,
                    out,
                    form=form,
                    run=run,
                    duration=args.duration,
                    connections=args.connections,
                )
                acked = [r for r in out.read_text(encoding="utf-8").split() if r]
                if form:
                    # The 303 carries no receipt: compare counts only.
                    after = ledger_votes(db, ballot_id)
                    lost = {
                        "acked": len(acked),
                        "distinct_acked": len(acked),
                        "lost": max(0, len(acked) - (after - before)),
                        "ledger_votes": after - before,
                        "vote_rows": after - before,
                        "unacked_commits": after - before - len(acked),
                    }
                else:
                    lost = check_lost(db, ballot_id, acked, before)
                runs.append((label, stats, lost))
        filled = vote_everyone(db, hall_id, ballot_id)
        tally_ms, verify_ms, counted = time_tally(db, ballot_id, args.tally_runs)
    finally:
        db.dispose()
        shutil.rmtree(tmp, ignore_errors=True)

    bare_rps = runs[0][1]["rps"]
    lines = [
        "| endpoint | requests/s | ratio to bare | errors (non-2xx/3xx, socket) | acknowledged | lost | in flight at stop |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, stats, lost in runs:
        if lost is None:
            lines.append(f"| {label} | {stats['rps']:,.0f} | 100% | 0 | — | — | — |")
            continue
        lines.append(
            f"| {label} | {stats['rps']:,.0f} | {stats['rps'] / bare_rps:.0%} | "
            f"{int(stats['non2xx'])}, {int(stats['socket_errors'])} | {lost['acked']:,} | "
            f"{lost['lost']} | {lost['unacked_commits']} |"
        )
    table = "\n".join(lines)
    tally_line = (
        f"Tally of the {args.households:,}-household owners' ballot with every owner voted "
        f"({counted:,} current votes; {filled:,} cast in-process after the load): "
        f"`queries.tally` median of {args.tally_runs} runs **{tally_ms:.1f} ms** "
        f"(target ≤ {TALLY_TARGET_MS} ms); the full verifier `queries.verify_ballot` "
        f"(chain, roll hash, replay, vote rows) {verify_ms:.0f} ms."
    )
    print(table)
    print(tally_line)
    for label, stats, lost in runs[1:]:
        print(f"{label}: {lost}, latency avg {stats.get('latency')}")
    if not args.no_write:
        write_section(args, table, tally_line)
    return 0


def write_section(args: argparse.Namespace, table: str, tally_line: str) -> None:
    marker = "## Casting votes and tallying (issue #4)"
    command = (
        f"`.venv/bin/python bench/vote.py --households {args.households} "
        f"--duration {args.duration} --connections {args.connections} --tally-runs {args.tally_runs}`"
    )
    section = (
        f"{marker}\n\n{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite (WAL, synchronous=FULL), one uvicorn worker, "
        f"wrk -t2 -c{args.connections} -d{args.duration}s on loopback. {args.households:,} "
        "households, one owner each with an area, one open owners_ordinary ballot over the whole "
        "hall; every request is a different owner in rotation with their own session cookie, "
        "CSRF header and a fresh submission id (bench/vote.lua); re-votes count.\n\n"
        f"Command: {command}\n\n{table}\n\n{tally_line}\n\n"
        '"Lost" counts acknowledged votes (2xx/303) whose receipt is not in the ledger; '
        '"in flight" counts votes committed but not acknowledged because wrk stopped '
        "(at most one per connection; neither lost nor phantom).\n\n"
        f"Targets: ≥ {VOTES_TARGET:,} votes/s on one worker with SQLite over loopback; "
        f"tally ≤ {TALLY_TARGET_MS} ms.\n"
    )
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    if marker in text:
        head, _, rest = text.partition(marker)
        nxt = rest.find("\n## ")
        text = head + section + (rest[nxt:] if nxt >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
