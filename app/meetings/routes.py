"""Meeting pages: the hall's meetings, the schedule form (chair), a meeting with its agenda,
invitees and live 应到 / 实到 / quorum, the sign-in QR (chair, 主持人, 记录人), and the page the QR
opens, with one big button; the resident's 举手发言 on the meeting page."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Query, Request, Response
from sqlmodel import Session

from app.config import Settings
from app.core import fields
from app.halls import queries as hall_queries
from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall, Role
from app.halls.policies import HallAccess
from app.issues import queries as issue_queries
from app.meetings import (
    labels,
    live_queries,
    minutes_queries,
    policies,
    queries,
    rules,
    schemas,
    service,
)
from app.meetings.deps import MeetingDep
from app.meetings.models import GuestKind, Meeting
from app.meetings.rules import MeetingKind
from app.web import qr
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep, SettingsDep
from app.web.forms import FormRoute, Refused
from app.web.htmx import render
from app.web.i18n import _
from app.web.links import print_context, public_url, url
from app.web.templating import env

router = APIRouter(tags=["meetings"], route_class=FormRoute)

T = TypeVar("T")

env.globals.update(
    meeting_kind_labels=labels.KIND_LABELS,
    meeting_kind_explained=labels.KIND_EXPLAINED,
    meeting_status_labels=labels.STATUS_LABELS,
    guest_labels=labels.GUEST_LABELS,
    signin_how_labels=labels.HOW_LABELS,
)

# Roles a chair may invite besides those expected (参会 / 列席).
INVITABLE = (
    Role.COUNCIL,
    Role.RESIDENT_REP,
    Role.PROPERTY_REP,
    Role.OWNERS_COMMITTEE_REP,
    Role.UNIT_REP,
    Role.DEPARTMENT_REP,
    Role.OBSERVER,
)


def _meeting_url(meeting: Meeting) -> str:
    return url("meetings.detail", hall_id=meeting.hall_id, meeting_id=meeting.id)


def signin_url(request: Request, settings: Settings, meeting: Meeting) -> str:
    """The QR's link, on the public origin (never a loopback address when one is set)."""
    path = url("meetings.signin", hall_id=meeting.hall_id, meeting_id=meeting.id)
    return f"{public_url(request, settings, path)}?t={meeting.signin_token}"


# --- the list and the schedule form -------------------------------------------------------------


@router.get("/halls/{hall_id}/meetings", name="meetings.list")
def meeting_list(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep
) -> Response:
    policies.require(policies.can_see(access))
    rows = queries.list_meetings(session, hall_id=access.hall_id)
    context = {"hall": hall, "access": access, "meetings": rows}
    context["can_schedule"] = policies.can_schedule(access)
    return render(request, "meetings/list.html", context)


def _new_context(
    session: Session, hall: Hall, access: HallAccess, form: dict[str, Any]
) -> dict[str, Any]:
    issues = issue_queries.list_issues(
        session, hall_id=hall.id or 0, filters=issue_queries.IssueFilters(), before=None, limit=50
    )
    return {
        "hall": hall,
        "access": access,
        "kinds": list(MeetingKind),
        "roles": INVITABLE,
        "guest_words": list(labels.GUEST_LABELS.values()),
        "issues": issues,
        "people": hall_queries.list_pickable_people(session, hall_id=hall.id or 0),
        "form": form,
        "errors": {},
    }


@router.get("/halls/{hall_id}/meetings/new", name="meetings.new")
def new_meeting(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep
) -> Response:
    policies.require(policies.can_schedule(access))
    form = {"kind": MeetingKind.COUNCIL.value, "place": _("社区议事厅"), "chair_id": access.user_id}
    context = _new_context(session, hall, access, form)
    return render(request, "meetings/new.html", context)


@router.post("/halls/{hall_id}/meetings", name="meetings.create")
def create_meeting(
    act: ActionDep, refused: Refused, form: Annotated[schemas.MeetingPageForm, Form()]
) -> Response:
    policies.require(policies.can_schedule(act.access))
    return respond(
        act.request,
        act.session,
        lambda: service.schedule_meeting(**act.who, form=form),
        refused=refused,
        to=_meeting_url,
        page=partial(_schedule_again, act, form),
        done=_("会议已安排，通知已发给受邀成员"),
        htmx="redirect",
    )


def _schedule_again(
    act: HallAction, form: schemas.MeetingPageForm, outcome: Outcome[Any]
) -> Response:
    """The form again, with what was typed and the messages next to the fields."""
    with act.reading() as session:
        context = _new_context(session, act.hall, act.access, form.model_dump(mode="json"))
    context["errors"] = outcome.errors
    return render(act.request, "meetings/new.html", context, status_code=outcome.status)


