"""Use cases of 民评: open a round, answer it (phone or paper), change an answer, close it.

Every public function owns its transaction, checks rights with evaluations.policies, moves the
issue only through issues.service.advance_for_decision, and writes an audit event.

Decisions (issue #13):
- A round opens only when the issue is 办理中, has at least one task and every task is 已完成
  (an issue nobody was tasked with has nothing to evaluate: `evaluation_no_tasks`).
- One answer per person per round (UNIQUE (round_id, user_id)); a second one is refused with
  `evaluation_already_answered`. A resident may *change* their answer until the round closes
  (`change_answer`); the counts are adjusted in the same transaction.
- The round's counts move with its answers in the same transaction, by UPDATE … SET n = n + 1
  under the round's row lock. An answer without a satisfaction choice (a paper form left blank)
  counts in `answers` only; 是否解决 is counted for valid answers only (rules.Counts).
- A round closes when its window is over: by the periodic job `evaluations.close_due` or by
  the chair's button, never earlier (the lifecycle's guard), even when everyone has answered:
  the hall promised the window. Both lock the issue, then the round (FOR UPDATE), and the
  second finds the round closed: it closes once.
- Closing decides by rules.summarize(...).reopen: back to 办理中 (outcome `reopened`, a notice
  "满意度未达标，重新办理" to everyone involved; the chair reopens tasks and opens a new round
  later) or 已办结 (outcome `closed`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.core.fields import text_problem
from app.db import locked
from app.evaluations import policies, queries, schemas
from app.evaluations.models import (
    AnswerSource,
    EvaluationAnswer,
    EvaluationRound,
    RoundOutcome,
    Satisfaction,
)
from app.halls import queries as hall_queries
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues import service as issues
from app.issues.lifecycle import Stage
from app.issues.models import Issue
from app.tasks import queries as task_queries

_RESOLVED = {"yes": True, "no": False}
# The round's column each satisfaction counts in.
_COLUMN = {
    Satisfaction.SATISFIED: "satisfied",
    Satisfaction.BASIC: "basic",
    Satisfaction.DISSATISFIED: "dissatisfied",
}


def _require(allowed: bool) -> None:
    if not allowed:
        raise NotAllowed("not_allowed")


def _issue(session: Session, hall_id: int, issue_id: int, *, lock: bool = False) -> Issue:
    query = select(Issue).where(Issue.id == issue_id, Issue.hall_id == hall_id)
    issue = session.exec(locked(query) if lock else query).first()
    if issue is None:
        raise NotFound("not_found")
    return issue


def _audit(
    session: Session, action: str, actor_id: int | None, row: EvaluationRound, **data: Any
) -> None:
    audit.record(
        session,
        action=f"evaluations.{action}",
        actor_id=actor_id,
        hall_id=row.hall_id,
        subject_type="evaluation_round",
        subject_id=row.id,
        data={"issue": row.issue_id, "round": row.number, **data},
    )


# --- opening ------------------------------------------------------------------------------------


def open_round(
    *, session: Session, access: HallAccess, actor: User, issue_id: int
) -> EvaluationRound:
    """开启民评: the chair opens a round for the hall's window when every task is done.

    The hall's 基本满意 weight and reopen threshold are copied onto the round; the issue goes to
    评价中; its followers hear of the stage, and the residents in its scope and the people
    responsible for its tasks are asked to evaluate.

    Raises: NotAllowed, NotFound, Conflict("evaluation_no_tasks" | "tasks_open" |
    "stage_transition_not_allowed")."""
    _require(policies.can_manage(access))
    issue = _issue(session, access.hall_id, issue_id, lock=True)
    if issue.stage != Stage.IMPLEMENTING:
        raise Conflict("stage_transition_not_allowed")
    tasks = task_queries.task_counts(session, hall_id=access.hall_id, issue_id=issue_id)
    if tasks.total == 0:
        raise Conflict("evaluation_no_tasks")
    hall = session.get(Hall, access.hall_id)
    assert hall is not None
    now = clock.now()
    # Those who can answer (the verified members in the issue's scope) are asked; the other
    # followers and the people responsible for its tasks hear of the stage only.
    asked = set(queries.scope_user_ids(session, issue))
    issues.advance_for_decision(
        session,
        issue=issue,
        target=Stage.EVALUATING,
        actor_id=actor.id,
        facts={"open_tasks": tasks.open},
        also=queries.responsible_ids(session, hall_id=issue.hall_id, issue_id=issue_id),
        told=asked,
    )
    number = queries.last_number(session, hall_id=access.hall_id, issue_id=issue_id) + 1
    row = EvaluationRound(
        hall_id=access.hall_id,
        issue_id=issue_id,
        number=number,
        opened_at=now,
        opened_by_id=actor.id or 0,
        ends_at=now + timedelta(days=hall.evaluation_window_days),
        weight_num=hall.basic_satisfied_weight_num,
        weight_den=hall.basic_satisfied_weight_den,
        threshold_num=hall.reopen_threshold_num,
        threshold_den=hall.reopen_threshold_den,
    )
    session.add(row)
    session.flush()
    _audit(session, "open_round", actor.id, row, ends_at=row.ends_at.isoformat())
    issues.notify_users(session, issue, asked, kind="evaluation_open", exclude=actor.id)
    session.commit()
    return row


# --- answers ------------------------------------------------------------------------------------


def _parse(form: schemas.AnswerForm, *, paper: bool) -> tuple[Satisfaction | None, bool | None]:
    errors: dict[str, str] = {}
    satisfaction: Satisfaction | None = None
    if form.satisfaction in Satisfaction._value2member_map_:
        satisfaction = Satisfaction(form.satisfaction)
    elif form.satisfaction or not paper:
        errors["satisfaction"] = "satisfaction_required"
    resolved = _RESOLVED.get(form.resolved)
    if resolved is None and (form.resolved or not paper):
        errors["resolved"] = "resolved_required"
    comment = form.comment.strip()
    if len(comment) > schemas.COMMENT_MAX:
        errors["comment"] = "comment_too_long"
    elif problem := text_problem(comment):
        errors["comment"] = problem
    if errors:
        raise ValidationFailed(errors)
    return satisfaction, resolved


def _deltas(satisfaction: Satisfaction | None, resolved: bool | None, sign: int) -> dict[str, int]:
    """What one answer adds to (sign 1) or takes from (-1) its round's counts."""
    deltas = {"answers": sign}
    if satisfaction is not None:
        deltas["valid"] = sign
        deltas[_COLUMN[satisfaction]] = sign
        if resolved is not None:  # 是否解决 is counted among valid answers
            deltas["resolved_yes" if resolved else "resolved_no"] = sign
    return deltas


