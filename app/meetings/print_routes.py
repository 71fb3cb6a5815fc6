"""A meeting on paper (issue #12, the print pack): the 会议通知 to post on the 居务公开栏 and
hand to those invited, and the 签到表 laid out at the door. Each is an A4 view on screen and,
from the same template, a PDF (app/web/pdf.py). Every link and QR printed is on the public
origin.

- The notice: what DOMAIN.md §1.3 says a notice carries (time, place, agenda, who attends,
  主持人 and 记录人), the kind's rule for attending (proxies only at a 居民会议), the reason for a
  short notice when there is one, a QR to the meeting's page (not the sign-in QR: that one is
  shown at the door only), the issuer, the date it went out and a seal box. Any member of the
  hall may print it, as they may see the meeting.
- The ballots held at the meeting (Ballot.meeting_id), for the chair, the 主持人 and the 记录人:
  - 表决票 (`print/ballots`): one slip per voter of each *open* ballot (paper ballots exist only
    for an open ballot's frozen roll), the codes the voting desk issued
    (app.voting.service.issue_paper_ballots, called for one ballot by `print/ballots/issue`:
    idempotent, the chair only, as on the desk), several slips to an A4 sheet between dashed
    cut lines, a slip never across two pages. A slip carries the ballot's title, the options
    with tick boxes, the instructions, its code and a QR of the paper desk's entry link with
    the code (`…/ballots/{id}/paper?code=`, on the public origin: what the voting desk's own
    print page encodes and its entry form reads). A 无记名 slip carries nothing of its voter;
    a 记名 one the roll's masked label and a signature line. In the order of the roll, as
    the voting desk prints them (the 领票登记's order).
  - 领票登记 (`print/issued`, a document of its own, one sheet per 无记名 open ballot): who
    took a ballot — building and room masked, name, a signature column; never a code.
  - 计票表 (`print/tally`, also for the ballots' 计票人 / 监票人): one sheet per ballot held
    at the meeting: the options with a box for the 正字 count and one for the number, valid
    total, 空白票, 无效票, returned total, the reconciliation with the ballots issued, the
    meeting's 应到 / 实到, the rule's thresholds (`threshold_lines`: the shares of
    app.voting.rules.Rule.of with the ballot's quorum and the smallest counts that meet them
    on this roll), the signatures of the 计票人, 监票人 and 主持人.
- The calendar file (meeting.ics, app/meetings/calendar.py): any member of the hall adds the
  meeting to a phone's calendar; after a reschedule the same file updates that event.
- The 签到表: every member 应到 by building, entrance and room, with a signature column, the
  invited guests and blank lines for 列席 walk-ins, and the officers' signatures. The chair, the
  主持人 and the 记录人 print it. Rooms are masked (5**, PRIV-02: the sheet lies on a table for
  everyone); names are printed in full, or masked (张**) when the chair prefers (`?names=masked`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request, Response
from sqlmodel import Session

from app.config import Settings
from app.core import clock, fields
from app.core.privacy import mask_name, mask_room
from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.labels import issuer_of
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.meetings import calendar, labels, policies, queries, rules
from app.meetings.deps import MeetingDep
from app.meetings.models import Meeting, MeetingStatus
from app.voting import policies as voting_policies
from app.voting import queries as voting_queries
from app.voting import service as voting
from app.voting.models import Ballot, RollEntry
from app.voting.pages import paper_url
from app.voting.rules import MEETING_RULES, Rule, RuleKind, Share, VoterUnit
from app.web import pdf, qr
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep, SettingsDep
from app.web.forms import FormRoute, Refused
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


# --- the ballots held at the meeting: 表决票, 领票登记, 计票表 ---------------------------------


@dataclass(frozen=True)
class Slip:
    """One paper ballot as printed: its code, the QR the paper desk scans (the entry form
    with the code filled in, on the public origin) and, on a 记名 ballot only, its voter's
    masked label."""

    code: str
    voter: str | None
    qr: qr.QrPath


def _slips(request: Request, settings: Settings, session: Session, ballot: Ballot) -> list[Slip]:
    """The ballot's issued paper ballots, in the order of its 领票登记 sheet, as the voting
    desk prints them (app/voting/paper_routes.print_papers): the QR is the entry form's URL
    with `?code=`."""
    entry = public_url(request, settings, paper_url(ballot))
    return [
        Slip(
            paper.code,
            None if ballot.secret else roll.masked_label,
            qr.path(f"{entry}?code={paper.code}"),
        )
        for paper, roll in voting_queries.paper_ballots(session, ballot.id or 0)
    ]


def _ballots(
    request: Request,
    settings: Settings,
    session: Session,
    hall: Hall,
    access: HallAccess,
    meeting: Meeting,
) -> dict[str, Any]:
    groups = []
    for ballot in queries.meeting_ballots(session, meeting, open_only=True):
        slips = _slips(request, settings, session, ballot)
        groups.append(
            {
                "ballot": ballot,
                "options": voting_queries.option_codes(session, ballot.id or 0),
                "slips": slips,
                "missing": ballot.roll_count - len(slips),
            }
        )
    return _common(request, settings, session, hall, meeting) | {
        "groups": groups,
        "can_issue": voting_policies.can_manage(access),
        "pdf_url": url("meetings.ballots_pdf", hall_id=meeting.hall_id, meeting_id=meeting.id),
    }


@dataclass(frozen=True)
class TakerRow:
    """A line of the 领票登记: the voter as the roll names them, rooms masked. No code."""

    home: str
    name: str


def _taker(roll: RollEntry) -> TakerRow:
    """The roll's masked label split into where they live and who: "张三 · 3号楼2单元5**"
    (by person), "3号楼2单元5**" (by household or owner: the name is written by whoever takes
    the ballot), "张三" (a role's members)."""
    name, sep, home = roll.masked_label.partition(" · ")
    if sep:
        return TakerRow(home, name)
    if roll.voter_key.startswith("u:"):
        return TakerRow("", roll.masked_label)
    return TakerRow(roll.masked_label, "")


def _issued(
    request: Request, settings: Settings, session: Session, hall: Hall, meeting: Meeting
) -> dict[str, Any]:
    sheets = [
        {
            "ballot": ballot,
            "rows": [_taker(r) for r in voting_queries.roll_labels(session, ballot.id or 0)],
        }
        for ballot in queries.meeting_ballots(session, meeting, open_only=True)
        if ballot.secret
    ]
    return _common(request, settings, session, hall, meeting) | {
        "sheets": sheets,
        "today": clock.now(),
        "pdf_url": url("meetings.issued_pdf", hall_id=meeting.hall_id, meeting_id=meeting.id),
    }


def _share(share: Share) -> dict[str, str]:
    f = share.fraction
    return {"cmp": share.symbol(), "share": f"{f.numerator}/{f.denominator}"}


def threshold_lines(ballot: Ballot, *, present: int) -> list[str]:
    """What the counters check against, from the ballot's rule (app.voting.rules.Rule.of with
    the ballot's quorum): the share, its comparison, and the smallest count that meets it on
    this roll (and at this 实到). No threshold is written down here."""
    rule = Rule.of(ballot.rule, quorum=Fraction(ballot.quorum_num, ballot.quorum_den))
    roll = ballot.roll_count
    if rule.kind == RuleKind.CONSENSUS:
        return [_("协商一致：不计票，由主持人记录结果。")]
    if rule.kind in MEETING_RULES:
        return [
            _(
                "法定人数：实到须%(cmp)s投票人名单的 %(share)s；名单 %(n)s 人，至少实到 %(need)s 人。"
            )
            % (_share(rule.quorum) | {"n": roll, "need": rule.quorum.needed(roll)}),
            _("通过：同意票须%(cmp)s实到人数的 %(share)s。") % _share(rule.passing)
            + (
                _("按现在签到实到 %(m)s 人，至少 %(need)s 票同意。")
                % {"m": present, "need": rule.passing.needed(present)}
                if present
                else ""
            ),
        ]
    lines = [
        _("参与表决：须%(cmp)s投票人名单的 %(share)s；名单 %(n)s，至少 %(need)s 参与。")
        % (_share(rule.quorum) | {"n": roll, "need": rule.quorum.needed(roll)})
    ]
    if rule.kind == RuleKind.PLURALITY:
        return [*lines, _("得票最多的方案胜出；票数相同则不产生结果。")]
    lines.append(_("通过：同意须%(cmp)s参与表决的 %(share)s。") % _share(rule.passing))
    if ballot.voter_unit == VoterUnit.OWNER:
        lines.append(_("按业主人数和专有部分面积分别计算，两者都须达到。"))
    return lines


def _tally(
    request: Request, settings: Settings, session: Session, hall: Hall, meeting: Meeting
) -> dict[str, Any]:
    context = _common(request, settings, session, hall, meeting)
    present = context["attendance"].present
    sheets = [
        {
            "ballot": ballot,
            "options": voting_queries.option_codes(session, ballot.id or 0),
            "issued": voting_queries.reconciliation(session, ballot.id or 0).issued,
            "officers": voting_queries.officers(session, ballot.id or 0),
            "thresholds": threshold_lines(ballot, present=present),
        }
        for ballot in queries.meeting_ballots(session, meeting)
    ]
    return context | {
        "sheets": sheets,
        "pdf_url": url("meetings.tally_pdf", hall_id=meeting.hall_id, meeting_id=meeting.id),
    }


def _tally_allowed(session: Session, access: HallAccess, meeting: Meeting) -> None:
    """The chair, the 主持人 and the 记录人, and the meeting's ballots' 计票人 / 监票人."""
    officer = policies.can_sign_in_others(
        access, chair_id=meeting.chair_id, recorder_id=meeting.recorder_id
    )
    counter = access.is_verified and queries.is_ballot_officer(session, meeting, access.user_id)
    policies.require(officer or counter)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/print/ballots", name="meetings.ballots")
def ballots(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    """表决票: one per voter of each open ballot held at the meeting, several to an A4 sheet
    with cut lines (the chair, the 主持人 and the 记录人)."""
    _sheet_allowed(access, meeting)
    context = _ballots(request, settings, session, hall, access, meeting)
    return render(request, "meetings/ballots_print.html", context)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/print/ballots.pdf", name="meetings.ballots_pdf")
def ballots_pdf(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    _sheet_allowed(access, meeting)
    context = _ballots(request, settings, session, hall, access, meeting)
    name = _("表决票-%(title)s.pdf") % {"title": meeting.title}
    return pdf.document(request, "meetings/ballots_print.html", context, filename=name)


@router.post(
    "/halls/{hall_id}/meetings/{meeting_id}/print/ballots/issue", name="meetings.issue_ballots"
)
def issue_ballots(
    act: ActionDep,
    refused: Refused,
    meeting: MeetingDep,
    ballot_id: Annotated[fields.Text, Form()] = "",
) -> Response:
    """生成纸质票: the voting desk's own use case (idempotent: only voters without one get a
    code) for one ballot held at this meeting; back to the 表决票."""
    _sheet_allowed(act.access, meeting)
    with act.reading() as read:
        ballot = queries.meeting_ballot(read, meeting, fields.parse_id(ballot_id))
    policies.require(bool(refused) or ballot is not None)  # a refused value: 422 below
    back = url("meetings.ballots", hall_id=meeting.hall_id, meeting_id=meeting.id)
    return respond(
        act.request,
        act.session,
        lambda: voting.issue_paper_ballots(**act.who, ballot_id=getattr(ballot, "id", 0)),
        refused=refused,
        to=back,
        page=partial(_issue_refused, act, meeting),
        done=lambda n: _("已生成 %(n)s 张纸质票") % {"n": n},
        htmx="redirect",  # the 表决票 page again, with the notice
    )


def _issue_refused(act: HallAction, meeting: Meeting, outcome: Outcome[Any]) -> Response:
    """The 表决票 again with why not (a value no field can hold, not the chair …)."""
    settings: Settings = act.request.app.state.settings
    with act.reading() as session:
        context = _ballots(act.request, settings, session, act.hall, act.access, meeting)
    context["errors"] = outcome.errors
    status = outcome.status if outcome.status != 200 else 422
    return render(act.request, "meetings/ballots_print.html", context, status_code=status)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/print/issued", name="meetings.issued")
def issued(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    """领票登记: who took a 无记名 paper ballot (rooms masked, a signature column, no code)."""
    _sheet_allowed(access, meeting)
    context = _issued(request, settings, session, hall, meeting)
    return render(request, "meetings/issued_print.html", context)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/print/issued.pdf", name="meetings.issued_pdf")
def issued_pdf(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    _sheet_allowed(access, meeting)
    context = _issued(request, settings, session, hall, meeting)
    name = _("领票登记-%(title)s.pdf") % {"title": meeting.title}
    return pdf.document(request, "meetings/issued_print.html", context, filename=name)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/print/tally", name="meetings.tally")
def tally(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    """计票表: one sheet per ballot held at the meeting (the officers and the counters)."""
    _tally_allowed(session, access, meeting)
    context = _tally(request, settings, session, hall, meeting)
    return render(request, "meetings/tally_print.html", context)


@router.get("/halls/{hall_id}/meetings/{meeting_id}/print/tally.pdf", name="meetings.tally_pdf")
def tally_pdf(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    meeting: MeetingDep,
) -> Response:
    _tally_allowed(session, access, meeting)
    context = _tally(request, settings, session, hall, meeting)
    name = _("计票表-%(title)s.pdf") % {"title": meeting.title}
    return pdf.document(request, "meetings/tally_print.html", context, filename=name)
