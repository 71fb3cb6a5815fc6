"""公示: 异议 filed and answered during the 公示 period, and its end (to 民办, or back to 民议)."""

from __future__ import annotations

from datetime import datetime

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
    issues.notify_users(
        session, issue, {objection.author_id}, kind="objection_answered", exclude=actor.id
    )
    session.commit()
    return objection


def end_publicity(*, session: Session, access: HallAccess, actor: User, issue_id: int) -> Issue:
    """When the 公示 period is over and every 异议 is answered: to 民办, or back to 民议 if the
    chair upheld an objection."""
    _require(policies.can_manage(access))
    issue = _issue(session, access.hall_id, issue_id, lock=True)
    resolution = _resolution(session, access.hall_id, issue_id)
    open_objections, upheld = _objection_counts(session, resolution)
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
        also=_objectors(session, resolution),
    )
    session.commit()
    return issue


def _objectors(session: Session, resolution: Resolution) -> set[int]:
    """Who filed an 异议 against the 决议: they hear where the issue goes after its 公示."""
    return set(
        session.exec(select(Objection.author_id).where(Objection.resolution_id == resolution.id))
    )


def _objection_counts(session: Session, resolution: Resolution) -> tuple[int, int]:
    """(异议 not answered yet, 异议 upheld) of a 决议's 公示."""
    counts = session.exec(
        select(
            sa.func.count().filter(col(Objection.answered_at).is_(None)),
            sa.func.count().filter(col(Objection.upheld).is_(True)),
        ).where(Objection.resolution_id == resolution.id)
    ).one()
    return int(counts[0]), int(counts[1])


def end_due_publicities(*, session: Session, now: datetime) -> list[int]:
    """The periodic job's half of end_publicity (app/jobs): every 公示 whose period is over
    with no 异议 open and none upheld moves its issue to 民办, as the chair's button would;
    the ids of the issues moved. No commit: the job runner commits it with its lease.

    Only the outcome nobody has to weigh is automatic: an 异议 still unanswered waits for the
    chair's answer, and one upheld sends the issue back to 民议 only when the chair ends the
    公示 (they tell the hall why). Each issue is locked and read again first, in the order
    end_publicity locks (issue, then its objections), so the chair pressing 结束公示 at the
    same moment moves it once: the second finds it no longer 公示中 and it is skipped.
    Idempotent: an issue moved is no longer 公示中.
    """
    candidates = session.exec(
        select(Issue.id, Issue.hall_id)
        .join(Resolution, col(Resolution.issue_id) == col(Issue.id))
        .where(
            Issue.stage == Stage.PUBLICIZING,
            col(Resolution.publicity_ends_at).is_not(None),
            col(Resolution.publicity_ends_at) <= now,
        )
        .distinct()
        .order_by(col(Issue.id))
    ).all()
    moved: list[int] = []
    for issue_id, hall_id in candidates:
        issue = _issue(session, hall_id, issue_id or 0, lock=True)
        resolution = queries.get_publicized_resolution(
            session, hall_id=hall_id, issue_id=issue_id or 0
        )
        if issue.stage != Stage.PUBLICIZING or resolution is None:
            continue
        ends_at = resolution.publicity_ends_at
        open_objections, upheld = _objection_counts(session, resolution)
        if ends_at is None or now < ends_at or open_objections or upheld:
            continue
        _advance(
            session,
            issue,
            Stage.IMPLEMENTING,
            None,
            now=now,
            decision_closed=True,
            decision_passed=True,
            publicity_ends_at=ends_at,
            open_objections=0,
            upheld_objections=0,
            also=_objectors(session, resolution),  # as when the chair ends it
        )
        moved.append(issue_id or 0)
    return moved
