"""The meeting as it is held: the chair's live mode (agenda and current item, 应到 / 实到 and
the quorum, the speaker queue, the recorder's speech box, the speeches so far, the current
item's ballot with its live tally), and the projector view, which follows the meeting over server-sent events.

Every form works without JavaScript (Post/Redirect/Get back to the page it was on); with htmx
the forms are boosted, the chair's queue refreshes itself, and the projector and each ballot's
tally are streams (the vendored htmx sse extension).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core import fields
from app.core.errors import NotFound
from app.db import Database
from app.halls import queries as hall_queries
from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.meetings import labels, live_queries, policies, queries, schemas, service
from app.meetings.deps import MeetingDep
from app.meetings.models import Meeting, MeetingStatus
from app.voting import policies as voting_policies
from app.web.actions import Outcome, respond
from app.web.deps import DbDep, SessionDep
from app.web.forms import FormRoute, Refusals, Refused
from app.web.htmx import render
from app.web.i18n import _
from app.web.links import url
from app.web.templating import env
from app.web.turns import Busy, Turns

router = APIRouter(tags=["meetings"], route_class=FormRoute)

env.globals.update(speaker_status_labels=labels.SPEAKER_STATUS_LABELS)

SCREEN_POLL_SECONDS = 0.5  # the projector is at most this far behind the chair
SCREEN_MAX_SECONDS = 30 * 60  # then the browser reconnects by itself
KEEP_ALIVE_SECONDS = 15
QUEUE_REFRESH = "every 5s"  # the chair's queue, for hands raised on phones (htmx only)
# After a queue row's refusal the queue waits longer before its next refresh, which replaces
# the row and the reason under its button; then it refreshes every 5 s again.
QUEUE_REFRESH_AFTER_REFUSAL = "every 30s"
ENDED = frozenset({MeetingStatus.HELD.value, MeetingStatus.CANCELLED.value})

SpeakerId = Annotated[fields.Id, Path()]
SpeechId = Annotated[fields.Id, Path()]
BallotId = Annotated[fields.Id, Path()]
Digest = Annotated[fields.Text, Query(max_length=32)]


def live_url(meeting: Meeting) -> str:
    return url("meetings.live", hall_id=meeting.hall_id, meeting_id=meeting.id)


def digest(key: tuple[object, ...]) -> str:
    """A short fingerprint of what a part of the projector shows."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:16]


# --- the chair's live mode ----------------------------------------------------------------------


def _live_context(
    session: Session, hall: Hall, access: HallAccess, meeting: Meeting
) -> dict[str, Any]:
    view = live_queries.live_view(session, meeting)
    speaking = view.queue.speaking
    return {
        "hall": hall,
        "access": access,
        "meeting": meeting,
        "view": view,
        "tallies": live_queries.tallies(session, access, view),
        "speeches": live_queries.speeches(session, meeting),
        "titles": {row.item.id: row.title for row in view.agenda},
        "members": hall_queries.list_pickable_people(session, hall_id=hall.id or 0),
        "presides": policies.can_preside(access, chair_id=meeting.chair_id),
        "can_manage_ballots": voting_policies.can_manage(access),
        "queue_refresh": QUEUE_REFRESH,
        "errors": {},
        "form": {},
        "button_errors": {},  # a button's refusal (409), under the button ...
        "pressed": None,  # ... that was pressed: "start", "end", "item-3", "floor-12" …
        "refused_speaker": None,  # the queue row pressed, shown even if it left the queue
        "refused_above": None,  # a refused ballot's reason when it has no button on the page
        "speech_form": {
            "speaker_id": speaking.id if speaking else "",
            "speaker_name": speaking.name if speaking else "",
            "identity": speaking.identity if speaking else "",
        },
    }


def _require_runs(access: HallAccess, meeting: Meeting) -> None:
    policies.require(
        policies.can_run(access, chair_id=meeting.chair_id, recorder_id=meeting.recorder_id)
    )


@router.get("/halls/{hall_id}/meetings/{meeting_id}/live", name="meetings.live")
def live_page(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, meeting: MeetingDep
) -> Response:
    _require_runs(access, meeting)
    context = _live_context(session, hall, access, meeting)
    return render(request, "meetings/live.html", context)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/live/queue", name="meetings.live_queue")
def live_queue(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, meeting: MeetingDep
) -> Response:
    """The queue card alone (the live page refreshes it with htmx)."""
    _require_runs(access, meeting)
    context = _live_context(session, hall, access, meeting)
    return render(request, "meetings/_live_queue.html", context)


