"""JSON API for meetings (协商会议): list, schedule, read one with its agenda, invitees and
attendance, and sign in. The same services as the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel
from sqlmodel import Session

from app.accounts.deps import CurrentUser
from app.core import fields
from app.db import Database
from app.halls.deps import AccessDep
from app.halls.models import Role
from app.halls.policies import HallAccess
from app.meetings import policies, queries, rules, schemas, service
from app.meetings.deps import MeetingDep
from app.meetings.models import GuestKind, Meeting, MeetingStatus, SignInHow
from app.meetings.rules import MeetingKind
from app.voting.rules import RuleKind
from app.web.deps import DbDep, SessionDep
from app.web.openapi import errors, session_cookie
from app.web.routing import GuardedRoute

# Every operation is in a hall; writes may also answer 409 (cancelled, outside the window).
router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1/halls/{hall_id}",
    tags=["api"],
    dependencies=[Depends(session_cookie)],
    responses=errors(401, 403, 404, 422),
)

IdPath = Annotated[fields.Id, Path()]


class MeetingSummaryPublic(BaseModel):
    id: int
    hall_id: int
    kind: MeetingKind
    rule: RuleKind  # the kind's default decision rule (app.meetings.rules.DECISION_RULES)
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str
    status: MeetingStatus
    chair_id: int
    recorder_id: int | None
    notice_sent_at: datetime | None
    short_notice_reason: str | None  # set when the notice was shorter than the hall's
    notice_count: int = 1  # notices sent: 1, and one more for each reschedule
    rescheduled_at: datetime | None = None  # the latest reschedule

    @classmethod
    def of(cls, meeting: Meeting) -> MeetingSummaryPublic:
        return cls(
            id=meeting.id or 0,
            hall_id=meeting.hall_id,
            kind=meeting.kind,
            rule=rules.DECISION_RULES[meeting.kind],
            title=meeting.title,
            starts_at=meeting.starts_at,
            ends_at=meeting.ends_at,
            place=meeting.place,
            status=meeting.status,
            chair_id=meeting.chair_id,
            recorder_id=meeting.recorder_id,
            notice_sent_at=meeting.notice_sent_at,
            short_notice_reason=meeting.short_notice_reason,
            notice_count=meeting.notice_count,
            rescheduled_at=meeting.rescheduled_at,
        )


class MeetingListPublic(BaseModel):
    meetings: list[MeetingSummaryPublic]


class ItemPublic(BaseModel):
    position: int
    issue_id: int | None
    title: str


class InviteePublic(BaseModel):
    membership_id: int | None
    role: Role | None  # invited as
    name: str
    organisation: str | None  # guests
    guest_kind: GuestKind | None


class QuorumCheckPublic(BaseModel):
    """The quorum as a vote check (app.voting.rules.Check, id `attendance_heads`): `value` 实到
    of `whole` 应到 must meet `threshold` by `comparison`; `needed` is the smallest 实到 that
    does, `margin` = value − needed (negative: short by that much)."""

    id: str
    value: int
    whole: int
    threshold: str
    comparison: Literal[">=", ">"]
    passed: bool
    needed: int
    margin: int


class AttendancePublic(BaseModel):
    """应到 / 实到 and the quorum. `quorum_needed` is null where the kind has no quorum
    (恳谈会, 听证会: `quorum_met` is then always true)."""

    expected: int
    present: int
    quorum_needed: int | None
    quorum_met: bool
    check: QuorumCheckPublic | None


class SignInPublic(BaseModel):
    id: int
    membership_id: int | None
    proxy_membership_id: int | None  # 委托: the member who attended for them
    name: str
    proxy_name: str | None
    organisation: str | None
    guest_kind: GuestKind | None
    how: SignInHow
    signed_in_at: datetime


class MeetingPublic(MeetingSummaryPublic):
    agenda: list[ItemPublic]
    invitees: list[InviteePublic]
    attendance: AttendancePublic
    sign_ins: list[SignInPublic]
    my_sign_in: datetime | None  # when the caller signed in, if they did


def attendance_public(answer: rules.Attendance) -> AttendancePublic:
    check = answer.check
    return AttendancePublic(
        expected=answer.expected,
        present=answer.present,
        quorum_needed=answer.quorum_needed,
        quorum_met=answer.quorum_met,
        check=QuorumCheckPublic(
            id=check.id,
            value=check.value,
            whole=check.whole,
            threshold=check.threshold,
            comparison=">=" if check.share.inclusive else ">",
            passed=check.passed,
            needed=check.needed,
            margin=check.margin,
        )
        if check is not None
        else None,
    )


def _meeting_public(session: Session, access: HallAccess, meeting: Meeting) -> MeetingPublic:
    mine = queries.my_sign_in(session, meeting, access.membership_id)
    return MeetingPublic(
        **MeetingSummaryPublic.of(meeting).model_dump(),
        agenda=[
            ItemPublic(position=r.item.position, issue_id=r.item.issue_id, title=r.title)
            for r in queries.agenda(session, meeting)
        ],
        invitees=[
            InviteePublic(
                membership_id=r.invitee.membership_id,
                role=r.invitee.role,
                name=r.name,
                organisation=r.invitee.guest_org or None,
                guest_kind=r.invitee.guest_kind,
            )
            for r in queries.invitees(session, meeting)
        ],
        attendance=attendance_public(queries.attendance(session, meeting)),
        sign_ins=[
            SignInPublic(
                id=r.attendance.id or 0,
                membership_id=r.attendance.membership_id,
                proxy_membership_id=r.attendance.proxy_membership_id,
                name=r.name,
                proxy_name=r.proxy_name,
                organisation=r.attendance.guest_org or None,
                guest_kind=r.attendance.guest_kind,
                how=r.attendance.how,
                signed_in_at=r.attendance.signed_in_at,
            )
            for r in queries.sign_ins(session, meeting)
        ],
        my_sign_in=mine.signed_in_at if mine else None,
    )


@router.get("/meetings", name="api.meetings", response_model=MeetingListPublic)
def list_meetings(session: SessionDep, access: AccessDep) -> MeetingListPublic:
    """The hall's meetings, the latest start first (up to 50)."""
    policies.require(policies.can_see(access))
    rows = queries.list_meetings(session, hall_id=access.hall_id)
    return MeetingListPublic(meetings=[MeetingSummaryPublic.of(m) for m in rows])