def _count(session: Session, row: EvaluationRound, deltas: dict[str, int]) -> None:
    """Move the round's counts in SQL (never read-modify-write), then read them back."""
    values = {
        name: getattr(EvaluationRound, name) + delta for name, delta in deltas.items() if delta
    }
    if values:
        session.exec(
            update(EvaluationRound).where(col(EvaluationRound.id) == row.id).values(values)
        )
    session.refresh(row)


def _open(session: Session, hall_id: int, issue_id: int) -> EvaluationRound:
    """The issue's open round, locked: a close waits for an answer, or the answer sees it closed."""
    row = queries.open_round(session, hall_id=hall_id, issue_id=issue_id, lock=True)
    if row is None:
        raise Conflict("evaluation_not_open")
    if clock.now() >= row.ends_at:
        raise Conflict("evaluation_over")
    return row


def _insert(
    session: Session,
    row: EvaluationRound,
    *,
    user_id: int,
    satisfaction: Satisfaction | None,
    resolved: bool | None,
    comment: str,
    entered_by: int | None,
    taken: str,
) -> EvaluationAnswer:
    answer = EvaluationAnswer(
        hall_id=row.hall_id,
        round_id=row.id or 0,
        user_id=user_id,
        satisfaction=satisfaction,
        resolved=resolved,
        comment=comment,
        source=AnswerSource.PAPER if entered_by is not None else AnswerSource.PHONE,
        entered_by_id=entered_by,
    )
    session.add(answer)
    try:
        session.flush()
    except IntegrityError:  # one per person per round, whoever came first
        session.rollback()
        raise Conflict(taken) from None
    _count(session, row, _deltas(satisfaction, resolved, 1))
    return answer


