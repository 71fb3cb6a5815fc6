"""Reads for 吹哨报到: a street's departments and windows, the street's dispatch inbox, a
department's inbox, one escalation with its trail, an issue's escalations, and the links on
the home page. Each list is a fixed number of statements whatever its length."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core import clock
from app.escalations import deadlines
from app.escalations.deadlines import Deadline, EscalationStatus, Window
from app.escalations.models import (
    Department,
    DepartmentMember,
    Escalation,
    EscalationHelper,
    EscalationStep,
    StreetDeadline,
    Urgency,
)
from app.escalations.policies import DepartmentAccess, Part
from app.halls.models import Hall, Street, StreetAdmin
from app.issues.models import Issue
from app.tasks.models import Task

INBOX_LIMIT = 200


# --- a street's settings ------------------------------------------------------------------------


def street_windows(session: Session, *, street_id: int) -> dict[Urgency, Window]:
    rows = session.exec(select(StreetDeadline).where(StreetDeadline.street_id == street_id)).all()
    own = {Urgency(r.urgency): Window(r.respond_minutes, r.resolve_minutes) for r in rows}
    return deadlines.street_windows(own)


def street_own_windows(session: Session, *, street_id: int) -> set[Urgency]:
    """The classes the street set itself (the others are the defaults)."""
    rows = session.exec(
        select(StreetDeadline.urgency).where(StreetDeadline.street_id == street_id)
    ).all()
    return {Urgency(u) for u in rows}


@dataclass(frozen=True)
class MemberRow:
    member_id: int
    user_id: int
    name: str
    phone: str | None


@dataclass(frozen=True)
class DepartmentRow:
    department: Department
    members: list[MemberRow] = field(default_factory=list)


def list_departments(session: Session, *, street_id: int) -> list[DepartmentRow]:
    """The street's departments with their members: two statements."""
    departments = session.exec(
        select(Department).where(Department.street_id == street_id).order_by(col(Department.name))
    ).all()
    members: dict[int, list[MemberRow]] = defaultdict(list)
    if departments:
        rows = session.exec(
            select(DepartmentMember, User.name, User.phone)
            .join(User, col(User.id) == DepartmentMember.user_id)
            .join(Department, col(Department.id) == DepartmentMember.department_id)
            .where(Department.street_id == street_id)
            .order_by(col(DepartmentMember.id))
        ).all()
        for member, name, phone in rows:
            row = MemberRow(member.id or 0, member.user_id, name, phone)
            members[member.department_id].append(row)
    return [DepartmentRow(d, members[d.id or 0]) for d in departments]


def department_names(session: Session, *, street_id: int) -> list[tuple[int, str]]:
    rows = session.exec(
        select(Department.id, Department.name)
        .where(Department.street_id == street_id)
        .order_by(col(Department.name))
    ).all()
    return [(i or 0, n) for i, n in rows]


def department_access(
    session: Session, *, user_id: int, department_id: int
) -> DepartmentAccess | None:
    """The person's membership of the department, or None: one statement."""
    row = session.exec(
        select(Department.street_id, Department.name)
        .join(DepartmentMember, col(DepartmentMember.department_id) == Department.id)
        .where(Department.id == department_id, DepartmentMember.user_id == user_id)
    ).first()
    if row is None:
        return None
    return DepartmentAccess(user_id, department_id, row[0], row[1])


# --- escalations as listed ----------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationRow:
    escalation: Escalation
    hall_name: str
    issue_title: str
    department_name: str | None
    respond: Deadline | None  # None until dispatched
    resolve: Deadline
    part: Part | None = None  # in a department's inbox: lead or helper

    @property
    def flagged(self) -> bool:
        return self.resolve.flagged or (self.respond is not None and self.respond.flagged)

    @property
    def overdue_open(self) -> bool:
        open_ = self.escalation.status != EscalationStatus.RESOLVED
        return open_ and self.flagged


def deadlines_of(escalation: Escalation, now: datetime) -> tuple[Deadline | None, Deadline]:
    """The response (from dispatch) and resolution (from the whistle) deadlines at `now`."""
    respond = None
    if escalation.dispatched_at is not None and escalation.respond_due_at is not None:
        respond = deadlines.deadline_at(
            start=escalation.dispatched_at,
            due_at=escalation.respond_due_at,
            now=now,
            done_at=escalation.acknowledged_at,
        )
    resolve = deadlines.deadline_at(
        start=escalation.raised_at,
        due_at=escalation.resolve_due_at,
        now=now,
        done_at=escalation.resolved_at,
    )
    return respond, resolve


