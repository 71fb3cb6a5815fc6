"""JSON API for meetings (协商会议): list, schedule, read one with its agenda, invitees and
attendance, and sign in. The same services as the pages."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, field_validator
from sqlmodel import Session

from app.accounts.deps import CurrentUser
from app.core import fields
from app.db import Database
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall, Role
from app.halls.policies import HallAccess
from app.meetings import live_queries, minutes_queries, policies, queries, rules, schemas, service
from app.meetings.deps import MeetingDep
from app.meetings.models import (
    GuestKind,
    Meeting,
    MeetingStatus,
    MinutesStatus,
    SignInHow,
    Speaker,
    SpeakerStatus,
    Speech,
)
from app.meetings.rules import MeetingKind
from app.voting.rules import RuleKind
from app.web.deps import DbDep, SessionDep
from app.web.i18n import gettext
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


# --- the meeting as it is held: the speaker queue, speeches, the current item -----------------


class SpeakerPublic(BaseModel):
    """One speaker of the queue: a member (`membership_id`) or a guest by name. `position` is
    the place in the queue while waiting (1 = next)."""

    id: int
    membership_id: int | None
    name: str
    identity: str  # 身份
    position: int
    status: SpeakerStatus
    item_id: int | None
    raised_at: datetime

    @field_validator("identity")
    @classmethod
    def _identity_shown(cls, value: str) -> str:
        """A member's 身份 is stored as their role's Chinese label: in the reader's language."""
        return gettext(value) if value else value

    @classmethod
    def of(cls, row: Speaker) -> SpeakerPublic:
        return cls.model_validate(row, from_attributes=True)


class QueuePublic(BaseModel):
    speaking: SpeakerPublic | None  # who has the floor
    waiting: list[SpeakerPublic]  # in order, the next to speak first


class SpeechPublic(BaseModel):
    id: int
    position: int  # speaking order in the meeting
    item_id: int | None
    membership_id: int | None
    speaker_name: str
    identity: str
    summary: str
    recorded_at: datetime

    @field_validator("identity")
    @classmethod
    def _identity_shown(cls, value: str) -> str:
        """A member's 身份 is stored as their role's Chinese label: in the reader's language."""
        return gettext(value) if value else value

    @classmethod
    def of(cls, row: Speech) -> SpeechPublic:
        return cls.model_validate(row, from_attributes=True)


class SpeechListPublic(BaseModel):
    speeches: list[SpeechPublic]


class CurrentItemPublic(BaseModel):
    current_item_id: int | None
    started_at: datetime | None


def _queue_now(db: Database, access: HallAccess, meeting_id: int) -> QueuePublic:
    with db.session(read_only=True) as reading:  # the write session's transaction is over
        meeting = queries.get_meeting(reading, hall_id=access.hall_id, meeting_id=meeting_id)
        assert meeting is not None
        now = live_queries.queue(reading, meeting)
    return QueuePublic(
        speaking=SpeakerPublic.of(now.speaking) if now.speaking else None,
        waiting=[SpeakerPublic.of(s) for s in now.waiting],
    )


@router.get(
    "/meetings/{meeting_id}/speakers", name="api.meeting_speakers", response_model=QueuePublic
)
def list_speakers(db: DbDep, access: AccessDep, meeting: MeetingDep) -> QueuePublic:
    """The speaker queue: who has the floor and who waits, in order."""
    policies.require(policies.can_watch(access))
    return _queue_now(db, access, meeting.id or 0)


@router.post(
    "/meetings/{meeting_id}/speakers",
    name="api.add_speaker",
    response_model=SpeakerPublic,
    status_code=201,
    responses={200: {"description": "Already in the queue: that place stands"}, **errors(409)},
)
def add_speaker(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    meeting_id: IdPath,
    body: schemas.SpeakerForm,
    response: Response,
) -> SpeakerPublic:
    """举手发言. An empty body: yourself (a verified member signed in to the meeting; 409
    `not_signed_in`), at the end of the queue. With `membership_id` (a member of the hall) or
    `name` and `identity` (a guest): the chair or the meeting's 主持人 adds them. 201 when
    added, 200 when that member was in the queue already. The meeting must be open (409
    `meeting_not_started`, `meeting_held`)."""
    start = partial(service.raise_hand, session=session, access=access, actor=user)
    if body.membership_id is not None or body.name.strip():  # the chair adds someone
        start = partial(service.add_speaker, session=session, access=access, actor=user, form=body)
    hand = start(meeting_id=meeting_id)
    response.status_code = 201 if hand.created else 200
    return SpeakerPublic.of(hand.speaker)


