"""The 吹哨报到 card of the issue page (escalations/_issue_card.html): the issue's escalations
with their whole trail and deadlines, and whether the chair may blow the whistle now; read here
so the issue page need not reach into the escalation routes."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.escalations import policies, queries
from app.halls.policies import HallAccess
from app.issues import lifecycle
from app.issues.lifecycle import Action
from app.issues.models import Issue


def issue_escalation_context(session: Session, access: HallAccess, issue: Issue) -> dict[str, Any]:
    """What escalations/_issue_card.html needs: `escalations` (EscalationDetail, newest
    first) and `can_escalate` (the chair, while the issue is 办理中)."""
    return {
        "escalations": queries.issue_escalations(
            session, hall_id=access.hall_id, issue_id=issue.id or 0
        ),
        "can_escalate": policies.can_raise(access)
        and lifecycle.is_allowed(issue.stage, Action.ESCALATE),
    }
