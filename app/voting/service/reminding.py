"""Reminding those who have not voted before a ballot closes (issue #14; Loomio does this).

The periodic job (app/jobs, `voting.remind`) calls `remind_due_voters`: an open ballot with a
planned close whose reminder time (closes_at − remind_before_hours) has come, and which has not
been reminded, tells each caster whose roll entry has no current vote, once. A reminder time
before the ballot opened (a short vote with the default 24 h) is no reminder: the opening notice
was just sent. No commit: the runner commits it with its lease.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.issues import service as issues
from app.voting import queries
from app.voting.models import Ballot, BallotStatus
from app.voting.service._common import _ballot, _issue


def _due(ballot: Ballot, now: datetime) -> bool:
    if ballot.closes_at is None or ballot.opened_at is None or not ballot.remind_before_hours:
        return False
    at = ballot.closes_at - timedelta(hours=ballot.remind_before_hours)
    return ballot.opened_at < at <= now < ballot.closes_at


def remind_due_voters(*, session: Session, now: datetime) -> list[int]:
    """Send the due reminders; the ids of the ballots reminded. Each ballot is locked and read
    again first, so two runs (or a close at the same moment) remind at most once."""
    candidates = session.exec(
        select(Ballot.id, Ballot.hall_id)
        .where(
            Ballot.status == BallotStatus.OPEN,
            col(Ballot.reminded_at).is_(None),
            col(Ballot.closes_at).is_not(None),
            col(Ballot.closes_at) > now,
            Ballot.remind_before_hours > 0,
        )
        .order_by(col(Ballot.id))
    ).all()
    reminded: list[int] = []
    for ballot_id, hall_id in candidates:
        ballot = _ballot(session, hall_id, ballot_id or 0, lock=True)
        if ballot.status != BallotStatus.OPEN or ballot.reminded_at is not None:
            continue
        if not _due(ballot, now):
            continue
        ballot.reminded_at = now
        session.add(ballot)
        waiting = queries.casters_not_voted(session, ballot.id or 0)
        issue = _issue(session, hall_id, ballot.issue_id)
        issues.notify_users(session, issue, waiting, kind="ballot_reminder", text=ballot.title)
        audit.record(
            session,
            action="voting.remind_voters",
            actor_id=None,
            hall_id=hall_id,
            subject_type="ballot",
            subject_id=ballot.id,
            data={"reminded": len(waiting)},
        )
        reminded.append(ballot.id or 0)
    return reminded