@router.post(
    "/meetings/{meeting_id}/speakers/{speaker_id}/floor",
    name="api.give_floor",
    response_model=SpeakerPublic,
    responses=errors(409),
)
def give_floor(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    meeting_id: IdPath,
    speaker_id: IdPath,
) -> SpeakerPublic:
    """The chair (or 主持人) gives the floor to a waiting speaker; whoever had it is done."""
    speaker = service.give_floor(
        session=session, access=access, actor=user, meeting_id=meeting_id, speaker_id=speaker_id
    )
    return SpeakerPublic.of(speaker)


@router.post(
    "/meetings/{meeting_id}/speakers/{speaker_id}/move",
    name="api.move_speaker",
    response_model=QueuePublic,
    responses=errors(409),
)
def move_speaker(
    db: DbDep,
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    meeting_id: IdPath,
    speaker_id: IdPath,
    body: schemas.MoveForm,
) -> QueuePublic:
    """Reorder the queue (the chair or 主持人): `direction` "up" / "down", or `position` (1 =
    next; beyond the end: last). Answered with the queue after it."""
    service.move_speaker(
        session=session,
        access=access,
        actor=user,
        meeting_id=meeting_id,
        speaker_id=speaker_id,
        form=body,
    )
    return _queue_now(db, access, meeting_id)


@router.post(
    "/meetings/{meeting_id}/speakers/{speaker_id}/withdraw",
    name="api.withdraw_speaker",
    response_model=SpeakerPublic,
    responses=errors(409),
)
def withdraw_speaker(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    meeting_id: IdPath,
    speaker_id: IdPath,
) -> SpeakerPublic:
    """Take a speaker off the queue: the chair or 主持人 anyone, a member their own hand."""
    speaker = service.withdraw(
        session=session, access=access, actor=user, meeting_id=meeting_id, speaker_id=speaker_id
    )
    return SpeakerPublic.of(speaker)


@router.get("/meetings/{meeting_id}/speeches", name="api.speeches", response_model=SpeechListPublic)
def list_speeches(session: SessionDep, access: AccessDep, meeting: MeetingDep) -> SpeechListPublic:
    """The speeches noted (发言摘要), in speaking order."""
    policies.require(policies.can_watch(access))
    rows = live_queries.speeches(session, meeting)
    return SpeechListPublic(speeches=[SpeechPublic.of(s) for s in rows])


@router.post(
    "/meetings/{meeting_id}/speeches",
    name="api.record_speech",
    response_model=SpeechPublic,
    status_code=201,
    responses=errors(409),
)
def record_speech(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    meeting_id: IdPath,
    body: schemas.SpeechForm,
) -> SpeechPublic:
    """Note a speech (the chair, 主持人 or 记录人): `speaker_id` from the queue or
    `speaker_name`, `identity`, `summary` (required, ≤ 500 characters), under the current item
    (or `item_id`); it takes the next place in speaking order. 409 `speeches_locked` once the
    minutes are signed."""
    speech = service.record_speech(
        session=session, access=access, actor=user, meeting_id=meeting_id, form=body
    )
    return SpeechPublic.of(speech)


@router.post(
    "/meetings/{meeting_id}/current-item",
    name="api.current_item",
    response_model=CurrentItemPublic,
    responses=errors(409),
)
def set_current_item(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    meeting_id: IdPath,
    body: schemas.CurrentItemForm,
) -> CurrentItemPublic:
    """Make an item of the agenda the current one (the chair or 主持人; the meeting open)."""
    meeting = service.set_current_item(
        session=session, access=access, actor=user, meeting_id=meeting_id, form=body
    )
    return CurrentItemPublic(current_item_id=meeting.current_item_id, started_at=meeting.started_at)


# --- the minutes (会议纪要) ---------------------------------------------------------------------


class CorrectionPublic(BaseModel):
    position: int
    text: str
    made_by: str
    made_at: datetime
    content_hash: str  # sha256 over the minutes' hash, the position, the text and the time


class MinutesPublic(BaseModel):
    """The minutes of a meeting. `document` is the whole 会议纪要 (app/meetings/minutes.py):
    built from the record now while a draft, the body frozen at sign-off once `signed` (its
    sha256 is `content_hash`, also held by the audit chain). `version` is what an edit must
    send back (0 before the first save)."""

    meeting_id: int
    status: MinutesStatus
    signed: bool
    version: int
    chair_signed_at: datetime | None
    recorder_signed_at: datetime | None
    locked_at: datetime | None
    content_hash: str | None
    document: dict[str, Any]
    corrections: list[CorrectionPublic]


