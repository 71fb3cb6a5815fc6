"""Benchmark pages against a minimal FastAPI hello served the same way, in the same run (#11).

    .venv/bin/python bench/run.py [--issues 5000] [--comments 2000] [--duration 5] [--rounds 3]
                                  [--connections 16] [--threads 1] [--as resident|chair]
                                  [--postgres URL] [--no-write]

Loads a hall with N issues and one issue with M comments into a fresh SQLite database (or a
new database on the PostgreSQL server at URL), and starts four servers with the same uvicorn
flags (bench/serve.py: one worker, 127.0.0.1, `--loop auto --http auto`): the app, the app
with nothing kept, the minimal FastAPI `async def` hello and the raw ASGI hello of
bench/hello.py. wrk (Debian
package `wrk`, default `-t1 -c16`) then measures, in turn, round after round:

- raw ASGI hello (what uvicorn alone costs);
- minimal FastAPI hello: the reference, 100 %;
- the app's own bare endpoint, GET /healthz with a logged-in session cookie (the session
  lookup every logged-in request pays);
- the issue list, GET /halls/{id}/issues (N issues);
- the issue page, GET /halls/{id}/issues/{id} (M comments);
- the same two pages from a second app process with the shared parts of pages turned off
  (YST_FRAGMENT_CACHE_SECONDS=0, app/web/fragments.py): what a page costs when a write has
  just emptied what was kept, or what the first reader after it pays.

Each figure is the median over the rounds of requests/s and of its ratio to the hello of the
same round; every round's ratio is printed too (this VM's speed drifts by ±30 % within a
minute, and interleaving keeps the drift out of the ratios). Errors (non-2xx/3xx, and socket
errors incl. timeouts) are summed over the rounds: every run must show 0. The table is
written to docs/benchmarks.md (section "Pages against a FastAPI hello").
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.__main__ import migrate  # noqa: E402
from app.accounts import schemas as account_schemas  # noqa: E402
from app.accounts import service as accounts  # noqa: E402
from app.config import Settings  # noqa: E402
from app.core import clock  # noqa: E402
from app.db import Database  # noqa: E402
from app.halls import queries, roster, service  # noqa: E402
from app.halls.models import Household, Relation  # noqa: E402
from app.halls.policies import HallAccess  # noqa: E402
from app.halls.schemas import JoinForm  # noqa: E402
from app.issues import search  # noqa: E402
from app.issues.lifecycle import Stage  # noqa: E402
from app.issues.models import STANCE_COUNT_COLUMN, Category, Comment, Issue, Stance  # noqa: E402
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
    wrk,
)

TOPICS = [
    "小区停车位紧张",
    "楼道堆物清理",
    "加装电梯分摊费用",
    "垃圾分类桶站",
    "电动车飞线充电",
    "暖气不热",
    "口袋公园座椅",
    "遛狗时段",
    "物业费公示",
    "外墙脱落维修",
]


def add_issues(s: Session, *, hall_id: int, proposer_id: int, issues: int, comments: int) -> int:
    """N issues in the hall, and one more (returned) with M comments, inserted directly."""
    rng = random.Random(7)
    stages = [
        Stage.COLLECTING,
        Stage.UNDER_REVIEW,
        Stage.DELIBERATING,
        Stage.DECIDING,
        Stage.REJECTED,
    ]
    now = clock.now()
    batch: list[Issue] = []
    for i in range(issues):
        title = f"{rng.choice(TOPICS)}（{i}）"
        description = "居民反映：" + rng.choice(TOPICS) + "，希望社区协调解决。" * 3
        batch.append(
            Issue(
                hall_id=hall_id,
                title=title,
                description=description,
                category=rng.choice(list(Category)),
                stage=rng.choice(stages),
                proposer_id=proposer_id,
                created_at=now - timedelta(minutes=i),
                stage_changed_at=now,
                search_text=search.index_text(title, description),
            )
        )
        if len(batch) == 1000:
            s.add_all(batch)
            s.commit()
            batch = []
    stances = list(Stance)
    big = Issue(
        hall_id=hall_id,
        title="楼道飞线充电整治",
        description="建设集中充电桩。" * 20,
        category=Category.EBIKE,
        stage=Stage.DELIBERATING,
        proposer_id=proposer_id,
        comment_count=comments,
        search_text=search.index_text("楼道飞线充电整治"),
    )
    # The comment service keeps these in the app; here the comments are inserted directly
    # below (comment i has stance stances[i % 4]).
    for k, stance in enumerate(stances):
        setattr(big, STANCE_COUNT_COLUMN[stance], len(range(k, comments, len(stances))))
    s.add_all([*batch, big])
    s.commit()
    s.add_all(
        Comment(
            hall_id=hall_id,
            issue_id=big.id or 0,
            author_id=proposer_id,
            stance=stances[i % len(stances)],
            body=f"第{i}条意见：" + "建议加装充电桩并公开收费。" * 2,
            created_at=now - timedelta(seconds=comments - i),
        )
        for i in range(comments)
    )
    s.commit()
    return big.id or 0


def seed(url: str, issues: int, comments: int) -> tuple[int, int, str, str]:
    """Hall, the big issue's id; a resident (13800008888) and the chair (13800007777)."""
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
        table = [list(roster.COLUMNS)] + [
            [f"{b}号楼", "1单元", f"{100 + r}", "80.00", "", "", ""]
            for b in range(1, 4)
            for r in range(1, 11)
        ]
        access = HallAccess(user_id=admin.id, hall_id=hall.id or 0, is_platform_admin=True)
        service.import_roster(
            session=s, access=access, actor=admin, roster=roster.parse_rows(table)
        )
        resident = accounts.register_user(
            session=s,
            form=account_schemas.RegisterForm(
                phone="13800008888", name="居民", password="bench password 1", consent=True
            ),
        ).user
        chair = accounts.register_user(
            session=s,
            form=account_schemas.RegisterForm(
                phone="13800007777", name="主任", password="bench password 1", consent=True
            ),
        ).user
        service.appoint_chair(session=s, access=access, actor_id=admin.id, hall=hall, user=chair)
        membership = service.join_hall(
            session=s,
            user=resident,
            token=hall.invite_token,
            form=JoinForm(
                household_id=s.exec(
                    select(Household.id).where(Household.hall_id == hall.id)
                ).first(),
                relation=Relation.OWNER,
            ),
        )
        chair_access = queries.hall_access(s, user=chair, hall=hall)
        service.verify_member(
            session=s, access=chair_access, actor=chair, membership_id=membership.id or 0
        )
        hall_id = hall.id or 0
        big_id = add_issues(
            s, hall_id=hall_id, proposer_id=resident.id or 0, issues=issues, comments=comments
        )
    db.dispose()
    return hall_id, big_id, "13800008888", "bench password 1"


