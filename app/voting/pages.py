"""What the ballot page modules share (routes, paper_routes, publicity_routes): the ballot's
pages by route name."""

from __future__ import annotations

from app.voting.models import Ballot
from app.web.links import url


def ballot_url(ballot: Ballot) -> str:
    return url("ballots.detail", hall_id=ballot.hall_id, ballot_id=ballot.id)


def roll_url(ballot: Ballot) -> str:
    return url("ballots.roll", hall_id=ballot.hall_id, ballot_id=ballot.id)


def paper_url(ballot: Ballot) -> str:
    return url("ballots.paper", hall_id=ballot.hall_id, ballot_id=ballot.id)


def publicity_url(hall_id: int, issue_id: int) -> str:
    return url("publicity.detail", hall_id=hall_id, issue_id=issue_id)
