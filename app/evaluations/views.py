"""What the 民评 pages show, read here so the routes stay short and the issue page's card and
the printed 结果公示 share it: each round's summary (from its stored counts), its reopen check
in words, and what the reader may do now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.core import clock
from app.evaluations import labels, policies, queries, rules
from app.evaluations.models import EvaluationAnswer, EvaluationRound
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues.lifecycle import Stage
from app.issues.models import Issue
from app.tasks import queries as task_queries
from app.voting.labels import CheckLine
from app.web.links import url


@dataclass(frozen=True)
class RoundView:
    row: EvaluationRound
    is_open: bool
    counts_shown: bool  # residents see a round's counts once it has closed
    summary: dict[str, Any]  # rules.summary_data
    check: CheckLine


def round_view(access: HallAccess, row: EvaluationRound) -> RoundView:
    is_open = row.closed_at is None
    summary = queries.summarize(row)
    return RoundView(
        row=row,
        is_open=is_open,
        counts_shown=not is_open or policies.sees_running_counts(access),
        summary=rules.summary_data(summary),
        check=labels.check_line(summary.check),
    )


def page_url(hall_id: int, issue_id: int) -> str:
    return url("evaluations.page", hall_id=hall_id, issue_id=issue_id)


def page_context(session: Session, hall: Hall, access: HallAccess, issue: Issue) -> dict[str, Any]:
    """The 民评 page: the current round (its summary, or only the response count while open for
    a resident), the reader's own answer or the form, the chair's buttons, earlier rounds."""
    issue_id = issue.id or 0
    rows = queries.rounds(session, hall_id=access.hall_id, issue_id=issue_id)
    views = [round_view(access, r) for r in rows]
    current = views[0] if views else None
    live = current if current is not None and current.is_open else None
    now = clock.now()
    mine: EvaluationAnswer | None = None
    in_scope = False
    if current is not None and policies.can_answer(access):  # their answer, also once closed
        mine = queries.answer_of(session, round_id=current.row.id or 0, user_id=access.user_id)
    if live is not None and mine is None and policies.can_answer(access):
        in_scope = (
            queries.member_in_scope(session, issue, access.membership_id or 0) == access.user_id
        )
    window_open = live is not None and now < live.row.ends_at
    manage = policies.can_manage(access)
    tasks = task_queries.task_counts(session, hall_id=access.hall_id, issue_id=issue_id)
    return {
        "hall": hall,
        "access": access,
        "issue": issue,
        "current": current,
        "earlier": views[1:],
        "mine": mine,
        "can_answer": window_open and in_scope and mine is None,
        "can_change": window_open and live is not None and mine is not None,
        "tasks": tasks,
        "can_open": manage and issue.stage == Stage.IMPLEMENTING,
        "can_close": manage and live is not None and not window_open,
        "can_paper": policies.can_enter_paper(access) and window_open,
        "can_print": manage,
        "comments": queries.comments(session, hall_id=access.hall_id, round_id=current.row.id or 0)
        if manage and current is not None
        else [],
        "satisfaction_labels": labels.SATISFACTION_LABELS,
        "resolved_labels": labels.RESOLVED_LABELS,
        "outcome_labels": labels.OUTCOME_LABELS,
        "form": {},
        "errors": {},
        "page_error": None,
        "manage_errors": {},  # the refusal of the chair's button that was pressed ...
        "manage_pressed": None,  # ... "open" or "close" (shown even if no longer offered)
    }