def answer(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    issue_id: int,
    form: schemas.AnswerForm,
) -> EvaluationAnswer:
    """A resident in the issue's scope evaluates on their phone: 满意 / 基本满意 / 不满意 and
    是否解决 (both required), and a comment of at most 500 characters.

    Raises: NotAllowed ("out_of_scope"), NotFound, ValidationFailed, Conflict
    ("evaluation_not_open" | "evaluation_over" | "evaluation_already_answered")."""
    _require(policies.can_answer(access))
    satisfaction, resolved = _parse(form, paper=False)
    issue = _issue(session, access.hall_id, issue_id)
    if queries.member_in_scope(session, issue, access.membership_id or 0) != actor.id:
        raise NotAllowed("evaluation_out_of_scope")
    row = _open(session, access.hall_id, issue_id)
    if queries.answer_of(session, round_id=row.id or 0, user_id=actor.id) is not None:
        raise Conflict("evaluation_already_answered")
    found = _insert(
        session,
        row,
        user_id=actor.id or 0,
        satisfaction=satisfaction,
        resolved=resolved,
        comment=form.comment.strip(),
        entered_by=None,
        taken="evaluation_already_answered",
    )
    _audit(session, "answer", actor.id, row, answers=row.answers)
    session.commit()
    return found


def change_answer(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    issue_id: int,
    form: schemas.AnswerForm,
) -> EvaluationAnswer:
    """A resident changes their own answer while the round is open; the round's counts move
    from the old choice to the new one in the same transaction.

    Raises: NotAllowed, NotFound, ValidationFailed, Conflict ("evaluation_not_open" |
    "evaluation_over" | "evaluation_not_answered")."""
    _require(policies.can_answer(access))
    satisfaction, resolved = _parse(form, paper=False)
    row = _open(session, access.hall_id, issue_id)
    found = queries.answer_of(session, round_id=row.id or 0, user_id=actor.id, lock=True)
    if found is None:
        raise Conflict("evaluation_not_answered")
    deltas = _deltas(found.satisfaction, found.resolved, -1)
    for name, delta in _deltas(satisfaction, resolved, 1).items():
        deltas[name] = deltas.get(name, 0) + delta
    found.satisfaction, found.resolved = satisfaction, resolved
    found.comment = form.comment.strip()
    session.add(found)
    session.flush()
    _count(session, row, deltas)
    _audit(session, "change_answer", actor.id, row, answers=row.answers)
    session.commit()
    return found


def enter_paper(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    issue_id: int,
    form: schemas.PaperAnswerForm,
) -> EvaluationAnswer:
    """The chair or a 记录员 enters one member's paper evaluation form. Either choice may be
    blank (a form without a satisfaction choice counts in `answers`, not in `valid`).

    Raises: NotAllowed, NotFound, ValidationFailed ("membership_id": "evaluation_member_required"
    | "evaluation_member_out_of_scope"), Conflict ("evaluation_member_answered" | …)."""
    _require(policies.can_enter_paper(access))
    satisfaction, resolved = _parse(form, paper=True)
    issue = _issue(session, access.hall_id, issue_id)
    if form.membership_id is None:
        raise ValidationFailed({"membership_id": "evaluation_member_required"})
    user_id = queries.member_in_scope(session, issue, form.membership_id)
    if user_id is None:
        raise ValidationFailed({"membership_id": "evaluation_member_out_of_scope"})
    row = _open(session, access.hall_id, issue_id)
    if queries.answer_of(session, round_id=row.id or 0, user_id=user_id) is not None:
        raise Conflict("evaluation_member_answered")
    found = _insert(
        session,
        row,
        user_id=user_id,
        satisfaction=satisfaction,
        resolved=resolved,
        comment=form.comment.strip(),
        entered_by=actor.id,
        taken="evaluation_member_answered",
    )
    _audit(session, "enter_paper", actor.id, row, answers=row.answers, member=user_id)
    session.commit()
    return found


