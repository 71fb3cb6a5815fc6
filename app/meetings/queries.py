"""Reads for meetings: lists, one meeting with its agenda and invitees, and its attendance.

Who is 应到 (app.meetings.rules.Expected): for 议事会 and 居民代表会议 the hall's verified
members holding the role its decision rule's electorate is (app.voting.rules.ROLE_ELECTORATES,
the same members a ballot of that rule puts on its roll); for 居民会议 the verified members
living in one of the hall's households (a ballot's roll by person over the whole hall); for
恳谈会 / 听证会 the verified members invited. 实到 counts those of them signed in (in person or
by proxy); guests are listed, never counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.halls.models import (
    Building,
    Entrance,
    Household,
    Membership,
    MembershipRole,
    MembershipStatus,
    Role,
)
from app.issues.models import Issue
from app.meetings import rules
from app.meetings.models import Attendance, Meeting, MeetingInvitee, MeetingItem, MeetingStatus
from app.voting.models import Ballot, BallotOfficer, BallotStatus

PAGE = 50


def get_meeting(session: Session, *, hall_id: int, meeting_id: int) -> Meeting | None:
    return session.exec(
        select(Meeting).where(Meeting.id == meeting_id, Meeting.hall_id == hall_id)
    ).first()


def list_meetings(session: Session, *, hall_id: int, limit: int = PAGE) -> list[Meeting]:
    """The hall's meetings, the latest start first."""
    return list(
        session.exec(
            select(Meeting)
            .where(Meeting.hall_id == hall_id)
            .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc())
            .limit(limit)
        ).all()
    )


def expected_members(meeting: Meeting) -> sa.Select[tuple[int]]:
    """The membership ids 应到 at the meeting, as a query (see the module docstring)."""
    verified = (Membership.hall_id == meeting.hall_id) & (
        Membership.status == MembershipStatus.VERIFIED
    )
    query = select(Membership.id).where(verified)
    match rules.expected_by(meeting.kind):
        case rules.Expected.ROLE:
            role = Role(rules.expected_role(meeting.kind) or "")
            query = query.join(
                MembershipRole, col(MembershipRole.membership_id) == Membership.id
            ).where(MembershipRole.role == role)
        case rules.Expected.RESIDENTS:
            query = query.where(col(Membership.household_id).is_not(None))
        case rules.Expected.INVITED:
            query = query.join(
                MeetingInvitee, col(MeetingInvitee.membership_id) == Membership.id
            ).where(MeetingInvitee.meeting_id == meeting.id)
    return query  # type: ignore[return-value]


def attendance(session: Session, meeting: Meeting) -> rules.Attendance:
    """应到 / 实到 / quorum, from the meeting's sign-ins and its hall's members now."""
    expected = expected_members(meeting).subquery()
    total = session.exec(select(func.count()).select_from(expected)).one()
    present = session.exec(
        select(func.count())
        .select_from(Attendance)
        .where(
            Attendance.meeting_id == meeting.id,
            col(Attendance.membership_id).in_(select(expected.c.id)),
        )
    ).one()
    quorum = Fraction(meeting.quorum_num, meeting.quorum_den)
    return rules.attendance(meeting.kind, expected=total, present=present, quorum=quorum)


@dataclass(frozen=True)
class ItemRow:
    item: MeetingItem
    title: str  # the issue's title, or the free item's


def agenda(session: Session, meeting: Meeting) -> list[ItemRow]:
    rows = session.exec(
        select(MeetingItem, Issue.title)
        .join(Issue, col(Issue.id) == MeetingItem.issue_id, isouter=True)
        .where(MeetingItem.meeting_id == meeting.id)
        .order_by(col(MeetingItem.position))
    ).all()
    return [ItemRow(item, issue_title or item.title) for item, issue_title in rows]


@dataclass(frozen=True)
class InviteeRow:
    invitee: MeetingInvitee
    name: str  # the member's name, or the guest's


def invitees(session: Session, meeting: Meeting) -> list[InviteeRow]:
    rows = session.exec(
        select(MeetingInvitee, User.name)
        .join(Membership, col(Membership.id) == MeetingInvitee.membership_id, isouter=True)
        .join(User, col(User.id) == Membership.user_id, isouter=True)
        .where(MeetingInvitee.meeting_id == meeting.id)
        .order_by(col(MeetingInvitee.guest_kind).is_not(None), col(MeetingInvitee.id))
    ).all()
    return [InviteeRow(invitee, name or invitee.guest_name) for invitee, name in rows]


@dataclass(frozen=True)
class SignInRow:
    attendance: Attendance
    name: str  # the member's name, or the guest's
    proxy_name: str | None  # who attended for them (委托)


def sign_ins(session: Session, meeting: Meeting) -> list[SignInRow]:
    principal = sa.orm.aliased(Membership)
    holder = sa.orm.aliased(Membership)
    principal_user = sa.orm.aliased(User)
    holder_user = sa.orm.aliased(User)
    rows = session.exec(
        select(Attendance, principal_user.name, holder_user.name)
        .join(principal, col(principal.id) == Attendance.membership_id, isouter=True)
        .join(principal_user, col(principal_user.id) == principal.user_id, isouter=True)
        .join(holder, col(holder.id) == Attendance.proxy_membership_id, isouter=True)
        .join(holder_user, col(holder_user.id) == holder.user_id, isouter=True)
        .where(Attendance.meeting_id == meeting.id)
        .order_by(col(Attendance.signed_in_at), col(Attendance.id))
    ).all()
    return [SignInRow(row, name or row.guest_name, proxy_name) for row, name, proxy_name in rows]


