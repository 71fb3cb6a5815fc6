"""The command line, run as real subprocesses against a fresh database of each backend."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.core import clock
from app.db import Database
from app.halls.models import (
    Building,
    Hall,
    Household,
    Membership,
    MembershipRole,
    MembershipStatus,
    Role,
    StreetAdmin,
)
from app.issues.lifecycle import Stage
from app.issues.models import Comment, Issue, Notification
from app.meetings.models import (
    Meeting,
    MeetingInvitee,
    MeetingItem,
    MeetingStatus,
    Minutes,
    MinutesStatus,
    Speech,
)
from app.meetings.rules import MeetingKind
from app.voting.models import Ballot

ROOT = Path(__file__).resolve().parent.parent


def run_cli(url: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "YST_SECRET_KEY": "cli-test-secret-0123456789"}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_demo_seeds_a_street_with_two_halls_and_every_role(fresh_database_url: str) -> None:
    result = run_cli(fresh_database_url, "demo")
    assert result.returncode == 0, result.stderr
    db = Database.connect(fresh_database_url)
    try:
        with db.session(read_only=True) as s:
            halls = s.exec(select(Hall)).all()
            assert len(halls) == 2
            households = s.exec(select(func.count()).select_from(Household)).one()
            buildings = s.exec(select(func.count()).select_from(Building)).one()
            assert 650 <= households <= 750
            assert buildings == 10
            areas = s.exec(select(Household.area_centi_m2)).all()
            assert all(a is not None and 4500 <= a <= 12000 for a in areas)
            roles = set(s.exec(select(MembershipRole.role)).all())
            assert roles == set(Role)
            verified = s.exec(
                select(func.count())
                .select_from(Membership)
                .where(Membership.status == MembershipStatus.VERIFIED)
            ).one()
            pending = s.exec(
                select(func.count())
                .select_from(Membership)
                .where(Membership.status == MembershipStatus.PENDING)
            ).one()
            assert verified > 300
            assert pending == 3
            assert s.exec(select(func.count()).select_from(StreetAdmin)).one() == 1
            stages = set(s.exec(select(Issue.stage)).all())
            assert stages == {
                Stage.COLLECTING,
                Stage.UNDER_REVIEW,
                Stage.REJECTED,
                Stage.MERGED,
                Stage.WITHDRAWN,
                Stage.DELIBERATING,
                Stage.DECIDING,
                Stage.PUBLICIZING,
                Stage.NOT_PASSED,
                Stage.IMPLEMENTING,
                Stage.EVALUATING,
                Stage.CLOSED,
            }
            assert (
                s.exec(
                    select(func.count())
                    .select_from(Comment)
                    .where(col(Comment.hidden_at).is_not(None))
                ).one()
                == 1
            )
            logins = s.exec(
                select(func.count()).select_from(User).where(col(User.password_hash).is_not(None))
            ).one()
            assert logins >= 15
            # 协商会议: a held 议事会 with signed minutes, 6 items, speeches and 2 ballots at it;
            # an upcoming 居民代表会议 with its invitations sent.
            held = s.exec(select(Meeting).where(Meeting.status == MeetingStatus.HELD)).one()
            assert held.kind == MeetingKind.COUNCIL
            minutes = s.exec(select(Minutes).where(Minutes.meeting_id == held.id)).one()
            assert minutes.status == MinutesStatus.SIGNED
            assert minutes.content_hash is not None
            items = select(func.count()).select_from(MeetingItem)
            assert s.exec(items.where(MeetingItem.meeting_id == held.id)).one() == 6
            speeches = select(func.count()).select_from(Speech)
            assert s.exec(speeches.where(Speech.meeting_id == held.id)).one() >= 6
            at_meeting = s.exec(select(Ballot).where(Ballot.meeting_id == held.id)).all()
            assert sorted(b.passed for b in at_meeting) == [False, True]
            upcoming = s.exec(
                select(Meeting).where(Meeting.status == MeetingStatus.SCHEDULED)
            ).one()
            assert upcoming.kind == MeetingKind.REPRESENTATIVES
            assert upcoming.starts_at > clock.now()
            invited = s.exec(
                select(func.count())
                .select_from(MeetingInvitee)
                .where(MeetingInvitee.meeting_id == upcoming.id)
            ).one()
            assert invited >= 3
            told = set(
                s.exec(
                    select(Notification.user_id).where(
                        col(Notification.text).contains(upcoming.title),
                        Notification.kind == "meeting_scheduled",
                    )
                ).all()
            )
            members_invited = set(
                s.exec(
                    select(Membership.user_id)
                    .join(MeetingInvitee, col(MeetingInvitee.membership_id) == Membership.id)
                    .where(MeetingInvitee.meeting_id == upcoming.id)
                ).all()
            )
            officers = {upcoming.chair_id, upcoming.recorder_id} - {None}
            # every invited member (guests have no account), the 主持人 and the 记录人, but
            # the chair who sent the notice
            assert members_invited
            assert told == (members_invited | officers) - {upcoming.created_by_id}
            _check_demo_implementation(s)
    finally:
        db.dispose()
    assert run_cli(fresh_database_url, "audit", "verify").returncode == 0
    again = run_cli(fresh_database_url, "demo")
    assert again.returncode == 1  # never seeds over existing data


def _check_demo_implementation(s: Session) -> None:
    """民办 · 吹哨报到 · 民评 in the demo (issue #13): a street with 城管科, 市政所 and 房管所,
    each with a member who logs in; escalations answered in time, overdue and waiting; tasks
    done, in progress, overdue and with volunteers; a closed issue reopened once by 民评, and
    one whose round is open."""
    from app.escalations.models import Department, DepartmentMember, Escalation
    from app.evaluations.models import EvaluationRound, RoundOutcome
    from app.tasks.models import Task, TaskPhoto, TaskStatus

    now = clock.now()
    names = set(s.exec(select(Department.name)).all())
    assert names == {"城管科", "市政所", "房管所"}
    members = s.exec(select(DepartmentMember.user_id)).all()
    assert len(members) == 3
    assert all((s.get(User, uid) or User()).password_hash for uid in members)  # they log in
    escalations = s.exec(select(Escalation).order_by(col(Escalation.id))).all()
    answered, overdue, working, waiting = escalations
    assert answered.resolved_at is not None
    assert answered.acknowledged_at is not None
    assert answered.respond_due_at is not None
    assert answered.acknowledged_at <= answered.respond_due_at  # 报到 in time
    assert answered.resolved_at <= answered.resolve_due_at  # 办结 in time
    assert overdue.acknowledged_at is None
    assert overdue.respond_due_at is not None
    assert overdue.respond_due_at < now
    assert working.acknowledged_at is not None
    assert working.respond_due_at is not None
    assert working.acknowledged_at <= working.respond_due_at  # 报到 in time, still at work
    assert working.resolved_at is None
    assert waiting.department_id is None
    tasks = s.exec(select(Task)).all()
    assert {t.status for t in tasks} >= {TaskStatus.DONE, TaskStatus.IN_PROGRESS}
    assert any(t.status != TaskStatus.DONE and t.due_at < now for t in tasks)  # overdue
    assert any(t.volunteer_count == 3 for t in tasks)
    assert s.exec(select(func.count()).select_from(TaskPhoto)).one() >= 5
    rounds = s.exec(select(EvaluationRound).order_by(col(EvaluationRound.id))).all()
    assert [(r.number, r.outcome) for r in rounds] == [
        (1, RoundOutcome.REOPENED),
        (2, RoundOutcome.CLOSED),
        (1, None),
    ]
    first = rounds[0]
    assert first.dissatisfied * 3 > first.valid  # more than 1/3 不满意: it reopened
    assert rounds[1].dissatisfied == 0
    assert rounds[2].ends_at > now  # residents can still evaluate


def test_create_admin_prints_a_one_time_password_that_must_be_changed(
    fresh_database_url: str,
) -> None:
    result = run_cli(
        fresh_database_url, "create-admin", "--phone", "13912345678", "--name", "管理员"
    )
    assert result.returncode == 0, result.stderr
    match = re.search(r"：(\S{16})$", result.stdout.strip())
    assert match, result.stdout
    db = Database.connect(fresh_database_url)
    try:
        with db.session(read_only=True) as s:
            admin = s.exec(select(User).where(User.phone == "13912345678")).one()
            assert admin.is_platform_admin
            assert admin.must_change_password
            assert match.group(1) not in (admin.password_hash or "")
    finally:
        db.dispose()
    duplicate = run_cli(fresh_database_url, "create-admin", "--phone", "13912345678", "--name", "x")
    assert duplicate.returncode == 2


def test_create_hall_and_add_chair(fresh_database_url: str) -> None:
    assert (
        run_cli(
            fresh_database_url,
            "create-hall",
            "--district",
            "东城区",
            "--street",
            "前门街道",
            "--name",
            "草厂社区议事厅",
        ).returncode
        == 0
    )
    missing = run_cli(fresh_database_url, "add-chair", "--hall", "1", "--phone", "13912340000")
    assert missing.returncode == 2
    from app.accounts import schemas
    from app.accounts import service as accounts

    db = Database.connect(fresh_database_url)
    try:
        with db.session() as s:
            accounts.register_user(
                session=s,
                form=schemas.RegisterForm(
                    phone="13912340000", name="李彩仙", password="long enough pass", consent=True
                ),
            )
        assert (
            run_cli(
                fresh_database_url, "add-chair", "--hall", "1", "--phone", "13912340000"
            ).returncode
            == 0
        )
        with db.session(read_only=True) as s:
            roles = s.exec(select(MembershipRole.role)).all()
            assert Role.CHAIR in roles
    finally:
        db.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_demo_migrates_seeds_prints_logins_and_answers(
    fresh_database_url: str, backend: str
) -> None:
    if backend != "sqlite":
        # `make run` is the SQLite path; PostgreSQL serving is covered by the browser tests.
        fresh_database_url = fresh_database_url
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database_url,
        "YST_SECRET_KEY": "cli-test-secret-0123456789",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "serve",
            "--demo",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise AssertionError("server did not start")
        assert health.json()["database"] == "ok"
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert "议事厅" in home.text
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    assert "13800000001" in output
    assert "yishiting2026" in output
    assert f":{port}/" in output


def test_one_time_password_forces_a_change_before_anything_else(db: Database, make_client) -> None:
    from app.accounts import service as accounts
    from tests.factories import unique_phone

    phone = unique_phone()
    with db.session() as s:
        _, one_time = accounts.create_admin(session=s, phone=phone, name="管理员")
    client = make_client()
    client.login(phone, one_time)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/password"
    assert client.get("/api/v1/me").status_code == 403
    changed = client.post_form(
        "/account/password",
        {"current_password": one_time, "new_password": "a new long password"},
        token_from="/account/password",
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert client.get("/").status_code == 200


def _cli_process(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": url, "YST_SECRET_KEY": "cli-test-secret-0123456789"}
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _line_of(name: str, output: str) -> str:
    (line,) = [line for line in output.splitlines(keepends=True) if line.startswith(f"{name}:")]
    return line


def test_jobs_run_once_from_two_processes_at_once_runs_the_job_once(
    fresh_database_url: str,
) -> None:
    from app.jobs.models import JobLease
    from app.jobs.registry import JOBS
    from app.voting.models import Resolution
    from tests import factories as f
    from tests.jobs_helpers import publicizing_issue

    job = JOBS["publicity.end_due"]
    db = Database.connect(fresh_database_url)
    try:
        world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
        chair = f.make_chair(db, world)
        issue, resolution = publicizing_issue(db, world, chair)
        with db.session() as s:  # its 公示 ended a minute ago
            row = s.get(Resolution, resolution.id)
            assert row is not None
            row.publicity_ends_at = clock.now() - timedelta(minutes=1)
            s.add(row)
            s.commit()
        # Both inside one period of the job (a run per period): not astride its boundary.
        every = job.every.total_seconds()
        if every - time.time() % every < 30:
            time.sleep(every - time.time() % every + 1)
        procs = [_cli_process(fresh_database_url, "jobs", "run-once") for _ in range(2)]
        outputs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        # Every registered job runs; this test follows the 公示 job's line in each output.
        printed = sorted(_line_of(job.name, out) for out, _ in outputs)
        assert printed == [
            f"{job.name}: 已运行，处理 1 项\n",
            f"{job.name}: 未到期或正由其他进程运行\n",
        ]
        with db.session(read_only=True) as s:
            assert (s.get(Issue, issue.id) or issue).stage == Stage.IMPLEMENTING
            lease = s.get(JobLease, job.name)
            assert lease is not None
            assert (lease.runs, lease.last_count, lease.holder) == (1, 1, None)
        # by hand again, forced: nothing left to do
        forced = run_cli(fresh_database_url, "jobs", "run-once", "--force")
        assert _line_of(job.name, forced.stdout) == f"{job.name}: 已运行，处理 0 项\n", (
            forced.stderr
        )
        listed = run_cli(fresh_database_url, "jobs", "list")
        assert listed.returncode == 0, listed.stderr
        assert f"{job.name}  每 5 分钟" in listed.stdout
        assert "已运行 2 次" in listed.stdout
        assert "处理 0 项" in listed.stdout
    finally:
        db.dispose()


def test_make_run_takes_a_port() -> None:
    """`make run PORT=8080` serves on 8080; plain `make run` leaves the port to the settings.
    (Under `make test` this runs in a sub-make: only the recipe's serve line is looked at.)"""

    def serve_line(*args: str) -> str:
        out = subprocess.run(
            ["make", "--no-print-directory", "-n", "run", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (line,) = [line for line in out.splitlines() if "-m app serve" in line]
        return line.rstrip()

    assert serve_line("PORT=8080").endswith("-m app serve --demo --port 8080")
    plain = serve_line()
    assert "--port" not in plain
    assert plain.endswith("-m app serve --demo")
