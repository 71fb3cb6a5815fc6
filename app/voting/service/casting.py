"""A voter casts a vote on the phone (the ballot page), and what every vote channel shares:
the receipt, idempotent replays, retiring the voter's earlier vote and the ledger event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select, update

from app.accounts.models import User
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.halls.policies import HallAccess
from app.voting import ledger, schemas
from app.voting.models import (
    Ballot,
    BallotOption,
    BallotStatus,
    Channel,
    LedgerKind,
    RollCaster,
    RollEntry,
    Vote,
)
from app.voting.service._common import (
    _append,
    _ballot,
    _require,
)


@dataclass(frozen=True)
class Receipt:
    ballot_id: int
    receipt: str
    option_code: str
    channel: Channel
    cast_at: datetime
    replaced: bool  # an earlier vote of the same voter was retired


def _replay(session: Session, ballot: Ballot, submission_id: str, *, option: str) -> Receipt | None:
    """The answer to a retried submission (VOTE-04): the same vote again, or 422 when the key
    is reused for a different vote."""
    found = session.exec(
        select(Vote, BallotOption.code)
        .join(BallotOption, col(BallotOption.id) == Vote.option_id)
        .where(Vote.submission_id == submission_id)
    ).first()
    if found is None:
        return None
    vote, code = found
    if vote.ballot_id != ballot.id or code != option:
        raise ValidationFailed({"option": "submission_reused"})
    return Receipt(vote.ballot_id, vote.receipt, code, vote.channel, vote.cast_at, replaced=False)


def _record_vote(
    session: Session,
    ballot: Ballot,
    *,
    roll: RollEntry,
    option: BallotOption,
    channel: Channel,
    cast_by: int,
    submission_id: str,
    confirmed_by: int | None = None,
) -> Receipt:
    """Retire the voter's current vote (if any), append the ledger event, insert the vote."""
    now = clock.now()
    retired = session.exec(
        update(Vote)
        .where(
            col(Vote.ballot_id) == ballot.id,
            col(Vote.roll_id) == roll.id,
            col(Vote.is_current).is_(True),
        )
        .values(is_current=False, superseded_at=now)
    ).rowcount
    kind = {
        Channel.PHONE: LedgerKind.RECAST if retired else LedgerKind.CAST,
        Channel.IN_PERSON: LedgerKind.IN_PERSON,
        Channel.PAPER: LedgerKind.PAPER,
    }[channel]
    data = vote_data(
        ballot, roll.voter_key, roll.weight_centi_m2, option.code, channel, submission_id
    )
    event = _append(session, ballot, kind, data)
    assert event.receipt is not None
    session.add(
        Vote(
            hall_id=ballot.hall_id,
            ballot_id=ballot.id or 0,
            roll_id=roll.id or 0,
            option_id=option.id or 0,
            channel=channel,
            cast_by_id=cast_by,
            confirmed_by_id=confirmed_by,
            cast_at=now,
            submission_id=submission_id,
            receipt=event.receipt,
        )
    )
    return Receipt(ballot.id or 0, event.receipt, option.code, channel, now, bool(retired))


def vote_data(
    ballot: Ballot, voter_key: str, weight: int, option: str, channel: Channel, submission: str
) -> dict[str, object]:
    """What a vote's ledger event says, whatever the channel (the voter by pseudonym only)."""
    return {
        "voter": ledger.voter_ref(ballot.ref_key, voter_key),
        "option": option,
        "weight": weight,
        "channel": channel.value,
        "submission": submission,
    }


def closed_to_votes(ballot: Ballot, now: datetime) -> Conflict | None:
    """Why the ballot takes no vote now (not open, or past its planned close), if it does not."""
    if ballot.status != BallotStatus.OPEN:
        return Conflict(f"ballot_{ballot.status.value}")
    if ballot.closes_at is not None and now >= ballot.closes_at:
        return Conflict("ballot_past_deadline")
    return None


def _open_for_votes(ballot: Ballot) -> None:
    if problem := closed_to_votes(ballot, clock.now()):
        raise problem


def _option(session: Session, ballot: Ballot, code: str) -> BallotOption:
    option = session.exec(
        select(BallotOption).where(BallotOption.ballot_id == ballot.id, BallotOption.code == code)
    ).first()
    if option is None:
        raise ValidationFailed({"option": "option_required"})
    return option


def _check_submission(submission_id: str) -> None:
    if not schemas.is_submission_id(submission_id):
        raise ValidationFailed({"option": "submission_invalid"})


def cast_vote(
    *, session: Session, access: HallAccess, actor: User, ballot_id: int, form: schemas.VoteForm
) -> Receipt:
    """A voter votes on the phone. The later vote before close counts (re-voting allowed).

    Rules: verified members on the frozen roll only (for a 户 any of its members at open; for
    owners any of the owners); on a named (记名) ballot only with the voter's separate consent
    to their choice being public (PIPL art. 25); idempotent by submission id; refused outside
    `open` or after the planned close.
    Raises: NotFound, NotAllowed (not on the roll), Conflict (status), ValidationFailed.
    """
    _check_submission(form.submission_id)
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    again = _replay(session, ballot, form.submission_id, option=form.option)
    if again is not None:
        session.rollback()
        return again
    _open_for_votes(ballot)
    _require(access.is_verified, "not_on_roll")
    roll = session.exec(
        select(RollEntry)
        .join(RollCaster, col(RollCaster.roll_id) == RollEntry.id)
        .where(RollCaster.ballot_id == ballot.id, RollCaster.user_id == actor.id)
    ).first()
    if roll is None:
        raise NotAllowed("not_on_roll")
    option = _option(session, ballot, form.option)
    if not ballot.secret and not form.consent:
        raise ValidationFailed({"consent": "named_vote_consent_required"})
    receipt = _record_vote(
        session,
        ballot,
        roll=roll,
        option=option,
        channel=Channel.PHONE,
        cast_by=actor.id or 0,
        submission_id=form.submission_id,
    )
    session.commit()
    return receipt
