"""Ballot pages: draft, vote on the phone, the live tally, the result, the receipt board."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import CurrentUser
from app.core import clock, fields
from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.db import Database
from app.halls import queries as hall_queries
from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues.deps import IssueDep
from app.issues.lifecycle import Stage
from app.issues.models import Issue, Scope, Solution
from app.meetings import labels as meeting_labels
from app.meetings import queries as meeting_queries
from app.voting import labels, policies, queries, schemas, service
from app.voting.ballot_box import BallotBox
from app.voting.deps import BallotBoxDep, BallotDep, phone_vote
from app.voting.models import Ballot, BallotStatus, VoterUnit
from app.voting.pages import ballot_url
from app.voting.rules import RuleKind
from app.voting.service import PhoneVote
from app.web.actions import Outcome, respond
from app.web.deps import DbDep, SessionDep
from app.web.forms import FormRoute, Refusals, Refused
from app.web.htmx import field_errors, is_partial, redirect, render
from app.web.i18n import _
from app.web.links import url
from app.web.messages import message
from app.web.templating import env
from app.web.turns import Busy, Turns

router = APIRouter(tags=["voting"], route_class=FormRoute)

env.filters["resolution"] = labels.resolution_shown

env.globals.update(
    rule_labels=labels.RULE_LABELS,
    rule_explained=labels.RULE_EXPLAINED,
    unit_labels=labels.UNIT_LABELS,
    ballot_status_labels=labels.STATUS_LABELS,
    channel_labels=labels.CHANNEL_LABELS,
    duty_labels=labels.DUTY_LABELS,
    paper_result_labels=labels.PAPER_RESULT_LABELS,
    paper_status_labels=labels.PAPER_STATUS_LABELS,
    ledger_labels=labels.LEDGER_LABELS,
    check_lines=labels.check_lines,
)

LIVE_POLL_SECONDS = 0.25  # the live tally is at most this far behind the last vote
LIVE_MAX_SECONDS = 30 * 60  # then the browser reconnects by itself
FINISHED = frozenset({BallotStatus.CLOSED.value, BallotStatus.PUBLISHED.value})


# --- drafting -------------------------------------------------------------------------------


def _new_context(
    session: Session, hall: Hall, access: HallAccess, issue: Issue, form: dict[str, Any]
) -> dict[str, Any]:
    from app.issues import queries as issue_queries

    return {
        "hall": hall,
        "access": access,
        "issue": issue,
        "rules": list(RuleKind),
        "units": list(VoterUnit),
        "scopes": list(Scope),
        "buildings": hall_queries.list_buildings(session, hall_id=hall.id or 0),
        "entrances": hall_queries.list_all_entrances(session, hall_id=hall.id or 0),
        "solutions": [
            s
            for s in issue_queries.list_solutions(
                session, hall_id=hall.id or 0, issue_id=issue.id or 0
            )
            if s.solution.selected
        ],
        "members": hall_queries.list_pickable_people(session, hall_id=hall.id or 0),
        "meetings": meeting_queries.ballot_meetings(session, hall_id=hall.id or 0, now=clock.now()),
        "form": form,
        "errors": {},
    }


@router.get("/halls/{hall_id}/issues/{issue_id}/ballots/new", name="ballots.new")
def new_ballot(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, issue: IssueDep
) -> Response:
    policies.require(policies.can_manage(access) and issue.stage == Stage.DECIDING)
    context = _new_context(session, hall, access, issue, {})
    context["form"] = _draft_defaults(issue, [row.solution for row in context["solutions"]])
    return render(request, "voting/new.html", context)


def _draft_defaults(issue: Issue, chosen: list[Solution]) -> dict[str, Any]:
    """The new ballot's form as first shown: its title names the 方案 chosen in 协商 (the one
    put to the vote, preselected), or asks which of them when several were chosen."""
    if len(chosen) == 1:
        title = _("是否同意「%(title)s」采用方案「%(solution)s」") % {
            "title": issue.title,
            "solution": chosen[0].title,
        }
    elif chosen:
        title = _("「%(title)s」采用哪个方案") % {"title": issue.title}
    else:
        title = _("是否同意「%(title)s」") % {"title": issue.title}
    return {
        "title": title[:80],
        "subject_solution_id": chosen[0].id if len(chosen) == 1 else None,
        "scope": issue.scope.value,
        "scope_building_id": issue.scope_building_id,
        "scope_entrance_id": issue.scope_entrance_id,
        "secret": True,
    }


@router.post("/halls/{hall_id}/issues/{issue_id}/ballots", name="ballots.create")
def create_ballot(
    act: ActionDep,
    refused: Refused,
    issue: IssueDep,
    form: Annotated[schemas.BallotPageForm, Form()],
) -> Response:
    policies.require(policies.can_manage(act.access))
    return respond(
        act.request,
        act.session,
        lambda: service.create_ballot(**act.who, issue_id=issue.id or 0, form=form),
        refused=refused,
        to=ballot_url,
        conflict_to=url("issues.detail", hall_id=act.hall_id, issue_id=issue.id),
        page=partial(_draft_again, act, issue, form),
        done=_("表决已创建（草稿），核对无误后开始投票"),
        htmx="redirect",
    )


def _draft_again(
    act: HallAction, issue: Issue, form: schemas.BallotPageForm, outcome: Outcome[Any]
) -> Response:
    """The draft form again, with what was typed and the messages next to the fields."""
    context = _new_context(act.session, act.hall, act.access, issue, form.model_dump())
    context["errors"] = outcome.errors
    return render(act.request, "voting/new.html", context, status_code=outcome.status)


# --- the ballot page ------------------------------------------------------------------------


def _tally_context(session: Session, access: HallAccess, ballot: Ballot) -> dict[str, Any]:
    finished = queries.is_finished(ballot)
    return {
        "ballot": ballot,
        "turnout": queries.turnout(session, ballot),
        "options": queries.option_codes(session, ballot.id or 0),
        "sees_split": policies.sees_split(
            access, live_results=ballot.live_results, secret=ballot.secret, finished=finished
        ),
        "finished": finished,
    }


def _page_context(
    session: Session, hall: Hall, access: HallAccess, ballot: Ballot
) -> dict[str, Any]:
    from app.issues import queries as issue_queries

    issue = issue_queries.get_issue(session, hall_id=hall.id or 0, issue_id=ballot.issue_id)
    assert issue is not None
    duties = queries.duties(session, ballot.id or 0, access.user_id)
    return (
        {
            "hall": hall,
            "access": access,
            "issue": issue,
            "mine": queries.my_vote(session, ballot, access.user_id),
            "result": queries.stored_result(ballot),
            "resolution": queries.get_resolution(
                session, hall_id=hall.id or 0, issue_id=issue.id or 0
            )
            if queries.is_finished(ballot)
            else None,
            "can_manage": policies.can_manage(access),
            "manage_shows": policies.manage_form(ballot) if policies.can_manage(access) else None,
            "reader": policies.reader_role(access),
            "duties": duties,
            "is_officer": bool(duties) or policies.can_manage(access),
            "officers": queries.officers(session, ballot.id or 0),
            "submission_id": str(uuid.uuid4()),
            "vote_errors": {},
            "manage_errors": {},
            "manage_form": {},
            "meeting_rule": ballot.rule in service.MEETING_RULES,
        }
        | _meeting_context(session, ballot)
        | _tally_context(session, access, ballot)
    )


def _meeting_context(session: Session, ballot: Ballot) -> dict[str, Any]:
    """The meeting a ballot is held at, and while it is a draft or open, the meeting's
    attendance against its quorum (a draft opens only when it is met)."""
    meeting = queries.held_at(session, ballot)
    if meeting is None or ballot.status not in (BallotStatus.DRAFT, BallotStatus.OPEN):
        return {"meeting": meeting, "meeting_attendance": None}
    answer = meeting_queries.attendance(session, meeting)
    return {
        "meeting": meeting,
        "meeting_attendance": answer,
        "meeting_quorum_lines": meeting_labels.quorum_lines(answer),
    }


@router.get("/halls/{hall_id}/ballots/{ballot_id}", name="ballots.detail")
def detail(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, ballot: BallotDep
) -> Response:
    if ballot.status == BallotStatus.DRAFT:
        policies.require(policies.can_manage(access))
    return render(request, "voting/detail.html", _page_context(session, hall, access, ballot))


@router.get("/halls/{hall_id}/ballots/{ballot_id}/tally", name="ballots.tally")
def tally(request: Request, session: SessionDep, access: AccessDep, ballot: BallotDep) -> Response:
    policies.require(ballot.status != BallotStatus.DRAFT)
    return render(request, "voting/_tally.html", _tally_context(session, access, ballot))


@router.get("/halls/{hall_id}/ballots/{ballot_id}/live", name="ballots.live")
async def live(
    request: Request, session: SessionDep, db: DbDep, access: AccessDep, ballot: BallotDep
) -> Response:
    """The live tally as server-sent events (htmx sse extension): a `tally` event with the
    rendered fragment whenever the ledger moves; at most LIVE_POLL_SECONDS behind."""
    policies.require(ballot.status != BallotStatus.DRAFT)
    session.close()  # the stream reads fresh snapshots; hold no transaction open
    snapshot = partial(_tally_snapshot, db, access, ballot.hall_id, ballot.id or 0)
    return StreamingResponse(
        _tally_events(request, request.app.state.turns, snapshot),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


Seen = tuple[int, str]  # the ballot's ledger height and status: the tally changes with them


def _tally_snapshot(
    db: Database, access: HallAccess, hall_id: int, ballot_id: int, seen: Seen | None
) -> tuple[Seen, str | None]:
    """The tally fragment, or None when the ballot has not moved since `seen`."""
    with db.session(read_only=True) as s:
        current = queries.get_ballot(s, hall_id=hall_id, ballot_id=ballot_id)
        assert current is not None
        key = (current.height, current.status.value)
        if key == seen:
            return key, None
        return key, env.get_template("voting/_tally.html").render(
            _tally_context(s, access, current)
        )


async def _tally_events(
    request: Request, turns: Turns, snapshot: Callable[[Seen | None], tuple[Seen, str | None]]
) -> AsyncIterator[str]:
    seen: Seen | None = None
    loop = asyncio.get_running_loop()
    started = loop.time()
    quiet = 0.0
    yield "retry: 2000\n\n"
    while loop.time() - started < LIVE_MAX_SECONDS:
        if await request.is_disconnected():
            return
        try:
            async with turns.turn():  # like a request: never block a thread on the pool
                seen_now, fragment = await run_in_threadpool(snapshot, seen)
        except Busy:
            await asyncio.sleep(LIVE_POLL_SECONDS)
            continue
        if fragment is not None:
            seen, quiet = seen_now, 0.0
            data = "\n".join(f"data: {line}" for line in fragment.splitlines())
            yield f"event: tally\n{data}\n\n"
            if seen_now[1] in FINISHED:
                # Nothing will change any more: the page's sse-close="closed" stops the
                # browser from reconnecting.
                yield "event: closed\ndata: closed\n\n"
                return
        else:
            quiet += LIVE_POLL_SECONDS
            if quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"
        await asyncio.sleep(LIVE_POLL_SECONDS)


@router.get("/halls/{hall_id}/ballots/{ballot_id}/board", name="ballots.board")
def board(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, ballot: BallotDep
) -> Response:
    """The public receipt board, no names. Named (记名): every ledger event's receipt, kind,
    time and choice. 无记名: once finished, the counted receipts and their choices sorted by
    receipt (no order, time or channel to line them up with the roll)."""
    policies.require(ballot.status != BallotStatus.DRAFT)
    secret = queries.secret_board(session, ballot) if ballot.secret else None
    return render(
        request,
        "voting/board.html",
        {
            "hall": hall,
            "access": access,
            "ballot": ballot,
            "rows": [] if ballot.secret else queries.receipt_board(session, ballot),
            "secret": secret,
            "mine": queries.my_vote(session, ballot, access.user_id),
        },
    )


# --- actions --------------------------------------------------------------------------------


def _act(
    act: HallAction,
    ballot: Ballot,
    run: Callable[[], object],
    *,
    part: str,
    done: str,
    refused: Refusals | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    """Run one service call (app/web/actions.py); PRG to the ballot page, or the page again
    with the form that was sent (`part`, even if the ballot has moved on since), what was typed
    (`form`) and the message: next to its field (422), or under the button (409)."""

    def page(outcome: Outcome[object]) -> Response:
        fresh = queries.get_ballot(act.session, hall_id=act.hall_id, ballot_id=ballot.id or 0)
        assert fresh is not None
        context = _page_context(act.session, act.hall, act.access, fresh)
        context |= {"manage_errors": outcome.errors, "manage_form": form or {}}
        context["manage_shows"] = part
        return render(act.request, "voting/detail.html", context, status_code=outcome.status)

    to = ballot_url(ballot)
    return respond(
        act.request,
        act.session,
        run,
        to=to,
        page=page,
        done=done,
        refused=refused,
        htmx="redirect",
        beside=True,
    )


@router.post("/halls/{hall_id}/ballots/{ballot_id}/open", name="ballots.open")
def open_ballot(act: ActionDep, ballot: BallotDep) -> Response:
    policies.require(policies.can_manage(act.access))
    return _act(
        act,
        ballot,
        lambda: service.open_ballot(**act.who, ballot_id=ballot.id or 0),
        part="open",
        done=_("投票已开始，投票人名单已冻结"),
    )


@router.post("/halls/{hall_id}/ballots/{ballot_id}/close", name="ballots.close")
def close_ballot(act: ActionDep, ballot: BallotDep) -> Response:
    policies.require(policies.can_manage(act.access))
    return _act(
        act,
        ballot,
        lambda: service.close_ballot(**act.who, ballot_id=ballot.id or 0),
        part="close",
        done=_("投票已截止，结果已冻结"),
    )


@router.post("/halls/{hall_id}/ballots/{ballot_id}/consensus", name="ballots.consensus")
def consensus(
    act: ActionDep,
    refused: Refused,
    ballot: BallotDep,
    passed: Annotated[fields.Text, Form()] = "",
    text: Annotated[fields.Text, Form()] = "",
) -> Response:
    policies.require(policies.can_manage(act.access))
    form = schemas.ConsensusForm(passed={"yes": True, "no": False}.get(passed), text=text)
    return _act(
        act,
        ballot,
        lambda: service.record_consensus(**act.who, ballot_id=ballot.id or 0, form=form),
        part="consensus",
        refused=refused,
        form={"passed": passed, "text": text},
        done=_("协商结果已记录"),
    )


@router.post("/halls/{hall_id}/ballots/{ballot_id}/settle", name="ballots.settle")
def settle(
    act: ActionDep,
    refused: Refused,
    ballot: BallotDep,
    outcome: Annotated[fields.Text, Form()] = "",
) -> Response:
    policies.require(policies.can_manage(act.access))
    form = schemas.FailedOutcomeForm(outcome=outcome)
    return _act(
        act,
        ballot,
        lambda: service.settle_failed(**act.who, ballot_id=ballot.id or 0, form=form),
        part="settle",
        refused=refused,
        form={"outcome": outcome},
        done=_("已按您的选择处理"),
    )


@router.post("/halls/{hall_id}/ballots/{ballot_id}/votes", name="ballots.vote")
async def vote(
    request: Request,
    db: DbDep,
    box: BallotBoxDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    ballot_id: Annotated[fields.Id, Path()],
    option: Annotated[fields.Text, Form()] = "",
    submission_id: Annotated[fields.Text, Form()] = "",
    consent: Annotated[fields.Text, Form()] = "",
) -> Response:
    """Vote on the phone, through the ballot box as the JSON API does (no thread hop before
    the answer). htmx gets the vote card with the receipt; without JS, PRG. A refusal has
    the status the API gives it (422 / 409 / 403 / 404), with the message in the vote card."""
    policies.require(access.is_verified)  # street officials look on; for them voting does not exist
    form = schemas.VoteForm(option=option, submission_id=submission_id, consent=consent == "on")
    cast = await _cast(box, refused, phone_vote(hall.id or 0, user, ballot_id, form))
    receipt, errors, status = cast
    if receipt is not None and not is_partial(request):
        to = url("ballots.detail", hall_id=hall.id, ballot_id=ballot_id)
        return redirect(request, to, flash_text=vote_notice(receipt))
    card = (hall, access, ballot_id, errors, receipt, status)
    return await run_in_threadpool(_vote_card, request, db, *card)


def vote_notice(receipt: service.Receipt) -> str:
    """What a vote says it did: a first vote, or a changed one (the last one counts)."""
    if receipt.replaced:
        return _("已改票，以最后一次为准，回执码 %(code)s") % {"code": receipt.receipt}
    return _("投票成功，回执码 %(code)s") % {"code": receipt.receipt}


async def _cast(
    box: BallotBox, refused: Refusals, vote: PhoneVote
) -> tuple[service.Receipt | None, dict[str, str], int]:
    """The receipt, or the refusal's messages by field and its status (as the API's)."""
    try:
        refused.check()
        return await box.cast(vote), {}, 200
    except ValidationFailed as exc:
        return None, field_errors(exc.errors), exc.status_code
    except (Conflict, NotAllowed) as exc:
        return None, {"_": message(exc.code)}, exc.status_code


def _vote_card(
    request: Request,
    db: Database,
    hall: Hall,
    access: HallAccess,
    ballot_id: int,
    errors: dict[str, str],
    receipt: service.Receipt | None,
    status: int,
) -> Response:
    """The ballot page (or its vote card for htmx) after a vote, read in one hop."""
    with db.session(read_only=True) as session:
        request.state.db_session = session  # the bell counts through it (app/web/htmx)
        try:
            fresh = queries.get_ballot(session, hall_id=hall.id or 0, ballot_id=ballot_id)
            if fresh is None:
                raise NotFound("not_found")
            context = _page_context(session, hall, access, fresh) | {
                "vote_errors": errors,
                "just_voted": receipt,
                "vote_notice": vote_notice(receipt) if receipt is not None else None,
            }
            template = "voting/_vote.html" if is_partial(request) else "voting/detail.html"
            return render(request, template, context, status_code=status)
        finally:
            request.state.db_session = None
