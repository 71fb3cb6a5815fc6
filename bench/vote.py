"""Benchmark casting votes against a minimal FastAPI hello, and tallying (issues #4, #11).

    .venv/bin/python bench/vote.py [--households 3000] [--duration 5] [--rounds 3]
                                   [--connections 16] [--threads 1] [--instances 1|2]
                                   [--postgres URL] [--tally-runs 21] [--profile N] [--no-write]

Seeds a fresh database (SQLite, or a new database on the PostgreSQL server at URL) with a hall
of N households, each with one owner (with area), and one open owners_ordinary ballot (民法典
278 items 1–5) over the whole hall. Serves the app, the minimal FastAPI hello and the raw
ASGI hello (bench/hello.py) with the same uvicorn flags (bench/serve.py: one worker each,
127.0.0.1, `--loop auto --http auto`), `--instances` processes of each on their own ports,
and drives them with wrk (default -t1 -c16; the connections are split between the
instances, one wrk process per instance, run at once and summed). In turn, round after round:

- raw ASGI hello; minimal FastAPI hello (the reference, 100 %);
- the app's bare endpoint GET /healthz, logged in;
- POST /api/v1/halls/{id}/ballots/{id}/votes (JSON) from all N voters in rotation: each
  request carries its voter's session cookie, the CSRF header for that session and a fresh
  submission id (bench/vote.lua). Re-votes are fine: the later vote counts;
- POST /halls/{id}/ballots/{id}/votes, the form the page posts (303 to the ballot page).

Reported: requests/s and acknowledged votes/s (201 with a receipt, or the form's 303), medians
over the rounds, and the ratio to the hello of the same round; errors summed over the rounds
(non-2xx/3xx responses, and wrk's socket errors: connect, read, write, timeout). After each
casting run it checks "zero lost": every acknowledged receipt is in the ledger, and the
ledger's vote events equal the acknowledged votes plus at most one in-flight request per
connection (cut off when wrk stopped) and one per socket error (a request wrk gave up on may
still commit); more would be phantom votes. Then every voter who has not voted yet votes
(in-process, through the service) and queries.tally over all N is timed.

For the issue's "on PostgreSQL, votes/s with 1 and 2 app instances":

    .venv/bin/python bench/vote.py --postgres postgresql://postgres@127.0.0.1:5432/test --instances 1
    .venv/bin/python bench/vote.py --postgres postgresql://postgres@127.0.0.1:5432/test --instances 2

--profile N casts N votes in-process through app.voting.service.cast_vote under cProfile and
prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
import uuid
from datetime import timedelta
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
from bench.serve import (  # noqa: E402
    APP,
    FASTAPI_HELLO,
    RAW_HELLO,
    SECRET,
    Wrk,
    fresh_database,
    machine,
    require_wrk,
    serve,
    write_section,
    wrk_command,
    wrk_parallel,
)

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


def log_in_all(
    db: Database, settings: Settings, users: list[User], path: Path, *, age: float = 0.0
) -> None:
    """A session per voter (as a login would store it), written as `cookie<TAB>csrf` lines;
    created and last seen `age` seconds ago (a session due for its touch: age ≥ 60)."""
    now = clock.now() - timedelta(seconds=age)
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


# --- loading --------------------------------------------------------------------------------


def load(bases: list[str], path: str, args: argparse.Namespace, cookie: str | None = None) -> Wrk:
    """wrk on GET `path` of every instance at once, the connections split between them."""
    return wrk_parallel(
        [
            (
                wrk_command(
                    base + path,
                    duration=args.duration,
                    connections=max(1, args.connections // len(bases)),
                    threads=args.threads,
                    cookie=cookie,
                ),
                {},
            )
            for base in bases
        ]
    )


def load_votes(
    bases: list[str],
    path: str,
    creds: Path,
    out: Path,
    args: argparse.Namespace,
    *,
    form: bool,
    run: int,
) -> tuple[Wrk, list[str]]:
    """wrk with bench/vote.lua on every instance at once; the acknowledged receipts of all."""
    n = len(bases)
    commands = []
    for i, base in enumerate(bases):
        env = {
            "VOTE_CREDS": str(creds),
            "VOTE_OUT": f"{out}.{i}",
            "VOTE_ORIGIN": base,
            "VOTE_FORM": "1" if form else "",
            "VOTE_RUN": str(run * n + i),
            "VOTE_SLICES": str(n * args.threads),
            "VOTE_SLICE_BASE": str(i * args.threads),
        }
        command = wrk_command(
            base + path,
            duration=args.duration,
            connections=max(1, args.connections // n),
            threads=args.threads,
            script=LUA,
        )
        commands.append((command, env))
    stats = wrk_parallel(commands)
    acked = [
        receipt
        for i in range(n)
        for receipt in Path(f"{out}.{i}").read_text(encoding="utf-8").split()
        if receipt
    ]
    return stats, acked


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


def settled_ledger_votes(db: Database, ballot_id: int) -> int:
    """The ledger's vote count once the server has finished the requests wrk left in flight
    (it goes on with them after wrk closes the connections): unchanged for half a second."""
    count = ledger_votes(db, ballot_id)
    for _ in range(40):
        time.sleep(0.5)
        now = ledger_votes(db, ballot_id)
        if now == count:
            break
        count = now
    return count


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

MARKER = "## Casting votes against a FastAPI hello (issue #11)"


class Row:
    """One benchmarked endpoint: its wrk figures per round, and for votes the checks."""

    def __init__(self, label: str, *, votes: bool = False) -> None:
        self.label = label
        self.votes = votes
        self.runs: list[Wrk] = []
        self.acked: list[int] = []
        self.lost = 0
        self.in_flight = 0
        self.phantom = 0


def table(rows: list[Row], reference: Row, duration: int) -> str:
    lines = [
        "| endpoint | requests/s (median) | vs FastAPI hello (median) | per round "
        "| acknowledged votes/s (median) | p99 ms (median) | errors (non-2xx/3xx, socket) "
        "| acknowledged | lost | in flight at stop | phantom |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratios = [r.rps / ref.rps for r, ref in zip(row.runs, reference.runs, strict=True)]
        non2xx = sum(r.non2xx for r in row.runs)
        sockets = sum(r.socket_errors for r in row.runs)
        if row.votes:
            per_s = f"{statistics.median(a / duration for a in row.acked):,.0f}"
            checks = f"{sum(row.acked):,} | {row.lost} | {row.in_flight} | {row.phantom}"
        else:
            per_s, checks = "—", "— | — | — | —"
        lines.append(
            f"| {row.label} | {statistics.median(r.rps for r in row.runs):,.0f} "
            f"| {statistics.median(ratios):.1%} | {' · '.join(f'{x:.1%}' for x in ratios)} "
            f"| {per_s} | {statistics.median(r.p99_ms for r in row.runs):.1f} "
            f"| {non2xx}, {sockets} | {checks} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--duration", type=int, default=5, help="seconds per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16, help="in all, split by instance")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads per wrk process")
    parser.add_argument("--instances", type=int, default=1, choices=[1, 2])
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server instead of SQLite")
    parser.add_argument("--tally-runs", type=int, default=21)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if not require_wrk():
        return 2
    with fresh_database(args.postgres) as (url, tmp):
        started = time.monotonic()
        hall_id, ballot_id = seed(url, args.households)
        print(
            f"seeded {args.households} households with owners in {time.monotonic() - started:.1f}s"
        )
        settings = Settings(database_url=url, secret_key=SECRET)
        db = Database.connect(url)
        try:
            if args.profile:
                profile_casts(db, hall_id, ballot_id, args.profile)
                return 0
            rows, filled, tally_ms, verify_ms, counted = measure(
                args, db, settings, url, tmp, hall_id, ballot_id
            )
        finally:
            db.dispose()
    result = table(rows, rows[1], args.duration)
    tally_line = (
        f"Tally of the {args.households:,}-household owners' ballot with every owner voted "
        f"({counted:,} current votes; {filled:,} cast in-process after the load): "
        f"`queries.tally` median of {args.tally_runs} runs **{tally_ms:.1f} ms** "
        f"(target ≤ {TALLY_TARGET_MS} ms); the full verifier `queries.verify_ballot` "
        f"(chain, roll hash, replay, vote rows) {verify_ms:.0f} ms."
    )
    print(result)
    print(tally_line)
    if not args.no_write:
        write_doc(args, result, tally_line)
    return 0


def measure(
    args: argparse.Namespace,
    db: Database,
    settings: Settings,
    url: str,
    tmp: Path,
    hall_id: int,
    ballot_id: int,
) -> tuple[list[Row], int, float, float, int]:
    users = voters_of(db)
    assert len(users) == args.households
    creds = tmp / "creds.tsv"
    log_in_all(db, settings, users, creds)
    cookie, token = creds.read_text(encoding="utf-8").split("\n")[0].split("\t")
    api_path = f"/api/v1/halls/{hall_id}/ballots/{ballot_id}/votes"
    form_path = f"/halls/{hall_id}/ballots/{ballot_id}/votes"
    raw, hello, bare = (
        Row("raw ASGI hello"),
        Row("minimal FastAPI hello (`async def`)"),
        Row("the app's GET /healthz, logged in (bare)"),
    )
    api = Row("cast a vote: JSON API POST /api/v1/…/votes (201)", votes=True)
    form = Row("cast a vote: the page's form POST /halls/…/votes (303)", votes=True)
    n = args.instances
    with (
        serve(APP, env={"DATABASE_URL": url}, instances=n) as apps,
        serve(FASTAPI_HELLO, instances=n) as hellos,
        serve(RAW_HELLO, instances=n) as raws,
    ):
        for base in apps:  # fail loudly on an error page
            probe = httpx.post(
                base + api_path,
                headers={"Cookie": cookie, "X-CSRF-Token": token, "Origin": base},
                json={"option": "yes", "submission_id": str(uuid.uuid4())},
                timeout=30,
            )
            assert probe.status_code == 201, probe.text
        for k in range(args.rounds):
            raw.runs.append(load(raws, "/", args))
            hello.runs.append(load(hellos, "/", args))
            bare.runs.append(load(apps, "/healthz", args, cookie))
            for row, path, is_form in ((api, api_path, False), (form, form_path, True)):
                before = ledger_votes(db, ballot_id)
                stats, acked = load_votes(
                    apps,
                    path,
                    creds,
                    tmp / f"acked-{k}-{int(is_form)}",
                    args,
                    form=is_form,
                    run=2 * k + int(is_form) + 1,
                )
                row.runs.append(stats)
                row.acked.append(len(acked))
                after = settled_ledger_votes(db, ballot_id)
                if is_form:  # the 303 carries no receipt: compare counts only
                    row.lost += max(0, len(acked) - (after - before))
                else:
                    row.lost += check_lost(db, ballot_id, acked, before)["lost"]
                # API: distinct receipts; form: the 303s (they carry no receipt)
                extra = after - before - (len(acked) if is_form else len(set(acked)))
                # Unacknowledged commits: one in flight per connection when wrk stopped, and
                # one per request wrk gave up on (a socket timeout) that was committed later.
                bound = args.connections + stats.socket_errors
                row.in_flight += max(0, min(extra, bound))
                row.phantom += max(0, extra - bound)
            print(
                f"round {k + 1}: "
                + ", ".join(f"{r.runs[-1].rps:,.0f}" for r in (raw, hello, bare, api, form))
                + " requests/s"
            )
    filled = vote_everyone(db, hall_id, ballot_id)
    tally_ms, verify_ms, counted = time_tally(db, ballot_id, args.tally_runs)
    return [raw, hello, bare, api, form], filled, tally_ms, verify_ms, counted


def write_doc(args: argparse.Namespace, result: str, tally_line: str) -> None:
    database = "PostgreSQL" if args.postgres else "SQLite (WAL, synchronous=FULL)"
    marker = (
        f"{MARKER}, {'PostgreSQL' if args.postgres else 'SQLite'}, "
        f"{args.instances} instance{'s' if args.instances > 1 else ''}"
    )
    command = (
        f"`.venv/bin/python bench/vote.py --households {args.households} "
        f"--duration {args.duration} --rounds {args.rounds} --connections {args.connections} "
        f"--threads {args.threads} --instances {args.instances} --tally-runs {args.tally_runs}"
        + (" --postgres URL" if args.postgres else "")
        + "`"
    )
    split = (
        f"; {args.instances} instances of every server on their own ports, one wrk per instance "
        f"with {args.connections // args.instances} connections each, run at once and summed"
        if args.instances > 1
        else ""
    )
    write_section(
        marker,
        f"{marker}\n\n{machine(database)}; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s per endpoint on loopback{split}; {args.rounds} rounds (the endpoints "
        f"in turn in each round). {args.households:,} households, one owner each with an area, "
        "one open owners_ordinary ballot over the whole hall; every vote is a different owner "
        "in rotation with their own session cookie, CSRF header and a fresh submission id "
        "(bench/vote.lua); re-votes count.\n\n"
        f"Command: {command}\n\n{result}\n\n{tally_line}\n\n"
        '"Acknowledged" counts votes answered 201 with a receipt (API) or 303 (form); "lost" '
        "counts acknowledged votes whose receipt is not in the ledger (for the form: fewer "
        'ledger votes than acknowledgements); "in flight" counts votes committed but not '
        "acknowledged because wrk stopped or gave up waiting (at most one per connection, plus "
        'one per socket error); "phantom" counts ledger votes beyond that. '
        "Errors: non-2xx/3xx responses, and socket errors (connect, "
        "read, write, timeout) summed over the rounds.\n\n"
        f"Targets (#11): ≥ {VOTES_TARGET:,} acknowledged votes/s on SQLite with one worker "
        f"(synchronous=FULL); 0 errors, 0 lost, 0 phantom; tally ≤ {TALLY_TARGET_MS} ms.\n",
    )


if __name__ == "__main__":
    raise SystemExit(main())
