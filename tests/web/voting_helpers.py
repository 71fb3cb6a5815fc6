"""Builders for ballot test data, through the voting services (so the ledger and audit are real)."""

from __future__ import annotations

import uuid

from sqlmodel import select

from app.accounts.models import User
from app.db import Database
from app.voting import queries, schemas, service
from app.voting.models import Ballot, PaperEntry, PaperResult, PaperStatus, RollEntry
from app.voting.rules import RuleKind
from tests import factories as f


def sid() -> str:
    return str(uuid.uuid4())


def open_ballot(
    db: Database,
    world: f.HallWorld,
    chair: User,
    *,
    rule: RuleKind = RuleKind.OWNERS_ORDINARY,
    counters: tuple[User, ...] = (),
    scrutineers: tuple[User, ...] = (),
    **values: object,
) -> Ballot:
    """A ballot on a fresh issue in 表决中, drafted with its officers and opened."""
    issue, _ = f.make_deciding_issue(db, world, chair)
    form = schemas.BallotForm(
        **{  # type: ignore[arg-type]
            "title": f.unique("是否同意加装电梯"),
            "rule": rule,
            "counter_ids": [u.id for u in counters],
            "scrutineer_ids": [u.id for u in scrutineers],
            **values,
        }
    )
    access = f.chair_access(db, world, chair)
    with db.session() as s:
        ballot = service.create_ballot(
            session=s, access=access, actor=chair, issue_id=issue.id or 0, form=form
        )
    with db.session() as s:
        return service.open_ballot(session=s, access=access, actor=chair, ballot_id=ballot.id or 0)


def issue_papers(db: Database, world: f.HallWorld, chair: User, ballot: Ballot) -> int:
    with db.session() as s:
        return service.issue_paper_ballots(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
        )


def papers(db: Database, ballot: Ballot) -> list[tuple[str, RollEntry]]:
    """(code, roll entry) of every paper ballot issued, in roll order."""
    with db.session(read_only=True) as s:
        return [(p.code, r) for p, r in queries.paper_ballots(s, ballot.id or 0)]


def enter_paper(
    db: Database,
    world: f.HallWorld,
    counter: User,
    ballot: Ballot,
    code: str,
    *,
    option: str = "yes",
    result: PaperResult = PaperResult.VOTE,
) -> PaperEntry:
    form = schemas.PaperEntryForm(code=code, result=result, option=option, submission_id=sid())
    with db.session() as s:
        return service.enter_paper(
            session=s,
            access=f.member_access(db, world, counter),
            actor=counter,
            ballot_id=ballot.id or 0,
            form=form,
        )


def in_person(
    db: Database, world: f.HallWorld, chair: User, ballot: Ballot, roll_id: int, option: str
) -> service.Receipt:
    form = schemas.InPersonForm(roll_id=roll_id, option=option, submission_id=sid())
    with db.session() as s:
        return service.record_in_person(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
            form=form,
        )


def roll(db: Database, ballot: Ballot) -> list[queries.RollRow]:
    with db.session(read_only=True) as s:
        return queries.roll_rows(s, ballot)


def free_code(db: Database, ballot: Ballot) -> str:
    """A paper ballot of this ballot that has no live reading yet."""
    with db.session(read_only=True) as s:
        taken = {
            e.paper_id
            for e in s.exec(
                select(PaperEntry).where(
                    PaperEntry.ballot_id == ballot.id, PaperEntry.status != PaperStatus.REJECTED
                )
            ).all()
        }
        return next(
            p.code for p, _ in queries.paper_ballots(s, ballot.id or 0) if p.id not in taken
        )


def pending_entry_ids(db: Database, ballot: Ballot) -> list[int]:
    """The paper readings of this ballot waiting for a 监票人, oldest first."""
    with db.session(read_only=True) as s:
        return [
            e.id or 0
            for e in s.exec(
                select(PaperEntry)
                .where(PaperEntry.ballot_id == ballot.id, PaperEntry.status == PaperStatus.PENDING)
                .order_by(PaperEntry.id)  # type: ignore[arg-type]
            ).all()
        ]
