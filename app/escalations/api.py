"""JSON API for 吹哨报到: the hall raises and lists an issue's escalations (with their trail);
a department reads its inbox (with each deadline's state and whether it was met) and 报到,
replies and 办结. The same services as the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from app.accounts.deps import CurrentUser
from app.core import fields
from app.core.errors import NotFound
from app.escalations import policies, queries, schemas, service
from app.escalations.deadlines import Deadline
from app.escalations.deps import DepartmentDep
from app.halls.deps import AccessDep
from app.issues.deps import IssueDep
from app.web.deps import DbDep, SessionDep
from app.web.openapi import errors, session_cookie
from app.web.routing import GuardedRoute

router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1",
    tags=["api"],
    dependencies=[Depends(session_cookie)],
    responses=errors(401, 403, 404, 422),
)

IdPath = Annotated[fields.Id, Path()]


class EscalationListPublic(BaseModel):
    escalations: list[schemas.EscalationOut]
    more: bool = False  # a department's inbox: more matched than it lists (older, not overdue)


def _deadline(value: Deadline | None) -> schemas.DeadlineOut | None:
    if value is None:
        return None
    done = value.state in {"met", "late"}
    return schemas.DeadlineOut(
        state=value.state,
        due_at=value.due_at,
        in_time=(value.state == "met") if done else None,
        over_seconds=int(value.over.total_seconds()) if value.over is not None else None,
        left_seconds=int(value.left.total_seconds()) if value.left is not None else None,
    )


def _out(
    row: queries.EscalationRow, steps: list[queries.StepRow] | None = None
) -> schemas.EscalationOut:
    e = row.escalation
    resolve = _deadline(row.resolve)
    assert resolve is not None
    return schemas.EscalationOut(
        id=e.id or 0,
        hall_id=e.hall_id,
        issue_id=e.issue_id,
        issue_title=row.issue_title,
        task_id=e.task_id,
        category=e.category,
        urgency=e.urgency,
        summary=e.summary,
        work_order_no=e.work_order_no,
        status=e.status,
        raised_at=e.raised_at,
        department_id=e.department_id,
        department_name=row.department_name,
        dispatched_at=e.dispatched_at,
        acknowledged_at=e.acknowledged_at,
        resolved_at=e.resolved_at,
        resolution=e.resolution,
        respond=_deadline(row.respond),
        resolve=resolve,
        part=row.part.value if row.part is not None else None,
        steps=None
        if steps is None
        else [
            schemas.StepOut(
                kind=s.step.kind,
                at=s.step.at,
                actor_name=s.actor_name,
                department_name=s.department_name,
                text=s.step.text,
            )
            for s in steps
        ],
    )


@router.get(
    "/halls/{hall_id}/issues/{issue_id}/escalations",
    name="api.issue_escalations",
    response_model=EscalationListPublic,
)
def issue_escalations(
    session: SessionDep, access: AccessDep, issue: IssueDep
) -> EscalationListPublic:
    """The issue's escalations, newest first, each with its whole trail (whoever sees the
    hall)."""
    details = queries.issue_escalations(session, hall_id=access.hall_id, issue_id=issue.id or 0)
    return EscalationListPublic(escalations=[_out(d.row, d.steps) for d in details])


@router.post(
    "/halls/{hall_id}/issues/{issue_id}/escalations",
    name="api.raise_escalation",
    response_model=schemas.EscalationOut,
    status_code=201,
    responses=errors(409),
)
def raise_escalation(
    db: DbDep,
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.EscalationForm,
) -> schemas.EscalationOut:
    """吹哨 (the hall's chair), on an issue 办理中 (409 otherwise): `category`, `urgency`,
    `summary`, optional `work_order_no` (12345 工单号: letters and digits, at most 40) and
    `task_id`. The windows are the street's at this moment."""
    policies.require(policies.can_raise(access))
    escalation = service.raise_escalation(
        session=session, access=access, actor=user, issue_id=issue_id, form=body
    )
    return _read_one(db, escalation.id or 0)


def _read_one(db: DbDep, escalation_id: int) -> schemas.EscalationOut:
    with db.session(read_only=True) as reading:  # the write session's transaction is over
        detail = queries.escalation_detail(reading, escalation_id=escalation_id)
    if detail is None:
        raise NotFound("not_found")
    return _out(detail.row, detail.steps)


@router.get(
    "/departments/{department_id}/escalations",
    name="api.department_inbox",
    response_model=EscalationListPublic,
)
def department_inbox(session: SessionDep, access: DepartmentDep) -> EscalationListPublic:
    """What was dispatched to the department (`part` "lead") or it was asked to help with
    ("helper"), overdue first, then newest; each deadline with its state at this moment
    (not_due, due_soon, overdue, met, late) and whether it was met (`in_time`)."""
    inbox = queries.department_inbox(session, department_id=access.department_id)
    return EscalationListPublic(escalations=[_out(r) for r in inbox.rows], more=inbox.more)


@router.post(
    "/departments/{department_id}/escalations/{escalation_id}/acknowledge",
    name="api.acknowledge_escalation",
    response_model=schemas.EscalationOut,
    responses=errors(409),
)
def acknowledge(
    db: DbDep, session: SessionDep, access: DepartmentDep, user: CurrentUser, escalation_id: IdPath
) -> schemas.EscalationOut:
    """报到 (the lead department): once; 409 `escalation_acknowledged` after the first."""
    service.acknowledge(session=session, access=access, actor=user, escalation_id=escalation_id)
    return _read_one(db, escalation_id)


@router.post(
    "/departments/{department_id}/escalations/{escalation_id}/replies",
    name="api.reply_escalation",
    response_model=schemas.EscalationOut,
    responses=errors(409),
)
def reply(
    db: DbDep,
    session: SessionDep,
    access: DepartmentDep,
    user: CurrentUser,
    escalation_id: IdPath,
    body: schemas.TextForm,
) -> schemas.EscalationOut:
    """答复 / 进展 (`text`), by the lead or a helper department, once 报到 was made."""
    service.reply(
        session=session, access=access, actor=user, escalation_id=escalation_id, form=body
    )
    return _read_one(db, escalation_id)


@router.post(
    "/departments/{department_id}/escalations/{escalation_id}/resolve",
    name="api.resolve_escalation",
    response_model=schemas.EscalationOut,
    responses=errors(409),
)
def resolve(
    db: DbDep,
    session: SessionDep,
    access: DepartmentDep,
    user: CurrentUser,
    escalation_id: IdPath,
    body: schemas.TextForm,
) -> schemas.EscalationOut:
    """办结 (the lead department) with what was done (`text`), once 报到 was made."""
    service.resolve(
        session=session, access=access, actor=user, escalation_id=escalation_id, form=body
    )
    return _read_one(db, escalation_id)
