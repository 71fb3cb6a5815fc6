"""What every 民决 use case shares: loading the hall's ballot or issue (locked for writers),
refusing by status or permission, the ledger append, the issue's move for a decision.

Concurrency: on SQLite every write transaction is BEGIN IMMEDIATE; on PostgreSQL the ballot row
is locked (SELECT … FOR UPDATE) before anything is read, so a ballot's ledger never forks and
the partial unique index keeps one current vote per voter whatever the race. The locked read
replaces the session's copy of the ballot (app.db.locked): the routes' dependency has read it
before the lock, and a re-vote that waited for another one's lock must extend the new head.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select, update

from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.db import locked
from app.issues import service as issues
from app.issues.lifecycle import Stage
from app.issues.models import Issue
from app.voting import ledger
from app.voting.models import (
    Ballot,
    BallotStatus,
    LedgerEvent,
    LedgerKind,
    RollEntry,
)


def _require(allowed: bool, code: str = "not_allowed") -> None:
    if not allowed:
        raise NotAllowed(code)


def _ballot(session: Session, hall_id: int, ballot_id: int, *, lock: bool = False) -> Ballot:
    """The hall's ballot; `lock` serialises writers of this ballot on PostgreSQL (SQLite's
    BEGIN IMMEDIATE already has)."""
    query = select(Ballot).where(Ballot.id == ballot_id, Ballot.hall_id == hall_id)
    ballot = session.exec(locked(query) if lock else query).first()
    if ballot is None:
        raise NotFound("not_found")
    return ballot


def _issue(session: Session, hall_id: int, issue_id: int, *, lock: bool = False) -> Issue:
    query = select(Issue).where(Issue.id == issue_id, Issue.hall_id == hall_id)
    issue = session.exec(locked(query) if lock else query).first()
    if issue is None:
        raise NotFound("not_found")
    return issue


def _status(ballot: Ballot, *allowed: BallotStatus) -> None:
    if ballot.status not in allowed:
        raise Conflict(f"ballot_{ballot.status.value}")


def _append(
    session: Session, ballot: Ballot, kind: LedgerKind, data: dict[str, object]
) -> LedgerEvent:
    """One event on the ballot's chain; the caller holds the ballot (lock or IMMEDIATE)."""
    now = clock.now()
    height = ballot.height + 1
    prev = ballot.head_hash or ledger.GENESIS
    body = ledger.event_body(ballot.id, height, kind.value, now, data)
    digest = ledger.link_hash(prev, body)
    event = LedgerEvent(
        ballot_id=ballot.id or 0,
        height=height,
        hall_id=ballot.hall_id,
        kind=kind,
        at=now,
        body=body,
        prev_hash=prev,
        hash=digest,
        receipt=ledger.receipt_of(digest) if kind.value in ledger.VOTE_KINDS else None,
    )
    session.add(event)
    ballot.height = height
    ballot.head_hash = digest
    session.add(ballot)
    return event


def _text_problem(value: str, maximum: int) -> str | None:
    value = value.strip()
    if not value:
        return "required"
    return "too_long" if len(value) > maximum else None


def _roll_entry(session: Session, ballot: Ballot, roll_id: int | None) -> RollEntry:
    roll = session.exec(
        select(RollEntry).where(RollEntry.id == roll_id, RollEntry.ballot_id == ballot.id)
    ).first()
    if roll is None:
        raise ValidationFailed({"roll_id": "roll_entry_required"})
    return roll


def _advance(
    session: Session,
    issue: Issue,
    target: Stage,
    actor_id: int | None,
    note: str = "",
    told: Iterable[int] = (),
    also: Iterable[int] = (),
    **facts: object,
) -> None:
    """Move the issue on; its followers and `also` hear of it, but those `told` of the event
    already. Leaving 民决 ends its round: a failed ballot of the round the chair did not settle
    (another was held after it) is concluded with it, so that no later round reads it as the
    vote waiting for the chair's next step."""
    if issue.stage == Stage.DECIDING and target != Stage.DECIDING:
        _conclude_round(session, issue, actor_id)
    issues.advance_for_decision(
        session,
        issue=issue,
        target=target,
        actor_id=actor_id,
        note=note,
        facts=facts,
        told=told,
        also=also,
    )


def _conclude_round(session: Session, issue: Issue, actor_id: int | None) -> None:
    """The issue's ballots still closed (failed, never settled) are concluded: published."""
    concluded = [
        ballot_id
        for ballot_id in session.exec(
            select(Ballot.id).where(
                Ballot.hall_id == issue.hall_id,
                Ballot.issue_id == issue.id,
                Ballot.status == BallotStatus.CLOSED,
            )
        ).all()
        if ballot_id is not None
    ]
    if not concluded:
        return
    session.exec(
        update(Ballot)
        .where(col(Ballot.id).in_(concluded), col(Ballot.hall_id) == issue.hall_id)
        .values(status=BallotStatus.PUBLISHED, published_at=clock.now())
    )
    audit.record(
        session,
        action="voting.conclude_round",
        actor_id=actor_id,
        hall_id=issue.hall_id,
        subject_type="issue",
        subject_id=issue.id,
        data={"ballots": concluded},
    )