@router.post(
    "/meetings",
    name="api.schedule_meeting",
    response_model=MeetingPublic,
    status_code=201,
    responses=errors(409),
)
def schedule_meeting(
    db: DbDep,
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    body: schemas.MeetingForm,
) -> MeetingPublic:
    """Schedule a meeting (the chair). Times are ISO 8601 (with an offset, or Beijing time
    without one). A notice shorter than the hall's `meeting_notice_days` needs
    `short_notice_reason` (422 `short_notice_reason_required` otherwise). The invitees (the
    members holding the kind's expected role and `invite_roles`) are notified in the app."""
    meeting = service.schedule_meeting(session=session, access=access, actor=user, form=body)
    with db.session(read_only=True) as reading:  # the write session's transaction is over
        return _meeting_public(reading, access, meeting)


@router.get("/meetings/{meeting_id}", name="api.meeting", response_model=MeetingPublic)
def meeting_detail(session: SessionDep, access: AccessDep, meeting: MeetingDep) -> MeetingPublic:
    """A meeting with its agenda, invitees, sign-ins and attendance
    `{expected, present, quorum_needed, quorum_met}` (and the quorum as a check)."""
    policies.require(policies.can_see(access))
    return _meeting_public(session, access, meeting)


@router.post(
    "/meetings/{meeting_id}/reschedule",
    name="api.reschedule_meeting",
    response_model=MeetingPublic,
    responses=errors(409),
)
def reschedule_meeting(
    db: DbDep,
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    meeting_id: IdPath,
    body: schemas.RescheduleForm,
) -> MeetingPublic:
    """Move a scheduled meeting (the chair): a new `starts_at` / `ends_at` (ISO 8601; a new
    start alone keeps the length) and/or `place`, with a `reason` told to the invitees, who
    are all notified again; `notice_count` goes up by one. The new notice is held to the
    hall's `meeting_notice_days` as when scheduling (422 `short_notice_reason_required`
    without `short_notice_reason`); 409 `meeting_cancelled` / `meeting_held`."""
    meeting = service.reschedule_meeting(
        session=session, access=access, actor=user, meeting_id=meeting_id, form=body
    )
    with db.session(read_only=True) as reading:  # the write session's transaction is over
        return _meeting_public(reading, access, meeting)


@router.post(
    "/meetings/{meeting_id}/attendance",
    name="api.sign_in",
    response_model=AttendancePublic,
    status_code=201,
    responses={200: {"description": "Already signed in: the first sign-in stands"}, **errors(409)},
)
def sign_in(
    db: DbDep,
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    meeting_id: IdPath,
    body: schemas.SignInForm,
    response: Response,
) -> AttendancePublic:
    """Sign in (签到), answered with the attendance after it. With `token` (from the meeting's
    QR): yourself, within the window (an hour before the start until the end; 409
    `signin_closed`; a wrong token is 403 `signin_token_invalid`). Without: the chair or the
    meeting's 主持人 / 记录人 signs in a member (`membership_id`, with `proxy_membership_id` at
    a 居民会议) or a guest (`guest`: name, organisation, kind). 201 when recorded, 200 when
    that person was signed in already."""
    signed = (
        service.sign_in_self(
            session=session, access=access, actor=user, meeting_id=meeting_id, token=body.token
        )
        if body.token
        else service.sign_in_by_chair(
            session=session, access=access, actor=user, meeting_id=meeting_id, form=body
        )
    )
    response.status_code = 201 if signed.created else 200
    return _attendance_now(db, access, meeting_id)


def _attendance_now(db: Database, access: HallAccess, meeting_id: int) -> AttendancePublic:
    with db.session(read_only=True) as reading:  # the write session's transaction is over
        meeting = queries.get_meeting(reading, hall_id=access.hall_id, meeting_id=meeting_id)
        assert meeting is not None
        return attendance_public(queries.attendance(reading, meeting))