MARKER = "## Pages against a FastAPI hello (issue #11)"


def log_in(url: str, phone: str, password: str) -> str:
    """A session cookie, as the login form would set it."""
    settings = Settings(database_url=url, secret_key=SECRET)
    db = Database.connect(url)
    with db.session() as s:
        token = accounts.log_in(
            session=s,
            settings=settings,
            form=account_schemas.LoginForm(phone=phone, password=password),
            client_ip="127.0.0.1",
        ).token
    db.dispose()
    return f"{settings.session_cookie}={token}"


def table(labels: list[str], runs: dict[str, list[Wrk]], reference: str) -> str:
    """requests/s and ratio to the reference's same round, medians over the rounds."""
    lines = [
        "| endpoint | requests/s (median) | vs FastAPI hello (median) | per round "
        "| p99 ms (median) | errors (non-2xx/3xx, socket) |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for label in labels:
        ratios = [r.rps / ref.rps for r, ref in zip(runs[label], runs[reference], strict=True)]
        non2xx = sum(r.non2xx for r in runs[label])
        sockets = sum(r.socket_errors for r in runs[label])
        lines.append(
            f"| {label} | {statistics.median(r.rps for r in runs[label]):,.0f} "
            f"| {statistics.median(ratios):.1%} "
            f"| {' · '.join(f'{x:.1%}' for x in ratios)} "
            f"| {statistics.median(r.p99_ms for r in runs[label]):.1f} "
            f"| {non2xx}, {sockets} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--duration", type=int, default=5, help="seconds per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--as",
        dest="who",
        choices=["resident", "chair"],
        default="resident",
        help="who is logged in: a resident (the common reader) or the chair (every moderation form)",
    )
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server instead of SQLite")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if not require_wrk():
        return 2
    with fresh_database(args.postgres) as (url, _):
        started = time.monotonic()
        hall_id, big_id, _, password = seed(url, args.issues, args.comments)
        print(
            f"seeded {args.issues} issues and {args.comments} comments "
            f"in {time.monotonic() - started:.1f}s"
        )
        phone = "13800008888" if args.who == "resident" else "13800007777"
        with (
            serve(APP, env={"DATABASE_URL": url}) as (app,),
            serve(APP, env={"DATABASE_URL": url, "YST_FRAGMENT_CACHE_SECONDS": "0"}) as (cold,),
            serve(FASTAPI_HELLO) as (hello,),
            serve(RAW_HELLO) as (raw,),
        ):
            cookie = log_in(url, phone, password)
            targets = [
                ("raw ASGI hello", raw + "/", None),
                ("minimal FastAPI hello (`async def`)", hello + "/", None),
                ("the app's GET /healthz, logged in (bare)", app + "/healthz", cookie),
                (
                    f"issue list GET /halls/{{id}}/issues ({args.issues:,} issues)",
                    f"{app}/halls/{hall_id}/issues",
                    cookie,
                ),
                (
                    f"issue page GET /halls/{{id}}/issues/{{id}} ({args.comments:,} comments)",
                    f"{app}/halls/{hall_id}/issues/{big_id}",
                    cookie,
                ),
                (
                    "issue list, nothing kept (YST_FRAGMENT_CACHE_SECONDS=0)",
                    f"{cold}/halls/{hall_id}/issues",
                    cookie,
                ),
                (
                    "issue page, nothing kept (YST_FRAGMENT_CACHE_SECONDS=0)",
                    f"{cold}/halls/{hall_id}/issues/{big_id}",
                    cookie,
                ),
            ]
            for _, target, who in targets:  # warm up, and fail loudly on an error page
                response = httpx.get(target, headers={"Cookie": who or ""}, timeout=30)
                response.raise_for_status()
            runs: dict[str, list[Wrk]] = {label: [] for label, _, _ in targets}
            for k in range(args.rounds):
                for label, target, who in targets:
                    runs[label].append(
                        wrk(
                            target,
                            duration=args.duration,
                            connections=args.connections,
                            threads=args.threads,
                            cookie=who,
                        )
                    )
                print(
                    f"round {k + 1}: "
                    + ", ".join(f"{rs[-1].rps:,.0f}" for rs in runs.values())
                    + " requests/s"
                )
    labels = [label for label, _, _ in targets]
    result = table(labels, runs, labels[1])
    print(result)
    if not args.no_write:
        database = "PostgreSQL" if args.postgres else "SQLite (WAL, synchronous=FULL)"
        command = (
            f"`.venv/bin/python bench/run.py --issues {args.issues} --comments {args.comments} "
            f"--duration {args.duration} --rounds {args.rounds} --connections {args.connections} "
            f"--threads {args.threads} --as {args.who}"
            + (" --postgres URL" if args.postgres else "")
            + "`"
        )
        marker = f"{MARKER}, as the {args.who}" + (", PostgreSQL" if args.postgres else "")
        write_section(
            marker,
            f"{marker}\n\n{machine(database)}; wrk -t{args.threads} -c{args.connections} "
            f"-d{args.duration}s per endpoint on loopback, {args.rounds} rounds (the endpoints in "
            f"turn in each round), logged in as the {args.who}. Every server (the app and both "
            "hellos) runs with the same uvicorn flags (bench/serve.py).\n\n"
            f"Command: {command}\n\n{result}\n\n"
            "Targets (#11): the bare endpoint ≥ 60 % of the FastAPI hello; issue list and issue "
            'page ≥ 10 %; 0 errors. The rows "nothing kept" are a second app process with the '
            "shared parts of pages turned off: the cost right after a write.\n",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
