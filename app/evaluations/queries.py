"""Reads of 民评: rounds, answers, the issue's tasks as 民评 needs them, and who is in scope.

Every query is scoped by hall (AUTHZ-03) and answers in a fixed number of statements whatever
the number of answers: a round's counts are read from the round (kept in step with its answers),
never by counting answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.db import locked
from app.evaluations import rules
from app.evaluations.models import EvaluationAnswer, EvaluationRound
from app.halls.models import (
    Building,
    Entrance,
    Household,
    Membership,
    MembershipStatus,
)
from app.issues import queries as issue_queries
from app.issues.lifecycle import Stage
from app.issues.models import Comment, Cosign, Issue, Scope
from app.tasks.models import Task, TaskStatus


def done_tasks(session: Session, *, hall_id: int, issue_id: int) -> list[Task]:
    return list(
        session.exec(
            select(Task)
            .where(Task.hall_id == hall_id, Task.issue_id == issue_id)
            .where(col(Task.status) == TaskStatus.DONE)
            .order_by(col(Task.id))
        ).all()
    )


def responsible_ids(session: Session, *, hall_id: int, issue_id: int) -> set[int]:
    rows = session.exec(
        select(Task.responsible_user_id).where(
            Task.hall_id == hall_id,
            Task.issue_id == issue_id,
            col(Task.responsible_user_id).is_not(None),
        )
    ).all()
    return {r for r in rows if r is not None}


def rounds(session: Session, *, hall_id: int, issue_id: int) -> list[EvaluationRound]:
    """The issue's rounds, the latest first."""
    return list(
        session.exec(
            select(EvaluationRound)
            .where(EvaluationRound.hall_id == hall_id, EvaluationRound.issue_id == issue_id)
            .order_by(col(EvaluationRound.number).desc())
        ).all()
    )


def get_round(
    session: Session, *, hall_id: int, round_id: int, lock: bool = False
) -> EvaluationRound | None:
    query = select(EvaluationRound).where(
        EvaluationRound.id == round_id, EvaluationRound.hall_id == hall_id
    )
    return session.exec(locked(query) if lock else query).first()


def open_round(
    session: Session, *, hall_id: int, issue_id: int, lock: bool = False
) -> EvaluationRound | None:
    query = select(EvaluationRound).where(
        EvaluationRound.hall_id == hall_id,
        EvaluationRound.issue_id == issue_id,
        col(EvaluationRound.closed_at).is_(None),
    )
    return session.exec(locked(query) if lock else query).first()


def last_number(session: Session, *, hall_id: int, issue_id: int) -> int:
    found = session.exec(
        select(func.max(EvaluationRound.number)).where(
            EvaluationRound.hall_id == hall_id, EvaluationRound.issue_id == issue_id
        )
    ).one()
    return int(found or 0)


def answer_of(
    session: Session, *, round_id: int, user_id: int | None, lock: bool = False
) -> EvaluationAnswer | None:
    if user_id is None:
        return None
    query = select(EvaluationAnswer).where(
        EvaluationAnswer.round_id == round_id, EvaluationAnswer.user_id == user_id
    )
    return session.exec(locked(query) if lock else query).first()


COMMENTS_SHOWN = 50


def comments(session: Session, *, hall_id: int, round_id: int) -> list[str]:
    """The round's comments, without who wrote them (the chair reads them; never printed)."""
    return list(
        session.exec(
            select(EvaluationAnswer.comment)
            .where(
                EvaluationAnswer.hall_id == hall_id,
                EvaluationAnswer.round_id == round_id,
                col(EvaluationAnswer.comment) != "",
            )
            .order_by(col(EvaluationAnswer.id).desc())
            .limit(COMMENTS_SHOWN)
        ).all()
    )


# --- who is in the issue's scope ----------------------------------------------------------------


def _in_scope(query: sa.Select, issue: Issue) -> sa.Select:  # type: ignore[type-arg]
    if issue.scope == Scope.BUILDING:
        return query.where(col(Entrance.building_id) == issue.scope_building_id)
    if issue.scope == Scope.ENTRANCE:
        return query.where(col(Household.entrance_id) == issue.scope_entrance_id)
    return query


def scope_user_ids(session: Session, issue: Issue) -> list[int]:
    """The verified members whose household is in the issue's scope (a whole-hall issue: every
    verified member, with or without a household)."""
    query = select(Membership.user_id).where(
        Membership.hall_id == issue.hall_id, Membership.status == MembershipStatus.VERIFIED
    )
    if issue.scope != Scope.HALL:
        query = query.join(Household, col(Household.id) == Membership.household_id).join(
            Entrance, col(Entrance.id) == Household.entrance_id
        )
    return list(session.exec(_in_scope(query, issue)).all())  # type: ignore[call-overload]