# --- one meeting --------------------------------------------------------------------------------


def _detail_context(
    request: Request,
    settings: Settings,
    session: Session,
    hall: Hall,
    access: HallAccess,
    meeting: Meeting,
) -> dict[str, Any]:
    answer = queries.attendance(session, meeting)
    officer = policies.can_sign_in_others(
        access, chair_id=meeting.chair_id, recorder_id=meeting.recorder_id
    )
    link = signin_url(request, settings, meeting) if officer else None
    return {
        "hall": hall,
        "access": access,
        "meeting": meeting,
        "rule": rules.DECISION_RULES[meeting.kind],
        "agenda": queries.agenda(session, meeting),
        "ballots": queries.meeting_ballots(session, meeting, drafts=policies.can_schedule(access)),
        "invitees": queries.invitees(session, meeting),
        "sign_ins": queries.sign_ins(session, meeting),
        "attendance": answer,
        "quorum_lines": labels.quorum_lines(answer),
        "mine": (mine := queries.my_sign_in(session, meeting, access.membership_id)),
        "hand": live_queries.my_hand(session, access, meeting, signed_in=mine is not None),
        "runs": policies.can_run(
            access, chair_id=meeting.chair_id, recorder_id=meeting.recorder_id
        ),
        "officer": officer and queries.is_open(meeting),
        "can_cancel": policies.can_schedule(access) and queries.is_open(meeting),
        "proxies": rules.allows_proxy(meeting.kind),
        "members": hall_queries.list_pickable_people(session, hall_id=hall.id or 0)
        if officer
        else [],
        "guest_kinds": list(GuestKind),
        "signin_link": link,
        "signin_qr": qr.path(link) if link else None,
        "minutes_readable": policies.can_read_minutes(
            access,
            signed=minutes_queries.is_signed(session, meeting),
            chair_id=meeting.chair_id,
            recorder_id=meeting.recorder_id,
        ),
        "errors": {},
        "form": {},
        "cancel_errors": {},
        "cancel_form": {},
        "hand_errors": {},
        "hand_pressed": None,  # the 举手 card's button refused: "raise" or "lower"
        **print_context(request, settings),
        **_reschedule_context(access, meeting),
    }


def _reschedule_context(access: HallAccess, meeting: Meeting) -> dict[str, Any]:
    """The chair's 改期 form and the calendar file's link (改期 and 加入手机日历)."""
    return {
        "can_reschedule": policies.can_schedule(access) and queries.can_move(meeting),
        "reschedule_form": {},
        "reschedule_errors": {},
        "ics_url": url("meetings.ics", hall_id=meeting.hall_id, meeting_id=meeting.id),
    }


