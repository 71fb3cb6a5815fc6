"""The locked read of a ballot replaces what the session already holds (app.db.locked), on
SQLite and PostgreSQL.

The vote routes read the ballot in their dependency (voting.deps.get_ballot_or_404) before
the service locks it. A re-vote that waited for another one's lock used to get the session's
copy back from the locked read, with the old ledger head, and its event collided with the
other vote's on the unique (ballot, height) index: on PostgreSQL 14 of 20 form re-votes of
one voter answered 409. Here the interleaving is made deterministic: the session reads the
ballot, its transaction ends (as if it waited), another vote moves the head, then the same
session casts.
"""

from __future__ import annotations

from sqlmodel import col, select

from app.db import Database
from app.voting import queries, schemas, service
from app.voting.models import Ballot, LedgerEvent, Vote
from tests.ballot_helpers import access_of, cast, make_owners_hall, owners_ballot, sid
from tests.factories import make_chair, make_deciding_issue


def test_a_re_vote_extends_the_head_another_vote_left_after_the_ballot_was_read(
    db: Database,
) -> None:
    world, (voter, neighbour) = make_owners_hall(db, owners=2)
    chair = make_chair(db, world)
    issue, _ = make_deciding_issue(db, world, chair)
    ballot_id = owners_ballot(db, world, chair, issue).id or 0
    cast(db, world, voter, ballot_id, "yes")
    access = access_of(db, world, voter)

    with db.session() as session:
        early = session.get(Ballot, ballot_id)  # the route's dependency
        assert early is not None
        height_read = early.height
        session.commit()  # no lock held while it "waits"; the copy stays in the session
        cast(db, world, neighbour, ballot_id, "no")  # another vote moves the head meanwhile
        receipt = service.cast_vote(
            session=session,
            access=access,
            actor=voter,
            ballot_id=ballot_id,
            form=schemas.VoteForm(option="no", submission_id=sid()),
        )
    assert receipt.replaced

    with db.session(read_only=True) as session:
        heights = session.exec(
            select(LedgerEvent.height)
            .where(LedgerEvent.ballot_id == ballot_id)
            .order_by(col(LedgerEvent.height))
        ).all()
        current = session.exec(
            select(Vote).where(Vote.ballot_id == ballot_id, col(Vote.is_current).is_(True))
        ).all()
        verdict = queries.verify_ballot(session, ballot_id)
    assert heights == list(range(1, height_read + 3))  # open, yes, the neighbour's, the re-vote
    assert len(current) == 2  # one current vote for each of the two voters
    assert verdict.ok, verdict.problems