def member_in_scope(session: Session, issue: Issue, membership_id: int) -> int | None:
    """The user id of a verified member of the issue's hall in its scope, or None."""
    query = select(Membership.user_id).where(
        Membership.id == membership_id,
        Membership.hall_id == issue.hall_id,
        Membership.status == MembershipStatus.VERIFIED,
    )
    if issue.scope != Scope.HALL:
        query = query.join(Household, col(Household.id) == Membership.household_id).join(
            Entrance, col(Entrance.id) == Household.entrance_id
        )
    found = session.exec(_in_scope(query, issue)).first()  # type: ignore[call-overload]
    return int(found) if found is not None else None


@dataclass(frozen=True)
class MemberRow:
    membership_id: int
    user_id: int
    name: str
    building: str | None
    entrance: str | None
    room: str | None
    answered: bool


SEARCH_LIMIT = 20


def search_members(
    session: Session, issue: Issue, *, round_id: int, q: str, limit: int = SEARCH_LIMIT
) -> list[MemberRow]:
    """Verified members in the issue's scope whose name contains `q` (the paper desk), with
    their place and whether they answered this round already (one statement)."""
    answered = (
        select(EvaluationAnswer.id)
        .where(
            EvaluationAnswer.round_id == round_id,
            EvaluationAnswer.user_id == Membership.user_id,
        )
        .exists()
    )
    query = (
        sa.select(
            col(Membership.id),
            col(Membership.user_id),
            col(User.name),
            col(Building.name),
            col(Entrance.name),
            col(Household.room),
            answered,
        )
        .join(User, col(User.id) == Membership.user_id)
        .outerjoin(Household, col(Household.id) == Membership.household_id)
        .outerjoin(Entrance, col(Entrance.id) == Household.entrance_id)
        .outerjoin(Building, col(Building.id) == Entrance.building_id)
        .where(
            col(Membership.hall_id) == issue.hall_id,
            col(Membership.status) == MembershipStatus.VERIFIED,
        )
    )
    if q:
        query = query.where(col(User.name).contains(q, autoescape=True))
    query = _in_scope(query, issue).order_by(col(User.name), col(Membership.id)).limit(limit)
    return [
        MemberRow(int(m), int(u), n, b, e, r, bool(a))
        for m, u, n, b, e, r, a in session.execute(query).all()
    ]


def involved_ids(session: Session, issue: Issue, *, round_id: int | None = None) -> set[int]:
    """Everyone involved in an issue: its proposer, co-signers, commenters, the people
    responsible for its tasks and (with `round_id`) who answered that round."""
    hall_id, issue_id = issue.hall_id, issue.id or 0
    parts = [
        select(Cosign.user_id).where(Cosign.hall_id == hall_id, Cosign.issue_id == issue_id),
        select(Comment.author_id).where(Comment.hall_id == hall_id, Comment.issue_id == issue_id),
        select(Task.responsible_user_id).where(
            Task.hall_id == hall_id,
            Task.issue_id == issue_id,
            col(Task.responsible_user_id).is_not(None),
        ),
    ]
    if round_id is not None:
        parts.append(
            select(EvaluationAnswer.user_id).where(
                EvaluationAnswer.hall_id == hall_id, EvaluationAnswer.round_id == round_id
            )
        )
    rows = session.exec(sa.union(*parts)).all()  # type: ignore[call-overload]
    return {issue.proposer_id, *(int(r[0]) for r in rows if r[0] is not None)}


def summarize(row: EvaluationRound) -> rules.Summary:
    """A round's summary from its stored counts and the weight and threshold copied at open."""
    counts = rules.Counts(
        satisfied=row.satisfied,
        basically_satisfied=row.basic,
        dissatisfied=row.dissatisfied,
        resolved_yes=row.resolved_yes,
        resolved_no=row.resolved_no,
    )
    return rules.summarize(
        counts,
        weight=Fraction(row.weight_num, row.weight_den),
        threshold=Fraction(row.threshold_num, row.threshold_den),
    )


# --- 等您评价 on the hall home --------------------------------------------------------------------


@dataclass(frozen=True)
class AwaitingEvaluation:
    issue_id: int
    title: str
    ends_at: datetime


def awaiting_evaluation(
    session: Session, *, hall_id: int, user_id: int, place: issue_queries.Place
) -> list[AwaitingEvaluation]:
    """The hall's issues in 评价中 whose scope takes the person in and whose open round has no
    answer of theirs yet (one query)."""
    answered = (
        select(EvaluationAnswer.id)
        .where(
            col(EvaluationAnswer.round_id) == EvaluationRound.id,
            EvaluationAnswer.user_id == user_id,
        )
        .exists()
    )
    rows = session.exec(
        select(Issue.id, Issue.title, EvaluationRound.ends_at)
        .join(EvaluationRound, col(EvaluationRound.issue_id) == Issue.id)
        .where(
            Issue.hall_id == hall_id,
            Issue.stage == Stage.EVALUATING,
            col(EvaluationRound.closed_at).is_(None),
            issue_queries.scope_includes(place),
            ~answered,
        )
        .order_by(col(EvaluationRound.ends_at), col(Issue.id))
    ).all()
    return [AwaitingEvaluation(i or 0, t, e) for i, t, e in rows]
