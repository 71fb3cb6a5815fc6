"""The ballot in the path, scoped to the hall in the path: 404 otherwise."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.core.errors import NotFound
from app.halls.deps import AccessDep
from app.issues.deps import Id
from app.voting import queries
from app.voting.models import Ballot
from app.web.deps import SessionDep


def get_ballot_or_404(session: SessionDep, access: AccessDep, ballot_id: Id) -> Ballot:
    ballot = queries.get_ballot(session, hall_id=access.hall_id, ballot_id=ballot_id)
    if ballot is None:
        raise NotFound("not_found")
    return ballot


BallotDep = Annotated[Ballot, Depends(get_ballot_or_404)]
