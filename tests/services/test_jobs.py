"""The periodic jobs (app/jobs), on SQLite and PostgreSQL.

- the 公示 job: an issue whose 公示 is over with no 异议 open or upheld moves to 民办, once,
  with the run's audit event; one with an 异议 unanswered or upheld waits for the chair; before
  the end of the period nothing moves; a second run finds nothing (idempotent);
- the frozen clock decides what is due: one run per period of `every`, whoever ticks;
- a stale lease (a crashed holder's, leased_until past) is taken over; a live one is not;
- a job that raises writes nothing, frees its lease and leaves its error on the row;
- four OS processes tick at the same moment: exactly one runs the job, `runs` is 1;
- the app's lifespan starts the scheduler only when the setting turns it on, and stops it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier

import pytest
from sqlmodel import Session, select

import app.models  # noqa: F401 - every table, also in the spawned children
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.config import Settings
from app.core import clock
from app.db import Database
from app.issues.lifecycle import Stage
from app.issues.models import Issue, StageEvent
from app.jobs import runner
from app.jobs.models import JobLease
from app.jobs.registry import JOBS, Job
from app.main import create_app
from tests import factories as f
from tests.conftest import SECRET, Client
from tests.jobs_helpers import object_to, publicizing_issue
from tests.services.test_races import Racers

PUBLICITY = JOBS["publicity.end_due"]


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    clock.freeze(at)
    try:
        yield
    finally:
        clock.freeze(None)


@pytest.fixture
def fresh_db(fresh_database_url: str) -> Iterator[Database]:
    """A database of its own: the job looks at every hall's issues."""
    database = Database.connect(fresh_database_url)
    yield database
    database.dispose()


def stage_of(db: Database, issue: Issue) -> Stage:
    with db.session(read_only=True) as s:
        found = s.get(Issue, issue.id)
        assert found is not None
        return found.stage


def lease_of(db: Database, name: str) -> JobLease:
    with db.session(read_only=True) as s:
        row = s.get(JobLease, name)
        assert row is not None
        return row


def job_events(db: Database, name: str) -> list[dict[str, object]]:
    with db.session(read_only=True) as s:
        rows = s.exec(select(AuditEvent.data).where(AuditEvent.action == "jobs.run_job")).all()
    found = [json.loads(d) for d in rows]
    return [d for d in found if d["job"] == name]


def unique_job(run: object, *, every: timedelta = timedelta(minutes=5)) -> Job:
    return Job(name=f.unique("test.job")[:64], run=run, description="测试", every=every)  # type: ignore[arg-type]


# --- the 公示 job ----------------------------------------------------------------------------


def test_publicity_job_moves_what_is_over_and_unopposed_once_and_audits_it(
    fresh_db: Database,
) -> None:
    db = fresh_db
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    objector = f.make_member(db, world, household_index=1, chair=chair, name="异议人")[0]
    clean, resolution = publicizing_issue(db, world, chair)
    unanswered, _ = publicizing_issue(db, world, chair)
    object_to(db, world, objector, unanswered)
    upheld, _ = publicizing_issue(db, world, chair)
    object_to(db, world, objector, upheld, answer_by=chair, upheld=True)
    rejected, last = publicizing_issue(db, world, chair)
    object_to(db, world, objector, rejected, answer_by=chair, upheld=False)
    assert resolution.publicity_ends_at is not None
    assert last.publicity_ends_at is not None

    # one second before the first 公示 ends: nothing is due
    with frozen(resolution.publicity_ends_at - timedelta(seconds=1)):
        (before,) = runner.run_once(db, jobs=[PUBLICITY])
    assert (before.status, before.count) == ("ran", 0)
    assert stage_of(db, clean) == Stage.PUBLICIZING
    assert job_events(db, PUBLICITY.name) == []

    after = last.publicity_ends_at + timedelta(seconds=1)
    with frozen(after):
        (ran,) = runner.run_once(db, jobs=[PUBLICITY], force=True)
    assert (ran.status, ran.count) == ("ran", 2)
    assert stage_of(db, clean) == Stage.IMPLEMENTING
    assert stage_of(db, rejected) == Stage.IMPLEMENTING  # an 异议 answered, not upheld
    assert stage_of(db, unanswered) == Stage.PUBLICIZING  # the chair answers first
    assert stage_of(db, upheld) == Stage.PUBLICIZING  # back to 民议 is the chair's call
    assert job_events(db, PUBLICITY.name) == [{"job": PUBLICITY.name, "count": 2}]
    with db.session(read_only=True) as s:
        moves = s.exec(
            select(StageEvent).where(
                StageEvent.issue_id == clean.id, StageEvent.to_stage == Stage.IMPLEMENTING
            )
        ).all()
        assert [(m.actor_id, m.at) for m in moves] == [(None, after)]
        assert audit.verify_chain(s).ok
    row = lease_of(db, PUBLICITY.name)
    assert (row.runs, row.last_count, row.holder, row.leased_until) == (2, 2, None, None)
    assert row.last_started_at == after

    # idempotent: run again by hand, nothing left to do and no audit event
    with frozen(after + timedelta(seconds=1)):
        (again,) = runner.run_once(db, jobs=[PUBLICITY], force=True)
    assert (again.status, again.count) == ("ran", 0)
    assert len(job_events(db, PUBLICITY.name)) == 1
    assert lease_of(db, PUBLICITY.name).runs == 3


# --- the lease -------------------------------------------------------------------------------


