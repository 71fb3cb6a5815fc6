"""JSON API for ballots: read a ballot, cast a vote. The same services as the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel
from sqlmodel import Session

from app.accounts.api import session_cookie
from app.core import fields
from app.core.errors import NotFound
from app.halls.deps import AccessDep
from app.halls.policies import HallAccess
from app.issues import policies as issue_policies
from app.voting import policies, queries, schemas, service
from app.voting.deps import BallotDep
from app.voting.models import Ballot, BallotStatus, Channel, VoterUnit
from app.voting.rules import RuleKind
from app.web.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/api/v1", tags=["api"], dependencies=[Depends(session_cookie)])

IdPath = Annotated[fields.Id, Path()]


def _participant(access: HallAccess) -> None:
    # As on the pages: street officials look but do not vote; for them the route does not
    # exist (AUTHZ-03). Verified members off the roll get 403 not_on_roll from the service.
    if not issue_policies.can_take_part(access):
        raise NotFound("not_found")


class OptionPublic(BaseModel):
    code: str
    label: str


class TurnoutPublic(BaseModel):
    voters: int  # current votes
    roll: int  # the frozen electorate
    area_voted_centi_m2: int
    by_channel: dict[str, int]
    by_option: dict[str, int] | None  # only once finished, or on a live-results ballot


class MyVotePublic(BaseModel):
    receipt: str | None
    option: str | None
    channel: Channel | None
    cast_at: datetime | None


class BallotPublic(BaseModel):
    id: int
    hall_id: int
    issue_id: int
    title: str
    status: BallotStatus
    rule: RuleKind
    voter_unit: VoterUnit
    secret: bool
    live_results: bool
    options: list[OptionPublic]
    opened_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    roll_hash: str | None
    roll_count: int
    height: int
    head_hash: str | None
    turnout: TurnoutPublic | None
    result: dict[str, Any] | None  # frozen at close (canonical JSON on the ballot)
    passed: bool | None
    my_vote: MyVotePublic | None  # the caller's place on the roll, and their current vote


class ReceiptPublic(BaseModel):
    ballot_id: int
    receipt: str
    option: str
    channel: Channel
    cast_at: datetime
    replaced: bool  # an earlier vote of the same voter was retired (re-vote)


def _turnout(session: Session, access: HallAccess, ballot: Ballot) -> TurnoutPublic:
    counts = queries.turnout(session, ballot)
    split = policies.sees_split(
        access, live_results=ballot.live_results, finished=queries.is_finished(ballot)
    )
    return TurnoutPublic(
        voters=counts.voters,
        roll=counts.roll,
        area_voted_centi_m2=counts.area_voted,
        by_channel=counts.by_channel,
        by_option=counts.by_option if split else None,
    )


@router.get("/halls/{hall_id}/ballots/{ballot_id}", name="api.ballot", response_model=BallotPublic)
def ballot_detail(
    session: SessionDep, access: AccessDep, user: CurrentUser, ballot: BallotDep
) -> BallotPublic:
    """A ballot: its rule, turnout, the head of its ledger, and the frozen result once closed.

    Drafts exist for the chair only. The split by option shows only once the ballot is
    finished, or while open on a live-results ballot (turnout always shows)."""
    if ballot.status == BallotStatus.DRAFT and not policies.can_manage(access):
        raise NotFound("not_found")
    mine = queries.my_vote(session, ballot, user.id)
    return BallotPublic(
        id=ballot.id or 0,
        hall_id=ballot.hall_id,
        issue_id=ballot.issue_id,
        title=ballot.title,
        status=ballot.status,
        rule=ballot.rule,
        voter_unit=ballot.voter_unit,
        secret=ballot.secret,
        live_results=ballot.live_results,
        options=[
            OptionPublic(code=code, label=label)
            for code, label in queries.option_codes(session, ballot.id or 0)
        ],
        opened_at=ballot.opened_at,
        closes_at=ballot.closes_at,
        closed_at=ballot.closed_at,
        roll_hash=ballot.roll_hash,
        roll_count=ballot.roll_count,
        height=ballot.height,
        head_hash=ballot.head_hash,
        turnout=None if ballot.status == BallotStatus.DRAFT else _turnout(session, access, ballot),
        result=queries.stored_result(ballot) if queries.is_finished(ballot) else None,
        passed=ballot.passed if queries.is_finished(ballot) else None,
        my_vote=MyVotePublic(
            receipt=mine.receipt,
            option=mine.option_code,
            channel=mine.channel,
            cast_at=mine.cast_at,
        )
        if mine is not None
        else None,
    )


@router.post(
    "/halls/{hall_id}/ballots/{ballot_id}/votes",
    name="api.cast_vote",
    response_model=ReceiptPublic,
    status_code=201,
)
def cast_vote(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    ballot_id: IdPath,
    body: schemas.VoteForm,
) -> ReceiptPublic:
    """Vote (or vote again: the later vote counts) with JSON {option, submission_id}.

    `submission_id` is the client's idempotency key (a UUID): the same key again returns the
    original receipt; the same key with another option is a 422 (submission_reused). Not on
    the roll: 403 not_on_roll; ballot not open or past its close: 409."""
    _participant(access)
    receipt = service.cast_vote(
        session=session, access=access, actor=user, ballot_id=ballot_id, form=body
    )
    return ReceiptPublic(
        ballot_id=receipt.ballot_id,
        receipt=receipt.receipt,
        option=receipt.option_code,
        channel=receipt.channel,
        cast_at=receipt.cast_at,
        replaced=receipt.replaced,
    )
