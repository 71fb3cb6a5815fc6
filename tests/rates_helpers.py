"""Rows for 三率 tests, written directly (the services that fill these tables are others').

Every street is new (make_hall makes one), so tests sharing the session database do not see
each other's rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import event
from sqlmodel import col, func, select

from app.accounts.models import User
from app.core import clock
from app.db import Database
from app.escalations.models import (
    Department,
    Escalation,
    EscalationStatus,
    Urgency,
    WhistleCategory,
)
from app.evaluations.models import EvaluationRound, RoundOutcome
from app.halls import service as hall_service
from app.halls.models import Hall, PropertyCompany, Street
from app.halls.policies import StreetAccess
from app.issues.lifecycle import Stage
from app.issues.models import Category, Issue
from app.tasks.models import PartyType, Task, TaskStatus
from tests.factories import HallWorld, make_hall, make_user, unique


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@dataclass
class StreetWorld:
    db: Database
    base: HallWorld
    official: User
    street: Street
    halls: list[Hall] = field(default_factory=list)
    departments: list[Department] = field(default_factory=list)
    companies: list[PropertyCompany] = field(default_factory=list)

    @property
    def access(self) -> StreetAccess:
        return StreetAccess(
            user_id=self.official.id or 0, street_id=self.street.id or 0, is_street_admin=True
        )


def street_world(
    db: Database, *, halls: int = 3, departments: int = 3, companies: int = 2
) -> StreetWorld:
    """A street with `halls` halls (the first is make_hall's), departments and companies, and
    an official (a StreetAdmin)."""
    base = make_hall(db)
    official = make_user(db, name="街道干部")
    with db.session() as session:
        street = session.get(Street, base.street.id)
        assert street is not None
        hall_service.add_street_admin(
            session=session, street=street, user=official, actor_id=base.admin.id
        )
        made = [session.get(Hall, base.hall.id)]
        for i in range(1, halls):
            made.append(
                hall_service.create_hall(
                    session=session,
                    street=street,
                    name=unique(f"社区{i}"),
                    address="",
                    actor_id=base.admin.id,
                )
            )
        depts = [
            Department(street_id=street.id or 0, name=unique(f"部门{i}"))
            for i in range(departments)
        ]
        comps = [
            PropertyCompany(street_id=street.id or 0, name=unique(f"物业{i}"))
            for i in range(companies)
        ]
        session.add_all([*depts, *comps])
        session.commit()
        for row in [street, *made, *depts, *comps]:
            session.refresh(row)
        session.expunge_all()
    return StreetWorld(db, base, official, street, [h for h in made if h], depts, comps)


def issue(
    w: StreetWorld,
    hall: Hall,
    *,
    reviewed_at: datetime | None = None,
    review_due_at: datetime | None = None,
    stage: Stage | None = None,
) -> Issue:
    with w.db.session() as session:
        row = Issue(
            hall_id=hall.id or 0,
            title=unique("议题"),
            description="说明",
            category=Category.OTHER,
            proposer_id=w.base.admin.id or 0,
            reviewed_at=reviewed_at,
            review_due_at=review_due_at,
        )
        if stage is not None:
            row.stage = stage  # a test's fixture row, not a move: no stage writer involved
        session.add(row)
        session.commit()
        session.refresh(row)
        session.expunge(row)
    return row


def closed_round(
    w: StreetWorld,
    hall: Hall,
    closed_at: datetime | None,
    *,
    satisfied: int = 0,
    basic: int = 0,
    dissatisfied: int = 0,
    yes: int = 0,
    no: int = 0,
    weight: tuple[int, int] = (9, 10),
    of: Issue | None = None,
) -> Issue:
    """A round of a new issue (or of `of`), closed at `closed_at` (None: still open)."""
    target = of or issue(w, hall)
    with w.db.session() as session:
        number = (
            1
            + session.exec(
                select(func.count()).where(col(EvaluationRound.issue_id) == target.id)
            ).one()
        )
        opened = (closed_at or clock.now()) - timedelta(days=14)
        session.add(
            EvaluationRound(
                hall_id=hall.id or 0,
                issue_id=target.id or 0,
                number=number,
                opened_at=opened,
                opened_by_id=w.base.admin.id or 0,
                ends_at=opened + timedelta(days=14),
                closed_at=closed_at,
                outcome=RoundOutcome.CLOSED if closed_at else None,
                weight_num=weight[0],
                weight_den=weight[1],
                answers=satisfied + basic + dissatisfied,
                valid=satisfied + basic + dissatisfied,
                satisfied=satisfied,
                basic=basic,
                dissatisfied=dissatisfied,
                resolved_yes=yes,
                resolved_no=no,
            )
        )
        session.commit()
    return target


def escalation(
    w: StreetWorld,
    of: Issue,
    department: Department | None,
    *,
    dispatched_at: datetime | None = None,
    respond_due_at: datetime | None = None,
    acknowledged_at: datetime | None = None,
) -> None:
    raised = (dispatched_at or utc(2026, 1, 1)) - timedelta(hours=1)
    status = (
        EscalationStatus.RAISED
        if department is None
        else EscalationStatus.ACKNOWLEDGED
        if acknowledged_at
        else EscalationStatus.DISPATCHED
    )
    with w.db.session() as session:
        session.add(
            Escalation(
                hall_id=of.hall_id,
                street_id=w.street.id or 0,
                issue_id=of.id or 0,
                category=WhistleCategory.DEMAND,
                urgency=Urgency.GENERAL,
                summary="请协调",
                status=status,
                raised_by_id=w.base.admin.id or 0,
                raised_at=raised,
                respond_minutes=120,
                resolve_minutes=7 * 24 * 60,
                resolve_due_at=raised + timedelta(days=7),
                department_id=department.id if department else None,
                dispatched_at=dispatched_at if department else None,
                respond_due_at=respond_due_at if department else None,
                acknowledged_at=acknowledged_at,
            )
        )
        session.commit()


def task(
    w: StreetWorld,
    of: Issue,
    company: PropertyCompany | None,
    *,
    due_at: datetime,
    done_at: datetime | None = None,
) -> None:
    with w.db.session() as session:
        session.add(
            Task(
                hall_id=of.hall_id,
                issue_id=of.id or 0,
                title="修理",
                party_type=PartyType.PROPERTY if company else PartyType.COMMITTEE,
                company_id=company.id if company else None,
                due_at=due_at,
                status=TaskStatus.DONE if done_at else TaskStatus.IN_PROGRESS,
                progress=100 if done_at else 50,
                done_at=done_at,
                created_by_id=w.base.admin.id or 0,
            )
        )
        session.commit()


@contextmanager
def count_statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements run on either engine inside the block."""
    statements: list[str] = []

    def on_execute(*args: object) -> None:
        statements.append(str(args[2]))

    engines = {db.write_engine, db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", on_execute)
