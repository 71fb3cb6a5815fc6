"""A meeting on paper (issue #12, the print pack): the 会议通知 to post on the 居务公开栏 and
hand to those invited, and the 签到表 laid out at the door. Each is an A4 view on screen and,
from the same template, a PDF (app/web/pdf.py). Every link and QR printed is on the public
origin.

- The notice: what DOMAIN.md §1.3 says a notice carries (time, place, agenda, who attends,
  主持人 and 记录人), the kind's rule for attending (proxies only at a 居民会议), the reason for a
  short notice when there is one, a QR to the meeting's page (not the sign-in QR: that one is
  shown at the door only), the issuer, the date it went out and a seal box. Any member of the
  hall may print it, as they may see the meeting.
- The calendar file (meeting.ics, app/meetings/calendar.py): any member of the hall adds the
  meeting to a phone's calendar; after a reschedule the same file updates that event.
- The 签到表: every member 应到 by building, entrance and room, with a signature column, the
  invited guests and blank lines for 列席 walk-ins, and the officers' signatures. The chair, the
  主持人 and the 记录人 print it. Rooms are masked (5**, PRIV-02: the sheet lies on a table for
  everyone); names are printed in full, or masked (张**) when the chair prefers (`?names=masked`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from app.config import Settings
from app.core import clock, fields
from app.core.privacy import mask_name, mask_room
from app.halls.deps import AccessDep, HallDep
from app.halls.labels import issuer_of
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.meetings import calendar, labels, policies, queries, rules
from app.meetings.deps import MeetingDep
from app.meetings.models import Meeting, MeetingStatus
from app.web import pdf, qr
from app.web.deps import SessionDep, SettingsDep
from app.web.forms import FormRoute
from app.web.htmx import render
from app.web.i18n import _
from app.web.links import print_context, public_url, url

router = APIRouter(tags=["meetings"], route_class=FormRoute)

BLANK_GUEST_LINES = 5  # for 列席 who come without an invitation
Names = Literal["full", "masked"]


def _common(
    request: Request, settings: Settings, session: Session, hall: Hall, meeting: Meeting
) -> dict[str, Any]:
    chair, recorder = queries.officer_names(session, meeting)
    return {
        "hall": hall,
        "meeting": meeting,
        "issuer": issuer_of(hall),
        "agenda": queries.agenda(session, meeting),
        "invitees": queries.invitees(session, meeting),
        "attendance": queries.attendance(session, meeting),
        "expected_label": labels.EXPECTED_LABELS[meeting.kind],
        "proxies": rules.allows_proxy(meeting.kind),
        "chair_name": chair,
        "recorder_name": recorder,
        **print_context(request, settings),
    }


def _notice(
    request: Request, settings: Settings, session: Session, hall: Hall, meeting: Meeting
) -> dict[str, Any]:
    page = public_url(
        request, settings, url("meetings.detail", hall_id=meeting.hall_id, meeting_id=meeting.id)
    )
    return _common(request, settings, session, hall, meeting) | {
        "page_url": page,
        "qr": qr.path(page),
        "sent_at": meeting.notice_sent_at or meeting.created_at,
        "notice_days": hall.meeting_notice_days,
        "pdf_url": url("meetings.notice_pdf", hall_id=meeting.hall_id, meeting_id=meeting.id),
    }


def _sheet(
    request: Request,
    settings: Settings,
    session: Session,
    hall: Hall,
    meeting: Meeting,
    names: Names,
) -> dict[str, Any]:
    name = mask_name if names == "masked" else str
    rows = [
        {
            "name": name(row.name),
            "home": "".join(p for p in (row.building, row.entrance) if p)
            + (f" {mask_room(row.room)}" if row.room else ""),
        }
        for row in queries.sheet_rows(session, meeting)
    ]
    pdf_url = url("meetings.signin_sheet_pdf", hall_id=meeting.hall_id, meeting_id=meeting.id)
    return _common(request, settings, session, hall, meeting) | {
        "rows": rows,
        "names": names,
        "blank_guest_lines": BLANK_GUEST_LINES,
        "today": clock.now(),
        "pdf_url": f"{pdf_url}?names={names}",
    }


def _names(value: str) -> Names:
    """?names=masked prints 张**; anything else, the full names."""
    return "masked" if value == "masked" else "full"


def _sheet_allowed(access: HallAccess, meeting: Meeting) -> None:
    policies.require(
        policies.can_sign_in_others(
            access, chair_id=meeting.chair_id, recorder_id=meeting.recorder_id
        )
    )


@router.get("/halls/{hall_id}/meetings/{meeting_id}/print/notice", name="meetings.notice")
def notice(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    """The 会议通知, A4 (any member of the hall)."""
    policies.require(policies.can_see(access))
    context = _notice(request, settings, session, hall, meeting)
    return render(request, "meetings/notice_print.html", context)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/print/notice.pdf", name="meetings.notice_pdf")
def notice_pdf(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    policies.require(policies.can_see(access))
    context = _notice(request, settings, session, hall, meeting)
    name = _("会议通知-%(title)s.pdf") % {"title": meeting.title}
    return pdf.document(request, "meetings/notice_print.html", context, filename=name)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/print/signin", name="meetings.signin_sheet")
def signin_sheet(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
    names: Annotated[fields.Text, Query(max_length=10)] = "full",
) -> Response:
    """The 签到表, A4 (the chair, the 主持人 and the 记录人)."""
    _sheet_allowed(access, meeting)
    context = _sheet(request, settings, session, hall, meeting, _names(names))
    return render(request, "meetings/signin_print.html", context)


@router.get(
    "/halls/{hall_id}/meetings/{meeting_id}/print/signin.pdf", name="meetings.signin_sheet_pdf"
)
def signin_sheet_pdf(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
    names: Annotated[fields.Text, Query(max_length=10)] = "full",
) -> Response:
    _sheet_allowed(access, meeting)
    context = _sheet(request, settings, session, hall, meeting, _names(names))
    name = _("签到表-%(title)s.pdf") % {"title": meeting.title}
    return pdf.document(request, "meetings/signin_print.html", context, filename=name)


# --- the calendar file (加入手机日历) ------------------------------------------------------------


def _event(
    request: Request, settings: Settings, session: Session, hall: Hall, meeting: Meeting
) -> calendar.Event:
    page = public_url(
        request, settings, url("meetings.detail", hall_id=meeting.hall_id, meeting_id=meeting.id)
    )
    lines = [_("%(issuer)s召开：%(title)s") % {"issuer": issuer_of(hall), "title": meeting.title}]
    if meeting.cancel_reason is not None:
        lines.append(_("本次会议已取消。原因：%(reason)s") % {"reason": meeting.cancel_reason})
    agenda = queries.agenda(session, meeting)
    if agenda:
        lines.append(_("议程："))
        lines += [f"{n}. {row.title}" for n, row in enumerate(agenda, start=1)]
    lines.append(_("会议详情：%(url)s") % {"url": page})
    return calendar.Event(
        meeting_id=meeting.id or 0,
        created_at=meeting.created_at,
        title=meeting.title,
        place=meeting.place,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        description="\n".join(lines),
        url=page,
        notice_count=meeting.notice_count,
        cancelled=meeting.status == MeetingStatus.CANCELLED,
        alarm_text=_("明天开会：%(title)s（%(place)s）")
        % {"title": meeting.title, "place": meeting.place},
        stamp=clock.now(),
    )


@router.get("/halls/{hall_id}/meetings/{meeting_id}/meeting.ics", name="meetings.ics")
def meeting_ics(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    """加入手机日历: the meeting as an .ics file (any member of the hall, as the page)."""
    policies.require(policies.can_see(access))
    body = calendar.ics(_event(request, settings, session, hall, meeting))
    disposition = f'attachment; filename="meeting-{meeting.id}.ics"'
    headers = {"content-disposition": disposition}
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)
