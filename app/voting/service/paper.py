"""Paper ballots (纸质票): printing one per voter, a 计票人 entering a returned one, a different
监票人 confirming it (the paper desk)."""

from __future__ import annotations

import secrets

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.halls.policies import HallAccess
from app.voting import policies, queries, schemas
from app.voting.models import (
    BallotOption,
    BallotStatus,
    Channel,
    PaperBallot,
    PaperEntry,
    PaperResult,
    PaperStatus,
    RollEntry,
    Vote,
)
from app.voting.service._common import (
    _ballot,
    _require,
    _roll_entry,
    _status,
)
from app.voting.service.casting import (
    Receipt,
    _check_submission,
    _open_for_votes,
    _option,
    _record_vote,
)


def issue_paper_ballots(
    *, session: Session, access: HallAccess, actor: User, ballot_id: int
) -> int:
    """Print one paper ballot per voter of the roll (those not yet issued); returns how many."""
    _require(policies.can_manage(access))
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.OPEN)
    issued = set(
        session.exec(select(PaperBallot.roll_id).where(PaperBallot.ballot_id == ballot.id)).all()
    )
    rolls = session.exec(
        select(RollEntry.id)
        .where(RollEntry.ballot_id == ballot.id)
        .order_by(col(RollEntry.sort_key))
    ).all()
    count = 0
    for roll_id in rolls:
        if roll_id in issued:
            continue
        session.add(
            PaperBallot(
                hall_id=ballot.hall_id,
                ballot_id=ballot.id or 0,
                roll_id=roll_id or 0,
                code=_paper_code(),
                issued_by_id=actor.id or 0,
            )
        )
        count += 1
    audit.record(
        session,
        action="voting.issue_paper_ballots",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"issued": count},
    )
    session.commit()
    return count


_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read off paper


def _paper_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(raw: str) -> str:
    """'abcde fghjk' or 'ABCDE-FGHJK' → 'ABCDE-FGHJK' (as printed)."""
    text = "".join(c for c in raw.upper() if c.isascii() and c.isalnum())
    return f"{text[:5]}-{text[5:]}" if len(text) == 10 else raw.strip().upper()


def enter_paper(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    form: schemas.PaperEntryForm,
) -> PaperEntry:
    """A 计票人 enters a returned paper ballot by its code: a choice, blank or invalid.

    Rules: each printed ballot is read once (a rejected reading may be entered again); nothing
    counts until a different 监票人 confirms it.
    Raises: NotAllowed, NotFound, Conflict, ValidationFailed (unknown code, no choice).
    """
    _check_submission(form.submission_id)
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _require(
        policies.can_enter_paper(access, queries.duties(session, ballot.id or 0, access.user_id))
    )
    previous = session.exec(
        select(PaperEntry).where(PaperEntry.submission_id == form.submission_id)
    ).first()
    if previous is not None:
        if previous.ballot_id != ballot.id:
            raise ValidationFailed({"code": "submission_reused"})
        session.rollback()
        return previous
    _open_for_votes(ballot)
    paper = session.exec(
        select(PaperBallot).where(
            PaperBallot.ballot_id == ballot.id, PaperBallot.code == normalise_code(form.code)
        )
    ).first()
    if paper is None:
        raise ValidationFailed({"code": "paper_code_unknown"})
    option_id = None
    if form.result == PaperResult.VOTE:
        option_id = _option(session, ballot, form.option).id
    taken = session.exec(
        select(PaperEntry.id).where(
            PaperEntry.paper_id == paper.id, PaperEntry.status != PaperStatus.REJECTED
        )
    ).first()
    if taken is not None:
        raise ValidationFailed({"code": "paper_already_entered"})
    entry = PaperEntry(
        hall_id=ballot.hall_id,
        ballot_id=ballot.id or 0,
        paper_id=paper.id or 0,
        result=form.result,
        option_id=option_id,
        entered_by_id=actor.id or 0,
        submission_id=form.submission_id,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        action="voting.enter_paper",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"entry": entry.id, "result": form.result.value},
    )
    session.commit()
    return entry


def confirm_paper(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    entry_id: int,
    agree: bool,
) -> Receipt | None:
    """A 监票人 (not the one who entered it) confirms or rejects a paper entry.

    Confirming a choice records the vote with channel `paper` (the later vote counts, as on
    every channel); a blank or invalid ballot is counted in the reconciliation only.
    """
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    entry = session.exec(
        select(PaperEntry).where(PaperEntry.id == entry_id, PaperEntry.ballot_id == ballot.id)
    ).first()
    if entry is None:
        raise NotFound("not_found")
    _require(
        policies.can_confirm_paper(
            access,
            queries.duties(session, ballot.id or 0, access.user_id),
            entered_by=entry.entered_by_id,
        ),
        "second_officer_required",
    )
    _open_for_votes(ballot)
    if entry.status != PaperStatus.PENDING:
        raise Conflict("paper_entry_decided")
    now = clock.now()
    entry.confirmed_by_id = actor.id
    entry.confirmed_at = now
    receipt = None
    if not agree:
        entry.status = PaperStatus.REJECTED
    else:
        entry.status = PaperStatus.CONFIRMED
        if entry.result == PaperResult.VOTE:
            paper = session.get(PaperBallot, entry.paper_id)
            assert paper is not None
            roll = _roll_entry(session, ballot, paper.roll_id)
            option = session.get(BallotOption, entry.option_id)
            assert option is not None
            receipt = _record_vote(
                session,
                ballot,
                roll=roll,
                option=option,
                channel=Channel.PAPER,
                cast_by=entry.entered_by_id,
                confirmed_by=actor.id,
                submission_id=entry.submission_id,
            )
            session.flush()
            entry.vote_id = session.exec(
                select(Vote.id).where(Vote.submission_id == entry.submission_id)
            ).one()
    session.add(entry)
    audit.record(
        session,
        action="voting.confirm_paper",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"entry": entry.id, "agree": agree},
    )
    session.commit()
    return receipt
