"""协商会议: a meeting, its agenda, who is invited and who signed in.

Every row carries its hall, and composite foreign keys keep each row inside its meeting and its
hall: an agenda item, an invitation or a sign-in cannot point at another hall's meeting, issue
or member (AUTHZ-02).

One attendance: a member is signed in to a meeting at most once, whoever records it and
however (their own phone, the chair, a proxy): the unique constraint on (meeting, membership)
decides a race between two sign-ins, on both databases. A proxy holder holds one proxy
(unique on (meeting, proxy membership)). Guests have no membership; they are signed in by
name and organisation, and do not count toward the quorum.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.types import Int64, str_enum
from app.halls.models import Role
from app.meetings.rules import MeetingKind


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"  # 已通知
    CANCELLED = "cancelled"  # 已取消
    HELD = "held"  # 已召开


class GuestKind(StrEnum):
    PROPERTY = "property"  # 物业
    OWNERS_COMMITTEE = "owners_committee"  # 业委会
    UNIT = "unit"  # 驻区单位
    DEPARTMENT = "department"  # 街道 / 部门
    DEPUTY = "deputy"  # 人大代表 / 政协委员


class SignInHow(StrEnum):
    SELF_QR = "self_qr"  # the member scanned the meeting's QR on their own phone
    BY_CHAIR = "by_chair"  # the chair or recorder ticked them (no phone, paper sheet, guest)


class Meeting(SQLModel, table=True):
    __tablename__ = "meeting"
    __table_args__ = (
        sa.UniqueConstraint("id", "hall_id"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    kind: MeetingKind = Field(sa_type=str_enum(MeetingKind))
    title: str = Field(max_length=80)
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    place: str = Field(max_length=80)
    chair_id: int = Field(sa_type=Int64, foreign_key="user.id")  # 主持人
    recorder_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")  # 记录人
    status: MeetingStatus = Field(
        default=MeetingStatus.SCHEDULED, sa_type=str_enum(MeetingStatus), index=True
    )
    notice_sent_at: datetime | None = None
    short_notice_reason: str | None = Field(default=None, max_length=200)
    # The capability of the sign-in QR: whoever holds it may sign themselves in, if they are a
    # verified member of the hall, within the window. Never written to the audit trail.
    signin_token: str = Field(max_length=64, unique=True)
    # The hall's quorum fraction when the meeting was scheduled (议事会 / 居民代表会议).
    quorum_num: int = 2
    quorum_den: int = 3
    created_by_id: int = Field(sa_type=Int64, foreign_key="user.id")
    created_at: datetime = Field(default_factory=clock.now)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = Field(default=None, max_length=200)
    # Rescheduling moves the time or place and sends the notice again (counted here).
    rescheduled_at: datetime | None = None
    notice_count: int = 1
    # Live mode: the agenda item under discussion, and when the chair opened the meeting.
    current_item_id: int | None = Field(sa_type=Int64, default=None)
    started_at: datetime | None = None


class MeetingItem(SQLModel, table=True):
    """One item of the agenda (议程), in order: an issue of the hall, or a free title."""

    __tablename__ = "meeting_item"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "position"),
        sa.ForeignKeyConstraint(["meeting_id", "hall_id"], ["meeting.id", "meeting.hall_id"]),
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
        sa.CheckConstraint("issue_id IS NOT NULL OR title <> ''", name="issue_or_title"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    meeting_id: int = Field(sa_type=Int64, index=True)
    position: int
    issue_id: int | None = Field(sa_type=Int64, default=None, index=True)
    title: str = Field(default="", max_length=80)  # free items; an issue's shows its own title


class MeetingInvitee(SQLModel, table=True):
    """列席 and 参会: a member of the hall (invited through a role) or a guest by name."""

    __tablename__ = "meeting_invitee"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "membership_id"),
        sa.ForeignKeyConstraint(["meeting_id", "hall_id"], ["meeting.id", "meeting.hall_id"]),
        sa.ForeignKeyConstraint(
            ["membership_id", "hall_id"], ["membership.id", "membership.hall_id"]
        ),
        sa.CheckConstraint(
            "(membership_id IS NOT NULL) <> (guest_kind IS NOT NULL)", name="member_or_guest"
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    meeting_id: int = Field(sa_type=Int64, index=True)
    membership_id: int | None = Field(sa_type=Int64, default=None, index=True)
    role: Role | None = Field(default=None, sa_type=str_enum(Role))  # invited as
    guest_name: str = Field(default="", max_length=40)
    guest_org: str = Field(default="", max_length=60)
    guest_kind: GuestKind | None = Field(default=None, sa_type=str_enum(GuestKind))


class Attendance(SQLModel, table=True):
    """One sign-in (签到): a member counted present (in person, or through `proxy_membership_id`
    who attends for them), or a guest by name and organisation."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "membership_id"),  # a member signs in once
        sa.UniqueConstraint("meeting_id", "proxy_membership_id"),  # one proxy per holder
        sa.ForeignKeyConstraint(["meeting_id", "hall_id"], ["meeting.id", "meeting.hall_id"]),
        sa.ForeignKeyConstraint(
            ["membership_id", "hall_id"], ["membership.id", "membership.hall_id"]
        ),
        sa.ForeignKeyConstraint(
            ["proxy_membership_id", "hall_id"], ["membership.id", "membership.hall_id"]
        ),
        sa.CheckConstraint(
            "(membership_id IS NOT NULL) <> (guest_kind IS NOT NULL)", name="member_or_guest"
        ),
        sa.CheckConstraint(
            "proxy_membership_id IS NULL OR proxy_membership_id <> membership_id",
            name="proxy_is_someone_else",
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    meeting_id: int = Field(sa_type=Int64, index=True)
    membership_id: int | None = Field(sa_type=Int64, default=None, index=True)
    proxy_membership_id: int | None = Field(sa_type=Int64, default=None)  # 委托: who attends
    guest_name: str = Field(default="", max_length=40)
    guest_org: str = Field(default="", max_length=60)
    guest_kind: GuestKind | None = Field(default=None, sa_type=str_enum(GuestKind))
    how: SignInHow = Field(sa_type=str_enum(SignInHow))
    signed_in_at: datetime = Field(default_factory=clock.now)
    recorded_by_id: int = Field(sa_type=Int64, foreign_key="user.id")


# --- the meeting as it is held (issue #12, second slice) --------------------------------------


class SpeakerStatus(StrEnum):
    WAITING = "waiting"  # 举手, in the queue
    SPEAKING = "speaking"  # has the floor
    DONE = "done"  # spoke (a speech may be noted for them)
    WITHDRAWN = "withdrawn"  # put their hand down, or the chair took them off


class Speaker(SQLModel, table=True):
    """The speaker queue (发言排队): a member who raised a hand on their phone, or someone the
    chair added (a member, or a guest by name). `position` orders the queue; the chair
    reorders it. A member waits at most once at a time (the partial unique index)."""

    __tablename__ = "meeting_speaker"
    __table_args__ = (
        sa.ForeignKeyConstraint(["meeting_id", "hall_id"], ["meeting.id", "meeting.hall_id"]),
        sa.ForeignKeyConstraint(
            ["membership_id", "hall_id"], ["membership.id", "membership.hall_id"]
        ),
        sa.Index(
            "uq_meeting_speaker_waiting",
            "meeting_id",
            "membership_id",
            unique=True,
            sqlite_where=sa.text("status IN ('waiting', 'speaking')"),
            postgresql_where=sa.text("status IN ('waiting', 'speaking')"),
        ),
        sa.CheckConstraint("membership_id IS NOT NULL OR name <> ''", name="member_or_name"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    meeting_id: int = Field(sa_type=Int64, index=True)
    item_id: int | None = Field(sa_type=Int64, default=None, foreign_key="meeting_item.id")
    membership_id: int | None = Field(sa_type=Int64, default=None)
    name: str = Field(default="", max_length=40)  # a guest, or the member's name as shown
    identity: str = Field(default="", max_length=40)  # 身份: 居民 / 物业 / 街道城管科 …
    position: int
    status: SpeakerStatus = Field(
        default=SpeakerStatus.WAITING, sa_type=str_enum(SpeakerStatus), index=True
    )
    raised_at: datetime = Field(default_factory=clock.now)
    added_by_id: int = Field(sa_type=Int64, foreign_key="user.id")  # themselves, or the chair


class Speech(SQLModel, table=True):
    """A speech as the recorder noted it (发言摘要), in speaking order within the meeting."""

    __tablename__ = "meeting_speech"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "position"),
        sa.ForeignKeyConstraint(["meeting_id", "hall_id"], ["meeting.id", "meeting.hall_id"]),
        sa.ForeignKeyConstraint(
            ["membership_id", "hall_id"], ["membership.id", "membership.hall_id"]
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    meeting_id: int = Field(sa_type=Int64, index=True)
    item_id: int | None = Field(sa_type=Int64, default=None, foreign_key="meeting_item.id")
    position: int
    membership_id: int | None = Field(sa_type=Int64, default=None)
    speaker_name: str = Field(max_length=40)
    identity: str = Field(default="", max_length=40)  # 身份
    summary: str = Field(sa_type=sa.Text)
    recorded_by_id: int = Field(sa_type=Int64, foreign_key="user.id")
    recorded_at: datetime = Field(default_factory=clock.now)


class Absence(SQLModel, table=True):
    """缺席 with a reason (请假, 出差 …), as the chair records it for the minutes."""

    __tablename__ = "meeting_absence"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "membership_id"),
        sa.ForeignKeyConstraint(["meeting_id", "hall_id"], ["meeting.id", "meeting.hall_id"]),
        sa.ForeignKeyConstraint(
            ["membership_id", "hall_id"], ["membership.id", "membership.hall_id"]
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    meeting_id: int = Field(sa_type=Int64, index=True)
    membership_id: int = Field(sa_type=Int64)
    reason: str = Field(max_length=60)
    recorded_by_id: int = Field(sa_type=Int64, foreign_key="user.id")


class MinutesStatus(StrEnum):
    DRAFT = "draft"  # 草稿: free text editable; either signature may be withdrawn by an edit
    SIGNED = "signed"  # 已签署: both signed; locked and hashed into the audit chain


class Minutes(SQLModel, table=True):
    """会议纪要 (DOMAIN.md §6.1). Most of it is built from the record (meeting, sign-in,
    speeches, ballots); what is typed is kept here. An edit clears both signatures; when the
    主持人 and the 记录人 have both signed, the canonical text is frozen in `body`, its sha256
    in `content_hash`, and the audit event that carries the hash is `audit_event_id`.
    `version` guards edits against a stale form (optimistic concurrency)."""

    __tablename__ = "meeting_minutes"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id"),
        sa.UniqueConstraint("id", "hall_id"),
        sa.ForeignKeyConstraint(["meeting_id", "hall_id"], ["meeting.id", "meeting.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    meeting_id: int = Field(sa_type=Int64)
    status: MinutesStatus = Field(default=MinutesStatus.DRAFT, sa_type=str_enum(MinutesStatus))
    version: int = 1
    resolutions: str = Field(default="", sa_type=sa.Text)  # 决议事项
    tasks: str = Field(default="", sa_type=sa.Text)  # 任务分工 (one line a task, until 民办)
    publicity: str = Field(default="", sa_type=sa.Text)  # 公示安排
    notes: str = Field(default="", sa_type=sa.Text)  # 其他
    chair_signed_at: datetime | None = None
    chair_signed_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    recorder_signed_at: datetime | None = None
    recorder_signed_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    locked_at: datetime | None = None
    body: str | None = Field(default=None, sa_type=sa.Text)  # canonical JSON, frozen at sign-off
    content_hash: str | None = Field(default=None, max_length=64)
    audit_event_id: int | None = Field(sa_type=Int64, default=None)
    updated_at: datetime = Field(default_factory=clock.now)
    updated_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")


class MinutesCorrection(SQLModel, table=True):
    """更正: appended after sign-off, never edited; each hashed into the audit chain."""

    __tablename__ = "meeting_minutes_correction"
    __table_args__ = (
        sa.UniqueConstraint("minutes_id", "position"),
        sa.ForeignKeyConstraint(
            ["minutes_id", "hall_id"], ["meeting_minutes.id", "meeting_minutes.hall_id"]
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    minutes_id: int = Field(sa_type=Int64, index=True)
    position: int
    text: str = Field(sa_type=sa.Text)
    made_by_id: int = Field(sa_type=Int64, foreign_key="user.id")
    made_at: datetime = Field(default_factory=clock.now)
    content_hash: str = Field(max_length=64)
    audit_event_id: int | None = Field(sa_type=Int64, default=None)
