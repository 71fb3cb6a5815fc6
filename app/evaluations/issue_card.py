"""The 民评 card of the issue page (evaluations/_issue_card.html): read here so the issue page
need not reach into the evaluations routes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from app.evaluations import labels, policies, queries, views
from app.halls.policies import HallAccess
from app.issues.lifecycle import PHASE_OF, Phase, Stage
from app.issues.models import Issue
from app.issues.queries import EventRow
from app.web import fragments


def issue_evaluation_context(
    session: Session | None, access: HallAccess, issue: Issue, events: Sequence[EventRow]
) -> dict[str, Any]:
    """The latest round and whether the chair may open one now (办理中). The rounds are read
    only once the timeline shows the issue reached 民评 (one query); before, nothing is read."""
    context: dict[str, Any] = {
        "evaluation_round": None,
        "evaluation_can_open": policies.can_manage(access) and issue.stage == Stage.IMPLEMENTING,
        "evaluation_outcome_labels": labels.OUTCOME_LABELS,
    }
    if not any(PHASE_OF[row.event.to_stage] == Phase.EVALUATE for row in events):
        return context
    rows = queries.rounds(fragments.needs(session), hall_id=access.hall_id, issue_id=issue.id or 0)
    context["evaluation_round"] = views.round_view(access, rows[0]) if rows else None
    return context