def my_sign_in(session: Session, meeting: Meeting, membership_id: int | None) -> Attendance | None:
    if membership_id is None:
        return None
    return session.exec(
        select(Attendance).where(
            Attendance.meeting_id == meeting.id, Attendance.membership_id == membership_id
        )
    ).first()


def is_open(meeting: Meeting) -> bool:
    return meeting.status == MeetingStatus.SCHEDULED


def can_move(meeting: Meeting) -> bool:
    """A meeting may be rescheduled while it is scheduled and has not started."""
    return meeting.status == MeetingStatus.SCHEDULED and meeting.started_at is None


@dataclass(frozen=True)
class SheetRow:
    """One line of the printed 签到表: a member 应到, where they live."""

    name: str
    building: str | None
    entrance: str | None
    room: str | None


def sheet_rows(session: Session, meeting: Meeting) -> list[SheetRow]:
    """The members 应到, by building, entrance and room (one query)."""
    expected = expected_members(meeting).subquery()
    rows = session.exec(
        select(User.name, Building.name, Entrance.name, Household.room)
        .select_from(Membership)
        .join(User, col(User.id) == Membership.user_id)
        .join(Household, col(Household.id) == Membership.household_id, isouter=True)
        .join(Entrance, col(Entrance.id) == Household.entrance_id, isouter=True)
        .join(Building, col(Building.id) == Entrance.building_id, isouter=True)
        .where(col(Membership.id).in_(select(expected.c.id)))
        .order_by(
            col(Building.sort_key),
            col(Building.name),
            col(Entrance.sort_key),
            col(Entrance.name),
            col(Household.room),
            col(User.name),
        )
    ).all()
    return [SheetRow(*row) for row in rows]


def officer_names(session: Session, meeting: Meeting) -> tuple[str, str | None]:
    """(主持人, 记录人) by name."""
    ids = {meeting.chair_id, meeting.recorder_id} - {None}
    names = dict(session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all())
    recorder = names.get(meeting.recorder_id) if meeting.recorder_id else None
    return names.get(meeting.chair_id, ""), recorder


def ballot_meetings(session: Session, *, hall_id: int, now: datetime) -> list[Meeting]:
    """The meetings a ballot may be held at: scheduled, of a kind that votes (not 恳谈会 /
    听证会), and not over for longer than the chair may still enter the paper sign-in."""
    kinds = [kind for kind in rules.MeetingKind if rules.has_quorum(kind)]
    return list(
        session.exec(
            select(Meeting)
            .where(
                Meeting.hall_id == hall_id,
                Meeting.status == MeetingStatus.SCHEDULED,
                col(Meeting.kind).in_(kinds),
                Meeting.ends_at >= now - rules.CHAIR_GRACE,
            )
            .order_by(col(Meeting.starts_at), col(Meeting.id))
            .limit(PAGE)
        ).all()
    )


@dataclass(frozen=True)
class Present:
    """Who is signed in to a meeting (in person or through a proxy), as a ballot's roll keys
    them: users (`u:<user>`) and the households they live in (`h:<household>`)."""

    user_ids: frozenset[int]
    household_ids: frozenset[int]

    def keys(self) -> frozenset[str]:
        return frozenset(
            [f"u:{uid}" for uid in self.user_ids] + [f"h:{hid}" for hid in self.household_ids]
        )


def present(session: Session, meeting: Meeting, *, membership_id: int | None = None) -> Present:
    """The members signed in to the meeting (or only `membership_id`, if signed in)."""
    query = (
        select(Membership.user_id, Membership.household_id)
        .join(Attendance, col(Attendance.membership_id) == Membership.id)
        .where(Attendance.meeting_id == meeting.id)
    )
    if membership_id is not None:
        query = query.where(Membership.id == membership_id)
    rows = session.exec(query).all()
    return Present(
        frozenset(uid for uid, _ in rows), frozenset(hid for _, hid in rows if hid is not None)
    )


# --- the ballots held at a meeting (the print pack: 表决票, 领票登记, 计票表) -------------------


def meeting_ballots(
    session: Session, meeting: Meeting, *, open_only: bool = False, drafts: bool = False
) -> list[Ballot]:
    """The ballots held at the meeting (Ballot.meeting_id), oldest first; drafts only when
    asked (they have no frozen roll: the chair's view of the meeting); `open_only`: only those
    open for votes (paper ballots exist only for an open ballot's roll)."""
    statuses = (
        [BallotStatus.OPEN]
        if open_only
        else [s for s in BallotStatus if drafts or s != BallotStatus.DRAFT]
    )
    return list(
        session.exec(
            select(Ballot)
            .where(
                Ballot.hall_id == meeting.hall_id,
                Ballot.meeting_id == meeting.id,
                col(Ballot.status).in_(statuses),
            )
            .order_by(col(Ballot.id))
        ).all()
    )


def meeting_ballot(session: Session, meeting: Meeting, ballot_id: int | None) -> Ballot | None:
    """One ballot held at the meeting, or None (another meeting's, another hall's)."""
    if ballot_id is None:
        return None
    return session.exec(
        select(Ballot).where(
            Ballot.id == ballot_id,
            Ballot.hall_id == meeting.hall_id,
            Ballot.meeting_id == meeting.id,
        )
    ).first()


def is_ballot_officer(session: Session, meeting: Meeting, user_id: int | None) -> bool:
    """Whether the user is a 计票人 or 监票人 of a ballot held at the meeting."""
    if user_id is None:
        return False
    found = session.exec(
        select(BallotOfficer.id)
        .join(Ballot, col(Ballot.id) == BallotOfficer.ballot_id)
        .where(Ballot.meeting_id == meeting.id, BallotOfficer.user_id == user_id)
        .limit(1)
    ).first()
    return found is not None
