"""One tick: every due job whose lease this process takes is run, each in one transaction.

The run's transaction first locks its lease row again, still held by this process's token
(SELECT … FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE holds the database), so a
holder whose lease was taken over after a long pause writes nothing; then the job does its
work, the audit event `jobs.run_job` is recorded when it did something, the lease is given
back with the run counted, and all of it commits at once. A job that raises is rolled back,
and the lease given back with the error noted (app/jobs/lease.give_back).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlmodel import col, select

from app.audit import service as audit
from app.core import clock
from app.db import Database, locked
from app.jobs import lease
from app.jobs.models import JobLease
from app.jobs.registry import JOBS, Job

log = logging.getLogger(__name__)

Status = Literal["ran", "not_due", "failed", "lost"]


@dataclass(frozen=True)
class Outcome:
    job: str
    status: Status  # ran; not_due (held elsewhere or run this period); failed; lost (taken over)
    count: int = 0
    error: str | None = None


def new_token() -> str:
    """A process's holder token: random, so two processes never pass for each other."""
    return secrets.token_hex(16)


def run_job(db: Database, job: Job, *, token: str, force: bool = False) -> Outcome:
    now = clock.now()
    with db.session() as session:
        if not lease.take(
            session, name=job.name, token=token, now=now, every=job.every, ttl=job.ttl, force=force
        ):
            return Outcome(job.name, "not_due")
    try:
        with db.session() as session:
            query = select(JobLease).where(
                col(JobLease.name) == job.name, col(JobLease.holder) == token
            )
            held = session.exec(locked(query)).first()
            if held is None:
                return Outcome(job.name, "lost")
            count = job.run(session, now)
            if count:
                audit.record(
                    session,
                    action="jobs.run_job",
                    actor_id=None,
                    hall_id=None,
                    subject_type="job",
                    subject_id=None,
                    data={"job": job.name, "count": count},
                )
            held.holder = None
            held.leased_until = None
            held.last_finished_at = clock.now()
            held.last_count = count
            held.last_error = None
            held.runs += 1
            session.add(held)
            session.commit()
            return Outcome(job.name, "ran", count)
    except Exception as exc:
        log.exception("job %s failed", job.name)
        error = f"{type(exc).__name__}: {exc}"
        with db.session() as session:
            lease.give_back(
                session, name=job.name, token=token, finished_at=clock.now(), error=error
            )
        return Outcome(job.name, "failed", error=error)


def run_once(
    db: Database,
    *,
    jobs: Iterable[Job] | None = None,
    token: str | None = None,
    force: bool = False,
) -> list[Outcome]:
    """One tick of every job (or of `jobs`): the due ones whose lease this process takes run."""
    token = token or new_token()
    return [run_job(db, job, token=token, force=force) for job in (jobs or JOBS.values())]


def leases(db: Database) -> dict[str, JobLease]:
    """The lease rows there are, by job name (`python -m app jobs list`)."""
    with db.session(read_only=True) as session:
        return {row.name: row for row in session.exec(select(JobLease)).all()}