def _live_again(
    act: HallAction,
    meeting: Meeting,
    form: dict[str, Any],
    outcome: Outcome[Any],
    button: str | None = None,
    speaker_id: int | None = None,
    ballot_id: int | None = None,
) -> Response:
    """The live page again, with what was typed and the messages next to the fields; a
    button's refusal (409) under that button (`button`, in the row of `speaker_id` if it is a
    queue row's), shown even if it is no longer offered; a ballot's (`ballot_id`) at the top
    when that ballot is not on the current item (no button of it on the page)."""
    with act.reading() as session:
        fresh = queries.get_meeting(session, hall_id=act.hall_id, meeting_id=meeting.id or 0)
        context = _live_context(session, act.hall, act.access, fresh or meeting)
        if button is not None and outcome.status == 409:
            context |= {"button_errors": outcome.errors, "pressed": button}
            if speaker_id is not None:
                refused = live_queries.get_speaker(session, fresh or meeting, speaker_id)
                context["refused_speaker"] = refused
                context["queue_refresh"] = QUEUE_REFRESH_AFTER_REFUSAL
            if ballot_id is not None and ballot_id not in {b.id for b in context["view"].ballots}:
                context["refused_above"] = outcome.conflict
            return render(act.request, "meetings/live.html", context, status_code=409)
    context["errors"] = outcome.errors
    context["form"] = form
    if "summary" in form:  # the speech box (the add-a-speaker form has no summary)
        context["speech_form"] = form
    return render(act.request, "meetings/live.html", context, status_code=outcome.status)


def _on_live(
    act: HallAction,
    meeting: Meeting,
    run: Callable[[], object],
    *,
    done: str,
    refused: Refusals | None = None,
    form: dict[str, Any] | None = None,
    button: str | None = None,
    speaker_id: int | None = None,
    ballot_id: int | None = None,
) -> Response:
    """A live-mode form: back to the live page (PRG), or the page again with the messages;
    a button's refusal (`button`: "start", "item-3", "floor-12" …) is said under the button
    pressed, without JS too (409), not at the top of the page."""
    again = partial(
        _live_again,
        act,
        meeting,
        form or {},
        button=button,
        speaker_id=speaker_id,
        ballot_id=ballot_id,
    )
    return respond(
        act.request,
        act.session,
        run,
        refused=refused,
        to=live_url(meeting),
        page=again,
        done=done,
        beside=button is not None,
    )


def _on_row(
    act: HallAction,
    meeting: Meeting,
    run: Callable[[], object],
    done: str,
    row: tuple[str, int],
    refused: Refusals | None = None,
) -> Response:
    """A queue row's button (`row`: which button, whose row): its refusal said under it, in
    that speaker's row ("floor-12"), the row shown even if they have left the queue."""
    kind, speaker_id = row
    button = f"{kind}-{speaker_id}"
    return _on_live(
        act, meeting, run, done=done, refused=refused, button=button, speaker_id=speaker_id
    )


@router.post("/halls/{hall_id}/meetings/{meeting_id}/live/start", name="meetings.start")
def start(act: ActionDep, meeting: MeetingDep) -> Response:
    run = partial(service.start_meeting, **act.who, meeting_id=meeting.id or 0)
    return _on_live(act, meeting, run, done=_("会议开始"), button="start")


@router.post("/halls/{hall_id}/meetings/{meeting_id}/live/end", name="meetings.end")
def end(act: ActionDep, meeting: MeetingDep) -> Response:
    run = partial(service.end_meeting, **act.who, meeting_id=meeting.id or 0)
    return _on_live(act, meeting, run, done=_("会议结束，可以整理会议纪要"), button="end")


@router.post(
    "/halls/{hall_id}/meetings/{meeting_id}/live/current-item", name="meetings.current_item"
)
def current_item(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    form: Annotated[schemas.CurrentItemPageForm, Form()],
) -> Response:
    run = partial(service.set_current_item, **act.who, meeting_id=meeting.id or 0, form=form)
    button = f"item-{form.item_id}"
    return _on_live(act, meeting, run, done=_("已切换当前议程"), refused=refused, button=button)


@router.post("/halls/{hall_id}/meetings/{meeting_id}/live/speakers", name="meetings.add_speaker")
def add_speaker(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    form: Annotated[schemas.SpeakerPageForm, Form()],
) -> Response:
    run = partial(service.add_speaker, **act.who, meeting_id=meeting.id or 0, form=form)
    typed = form.model_dump(mode="json")
    return _on_live(act, meeting, run, done=_("已加入发言排队"), refused=refused, form=typed)


