"""The 会议纪要 pages (DOMAIN.md §6.1): the minutes as built from the record (or as frozen at
sign-off), the officers' form for the typed parts and the absence reasons, the two signature
buttons, the 已签署 banner with the hash, the 更正; and the A4 print view and its PDF.

Who: the hall's chair and the meeting's 主持人 / 记录人 read and keep a draft; once signed,
whoever sees the hall's meetings reads it (app.meetings.policies). A stale edit (someone saved
in between) comes back as the page with the warning and the text typed kept (409).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from sqlmodel import Session

from app.config import Settings
from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.labels import issuer_shown
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.meetings import minutes_queries, policies, schemas, service
from app.meetings.deps import MeetingDep
from app.meetings.models import Meeting
from app.voting import labels as voting_labels
from app.web import pdf
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep, SettingsDep
from app.web.forms import FormRoute, Refusals, Refused
from app.web.htmx import render
from app.web.i18n import _
from app.web.links import print_context, url
from app.web.templating import cn_date, env

router = APIRouter(tags=["meetings"], route_class=FormRoute)


def _iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# The document keeps its times as ISO 8601 (app.meetings.minutes.iso): shown as every time is.
env.filters["iso_dt"] = lambda value: env.filters["dt"](_iso(value))
env.filters["iso_cn_date"] = lambda value: cn_date(_iso(value))
env.filters["issuer"] = issuer_shown


def minutes_url(meeting: Meeting) -> str:
    return url("minutes.page", hall_id=meeting.hall_id, meeting_id=meeting.id)


def _document_context(
    session: Session, hall: Hall, access: HallAccess, meeting: Meeting
) -> tuple[minutes_queries.View, dict[str, Any]]:
    """The document (frozen or built now) and its checks in words; 404 for who may not read."""
    view = minutes_queries.view(session, hall, meeting)
    policies.require(
        policies.can_read_minutes(
            access, signed=view.signed, chair_id=meeting.chair_id, recorder_id=meeting.recorder_id
        )
    )
    doc = view.document
    check = doc["attendance"]["check"]
    return view, {
        "hall": hall,
        "access": access,
        "meeting": meeting,
        "doc": doc,
        "signed": view.signed,
        "content_hash": view.content_hash,
        "quorum_lines": voting_labels.check_lines({"checks": [check]} if check else None),
        "ballot_lines": {
            b["id"]: voting_labels.check_lines(b["result"], b["voter_unit"]) for b in doc["ballots"]
        },
    }


def _page_context(
    session: Session, hall: Hall, access: HallAccess, meeting: Meeting
) -> dict[str, Any]:
    view, context = _document_context(session, hall, access, meeting)
    officers: dict[str, Any] = {"chair_id": meeting.chair_id, "recorder_id": meeting.recorder_id}
    keeper = policies.can_keep_minutes(access, **officers)
    row, doc = view.row, view.document
    draft = keeper and not view.signed
    return context | {
        "row": row,
        "keeper": draft,
        "can_correct": keeper and view.signed,
        "my_lines": policies.minutes_lines(access, **officers)
        if not view.signed and minutes_queries.can_sign_now(meeting)
        else frozenset(),
        "form": {
            "version": row.version if row is not None else 0,
            "resolutions": doc["resolutions"],
            "tasks": row.tasks if row is not None else "",
            "publicity": doc["publicity"],
            "notes": doc["notes"],
        },
        "absentees": minutes_queries.absence_choices(session, meeting) if draft else [],
        "corrections": minutes_queries.corrections(session, row),
        "errors": {},
        "conflict": None,
        "refused_line": None,  # the 签署 line pressed, its refusal said under its button
        "refused_form": None,  # "absence": 记录缺席原因 pressed, its refusal under its button
        "correction_refused": False,  # 添加更正 pressed: its refusal said under its button
        "absence_form": {},
        "correction_form": {},
        "print_url": url("minutes.print", hall_id=hall.id, meeting_id=meeting.id),
    }


def _again(
    act: HallAction, meeting: Meeting, typed: dict[str, Any], outcome: Outcome[Any]
) -> Response:
    """The page again, with what was typed (under `typed`'s keys) and the messages."""
    with act.reading() as session:
        context = _page_context(session, act.hall, act.access, meeting)
        if outcome.conflict and typed.get("refused_form") == "absence":  # signed meanwhile:
            context["absentees"] = minutes_queries.absence_choices(session, meeting)  # typed
    for key, value in typed.items():
        context[key] = context[key] | value if isinstance(value, dict) else value
    context["errors"] = outcome.errors
    context["conflict"] = outcome.conflict
    return render(act.request, "meetings/minutes.html", context, status_code=outcome.status)


def _print_context(
    request: Request, settings: Settings, session: Session, hall: Hall, access: HallAccess,
    meeting: Meeting,
) -> dict[str, Any]:  # fmt: skip
    view, context = _document_context(session, hall, access, meeting)
    pdf_url = url("minutes.pdf", hall_id=hall.id, meeting_id=meeting.id)
    corrections = minutes_queries.corrections(session, view.row)
    extra = {"pdf_url": pdf_url, "corrections": corrections}
    return context | extra | print_context(request, settings)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/minutes", name="minutes.page")
def minutes_page(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, meeting: MeetingDep
) -> Response:
    """The minutes: the document, and for its officers the form, the signatures, the 更正."""
    context = _page_context(session, hall, access, meeting)
    return render(request, "meetings/minutes.html", context)


def _on_minutes(
    act: HallAction,
    meeting: Meeting,
    run: Callable[[], Any],
    *,
    done: str | Callable[[Any], str],
    refused: Refusals | None = None,
    typed: dict[str, Any] | None = None,
    keep_typed_on_conflict: bool = False,
    beside: bool = False,
) -> Response:
    """A minutes form: back to the minutes page (PRG), or the page again with the messages and
    what was typed. `keep_typed_on_conflict`: a conflict (a stale version) gets the page with
    the text kept too, not a redirect."""
    target = minutes_url(meeting)
    return respond(
        act.request,
        act.session,
        run,
        refused=refused,
        to=(lambda _row: target) if keep_typed_on_conflict else target,
        page=partial(_again, act, meeting, typed or {}),
        done=done,
        htmx="redirect",
        beside=beside,
    )


@router.post("/halls/{hall_id}/meetings/{meeting_id}/minutes", name="minutes.edit")
def edit_minutes(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    form: Annotated[schemas.MinutesForm, Form()],
) -> Response:
    run = partial(service.edit_minutes, **act.who, meeting_id=meeting.id or 0, form=form)
    typed = {"form": form.model_dump(mode="json")}
    done = _("会议纪要已保存；签字已清除，请主持人和记录人重新签署")
    return _on_minutes(
        act, meeting, run, done=done, refused=refused, typed=typed, keep_typed_on_conflict=True
    )


@router.post("/halls/{hall_id}/meetings/{meeting_id}/minutes/absences", name="minutes.absence")
def record_absence(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    form: Annotated[schemas.AbsenceForm, Form()],
) -> Response:
    run = partial(service.record_absence, **act.who, meeting_id=meeting.id or 0, form=form)
    typed = {"absence_form": form.model_dump(mode="json"), "refused_form": "absence"}
    done = _("已记录缺席原因")
    return _on_minutes(act, meeting, run, done=done, refused=refused, typed=typed, beside=True)


@router.post("/halls/{hall_id}/meetings/{meeting_id}/minutes/sign", name="minutes.sign")
def sign_minutes(
    act: ActionDep, meeting: MeetingDep, form: Annotated[schemas.SignMinutesForm, Form()]
) -> Response:
    run = partial(service.sign_minutes, **act.who, meeting_id=meeting.id or 0, form=form)
    return _on_minutes(
        act,
        meeting,
        run,
        done=lambda row: _("会议纪要已签署并锁定") if row.locked_at else _("已签字"),
        typed={"refused_line": form.line.value if form.line else None},
        beside=True,
    )


@router.post("/halls/{hall_id}/meetings/{meeting_id}/minutes/corrections", name="minutes.correct")
def append_correction(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    form: Annotated[schemas.CorrectionForm, Form()],
) -> Response:
    run = partial(service.append_correction, **act.who, meeting_id=meeting.id or 0, form=form)
    typed = {"correction_form": form.model_dump(mode="json"), "correction_refused": True}
    done = _("更正已添加")
    return _on_minutes(act, meeting, run, done=done, refused=refused, typed=typed, beside=True)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/print/minutes", name="minutes.print")
def print_minutes(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    """The minutes on A4: from the frozen body once signed; a draft is marked 草稿."""
    context = _print_context(request, settings, session, hall, access, meeting)
    return render(request, "meetings/minutes_print.html", context)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/print/minutes.pdf", name="minutes.pdf")
def minutes_pdf(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    context = _print_context(request, settings, session, hall, access, meeting)
    name = _("会议纪要-%(title)s.pdf") % {"title": meeting.title}
    return pdf.document(request, "meetings/minutes_print.html", context, filename=name)