def count_one(session: Session, now: datetime) -> int:
    return 1


def test_the_frozen_clock_decides_what_is_due(db: Database) -> None:
    job = unique_job(count_one)
    start = datetime(2030, 3, 1, 10, 0, tzinfo=UTC)
    statuses = []
    for at in (start, start + timedelta(minutes=4, seconds=59), start + timedelta(minutes=5)):
        with frozen(at):
            statuses.append(runner.run_once(db, jobs=[job])[0].status)
    assert statuses == ["ran", "not_due", "ran"]
    row = lease_of(db, job.name)
    assert (row.runs, row.last_started_at) == (2, start + timedelta(minutes=5))
    assert len(job_events(db, job.name)) == 2


def set_lease(db: Database, name: str, *, holder: str, until: datetime, started: datetime) -> None:
    with db.session() as s:
        s.add(JobLease(name=name, holder=holder, leased_until=until, last_started_at=started))
        s.commit()


def test_a_stale_lease_is_taken_over_and_a_live_one_is_not(db: Database) -> None:
    now = datetime(2030, 3, 1, 10, 0, tzinfo=UTC)
    live, stale = unique_job(count_one), unique_job(count_one)
    earlier = now - timedelta(hours=1)
    set_lease(db, live.name, holder="alive", until=now + timedelta(seconds=1), started=earlier)
    set_lease(db, stale.name, holder="crashed", until=now - timedelta(seconds=1), started=earlier)
    with frozen(now):
        outcomes = runner.run_once(db, jobs=[live, stale], force=True)
    assert [o.status for o in outcomes] == ["not_due", "ran"]
    assert lease_of(db, live.name).holder == "alive"
    taken = lease_of(db, stale.name)
    assert (taken.holder, taken.runs, taken.last_started_at) == (None, 1, now)
    # the boundary: a lease is free at its leased_until
    with frozen(now + timedelta(seconds=1)):
        (ran,) = runner.run_once(db, jobs=[live], force=True)
    assert ran.status == "ran"


def fails(session: Session, now: datetime) -> int:
    audit.record(
        session,
        action="jobs.run_job",
        actor_id=None,
        hall_id=None,
        subject_type="job",
        subject_id=None,
        data={"job": "half-done", "count": 1},
    )
    raise RuntimeError("水表接口超时")


def test_a_failing_job_writes_nothing_and_leaves_its_error(db: Database) -> None:
    job = unique_job(fails)
    with db.session(read_only=True) as s:
        events_before = len(s.exec(select(AuditEvent.id)).all())
    (outcome,) = runner.run_once(db, jobs=[job])
    assert outcome.status == "failed"
    assert outcome.error == "RuntimeError: 水表接口超时"
    row = lease_of(db, job.name)
    assert (row.runs, row.holder, row.leased_until) == (1, None, None)
    assert row.last_error == "RuntimeError: 水表接口超时"
    with db.session(read_only=True) as s:
        assert len(s.exec(select(AuditEvent.id)).all()) == events_before
    # the next period tries again, and a success clears the error
    fixed = Job(name=job.name, run=count_one, description="", every=job.every)
    with frozen(clock.now() + job.every):
        (again,) = runner.run_once(db, jobs=[fixed])
    assert again.status == "ran"
    assert lease_of(db, job.name).last_error is None


# --- processes at the same moment ------------------------------------------------------------


def slow_effect(session: Session, now: datetime) -> int:
    """Long enough that every racer's UPDATE meets a held lease, not a given-back one."""
    time.sleep(0.3)
    return 1


def _tick(barrier: Barrier, url: str, name: str) -> str:
    db = Database.connect(url)
    job = Job(name=name, run=slow_effect, description="", every=timedelta(days=1))
    try:
        barrier.wait()
        return runner.run_job(db, job, token=runner.new_token()).status
    finally:
        db.dispose()


@pytest.mark.slow
def test_processes_ticking_at_once_run_the_job_once(db: Database) -> None:
    name = f.unique("test.race")[:64]
    racers = Racers(4)
    try:
        results = racers.race(_tick, [(db.url, name)] * 4)
    finally:
        racers.close()
    assert sorted(results) == ["not_due", "not_due", "not_due", "ran"]
    row = lease_of(db, name)
    assert (row.runs, row.holder) == (1, None)
    assert job_events(db, name) == [{"job": name, "count": 1}]


# --- the scheduler in the app's lifespan -----------------------------------------------------


def test_the_scheduler_is_off_in_tests_unless_turned_on(fresh_database_url: str) -> None:
    off = Settings(environment="test", database_url=fresh_database_url, secret_key=SECRET)
    assert off.jobs_interval == 0
    assert Settings(database_url=fresh_database_url, secret_key=SECRET).jobs_interval == 300
    with Client(create_app(off)) as client:
        assert client.app.state.jobs is None  # type: ignore[attr-defined]
    on = off.model_copy(update={"jobs_interval_seconds": 1})
    with Client(create_app(on)) as client:
        scheduler = client.app.state.jobs  # type: ignore[attr-defined]
        assert scheduler.running
        assert client.get("/healthz").status_code == 200  # requests go on meanwhile
        deadline = time.monotonic() + 30
        while scheduler.ticks < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert scheduler.ticks >= 1
    assert not scheduler.running  # stopped with the app
    db = Database.connect(fresh_database_url)
    try:
        assert lease_of(db, PUBLICITY.name).runs == 1
    finally:
        db.dispose()