_LISTED = (
    select(Escalation, Hall.name, Issue.title, Department.name)
    .join(Hall, col(Hall.id) == Escalation.hall_id)
    .join(Issue, col(Issue.id) == Escalation.issue_id)
    .join(Department, col(Department.id) == Escalation.department_id, isouter=True)
)


def _overdue_open(now: datetime) -> Any:
    """`EscalationRow.overdue_open` in SQL: open, and its resolution overdue, or its 报到
    overdue or done late (deadlines.deadline_at: due at the instant is in time)."""
    e = Escalation
    respond_due, acked = col(e.respond_due_at), col(e.acknowledged_at)
    respond_flagged = sa.and_(
        col(e.dispatched_at).is_not(None),
        respond_due.is_not(None),
        sa.or_(
            sa.and_(acked.is_(None), respond_due < now),
            sa.and_(acked.is_not(None), acked > respond_due),
        ),
    )
    return sa.and_(
        col(e.status) != EscalationStatus.RESOLVED,
        sa.or_(col(e.resolve_due_at) < now, respond_flagged),
    )


@dataclass(frozen=True)
class Inbox:
    rows: list[EscalationRow]  # open and overdue first, then newest first
    more: bool  # more than INBOX_LIMIT matched: the rest are older and not overdue

    @property
    def cut_at(self) -> int | None:
        """How many the list shows when more matched (the page says so), else None."""
        return INBOX_LIMIT if self.more else None


def _inbox(session: Session, query: Any, now: datetime) -> Inbox:
    """The first INBOX_LIMIT of `query` in the list's order, chosen by the database (an
    overdue one is never left out for newer ones): one statement."""
    flag = sa.case((_overdue_open(now), 0), else_=1)
    ordered = query.order_by(flag, col(Escalation.id).desc()).limit(INBOX_LIMIT + 1)
    rows = _rows(session, ordered, now)
    return Inbox(rows[:INBOX_LIMIT], len(rows) > INBOX_LIMIT)


def _rows(session: Session, query: Any, now: datetime | None = None) -> list[EscalationRow]:
    now = now or clock.now()
    rows = []
    for escalation, hall_name, title, department_name in session.exec(query).all():
        respond, resolve = deadlines_of(escalation, now)
        rows.append(EscalationRow(escalation, hall_name, title, department_name, respond, resolve))
    # Open and overdue first, then newest first.
    rows.sort(key=lambda r: (not r.overdue_open, -(r.escalation.id or 0)))
    return rows


class InboxFilter:
    """The dispatch inbox's filters: by status, open (the default), overdue, or all."""

    OPEN = "open"
    OVERDUE = "overdue"
    ALL = "all"
    CHOICES = (OPEN, *(s.value for s in EscalationStatus), OVERDUE, ALL)

    @staticmethod
    def parse(raw: str) -> str:
        return raw if raw in InboxFilter.CHOICES else InboxFilter.OPEN


def street_inbox(session: Session, *, street_id: int, status: str) -> Inbox:
    """The street's escalations (of all its halls): one statement."""
    now = clock.now()
    query = _LISTED.where(Escalation.street_id == street_id)
    if status in {s.value for s in EscalationStatus}:
        query = query.where(Escalation.status == status)
    elif status == InboxFilter.OVERDUE:
        query = query.where(_overdue_open(now))
    elif status != InboxFilter.ALL:
        query = query.where(Escalation.status != EscalationStatus.RESOLVED)
    return _inbox(session, query, now)


def _helped(department_id: int) -> Any:
    return select(EscalationHelper.escalation_id).where(
        EscalationHelper.department_id == department_id
    )


def department_inbox(session: Session, *, department_id: int) -> Inbox:
    """What was dispatched to the department or it was asked to help with: one statement."""
    query = _LISTED.where(
        sa.or_(
            col(Escalation.department_id) == department_id,
            col(Escalation.id).in_(_helped(department_id)),
        )
    )
    inbox = _inbox(session, query, clock.now())
    rows = [
        replace(r, part=Part.LEAD if r.escalation.department_id == department_id else Part.HELPER)
        for r in inbox.rows
    ]
    return Inbox(rows, inbox.more)


def part_of(escalation: Escalation, *, department_id: int, helpers: list[int]) -> Part | None:
    if escalation.department_id == department_id:
        return Part.LEAD
    return Part.HELPER if department_id in helpers else None


# --- one escalation, its trail ------------------------------------------------------------------


@dataclass(frozen=True)
class StepRow:
    step: EscalationStep
    actor_name: str | None
    department_name: str | None


@dataclass(frozen=True)
class EscalationDetail:
    row: EscalationRow
    steps: list[StepRow]
    helpers: list[tuple[int, str]]  # department id, name


