"""The 民决 card of the issue page (voting/_issue_decision.html): what it shows, read here so the
issue page need not reach into the voting routes."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.halls.policies import HallAccess
from app.issues.lifecycle import Stage
from app.issues.models import Issue
from app.voting import policies, queries
from app.voting.models import BallotStatus
from app.web.links import url


def issue_decision_context(session: Session, access: HallAccess, issue: Issue) -> dict[str, Any]:
    """What voting/_issue_decision.html needs on the issue page: the ballots (a draft only for
    the chair), the latest 决议 and whether it went to 公示, whether the chair may start a
    ballot now (表决中 and none open), and the failed ones the chair is to settle."""
    can_manage = policies.can_manage(access)
    decision = queries.issue_decision(
        session, hall_id=access.hall_id, issue_id=issue.id or 0, include_drafts=can_manage
    )
    ballots, resolution = decision.ballots, decision.resolution
    waiting = (
        [
            a
            for a in queries.awaiting_vote(session, hall_id=access.hall_id, user_id=access.user_id)
            if a.issue_id == issue.id
        ]
        if access.user_id is not None and any(b.status == BallotStatus.OPEN for b in ballots)
        else []
    )
    return {
        "awaiting_vote": waiting,
        # A failed vote or 协商一致 waits for the chair: 未通过 or back to 民议 (its page).
        "awaiting_settle": [
            b for b in ballots if b.status == BallotStatus.CLOSED and b.passed is False
        ]
        if can_manage and issue.stage == Stage.DECIDING
        else [],
        "ballots": ballots,
        "resolution": resolution,
        "can_manage": can_manage,
        "can_start_ballot": can_manage
        and issue.stage == Stage.DECIDING
        and not any(b.status == BallotStatus.OPEN for b in ballots),
        "publicity_link": url("publicity.detail", hall_id=access.hall_id, issue_id=issue.id)
        if resolution is not None and resolution.publicity_starts_at is not None
        else None,
    }
