"""Issues in 民评 for the tests of evaluations (issue #13): tasks made directly (the tasks
domain is built elsewhere), members made without a password (argon2 would make 30 of them
slow), rounds opened and answered through the real service."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.accounts.models import User
from app.core import clock
from app.db import Database
from app.evaluations import schemas, service
from app.evaluations.models import EvaluationRound
from app.halls.models import Membership, MembershipStatus
from app.issues.models import Issue
from app.tasks.models import PartyType, Task, TaskStatus
from tests import factories as f
from tests.implementation_helpers import implementing_issue


def add_task(
    db: Database,
    world: f.HallWorld,
    issue: Issue,
    chair: User,
    *,
    done: bool = True,
    responsible: User | None = None,
) -> Task:
    with db.session() as s:
        task = Task(
            hall_id=issue.hall_id,
            issue_id=issue.id or 0,
            title="更换楼道灯",
            party_type=PartyType.PROPERTY,
            party_name="物业公司",
            responsible_user_id=responsible.id if responsible else None,
            due_at=clock.now() + timedelta(days=7),
            status=TaskStatus.DONE if done else TaskStatus.IN_PROGRESS,
            progress=100 if done else 50,
            created_by_id=chair.id or 0,
        )
        s.add(task)
        s.commit()
        s.refresh(task)
        return task


def finish_tasks(db: Database, issue: Issue) -> None:
    with db.session() as s:
        for task in s.exec(select(Task).where(Task.issue_id == issue.id)).all():
            task.status, task.progress = TaskStatus.DONE, 100
            s.add(task)
        s.commit()


def quick_member(
    db: Database, world: f.HallWorld, *, household_index: int = 0, name: str = "居民"
) -> tuple[User, Membership]:
    """A verified member without a password."""
    with db.session() as s:
        user = User(phone=f.unique_phone(), name=name)
        s.add(user)
        s.flush()
        membership = Membership(
            hall_id=world.hall.id or 0,
            user_id=user.id or 0,
            household_id=world.households[household_index].id,
            status=MembershipStatus.VERIFIED,
        )
        s.add(membership)
        s.commit()
        s.refresh(user)
        s.refresh(membership)
        return user, membership


def open_round(db: Database, world: f.HallWorld, chair: User, issue: Issue) -> EvaluationRound:
    with db.session() as s:
        return service.open_round(
            session=s, access=f.chair_access(db, world, chair), actor=chair, issue_id=issue.id or 0
        )


def evaluating_issue(
    db: Database, world: f.HallWorld, chair: User, *, tasks: int = 1
) -> tuple[Issue, EvaluationRound]:
    """An issue in 评价中 with its first round open (its tasks done)."""
    issue = implementing_issue(db, world, chair)
    for _ in range(tasks):
        add_task(db, world, issue, chair)
    return issue, open_round(db, world, chair, issue)


def answer(
    db: Database,
    world: f.HallWorld,
    user: User,
    issue: Issue,
    satisfaction: str,
    resolved: str = "yes",
    comment: str = "",
) -> None:
    with db.session() as s:
        service.answer(
            session=s,
            access=f.member_access(db, world, user),
            actor=user,
            issue_id=issue.id or 0,
            form=schemas.AnswerForm(satisfaction=satisfaction, resolved=resolved, comment=comment),
        )


def answer_many(db: Database, world: f.HallWorld, issue: Issue, choices: list[str]) -> list[User]:
    """One new member per choice answers it."""
    users = []
    for i, choice in enumerate(choices):
        user, _ = quick_member(db, world, household_index=i % len(world.households))
        answer(db, world, user, issue, choice)
        users.append(user)
    return users


def round_of(db: Database, round_id: int) -> EvaluationRound:
    with db.session(read_only=True) as s:
        row = s.get(EvaluationRound, round_id)
        assert row is not None
        return row
