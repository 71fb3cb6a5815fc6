"""JSON API for 民评 (issue #13): a round's summary exactly as the issue names its fields, a
resident's answer, and opening a round. The same services as the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from app.accounts.deps import CurrentUser
from app.core import fields
from app.db import Database
from app.evaluations import policies, queries, schemas, service, views
from app.evaluations.models import AnswerSource, RoundOutcome, Satisfaction
from app.halls.deps import AccessDep
from app.halls.policies import HallAccess
from app.issues.deps import IssueDep
from app.issues.models import Issue
from app.web.deps import DbDep, SessionDep
from app.web.openapi import errors, session_cookie
from app.web.routing import GuardedRoute

router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1/halls/{hall_id}/issues/{issue_id}",
    tags=["api"],
    dependencies=[Depends(session_cookie)],
    responses=errors(401, 403, 404, 422),
)

IdPath = Annotated[fields.Id, Path()]


class RatioPublic(BaseModel):
    """An exact rate: the reduced fraction and its value as a decimal string (4 places)."""

    numerator: int
    denominator: int
    value: str


class ReopenCheckPublic(BaseModel):
    """The reopen check (id `dissatisfied_heads`): 不满意 `value` of `whole` valid answers must
    be more than `threshold` to reopen; `needed` is the fewest 不满意 that would, `margin` =
    value − needed (negative: short by that much). `passed` is `reopen`."""

    id: str
    value: int
    whole: int
    threshold: str
    comparison: Literal[">=", ">"]
    passed: bool
    needed: int
    margin: int


class SummaryPublic(BaseModel):
    valid: int
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    resolved_yes: int
    resolved_no: int
    satisfaction_rate: RatioPublic | None  # None without a valid answer
    dissatisfied_share: RatioPublic | None
    reopen: bool
    weight: str  # the 基本满意 weight copied at open, "9/10"
    threshold: str  # the reopen threshold copied at open, "1/3"
    check: ReopenCheckPublic


class RoundPublic(BaseModel):
    id: int
    number: int
    opened_at: datetime
    ends_at: datetime
    closed_at: datetime | None
    outcome: RoundOutcome | None
    answers: int  # every answer, valid or not
    # Hidden (null) from residents while the round is open: no running counts.
    summary: SummaryPublic | None


class AnswerPublic(BaseModel):
    round_id: int
    satisfaction: Satisfaction | None
    resolved: bool | None
    comment: str
    source: AnswerSource
    created_at: datetime


class EvaluationsPublic(BaseModel):
    issue_id: int
    rounds: list[RoundPublic]  # the latest first
    my_answer: AnswerPublic | None  # the caller's answer to the open round


def _summary(data: dict[str, Any]) -> SummaryPublic:
    check = data["check"]
    return SummaryPublic(
        **{k: v for k, v in data.items() if k != "check"},
        check=ReopenCheckPublic(
            **{k: check[k] for k in ("id", "value", "whole", "threshold", "passed", "needed")},
            comparison=check["comparison"],
            margin=check["margin"],
        ),
    )


def _public(db: Database, access: HallAccess, issue: Issue) -> EvaluationsPublic:
    with db.session(read_only=True) as reading:  # a write session's transaction is over
        rows = queries.rounds(reading, hall_id=access.hall_id, issue_id=issue.id or 0)
        live = next((r for r in rows if r.closed_at is None), None)
        mine = (
            queries.answer_of(reading, round_id=live.id or 0, user_id=access.user_id)
            if live
            else None
        )
    found = []
    for row in rows:
        view = views.round_view(access, row)
        found.append(
            RoundPublic(
                id=row.id or 0,
                number=row.number,
                opened_at=row.opened_at,
                ends_at=row.ends_at,
                closed_at=row.closed_at,
                outcome=row.outcome,
                answers=row.answers,
                summary=_summary(view.summary) if view.counts_shown else None,
            )
        )
    return EvaluationsPublic(
        issue_id=issue.id or 0,
        rounds=found,
        my_answer=AnswerPublic(
            round_id=mine.round_id,
            satisfaction=mine.satisfaction,
            resolved=mine.resolved,
            comment=mine.comment,
            source=mine.source,
            created_at=mine.created_at,
        )
        if mine
        else None,
    )


@router.get("/evaluations", name="api.evaluations", response_model=EvaluationsPublic)
def list_evaluations(db: DbDep, access: AccessDep, issue: IssueDep) -> EvaluationsPublic:
    """The issue's 民评 rounds, the latest first, each with its summary: `valid`, `satisfied`,
    `basically_satisfied`, `dissatisfied`, `resolved_yes`, `resolved_no`, `satisfaction_rate`
    and `dissatisfied_share` as {numerator, denominator, value} (exact fractions, value a
    decimal string), and `reopen`. A round still open shows residents only its `answers`."""
    policies.require(policies.can_see(access))
    return _public(db, access, issue)


@router.post(
    "/evaluations",
    name="api.evaluate",
    response_model=EvaluationsPublic,
    status_code=201,
    responses=errors(409),
)
def evaluate(
    db: DbDep,
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
    body: schemas.AnswerForm,
) -> EvaluationsPublic:
    """A resident in the issue's scope answers the open round: `satisfaction` (satisfied |
    basic | dissatisfied) and `resolved` (yes | no) required, `comment` up to 500 characters.
    One per person per round: a second is 409 `evaluation_already_answered`; after the window
    409 `evaluation_over`; outside the issue's scope 403 `evaluation_out_of_scope`."""
    policies.require(policies.can_answer(access))
    service.answer(session=session, access=access, actor=user, issue_id=issue.id or 0, form=body)
    return _public(db, access, issue)


@router.post(
    "/evaluations/rounds",
    name="api.open_evaluation",
    response_model=EvaluationsPublic,
    status_code=201,
    responses=errors(409),
)
def open_evaluation(
    db: DbDep, session: SessionDep, access: AccessDep, user: CurrentUser, issue: IssueDep
) -> EvaluationsPublic:
    """开启民评 (the chair): the issue is 办理中 with at least one task and all of them done
    (409 `evaluation_no_tasks` / `tasks_open` otherwise). The round runs for the hall's
    evaluation window with the hall's weight and threshold copied."""
    policies.require(policies.can_manage(access))
    service.open_round(session=session, access=access, actor=user, issue_id=issue.id or 0)
    return _public(db, access, issue)
