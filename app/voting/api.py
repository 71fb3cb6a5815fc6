"""JSON API for ballots: read a ballot, cast a vote. The same services as the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel
from sqlmodel import Session

from app.accounts.deps import CurrentUser
from app.core import fields
from app.core.errors import NotFound
from app.halls.deps import AccessDep
from app.halls.policies import HallAccess
from app.issues import policies as issue_policies
from app.voting import labels, policies, queries, rules, schemas
from app.voting.deps import BallotBoxDep, BallotDep, phone_vote
from app.voting.models import Ballot, BallotStatus, Channel, VoterUnit
from app.voting.rules import RuleKind
from app.web.deps import SessionDep
from app.web.i18n import gettext
from app.web.openapi import errors, session_cookie
from app.web.routing import GuardedRoute

# Every operation is in a hall; casting may also answer 409 (the ballot is not open).
router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1",
    tags=["api"],
    dependencies=[Depends(session_cookie)],
    responses=errors(401, 403, 404, 422),
)

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


class CheckPublic(BaseModel):
    """One condition of the rule (ids: app.voting.rules). Amounts are in `unit`: hundredths of
    a m² ("area") or heads ("heads"). `needed` is the smallest value that meets the threshold;
    `margin` = value - needed (negative: short by that much)."""

    id: str
    label: str
    base_label: str
    unit: rules.Unit
    value: int
    whole: int
    threshold: str  # "3/4"
    comparison: Literal[">=", ">"]
    passed: bool
    needed: int
    margin: int
    percent: str  # value/whole, rounded toward the result: never reads the other way
    text: str  # the line shown on the page and the printed 公示


class ResultPublic(BaseModel):
    rule: str
    passed: bool
    checks: list[CheckPublic]
    counts: dict[str, int]
    winner: str | None


def _result(ballot: Ballot) -> ResultPublic | None:
    """The frozen result (also from before checks were stored as data)."""
    stored = queries.stored_result(ballot)
    if stored is None:
        return None
    households = ballot.voter_unit == VoterUnit.HOUSEHOLD
    checks = []
    for data in stored.get("checks") or ():
        check = rules.check_from_data(data)
        if check is None:
            continue
        checks.append(
            CheckPublic(
                id=check.id,
                label=gettext(check.label),
                base_label=gettext(check.base_label),
                unit=check.unit,
                value=check.value,
                whole=check.whole,
                threshold=check.threshold,
                comparison=">=" if check.share.inclusive else ">",
                passed=check.passed,
                needed=check.needed,
                margin=check.margin,
                percent=rules.format_percent(check.shown_basis_points()),
                text=labels.check_line(check, households=households),
            )
        )
    return ResultPublic(
        rule=str(stored.get("rule", ballot.rule.value)),
        passed=bool(stored.get("passed")),
        checks=checks,
        counts=dict(stored.get("counts") or {}),
        winner=stored.get("winner"),
    )


class ReceiptPublic(BaseModel):
    ballot_id: int
    receipt: str
    option: str
    channel: Channel
    cast_at: datetime
    replaced: bool  # an earlier vote of the same voter was retired (re-vote)


class BallotSummaryPublic(BaseModel):
    id: int
    issue_id: int
    title: str
    status: BallotStatus
    rule: RuleKind
    voter_unit: VoterUnit
    secret: bool
    opened_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    passed: bool | None  # once closed
    meeting_id: int | None  # the meeting it is held at: its sign-in is the attendance

    @classmethod
    def of(cls, ballot: Ballot) -> BallotSummaryPublic:
        return cls(
            id=ballot.id or 0,
            issue_id=ballot.issue_id,
            title=ballot.title,
            status=ballot.status,
            rule=ballot.rule,
            voter_unit=ballot.voter_unit,
            secret=ballot.secret,
            opened_at=ballot.opened_at,
            closes_at=ballot.closes_at,
            closed_at=ballot.closed_at,
            passed=ballot.passed if queries.is_finished(ballot) else None,
            meeting_id=ballot.meeting_id,
        )


class BallotPublic(BallotSummaryPublic):
    """A ballot in full: its summary, and its options, roll, ledger head, turnout and result."""

    hall_id: int
    live_results: bool
    options: list[OptionPublic]
    roll_hash: str | None
    roll_count: int
    height: int
    head_hash: str | None
    turnout: TurnoutPublic | None
    result: ResultPublic | None  # frozen at close
    my_vote: MyVotePublic | None  # the caller's place on the roll, and their current vote


class BallotListPublic(BaseModel):
    ballots: list[BallotSummaryPublic]
    next_before: int | None  # pass as `before` for the next (older) page


def _turnout(session: Session, access: HallAccess, ballot: Ballot) -> TurnoutPublic:
    counts = queries.turnout(session, ballot)
    split = policies.sees_split(
        access,
        live_results=ballot.live_results,
        secret=ballot.secret,
        finished=queries.is_finished(ballot),
    )
    return TurnoutPublic(
        voters=counts.voters,
        roll=counts.roll,
        area_voted_centi_m2=counts.area_voted,
        by_channel=counts.by_channel,
        by_option=counts.by_option if split else None,
    )


@router.get("/halls/{hall_id}/ballots", name="api.ballots", response_model=BallotListPublic)
def list_ballots(
    session: SessionDep,
    access: AccessDep,
    issue_id: Annotated[fields.Id | None, Query()] = None,
    status: Annotated[BallotStatus | None, Query()] = None,
    before: Annotated[fields.Id | None, Query()] = None,
) -> BallotListPublic:
    """The hall's ballots, newest first (cursor `before`), of one issue and in one status if
    asked. Drafts are listed for the chair only, as they exist for the chair only."""
    rows = queries.list_ballots(
        session,
        hall_id=access.hall_id,
        include_drafts=policies.can_manage(access),
        issue_id=issue_id,
        status=status,
        before=before,
        limit=queries.BALLOT_PAGE + 1,
    )
    page = rows[: queries.BALLOT_PAGE]
    more = len(rows) > queries.BALLOT_PAGE
    return BallotListPublic(
        ballots=[BallotSummaryPublic.of(b) for b in page],
        next_before=page[-1].id if more else None,
    )


@router.get("/halls/{hall_id}/ballots/{ballot_id}", name="api.ballot", response_model=BallotPublic)
def ballot_detail(
    session: SessionDep, access: AccessDep, user: CurrentUser, ballot: BallotDep
) -> BallotPublic:
    """A ballot: its rule, turnout, the head of its ledger, and the frozen result once closed.

    Drafts exist for the chair only. The split by option shows only once the ballot is
    finished, or while open on a live-results 记名 ballot (turnout always shows)."""
    if ballot.status == BallotStatus.DRAFT and not policies.can_manage(access):
        raise NotFound("not_found")
    return _ballot_public(session, access, ballot, queries.my_vote(session, ballot, user.id))


def _ballot_public(
    session: Session, access: HallAccess, ballot: Ballot, mine: queries.MyVote | None
) -> BallotPublic:
    return BallotPublic(
        **BallotSummaryPublic.of(ballot).model_dump(),
        hall_id=ballot.hall_id,
        live_results=ballot.live_results,
        options=[
            OptionPublic(code=code, label=label)
            for code, label in queries.option_codes(session, ballot.id or 0)
        ],
        roll_hash=ballot.roll_hash,
        roll_count=ballot.roll_count,
        height=ballot.height,
        head_hash=ballot.head_hash,
        turnout=None if ballot.status == BallotStatus.DRAFT else _turnout(session, access, ballot),
        result=_result(ballot) if queries.is_finished(ballot) else None,
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
    responses=errors(409),
)
async def cast_vote(
    box: BallotBoxDep,
    hall_id: IdPath,
    user: CurrentUser,
    ballot_id: IdPath,
    body: schemas.VoteForm,
) -> ReceiptPublic:
    """Vote (or vote again: the later vote counts) with JSON {option, submission_id}.

    `submission_id` is the client's idempotency key (a UUID): the same key again returns the
    original receipt; the same key with another option is a 422 (submission_reused). Not on
    the roll: 403 not_on_roll; ballot not open or past its close: 409. Answered once the vote
    is durable (app/voting/ballot_box.py: committed with the votes that came with it, which
    also checks, as the hall's other routes do, that the caller is a member: 404 if not)."""
    receipt = await box.cast(phone_vote(hall_id, user, ballot_id, body))
    return ReceiptPublic(
        ballot_id=receipt.ballot_id,
        receipt=receipt.receipt,
        option=receipt.option_code,
        channel=receipt.channel,
        cast_at=receipt.cast_at,
        replaced=receipt.replaced,
    )