@router.post(
    "/halls/{hall_id}/meetings/{meeting_id}/live/speakers/{speaker_id}/floor",
    name="meetings.give_floor",
)
def give_floor(act: ActionDep, meeting: MeetingDep, speaker_id: SpeakerId) -> Response:
    run = partial(service.give_floor, **act.who, meeting_id=meeting.id or 0, speaker_id=speaker_id)
    return _on_row(act, meeting, run, _("已请发言"), ("floor", speaker_id))


@router.post(
    "/halls/{hall_id}/meetings/{meeting_id}/live/speakers/{speaker_id}/move",
    name="meetings.move_speaker",
)
def move_speaker(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    speaker_id: SpeakerId,
    form: Annotated[schemas.MovePageForm, Form()],
) -> Response:
    run = partial(
        service.move_speaker,
        **act.who,
        meeting_id=meeting.id or 0,
        speaker_id=speaker_id,
        form=form,
    )
    row = (form.direction or "move", speaker_id)  # "up-12", "down-12"
    return _on_row(act, meeting, run, _("已调整发言顺序"), row, refused=refused)


@router.post(
    "/halls/{hall_id}/meetings/{meeting_id}/live/speakers/{speaker_id}/withdraw",
    name="meetings.withdraw_speaker",
)
def withdraw_speaker(act: ActionDep, meeting: MeetingDep, speaker_id: SpeakerId) -> Response:
    run = partial(service.withdraw, **act.who, meeting_id=meeting.id or 0, speaker_id=speaker_id)
    return _on_row(act, meeting, run, _("已移出发言排队"), ("withdraw", speaker_id))


@router.post(
    "/halls/{hall_id}/meetings/{meeting_id}/live/ballots/{ballot_id}/open",
    name="meetings.open_ballot",
)
def open_ballot(act: ActionDep, meeting: MeetingDep, ballot_id: BallotId) -> Response:
    """The current item's ballot opens from live mode (only with the meeting's quorum)."""
    voting_policies.require(voting_policies.can_manage(act.access))
    run = partial(service.open_ballot, **act.who, meeting_id=meeting.id or 0, ballot_id=ballot_id)
    done = _("投票已开始，投票人名单已冻结")
    return _on_live(act, meeting, run, done=done, button=f"open-{ballot_id}", ballot_id=ballot_id)


@router.post(
    "/halls/{hall_id}/meetings/{meeting_id}/live/ballots/{ballot_id}/close",
    name="meetings.close_ballot",
)
def close_ballot(act: ActionDep, meeting: MeetingDep, ballot_id: BallotId) -> Response:
    """The ballot closes from live mode; its result is frozen as on the ballot's page."""
    voting_policies.require(voting_policies.can_manage(act.access))
    run = partial(service.close_ballot, **act.who, meeting_id=meeting.id or 0, ballot_id=ballot_id)
    done = _("投票已截止，结果已冻结")
    return _on_live(act, meeting, run, done=done, button=f"close-{ballot_id}", ballot_id=ballot_id)


@router.post("/halls/{hall_id}/meetings/{meeting_id}/live/speeches", name="meetings.speech")
def record_speech(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    form: Annotated[schemas.SpeechPageForm, Form()],
) -> Response:
    run = partial(service.record_speech, **act.who, meeting_id=meeting.id or 0, form=form)
    typed = form.model_dump(mode="json")
    return _on_live(act, meeting, run, done=_("发言已记录"), refused=refused, form=typed)


# --- correcting a speech ------------------------------------------------------------------------


def _speech_page(
    session: Session, hall: Hall, access: HallAccess, meeting: Meeting, speech_id: int
) -> dict[str, Any]:
    speech = live_queries.get_speech(session, meeting, speech_id)
    if speech is None:
        raise NotFound("not_found")
    return {"hall": hall, "access": access, "meeting": meeting, "speech": speech, "errors": {}}


@router.get(
    "/halls/{hall_id}/meetings/{meeting_id}/live/speeches/{speech_id}",
    name="meetings.speech_edit",
)
def speech_edit(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
    speech_id: SpeechId,
) -> Response:
    _require_runs(access, meeting)
    context = _speech_page(session, hall, access, meeting, speech_id)
    context["form"] = context["speech"].model_dump()
    return render(request, "meetings/speech_edit.html", context)


def _speech_again(
    act: HallAction, meeting: Meeting, speech_id: int, form: dict[str, Any], outcome: Outcome[Any]
) -> Response:
    with act.reading() as session:
        context = _speech_page(session, act.hall, act.access, meeting, speech_id)
    context |= {"errors": outcome.errors, "form": form}
    return render(act.request, "meetings/speech_edit.html", context, status_code=outcome.status)


