"""The ballot in the path, scoped to the hall in the path: 404 otherwise."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.accounts.models import User
from app.core.errors import NotFound
from app.halls.deps import AccessDep
from app.issues.deps import Id
from app.voting import queries, schemas
from app.voting.ballot_box import BallotBox
from app.voting.models import Ballot
from app.voting.service.phone_votes import PhoneVote
from app.web.deps import DbDep


def get_ballot_or_404(db: DbDep, access: AccessDep, ballot_id: Id) -> Ballot:
    """Read through a read session of its own (as app/issues/deps.py): a POST's write
    transaction begins in its use case, which reads the ballot again under its lock."""
    with db.session(read_only=True) as session:
        ballot = queries.get_ballot(session, hall_id=access.hall_id, ballot_id=ballot_id)
    if ballot is None:
        raise NotFound("not_found")
    return ballot


BallotDep = Annotated[Ballot, Depends(get_ballot_or_404)]


async def get_ballot_box(request: Request) -> BallotBox:
    box: BallotBox = request.app.state.ballot_box
    return box


BallotBoxDep = Annotated[BallotBox, Depends(get_ballot_box)]


def phone_vote(hall_id: int, user: User, ballot_id: int, form: schemas.VoteForm) -> PhoneVote:
    """The vote a voter's form or JSON body asks the ballot box for (which checks the
    voter's membership of the hall itself, with the other votes of its batch)."""
    return PhoneVote(
        hall_id=hall_id,
        ballot_id=ballot_id,
        user_id=user.id or 0,
        is_platform_admin=user.is_platform_admin,
        option=form.option,
        submission_id=form.submission_id,
        consent=form.consent,
    )