def get_listed(session: Session, *, escalation_id: int) -> EscalationRow | None:
    rows = _rows(session, _LISTED.where(Escalation.id == escalation_id))
    return rows[0] if rows else None


def _trail(session: Session, ids: list[int]) -> dict[int, list[StepRow]]:
    steps: dict[int, list[StepRow]] = defaultdict(list)
    if not ids:
        return steps
    rows = session.exec(
        select(EscalationStep, User.name, Department.name)
        .join(User, col(User.id) == EscalationStep.actor_id, isouter=True)
        .join(Department, col(Department.id) == EscalationStep.department_id, isouter=True)
        .where(col(EscalationStep.escalation_id).in_(ids))
        .order_by(col(EscalationStep.id))
    ).all()
    for step, actor_name, department_name in rows:
        steps[step.escalation_id].append(StepRow(step, actor_name, department_name))
    return steps


def _helpers(session: Session, ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    helpers: dict[int, list[tuple[int, str]]] = defaultdict(list)
    if not ids:
        return helpers
    rows = session.exec(
        select(EscalationHelper.escalation_id, Department.id, Department.name)
        .join(Department, col(Department.id) == EscalationHelper.department_id)
        .where(col(EscalationHelper.escalation_id).in_(ids))
        .order_by(col(EscalationHelper.id))
    ).all()
    for escalation_id, department_id, name in rows:
        helpers[escalation_id].append((department_id or 0, name))
    return helpers


def escalation_detail(session: Session, *, escalation_id: int) -> EscalationDetail | None:
    """One escalation with its trail and helpers: three statements."""
    row = get_listed(session, escalation_id=escalation_id)
    if row is None:
        return None
    trail = _trail(session, [escalation_id])
    helpers = _helpers(session, [escalation_id])
    return EscalationDetail(row, trail[escalation_id], helpers[escalation_id])


def issue_escalations(session: Session, *, hall_id: int, issue_id: int) -> list[EscalationDetail]:
    """The issue's escalations, newest first, each with its trail: three statements."""
    query = _LISTED.where(Escalation.hall_id == hall_id, Escalation.issue_id == issue_id)
    rows = sorted(_rows(session, query), key=lambda r: -(r.escalation.id or 0))
    ids = [r.escalation.id or 0 for r in rows]
    trail = _trail(session, ids)
    helpers = _helpers(session, ids)
    return [EscalationDetail(r, trail[i], helpers[i]) for r, i in zip(rows, ids, strict=True)]


# --- the home page's links ----------------------------------------------------------------------


@dataclass(frozen=True)
class HomeLink:
    kind: str  # "department" or "street"
    id: int
    name: str
    count: int  # open escalations waiting on it


def home_links(session: Session, *, user_id: int) -> list[HomeLink]:
    """部门待办 for each department the person is a member of (open escalations dispatched to
    it or it helps with), and 派单 for each street they administer (escalations waiting for
    dispatch): two statements."""
    open_ = col(Escalation.status) != EscalationStatus.RESOLVED
    waiting = (
        select(sa.func.count())
        .select_from(Escalation)
        .where(
            open_,
            sa.or_(
                col(Escalation.department_id) == Department.id,
                col(Escalation.id).in_(
                    select(EscalationHelper.escalation_id).where(
                        col(EscalationHelper.department_id) == Department.id
                    )
                ),
            ),
        )
        .scalar_subquery()
    )
    departments = session.exec(
        select(Department.id, Department.name, waiting)
        .join(DepartmentMember, col(DepartmentMember.department_id) == Department.id)
        .where(DepartmentMember.user_id == user_id)
        .order_by(col(Department.name))
    ).all()
    raised = (
        select(sa.func.count())
        .select_from(Escalation)
        .where(
            col(Escalation.street_id) == Street.id,
            col(Escalation.status) == EscalationStatus.RAISED,
        )
        .scalar_subquery()
    )
    streets = session.exec(
        select(Street.id, Street.name, raised)
        .join(StreetAdmin, col(StreetAdmin.street_id) == Street.id)
        .where(StreetAdmin.user_id == user_id)
        .order_by(col(Street.name))
    ).all()
    return [HomeLink("department", i or 0, n, c) for i, n, c in departments] + [
        HomeLink("street", i or 0, n, c) for i, n, c in streets
    ]


def issue_tasks(session: Session, *, hall_id: int, issue_id: int) -> list[tuple[int, str]]:
    """The issue's tasks (id, title), for the whistle's optional task."""
    rows = session.exec(
        select(Task.id, Task.title)
        .where(Task.hall_id == hall_id, Task.issue_id == issue_id)
        .order_by(col(Task.id))
    ).all()
    return [(i or 0, t) for i, t in rows]