@router.post(
    "/halls/{hall_id}/meetings/{meeting_id}/live/speeches/{speech_id}",
    name="meetings.speech_update",
)
def speech_update(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    speech_id: SpeechId,
    form: Annotated[schemas.SpeechEditForm, Form()],
) -> Response:
    return respond(
        act.request,
        act.session,
        partial(
            service.edit_speech,
            **act.who,
            meeting_id=meeting.id or 0,
            speech_id=speech_id,
            form=form,
        ),
        refused=refused,
        to=live_url(meeting),
        page=partial(_speech_again, act, meeting, speech_id, form.model_dump(mode="json")),
        done=_("发言记录已修改"),
    )


# --- the projector ------------------------------------------------------------------------------


def _screen_context(session: Session, access: HallAccess, meeting: Meeting) -> dict[str, Any]:
    view = live_queries.live_view(session, meeting)
    return {
        "meeting": meeting,
        "view": view,
        "tallies": live_queries.tallies(session, access, view),
    }


@router.get("/halls/{hall_id}/meetings/{meeting_id}/screen", name="meetings.screen")
def screen(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, meeting: MeetingDep
) -> Response:
    """The projector (1280×720 and tablets): readable from 5 m, following the meeting live."""
    policies.require(policies.can_watch(access))
    context = {"hall": hall, "access": access, **_screen_context(session, access, meeting)}
    context["state_digest"] = digest(context["view"].key())
    context["ballots_digest"] = digest(context["view"].ballots_key())
    return render(request, "meetings/screen.html", context)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/screen/live", name="meetings.screen_live")
async def screen_live(
    request: Request,
    session: SessionDep,
    db: DbDep,
    access: AccessDep,
    meeting: MeetingDep,
    s: Digest = "",
    b: Digest = "",
) -> Response:
    """The projector's parts as server-sent events: `state` (the current item, the queue,
    应到 / 实到 and the quorum) and `ballots` (the current item's ballots, each following its
    own tally stream), each only when it changed since the page (`s`, `b`: what it shows)."""
    policies.require(policies.can_watch(access))
    session.close()  # the stream reads fresh snapshots; hold no transaction open
    snapshot = partial(_screen_snapshot, db, access, meeting.hall_id, meeting.id or 0)
    return StreamingResponse(
        _screen_events(request, request.app.state.turns, snapshot, (s, b)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


Seen = tuple[str, str]  # the digests of the state and of the ballots the screen shows
Events = list[tuple[str, str]]  # (event name, fragment)


def _screen_snapshot(
    db: Database, access: HallAccess, hall_id: int, meeting_id: int, seen: Seen
) -> tuple[Seen, Events, bool]:
    """What changed since `seen`, rendered; and whether the meeting is over (nothing will)."""
    with db.session(read_only=True) as s:
        meeting = queries.get_meeting(s, hall_id=hall_id, meeting_id=meeting_id)
        assert meeting is not None
        view = live_queries.live_view(s, meeting)
        now = (digest(view.key()), digest(view.ballots_key()))
        events: Events = []
        context: dict[str, Any] = {"meeting": meeting, "view": view}
        if now[0] != seen[0]:
            events.append(("state", _fragment("meetings/_screen_state.html", context)))
        if now[1] != seen[1]:
            context["tallies"] = live_queries.tallies(s, access, view)
            events.append(("ballots", _fragment("meetings/_screen_ballots.html", context)))
        return now, events, meeting.status.value in ENDED


def _fragment(template: str, context: dict[str, Any]) -> str:
    return env.get_template(template).render(context)


def _event(name: str, fragment: str) -> str:
    data = "\n".join(f"data: {line}" for line in fragment.splitlines())
    return f"event: {name}\n{data}\n\n"


async def _screen_events(
    request: Request,
    turns: Turns,
    snapshot: Callable[[Seen], tuple[Seen, Events, bool]],
    seen: Seen,
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    quiet = 0.0
    yield "retry: 2000\n\n"
    while loop.time() - started < SCREEN_MAX_SECONDS:
        if await request.is_disconnected():
            return
        try:
            async with turns.turn():  # like a request: never block a thread on the pool
                seen, events, ended = await run_in_threadpool(snapshot, seen)
        except Busy:
            await asyncio.sleep(SCREEN_POLL_SECONDS)
            continue
        for name, fragment in events:
            yield _event(name, fragment)
        if ended:
            # The meeting is over: the page's sse-close="closed" stops the browser reconnecting.
            yield "event: closed\ndata: closed\n\n"
            return
        quiet = 0.0 if events else quiet + SCREEN_POLL_SECONDS
        if quiet >= KEEP_ALIVE_SECONDS:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(SCREEN_POLL_SECONDS)
