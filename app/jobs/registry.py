"""The periodic jobs, by name: each a domain service called with a session and the time.

A job returns how many things it did (0: nothing was due). It writes in the session it is
given and does not commit: the runner commits its work together with the lease's bookkeeping
and the audit event of the run (app/jobs/runner.py), so a run happens entirely or not at all.
It must be idempotent: a run after a crash, or by hand, finds nothing left to do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from app.escalations import service as escalations
from app.evaluations import service as evaluations
from app.tasks import service as tasks
from app.voting import service as voting

JobFunction = Callable[[Session, datetime], int]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFunction
    description: str
    every: timedelta = timedelta(minutes=5)  # at most one run per period, whoever ticks
    ttl: timedelta = timedelta(minutes=10)  # a holder silent this long is taken to have crashed


def end_due_publicities(session: Session, now: datetime) -> int:
    return len(voting.end_due_publicities(session=session, now=now))


def remind_voters(session: Session, now: datetime) -> int:
    return len(voting.remind_due_voters(session=session, now=now))


def notify_overdue_escalations(session: Session, now: datetime) -> int:
    return escalations.notify_overdue(session=session, now=now)


def close_due_evaluations(session: Session, now: datetime) -> int:
    return len(evaluations.close_due_rounds(session=session, now=now))


def notify_overdue_tasks(session: Session, now: datetime) -> int:
    return len(tasks.notify_overdue(session=session, now=now))


JOBS: Mapping[str, Job] = {
    job.name: job
    for job in (
        Job(
            name="publicity.end_due",
            run=end_due_publicities,
            description="公示期满、无未答复或成立的异议的议题转入民办",
        ),
        Job(
            name="voting.remind",
            run=remind_voters,
            description="表决截止前提醒还没有投票的人",
        ),
        Job(
            name="escalations.overdue",
            run=notify_overdue_escalations,
            description="吹哨报到逾期（报到或办结）时通知承办部门和街道，每项时限只通知一次",
        ),
        Job(
            name="evaluations.close_due",
            run=close_due_evaluations,
            description="评价期满的民评结束：不满意超过门槛的重新办理，其余办结",
        ),
        Job(
            name="tasks.overdue",
            run=notify_overdue_tasks,
            description="办理任务逾期未完成：通知社区书记（主任）和街道，每个任务每个期限一次",
        ),
    )
}
