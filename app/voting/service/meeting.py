"""The chair at the meeting, on the roll page (投票人名单): votes given in person, who is present
(实到), and voiding a vote entered in error."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.halls.policies import HallAccess
from app.voting import ledger, policies, schemas
from app.voting.models import (
    BallotStatus,
    Channel,
    LedgerKind,
    RollEntry,
    Vote,
)
from app.voting.rules import MEETING_RULES
from app.voting.service._common import (
    _append,
    _ballot,
    _require,
    _roll_entry,
    _status,
    _text_problem,
)
from app.voting.service.casting import (
    Receipt,
    _check_submission,
    _open_for_votes,
    _option,
    _record_vote,
    _replay,
)


def record_in_person(
    *, session: Session, access: HallAccess, actor: User, ballot_id: int, form: schemas.InPersonForm
) -> Receipt:
    """The chair records a voter's vote given in person (a show of hands, a spoken vote).

    Rules: the same one-current-vote rule as every channel (the later counts); the voter is
    marked present; audited with the chair's name. Named (记名) ballots only: on a 无记名
    ballot the chair would learn the choice, so a voter at the meeting takes a paper ballot
    (signing the 领票登记 sheet) and puts it in the box (Conflict secret_in_person).
    """
    _require(policies.can_manage(access))
    _check_submission(form.submission_id)
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    again = _replay(session, ballot, form.submission_id, option=form.option)
    if again is not None:
        session.rollback()
        return again
    _open_for_votes(ballot)
    if ballot.secret:
        raise Conflict("secret_in_person")
    roll = _roll_entry(session, ballot, form.roll_id)
    option = _option(session, ballot, form.option)
    receipt = _record_vote(
        session,
        ballot,
        roll=roll,
        option=option,
        channel=Channel.IN_PERSON,
        cast_by=actor.id or 0,
        submission_id=form.submission_id,
    )
    roll.present = True
    session.add(roll)
    audit.record(
        session,
        action="voting.record_in_person",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"roll": roll.id, "receipt": receipt.receipt},
    )
    session.commit()
    return receipt


def record_attendance(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    form: schemas.AttendanceForm,
) -> int:
    """The chair records who is present (实到) for a meeting rule; returns how many are."""
    _require(policies.can_manage(access))
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.OPEN)
    if ballot.rule not in MEETING_RULES:
        raise Conflict("attendance_not_used")
    if ballot.meeting_id is not None:
        # Held at a meeting: who is present is the meeting's sign-in, not a second list.
        raise Conflict("attendance_from_meeting")
    present = set(form.present_ids)
    voted = set(
        session.exec(
            select(Vote.roll_id).where(Vote.ballot_id == ballot.id, col(Vote.is_current).is_(True))
        ).all()
    )
    rows = session.exec(select(RollEntry).where(RollEntry.ballot_id == ballot.id)).all()
    count = 0
    for row in rows:
        row.present = (row.id in present) or (row.id in voted)
        count += row.present
        session.add(row)
    audit.record(
        session,
        action="voting.record_attendance",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"present": count},
    )
    session.commit()
    return count


def void_vote(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    vote_id: int,
    form: schemas.VoidForm,
) -> None:
    """The chair voids a current vote entered in error, with a reason; the voter may vote again.
    Raises: NotFound (no such vote), Conflict (the ballot not open; vote_not_current).
    """
    _require(policies.can_manage(access))
    if problem := _text_problem(form.reason, schemas.NOTE_MAX):
        raise ValidationFailed({"reason": problem})
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.OPEN)
    found = session.exec(
        select(Vote, RollEntry)
        .join(RollEntry, col(RollEntry.id) == Vote.roll_id)
        .where(Vote.id == vote_id, Vote.ballot_id == ballot.id)
    ).first()
    if found is None:
        raise NotFound("not_found")
    vote, roll = found
    if not vote.is_current:  # another chair voided it meanwhile, or the voter voted again
        raise Conflict("vote_not_current")
    now = clock.now()
    vote.is_current = False
    vote.voided_at = now
    vote.voided_by_id = actor.id
    vote.void_reason = form.reason.strip()
    session.add(vote)
    _append(
        session,
        ballot,
        LedgerKind.VOID,
        {"voter": ledger.voter_ref(ballot.ref_key, roll.voter_key), "receipt": vote.receipt},
    )
    audit.record(
        session,
        action="voting.void_vote",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        # On a 无记名 ballot the receipt would tie this voter to a choice on the board.
        data={"reason": vote.void_reason}
        if ballot.secret
        else {"receipt": vote.receipt, "reason": vote.void_reason},
    )
    session.commit()