# --- closing ------------------------------------------------------------------------------------


def _close(
    session: Session, issue: Issue, row: EvaluationRound, *, actor_id: int | None, now: datetime
) -> EvaluationRound:
    """Close a locked open round and move its locked issue by the round's summary (no commit)."""
    summary = queries.summarize(row)
    target = Stage.IMPLEMENTING if summary.reopen else Stage.CLOSED
    # Everyone involved (with who answered the round) hears the outcome once: a reopening by
    # its own notice (the chairs too, who must reopen tasks), a close by the stage's.
    involved = queries.involved_ids(session, issue, round_id=row.id)
    reopened = involved | hall_queries.chair_ids(session, hall_id=issue.hall_id)
    issues.advance_for_decision(
        session,
        issue=issue,
        target=target,
        actor_id=actor_id,
        note="evaluation_reopened" if summary.reopen else "evaluation_closed",
        facts={
            "now": now,
            "evaluation_ends_at": row.ends_at,
            "satisfaction_ok": not summary.reopen,
        },
        also=involved,
        told=reopened if summary.reopen else (),
    )
    row.closed_at = now
    row.closed_by_id = actor_id
    row.outcome = RoundOutcome.REOPENED if summary.reopen else RoundOutcome.CLOSED
    session.add(row)
    _audit(
        session,
        "close_round",
        actor_id,
        row,
        outcome=row.outcome.value,
        valid=row.valid,
        dissatisfied=row.dissatisfied,
    )
    if summary.reopen:  # everyone involved is told why it comes back
        issues.notify_users(session, issue, reopened, kind="evaluation_reopened", exclude=actor_id)
    return row


def close_round(
    *, session: Session, access: HallAccess, actor: User, issue_id: int
) -> EvaluationRound:
    """The chair closes the open round once its window is over (409 `evaluation_window_open`
    before): 已办结, or back to 办理中 when 不满意 is above the hall's threshold.

    Raises: NotAllowed, NotFound, Conflict ("evaluation_not_open" | "evaluation_window_open")."""
    _require(policies.can_manage(access))
    issue = _issue(session, access.hall_id, issue_id, lock=True)
    row = queries.open_round(session, hall_id=access.hall_id, issue_id=issue_id, lock=True)
    if row is None or issue.stage != Stage.EVALUATING:
        raise Conflict("evaluation_not_open")
    _close(session, issue, row, actor_id=actor.id, now=clock.now())
    session.commit()
    return row


def close_due_rounds(*, session: Session, now: datetime) -> list[int]:
    """The periodic job (app/jobs, `evaluations.close_due`): every open round whose window is
    over is closed as the chair's button would; the ids of the rounds closed. No commit: the
    job runner commits it with its lease. Each issue is locked, then its round read again under
    the lock (the order close_round locks in): one the chair closed meanwhile is skipped."""
    due = session.exec(
        select(EvaluationRound.id, EvaluationRound.hall_id, EvaluationRound.issue_id)
        .where(col(EvaluationRound.closed_at).is_(None), col(EvaluationRound.ends_at) <= now)
        .order_by(col(EvaluationRound.id))
    ).all()
    closed: list[int] = []
    for round_id, hall_id, issue_id in due:
        issue = _issue(session, hall_id, issue_id, lock=True)
        row = queries.get_round(session, hall_id=hall_id, round_id=round_id or 0, lock=True)
        if row is None or row.closed_at is not None or issue.stage != Stage.EVALUATING:
            continue
        _close(session, issue, row, actor_id=None, now=now)
        closed.append(round_id or 0)
    return closed
