"""A job's lease: taken by one statement, so that of several processes ticking at once exactly
one runs a given period of a job.

Taking it is `UPDATE job_lease SET holder = <token>, leased_until = now + ttl,
last_started_at = now WHERE name = <job> AND the lease is free (never taken, given back, or
past leased_until: a crashed holder's) AND the job is due (not started yet in the current
period)`, after an `INSERT … ON CONFLICT DO NOTHING` makes the row on a job's first tick.
On SQLite both run in one BEGIN IMMEDIATE transaction (app/db.py): writers take turns for the
whole database. On PostgreSQL the UPDATE locks the row; a second process's UPDATE waits for
the first's commit and then evaluates its WHERE again on the new row (READ COMMITTED), finds
the lease held or the period started, and updates nothing. Whoever's UPDATE changed one row
holds the lease; everyone else skips the job until its next period.

A period is the slot of `every` seconds since the epoch that `now` falls into: a job is due
when its last start lies in an earlier slot, so the processes need not agree on when they
tick, and a frozen clock (app.core.clock.freeze) decides alone what is due.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, update

from app.jobs.models import JobLease

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ERROR_MAX = 500


def period_start(now: datetime, every: timedelta) -> datetime:
    """The start of the period (slot of `every` since the epoch) that `now` falls into."""
    return EPOCH + ((now - EPOCH) // every) * every


def _ensure_row(session: Session, name: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.exec(insert(JobLease).values(name=name, runs=0).on_conflict_do_nothing())


def take(
    session: Session,
    *,
    name: str,
    token: str,
    now: datetime,
    every: timedelta,
    ttl: timedelta,
    force: bool = False,
) -> bool:
    """Take the lease of job `name` for `token` if it is free and the job is due (`force`: due
    whatever its last start); commits. True when this process is to run the job."""
    _ensure_row(session, name)
    free = sa.or_(col(JobLease.leased_until).is_(None), col(JobLease.leased_until) <= now)
    query = update(JobLease).where(col(JobLease.name) == name, free)
    if not force:
        started = col(JobLease.last_started_at)
        query = query.where(sa.or_(started.is_(None), started < period_start(now, every)))
    result = session.exec(query.values(holder=token, leased_until=now + ttl, last_started_at=now))
    taken = result.rowcount == 1
    session.commit()
    return bool(taken)


def give_back(
    session: Session, *, name: str, token: str, finished_at: datetime, error: str | None
) -> bool:
    """After a failed run (its transaction rolled back): free the lease, count the run and note
    the error; commits. False when the lease was no longer this process's."""
    result = session.exec(
        update(JobLease)
        .where(col(JobLease.name) == name, col(JobLease.holder) == token)
        .values(
            holder=None,
            leased_until=None,
            last_finished_at=finished_at,
            last_count=None,
            last_error=(error or "")[:ERROR_MAX] or None,
            runs=JobLease.runs + 1,
        )
    )
    done = result.rowcount == 1
    session.commit()
    return bool(done)
