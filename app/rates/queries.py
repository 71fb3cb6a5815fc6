"""三率's raw counts, by three aggregate queries whatever the size of the street.

1. the rows (the street's halls, departments or property companies, with their names);
2. the evaluation rounds closed in the period, SUMmed per row and month from the counts each
   round keeps in step with its answers (never the answers themselves); for departments and
   companies also once for the whole street (key TOTAL), since one issue's round is every
   department's (company's) that worked on it and the rows' sum would count it more than once;
3. what 响应率 assesses per row and month (proposals answered or overdue / dispatched
   escalations / tasks).

Months are Beijing-time months (app.rates.period): a CASE over the months' UTC boundaries,
so the same SQL runs on SQLite and PostgreSQL. The CASE is computed in a subquery and grouped
outside it (PostgreSQL would not match a GROUP BY on a repeated expression with its own bound
parameters).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from app.escalations.models import Department, Escalation
from app.evaluations.models import EvaluationRound
from app.halls.models import Hall, PropertyCompany
from app.issues.lifecycle import Stage
from app.issues.models import Issue
from app.rates.period import Month, Period
from app.rates.rules import ROUND_FIELDS, Tally, total
from app.tasks.models import Task


class By(StrEnum):
    HALL = "hall"
    DEPARTMENT = "department"
    COMPANY = "company"


TOTAL = 0  # the key of the street's distinct rounds (ids start at 1)


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    months: tuple[Tally, ...]  # one per month of the period, in order


@dataclass(frozen=True)
class Tallies:
    rows: list[Row]
    total: tuple[Tally, ...]  # per month: the rows' counts, each round counted once


def _bucket(column: Any, months: list[Month]) -> Any:
    """The index of the month an instant falls in (the caller keeps it inside the period)."""
    return sa.case(*((column < m.end, i) for i, m in enumerate(months)), else_=-1)


def _within(column: Any, period: Period) -> Any:
    return sa.and_(column >= period.start, column < period.end)


def _rows(session: Session, by: By, street_id: int, hall_id: int | None) -> list[tuple[int, str]]:
    model: Any = {By.HALL: Hall, By.DEPARTMENT: Department, By.COMPANY: PropertyCompany}[by]
    q = sa.select(model.id, model.name).where(model.street_id == street_id).order_by(model.id)
    if hall_id is not None:
        q = q.where(model.id == hall_id)
    return [(int(i), str(n)) for i, n in session.execute(q).all()]


def _round_source(by: By, street_id: int, hall_id: int | None) -> list[Any]:
    """(key, round columns) of the rounds attributed to each row, each once per row; for
    departments and companies also (TOTAL, round columns), each round once."""
    r = EvaluationRound
    counts = (
        col(r.closed_at),
        col(r.valid),
        col(r.satisfied),
        col(r.basic),
        col(r.dissatisfied),
        col(r.resolved_yes),
        col(r.resolved_no),
    )
    if by == By.HALL:
        q: Any = sa.select(col(r.hall_id).label("key"), *counts).join(
            Hall, col(Hall.id) == r.hall_id
        )
        q = q.where(col(Hall.street_id) == street_id)
        return [q if hall_id is None else q.where(col(r.hall_id) == hall_id)]
    if by == By.DEPARTMENT:
        e = Escalation
        pairs: Any = (
            sa.select(col(e.issue_id), col(e.department_id).label("key"))
            .where(
                col(e.street_id) == street_id,
                col(e.department_id).is_not(None),
                col(e.dispatched_at).is_not(None),
            )
            .distinct()
            .subquery()
        )
    else:
        pairs = (
            sa.select(col(Task.issue_id), col(Task.company_id).label("key"))
            .join(PropertyCompany, col(PropertyCompany.id) == Task.company_id)
            .where(col(PropertyCompany.street_id) == street_id)
            .distinct()
            .subquery()
        )
    per_row: Any = sa.select(pairs.c.key, *counts).join(pairs, pairs.c.issue_id == r.issue_id)
    once: Any = sa.select(sa.literal_column(str(TOTAL)).label("key"), *counts).where(
        col(r.issue_id).in_(sa.select(pairs.c.issue_id))
    )
    return [per_row, once]


def _rounds(
    session: Session, by: By, street_id: int, hall_id: int | None, period: Period
) -> list[Any]:
    months = period.months()
    closed = col(EvaluationRound.closed_at)
    parts: list[Any] = [
        source.add_columns(_bucket(closed, months).label("month")).where(_within(closed, period))
        for source in _round_source(by, street_id, hall_id)
    ]
    inner: Any = parts[0].subquery() if len(parts) == 1 else sa.union_all(*parts).subquery()
    c = inner.c
    return list(
        session.execute(
            sa.select(
                c.key,
                c.month,
                sa.func.count(),
                sa.func.sum(c.valid),
                sa.func.sum(c.satisfied),
                sa.func.sum(c.basic),
                sa.func.sum(c.dissatisfied),
                sa.func.sum(c.resolved_yes),
                sa.func.sum(c.resolved_no),
            ).group_by(c.key, c.month)
        ).all()
    )


def _on_time(condition: Any) -> Any:
    return sa.case((condition, 1), else_=0)


def _response_source(
    by: By, street_id: int, hall_id: int | None, period: Period, now: datetime
) -> Any:
    """(key, month, in_time) per assessed proposal / escalation / task (app.rates.rules)."""
    months = period.months()
    if by == By.HALL:
        reviewed, due = col(Issue.reviewed_at), col(Issue.review_due_at)
        answered = sa.and_(reviewed.is_not(None), _within(reviewed, period))
        # A proposal left unanswered past its deadline counts too (late), in its deadline's
        # month, unless the proposer withdrew it first: ignoring proposals is no 100 %.
        ignored = sa.and_(
            reviewed.is_(None),
            due < now,
            _within(due, period),
            col(Issue.stage) != Stage.WITHDRAWN,
        )
        q = (
            sa.select(
                col(Issue.hall_id).label("key"),
                _bucket(sa.func.coalesce(reviewed, due), months).label("month"),
                _on_time(sa.and_(reviewed.is_not(None), reviewed <= due)).label("in_time"),
            )
            .join(Hall, col(Hall.id) == Issue.hall_id)
            .where(col(Hall.street_id) == street_id, due.is_not(None), sa.or_(answered, ignored))
        )
        return q if hall_id is None else q.where(col(Issue.hall_id) == hall_id)
    if by == By.DEPARTMENT:
        e = Escalation
        dispatched, acked, due = col(e.dispatched_at), col(e.acknowledged_at), col(e.respond_due_at)
        return sa.select(
            col(e.department_id).label("key"),
            _bucket(dispatched, months).label("month"),
            _on_time(sa.and_(acked.is_not(None), acked <= due)).label("in_time"),
        ).where(
            col(e.street_id) == street_id,
            col(e.department_id).is_not(None),
            _within(dispatched, period),
            sa.or_(acked.is_not(None), due < now),  # reported, or its window has passed
        )
    due, done = col(Task.due_at), col(Task.done_at)
    was_due = sa.and_(_within(due, period), due < now)
    return (
        sa.select(
            col(Task.company_id).label("key"),
            sa.case((was_due, _bucket(due, months)), else_=_bucket(done, months)).label("month"),
            _on_time(sa.and_(done.is_not(None), done <= due)).label("in_time"),
        )
        .join(PropertyCompany, col(PropertyCompany.id) == Task.company_id)
        .where(col(PropertyCompany.street_id) == street_id, sa.or_(was_due, _within(done, period)))
    )


def _responses(
    session: Session, by: By, street_id: int, hall_id: int | None, period: Period, now: datetime
) -> list[Any]:
    inner = _response_source(by, street_id, hall_id, period, now).subquery()
    c = inner.c
    return list(
        session.execute(
            sa.select(c.key, c.month, sa.func.count(), sa.func.sum(c.in_time)).group_by(
                c.key, c.month
            )
        ).all()
    )


def tallies(
    session: Session,
    *,
    by: By,
    street_id: int,
    period: Period,
    now: datetime,
    hall_id: int | None = None,
) -> Tallies:
    """Every row of the street (or the one hall) with its raw counts per month, and the
    street's total per month: 3 queries."""
    n = len(period.months())
    rows = _rows(session, by, street_id, hall_id)
    cells: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    for key, month, rounds, valid, sat, basic, dis, yes, no in _rounds(
        session, by, street_id, hall_id, period
    ):
        cells[(int(key), int(month))].update(
            rounds=int(rounds),
            valid=int(valid or 0),
            satisfied=int(sat or 0),
            basic=int(basic or 0),
            dissatisfied=int(dis or 0),
            resolved_yes=int(yes or 0),
            resolved_no=int(no or 0),
        )
    for key, month, assessed, in_time in _responses(session, by, street_id, hall_id, period, now):
        cells[(int(key), int(month))].update(assessed=int(assessed), in_time=int(in_time or 0))
    found = [
        Row(rid, name, tuple(Tally(**cells.get((rid, m), {})) for m in range(n)))
        for rid, name in rows
    ]
    summed = [total([row.months[m] for row in found]) for m in range(n)]
    if by != By.HALL:  # a round is counted once; what 响应率 assesses is one row's each
        summed = [replace(summed[m], **_round_counts(cells.get((TOTAL, m), {}))) for m in range(n)]
    return Tallies(found, tuple(summed))


def _round_counts(cell: dict[str, int]) -> dict[str, int]:
    return {name: cell.get(name, 0) for name in ROUND_FIELDS}
