"""Races on 任务分工 between OS processes, on SQLite and PostgreSQL (issue #13):

- 认领: a 居民志愿者 task with cap N=3 and N+3 residents claiming at the same moment: exactly N
  get a place, the others a clear 409 "名额已满" (volunteers_full), and the count is N — the
  CHECK volunteers_within_cap and the `volunteer_count + 1` UPDATE in the claim's transaction
  decide, not the application's reading;
- the overdue job: six processes run `tasks.overdue` through the job runner at once, and six
  call the notifying service itself at once: either way the chairs are told once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from multiprocessing.synchronize import Barrier

import pytest
from sqlmodel import select

import app.models  # noqa: F401 - every table, also in the spawned children
from app.accounts.models import User
from app.core import clock
from app.core.errors import Conflict
from app.db import Database
from app.halls import queries as hall_queries
from app.issues.models import Notification
from app.jobs import runner
from app.jobs.registry import JOBS, Job
from app.tasks import service
from app.tasks.models import PartyType, Task
from app.web.messages import message
from tests import factories as f
from tests import task_helpers as th
from tests.implementation_helpers import implementing_issue
from tests.services.test_races import TIMEOUT, Racers

pytestmark = pytest.mark.slow

N = 6
CAP = 3


@pytest.fixture(scope="module")
def racers() -> Iterator[Racers]:
    pool = Racers(N)
    yield pool
    pool.close()


# --- workers (run in the spawned children) ---------------------------------------------------


def _claim(
    barrier: Barrier, url: str, user_id: int, hall_id: int, issue_id: int, task_id: int
) -> str:
    db = Database.connect(url)
    try:
        with db.session(read_only=True) as s:
            user = s.get(User, user_id)
            hall = hall_queries.get_hall(s, hall_id)
            assert user is not None
            assert hall is not None
            access = hall_queries.hall_access(s, user=user, hall=hall)
        barrier.wait(timeout=TIMEOUT)
        try:
            with db.session() as s:
                service.claim_task(
                    session=s, access=access, actor=user, issue_id=issue_id, task_id=task_id
                )
        except Conflict as exc:
            return f"conflict:{exc.code}"
        return "ok"
    finally:
        db.dispose()


def _run_job(barrier: Barrier, url: str, name: str, at: datetime) -> str:
    clock.freeze(at)
    db = Database.connect(url)
    job = Job(name=name, run=JOBS["tasks.overdue"].run, description="", every=timedelta(days=1))
    try:
        barrier.wait(timeout=TIMEOUT)
        return runner.run_job(db, job, token=runner.new_token()).status
    finally:
        db.dispose()


def _notify(barrier: Barrier, url: str, at: datetime, task_id: int) -> bool:
    clock.freeze(at)
    db = Database.connect(url)
    try:
        barrier.wait(timeout=TIMEOUT)
        with db.session() as s:
            told = service.notify_overdue(session=s, now=clock.now())
            s.commit()
        return any(t.id == task_id for t in told)
    finally:
        db.dispose()


# --- the races -------------------------------------------------------------------------------


def test_cap_n_and_n_plus_k_claimers_exactly_n_get_a_place(db: Database, racers: Racers) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=N)
    chair = f.make_chair(db, world)
    issue = implementing_issue(db, world, chair)
    task = th.add_task(
        db, world, chair, issue, party_type=PartyType.VOLUNTEERS, volunteer_cap=str(CAP)
    )
    people = [f.make_member(db, world, household_index=i, chair=chair)[0] for i in range(N)]
    args = [(db.url, p.id, world.hall.id, issue.id, task.id) for p in people]
    results = racers.race(_claim, args)
    assert Counter(results) == {"ok": CAP, "conflict:volunteers_full": N - CAP}, results
    assert th.stored(db, task).volunteer_count == CAP
    assert message("volunteers_full", cap=CAP).startswith("名额已满")


def _told(db: Database, task: Task) -> int:
    with db.session(read_only=True) as s:
        return len(
            s.exec(
                select(Notification.id).where(
                    Notification.issue_id == task.issue_id, Notification.kind == "task_overdue"
                )
            ).all()
        )


def test_the_overdue_job_run_at_once_from_processes_tells_the_chairs_once(
    db: Database, racers: Racers
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    issue = implementing_issue(db, world, chair)
    task = th.add_task(db, world, chair, issue)
    at = task.due_at + timedelta(minutes=1)
    name = f.unique("test.tasks.overdue")[:64]
    results = racers.race(_run_job, [(db.url, name, at)] * N)
    assert sorted(results) == ["not_due"] * (N - 1) + ["ran"]
    assert _told(db, task) == 1  # the one chair, once
    assert th.stored(db, task).overdue_notified_at == at
    # and the service itself, called at once from every process on a second task
    second = th.add_task(db, world, chair, issue, title="第二项")
    later = second.due_at + timedelta(minutes=1)
    told = racers.race(_notify, [(db.url, later, second.id)] * N)
    assert told.count(True) == 1, told
    assert _told(db, task) == 2