@router.get("/halls/{hall_id}/meetings/{meeting_id}", name="meetings.detail")
def meeting_page(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    policies.require(policies.can_see(access))
    context = _detail_context(request, settings, session, hall, access, meeting)
    return render(request, "meetings/detail.html", context)


@router.post("/halls/{hall_id}/meetings/{meeting_id}/cancel", name="meetings.cancel")
def cancel_meeting(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    form: Annotated[schemas.CancelForm, Form()],
) -> Response:
    policies.require(policies.can_schedule(act.access))
    return respond(
        act.request,
        act.session,
        lambda: service.cancel_meeting(**act.who, meeting_id=meeting.id or 0, form=form),
        refused=refused,
        to=_meeting_url(meeting),
        page=partial(_meeting_again, act, meeting, form.model_dump(mode="json"), slot="cancel_"),
        done=_("会议已取消，已通知受邀成员"),
        beside=True,
    )


@router.post("/halls/{hall_id}/meetings/{meeting_id}/reschedule", name="meetings.reschedule")
def reschedule_meeting(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    form: Annotated[schemas.RescheduleForm, Form()],
) -> Response:
    """改期: the chair moves the meeting (time, place) and the notice goes out again."""
    policies.require(policies.can_schedule(act.access))
    return respond(
        act.request,
        act.session,
        lambda: service.reschedule_meeting(**act.who, meeting_id=meeting.id or 0, form=form),
        refused=refused,
        to=_meeting_url(meeting),
        page=partial(
            _meeting_again, act, meeting, form.model_dump(mode="json"), slot="reschedule_"
        ),
        done=_("会议已改期，新的通知已发给受邀成员"),
        htmx="redirect",
        beside=True,
    )


@router.post("/halls/{hall_id}/meetings/{meeting_id}/attendance", name="meetings.sign_in_other")
def sign_in_other(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    form: Annotated[schemas.ChairSignInPageForm, Form()],
) -> Response:
    return respond(
        act.request,
        act.session,
        lambda: service.sign_in_by_chair(
            **act.who, meeting_id=meeting.id or 0, form=form.sign_in()
        ),
        refused=refused,
        to=_meeting_url(meeting),
        page=partial(_meeting_again, act, meeting, form.model_dump(mode="json")),
        done=lambda signed: _("已签到") if signed.created else _("此前已签到"),
    )


def _meeting_again(
    act: HallAction,
    meeting: Meeting,
    form: dict[str, Any],
    outcome: Outcome[Any],
    slot: str = "",
    pressed: str | None = None,
) -> Response:
    """The meeting page again, with what was typed and the messages next to the fields of the
    form that was sent (`slot`: "" the sign-in, "reschedule_" 改期, "cancel_" 取消会议, "hand_"
    the 举手 card, whose `pressed` button says its refusal under it)."""
    settings: Settings = act.request.app.state.settings
    with act.reading() as session:
        fresh = queries.get_meeting(session, hall_id=act.hall_id, meeting_id=meeting.id or 0)
        context = _detail_context(
            act.request, settings, session, act.hall, act.access, fresh or meeting
        )
    context[f"{slot}errors"] = outcome.errors
    context[f"{slot}form"] = form
    if pressed is not None:
        context[f"{slot}pressed"] = pressed
    return render(act.request, "meetings/detail.html", context, status_code=outcome.status)


# --- 举手发言 (the resident's hand, on the meeting page) ------------------------------------------


def _hand_notice(hand: service.Hand) -> str:
    if hand.speaker.status.value == "speaking":
        return _("您正在发言")
    return _("已举手，排在第 %(n)s 位") % {"n": hand.speaker.position}


@router.post("/halls/{hall_id}/meetings/{meeting_id}/hand", name="meetings.raise_hand")
def raise_hand(act: ActionDep, meeting: MeetingDep) -> Response:
    run = partial(service.raise_hand, **act.who, meeting_id=meeting.id or 0)
    return _hand_answer(act, meeting, run, _hand_notice, "raise")


@router.post("/halls/{hall_id}/meetings/{meeting_id}/hand/lower", name="meetings.lower_hand")
def lower_hand(act: ActionDep, meeting: MeetingDep) -> Response:
    run = partial(service.lower_hand, **act.who, meeting_id=meeting.id or 0)
    return _hand_answer(act, meeting, run, _("已放下，不再排队"), "lower")


def _hand_answer(
    act: HallAction,
    meeting: Meeting,
    run: Callable[[], T],
    done: str | Callable[[T], str],
    button: str,
) -> Response:
    """PRG back to the 举手 card; a refusal (not signed in, the meeting not open) is said under
    the button pressed, on the meeting page again (409, with htmx and without JS), even when
    the card no longer offers that button."""
    return respond(
        act.request,
        act.session,
        run,
        to=_meeting_url(meeting) + "#hand",
        page=partial(_meeting_again, act, meeting, {}, slot="hand_", pressed=button),
        done=done,
        htmx="redirect",
        beside=True,
    )


# --- the page the QR opens ----------------------------------------------------------------------


@router.get("/halls/{hall_id}/meetings/{meeting_id}/signin", name="meetings.signin")
def signin_page(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
    t: Annotated[fields.Text, Query(max_length=100)] = "",
) -> Response:
    policies.require(policies.can_sign_in_self(access))
    context = {"hall": hall, "access": access, "meeting": meeting, "token": t}
    context["mine"] = queries.my_sign_in(session, meeting, access.membership_id)
    return render(request, "meetings/signin.html", context)


@router.post("/halls/{hall_id}/meetings/{meeting_id}/signin", name="meetings.sign_in_self")
def sign_in_self(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    form: Annotated[schemas.SelfSignInPageForm, Form()],
) -> Response:
    policies.require(policies.can_sign_in_self(act.access))
    return respond(
        act.request,
        act.session,
        lambda: service.sign_in_self(**act.who, meeting_id=meeting.id or 0, token=form.t),
        refused=refused,
        to=_meeting_url(meeting),
        page=partial(_meeting_again, act, meeting, {}),
        done=lambda signed: _("签到成功") if signed.created else _("您此前已签到"),
        htmx="redirect",
    )