def _minutes_public(
    session: Session, hall: Hall, access: HallAccess, meeting: Meeting
) -> MinutesPublic:
    view = minutes_queries.view(session, hall, meeting)
    policies.require(
        policies.can_read_minutes(
            access, signed=view.signed, chair_id=meeting.chair_id, recorder_id=meeting.recorder_id
        )
    )
    row = view.row
    return MinutesPublic(
        meeting_id=meeting.id or 0,
        status=row.status if row is not None else MinutesStatus.DRAFT,
        signed=view.signed,
        version=row.version if row is not None else 0,
        chair_signed_at=row.chair_signed_at if row is not None else None,
        recorder_signed_at=row.recorder_signed_at if row is not None else None,
        locked_at=row.locked_at if row is not None else None,
        content_hash=view.content_hash,
        document=view.document,
        corrections=[
            CorrectionPublic(
                position=c.correction.position,
                text=c.correction.text,
                made_by=c.name,
                made_at=c.correction.made_at,
                content_hash=c.correction.content_hash,
            )
            for c in minutes_queries.corrections(session, row)
        ],
    )


def _minutes_now(db: Database, hall: Hall, access: HallAccess, meeting_id: int) -> MinutesPublic:
    with db.session(read_only=True) as reading:  # the write session's transaction is over
        meeting = queries.get_meeting(reading, hall_id=access.hall_id, meeting_id=meeting_id)
        assert meeting is not None
        return _minutes_public(reading, hall, access, meeting)


@router.get("/meetings/{meeting_id}/minutes", name="api.minutes", response_model=MinutesPublic)
def minutes_detail(
    session: SessionDep, hall: HallDep, access: AccessDep, meeting: MeetingDep
) -> MinutesPublic:
    """The 会议纪要: a draft for the hall's chair and the meeting's 主持人 / 记录人 only (404 for
    others); once signed, for everyone who sees the hall's meetings."""
    return _minutes_public(session, hall, access, meeting)


@router.put(
    "/meetings/{meeting_id}/minutes",
    name="api.edit_minutes",
    response_model=MinutesPublic,
    responses=errors(409),
)
def edit_minutes(
    db: DbDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    meeting_id: IdPath,
    body: schemas.MinutesForm,
) -> MinutesPublic:
    """Save the typed parts (决议事项, 任务分工 one task a line "任务 | 责任方 | 期限", 公示安排,
    其他) with the `version` read. 409 `minutes_stale` when someone saved in between, 409
    `minutes_signed` once signed. Clears both signatures."""
    service.edit_minutes(
        session=session, access=access, actor=user, meeting_id=meeting_id, form=body
    )
    return _minutes_now(db, hall, access, meeting_id)


@router.post(
    "/meetings/{meeting_id}/minutes/sign",
    name="api.sign_minutes",
    response_model=MinutesPublic,
    responses=errors(409),
)
def sign_minutes(
    db: DbDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    meeting_id: IdPath,
    body: schemas.SignMinutesForm,
) -> MinutesPublic:
    """Sign one's own line (`line`: "chair" for the 主持人, "recorder" for the 记录人), once the
    meeting has started; the second signature freezes the minutes and hashes them into the
    audit chain. 409 `minutes_before_meeting`, `meeting_cancelled`, `minutes_no_recorder`."""
    service.sign_minutes(
        session=session, access=access, actor=user, meeting_id=meeting_id, form=body
    )
    return _minutes_now(db, hall, access, meeting_id)


@router.post(
    "/meetings/{meeting_id}/minutes/corrections",
    name="api.correct_minutes",
    response_model=CorrectionPublic,
    status_code=201,
    responses=errors(409),
)
def append_correction(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    meeting_id: IdPath,
    body: schemas.CorrectionForm,
) -> CorrectionPublic:
    """Append a 更正 (≤ 1000 characters) to signed minutes (409 `minutes_not_signed` before);
    the signed body is not changed. The chair, 主持人 or 记录人."""
    correction = service.append_correction(
        session=session, access=access, actor=user, meeting_id=meeting_id, form=body
    )
    return CorrectionPublic(
        position=correction.position,
        text=correction.text,
        made_by=user.name,
        made_at=correction.made_at,
        content_hash=correction.content_hash,
    )
