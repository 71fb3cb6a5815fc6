"""Benchmark the issue list and the issue page against a bare endpoint of the same app.

    .venv/bin/python bench/run.py [--issues 5000] [--comments 2000] [--duration 2] [--rounds 10]
                                  [--connections 8] [--as resident|chair]

Loads a hall with N issues and one issue with M comments into a fresh SQLite database,
serves the app with one uvicorn worker on 127.0.0.1 and drives it with wrk (Debian package
`wrk`) as the logged-in chair. The bare endpoint is GET /healthz (one `SELECT 1`). Results
are printed and written to docs/benchmarks.md as requests/s and as a ratio to the bare
endpoint measured in the same run. The endpoints are measured in turn, round after round,
and each figure is the median over the rounds: this machine's speed drifts over a minute
(a shared VM), and interleaving keeps the drift out of the ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlmodel import select

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

SECRET = "bench-secret-0123456789abcdef"
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


def seed(url: str, issues: int, comments: int) -> tuple[int, int, str, str]:
    """Hall, the big issue's id; a resident (13800008888) and the chair (13800007777)."""
    migrate(url)
    db = Database.connect(url)
    rng = random.Random(7)
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
                    proposer_id=resident.id or 0,
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
            proposer_id=resident.id or 0,
            comment_count=comments,
            # The comment service keeps these in the app; here the comments are inserted
            # directly below (comment i has stance stances[i % 4]).
            **{
                STANCE_COUNT_COLUMN[stance]: len(range(k, comments, len(stances)))
                for k, stance in enumerate(stances)
            },
            search_text=search.index_text("楼道飞线充电整治"),
        )
        s.add_all([*batch, big])
        s.commit()
        s.add_all(
            Comment(
                hall_id=hall_id,
                issue_id=big.id or 0,
                author_id=resident.id or 0,
                stance=stances[i % len(stances)],
                body=f"第{i}条意见：" + "建议加装充电桩并公开收费。" * 2,
                created_at=now - timedelta(seconds=comments - i),
            )
            for i in range(comments)
        )
        s.commit()
        big_id = big.id or 0
    db.dispose()
    return hall_id, big_id, "13800008888", "bench password 1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, cookie: str, duration: int, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-H", f"Cookie: {cookie}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} non-2xx responses\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--duration", type=int, default=2, help="seconds per endpoint per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--as",
        dest="who",
        choices=["resident", "chair"],
        default="resident",
        help="who is logged in: a resident (the common reader) or the chair (every moderation form)",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="yst-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    started = time.monotonic()
    hall_id, big_id, _, password = seed(url, args.issues, args.comments)
    phone = "13800008888" if args.who == "resident" else "13800007777"
    print(
        f"seeded {args.issues} issues and {args.comments} comments in {time.monotonic() - started:.1f}s"
    )
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
        cookie = f"{settings.session_cookie}={token}"
        targets = [
            ("bare endpoint GET /healthz", "/healthz"),
            (
                f"issue list GET /halls/{{id}}/issues ({args.issues} issues)",
                f"/halls/{hall_id}/issues",
            ),
            (
                f"issue page GET /halls/{{id}}/issues/{{id}} ({args.comments} comments)",
                f"/halls/{hall_id}/issues/{big_id}",
            ),
        ]
        for _, path in targets:  # warm up, and fail loudly on an error page
            response = httpx.get(base + path, headers={"Cookie": cookie}, timeout=10)
            response.raise_for_status()
        runs: dict[str, list[float]] = {label: [] for label, _ in targets}
        ratios: dict[str, list[float]] = {label: [] for label, _ in targets}
        for _ in range(args.rounds):
            measured = [
                (label, wrk(base + path, cookie, args.duration, args.connections))
                for label, path in targets
            ]
            for label, rps in measured:
                runs[label].append(rps)
                ratios[label].append(rps / measured[0][1])
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        "| endpoint | requests/s (median) | ratio to bare (median) | ratio per round |",
        "|---|---:|---:|---|",
    ]
    lines += [
        f"| {label} | {statistics.median(runs[label]):,.0f} "
        f"| {statistics.median(ratios[label]):.0%} "
        f"| {' · '.join(f'{r:.0%}' for r in ratios[label])} |"
        for label, _ in targets
    ]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        marker = f"## Issue list and issue page (issue #3), as the {args.who}"
        command = (
            f"`.venv/bin/python bench/run.py --issues {args.issues} --comments {args.comments} "
            f"--duration {args.duration} --rounds {args.rounds} --connections {args.connections} "
            f"--as {args.who}`"
        )
        section = (
            f"{marker}\n\n{time.strftime('%Y-%m-%d')}, "
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite, "
            f"one uvicorn worker, wrk -t2 -c{args.connections} -d{args.duration}s per endpoint "
            f"on loopback, {args.rounds} rounds (the endpoints in turn in each round), logged in "
            f"as the {args.who}.\n\nCommand: {command}\n\n{table}\n\n"
            "Target: each page ≥ 20 % of the bare endpoint.\n"
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
