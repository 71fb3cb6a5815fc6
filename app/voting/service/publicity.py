"""公示: 异议 filed and answered during the 公示 period, and its end (to 民办, or back to 民议)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.halls.policies import HallAccess
from app.issues import service as issues
from app.issues.lifecycle import Stage
from app.issues.models import Issue
from app.voting import policies, queries, schemas
from app.voting.models import (
    Objection,
    Resolution,
)
from app.voting.service._common import (
    _advance,
    _issue,
    _require,
    _text_problem,
)


def _resolution(session: Session, hall_id: int, issue_id: int) -> Resolution:
    """The 决议 being (or last) publicised: a failed vote's 决议 has no 公示 of its own."""
    resolution = queries.get_publicized_resolution(session, hall_id=hall_id, issue_id=issue_id)
    if resolution is None:
        raise NotFound("not_found")
    return resolution


def file_objection(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, form: schemas.ObjectionForm
) -> Objection:
    """A member files an 异议 during the 公示 period; the chair is notified."""
    _require(policies.can_object(access))
    if problem := _text_problem(form.body, schemas.BODY_MAX):
        raise ValidationFailed({"body": problem})
    # Locked like end_publicity: an objection filed at the last moment is either counted
    # there or refused here, never committed after the issue has moved on.
    issue = _issue(session, access.hall_id, issue_id, lock=True)
    if issue.stage != Stage.PUBLICIZING:
        raise Conflict("stage_action_not_allowed")
    resolution = _resolution(session, access.hall_id, issue_id)
    if resolution.publicity_ends_at is not None and clock.now() >= resolution.publicity_ends_at:
        raise Conflict("publicity_over")
    objection = Objection(
        hall_id=access.hall_id,
        issue_id=issue_id,
        resolution_id=resolution.id or 0,
        author_id=actor.id or 0,
        body=form.body.strip(),
    )
    session.add(objection)
    session.flush()
    audit.record(
        session,
        action="voting.file_objection",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="objection",
        subject_id=objection.id,
        data={"issue": issue_id},
    )
    issues.notify_chairs(session, issue, kind="objection", exclude=actor.id)
    session.commit()
    return objection


def answer_objection(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    objection_id: int,
    form: schemas.AnswerForm,
) -> Objection:
    """The chair answers an 异议, upholding it or not; the objector is notified."""
    _require(policies.can_manage(access))
    if problem := _text_problem(form.answer, schemas.BODY_MAX):
        raise ValidationFailed({"answer": problem})
    objection = session.exec(
        select(Objection).where(Objection.id == objection_id, Objection.hall_id == access.hall_id)
    ).first()
    if objection is None:
        raise NotFound("not_found")
    # The issue first (the order end_publicity locks in), then the objection again under the
    # lock: two chairs answering at once give one answer and one "already answered".
    issue = _issue(session, access.hall_id, objection.issue_id, lock=True)
    session.refresh(objection, with_for_update=True)
    if objection.answered_at is not None:
        raise Conflict("objection_answered")
    if issue.stage != Stage.PUBLICIZING:
        raise Conflict("stage_action_not_allowed")
    objection.answer = form.answer.strip()
    objection.upheld = form.upheld
    objection.answered_by_id = actor.id
    objection.answered_at = clock.now()
    session.add(objection)
    audit.record(
        session,
        action="voting.answer_objection",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="objection",
        subject_id=objection.id,
        data={"upheld": form.upheld},
    )
    issues.notify_users(session, issue, {objection.author_id}, kind="objection_answered")
    session.commit()
    return objection


def end_publicity(*, session: Session, access: HallAccess, actor: User, issue_id: int) -> Issue:
    """When the 公示 period is over and every 异议 is answered: to 民办, or back to 民议 if the
    chair upheld an objection."""
    _require(policies.can_manage(access))
    issue = _issue(session, access.hall_id, issue_id, lock=True)
    resolution = _resolution(session, access.hall_id, issue_id)
    counts = session.exec(
        select(
            sa.func.count().filter(col(Objection.answered_at).is_(None)),
            sa.func.count().filter(col(Objection.upheld).is_(True)),
        ).where(Objection.resolution_id == resolution.id)
    ).one()
    open_objections, upheld = int(counts[0]), int(counts[1])
    target = Stage.DELIBERATING if upheld else Stage.IMPLEMENTING
    _advance(
        session,
        issue,
        target,
        actor.id,
        decision_closed=True,
        decision_passed=True,
        publicity_ends_at=resolution.publicity_ends_at,
        open_objections=open_objections,
        upheld_objections=upheld,
    )
    session.commit()
    return issue
