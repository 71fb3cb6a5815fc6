"""Reads for the 会议纪要: the record of a meeting (app.meetings.minutes.Record) in a fixed
number of statements, however many speeches, members or ballots it has; the minutes row; its
更正.

The record: who was 应到 (app.meetings.queries.expected_members) with their sign-in, proxy
holder and absence reason in one statement; the guests signed in and those invited; the agenda
with each issue's source and proposer; the speeches; the ballots held at the meeting
(Ballot.meeting_id, not drafts) with their option labels and the 决议 they came to. Names of
residents are given in full (the minutes name who spoke and who was absent), rooms masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.core import clock
from app.core.privacy import mask_room
from app.halls.labels import issuer_record
from app.halls.models import Building, Entrance, Hall, Household, Membership, MembershipRole
from app.issues.models import Issue
from app.meetings import minutes, queries, rules
from app.meetings.models import (
    Absence,
    Attendance,
    Meeting,
    MeetingInvitee,
    MeetingItem,
    MeetingStatus,
    Minutes,
    MinutesCorrection,
    MinutesStatus,
    Speech,
)
from app.voting.models import Ballot, BallotOption, BallotStatus, Resolution

HELD = (BallotStatus.OPEN, BallotStatus.CLOSED, BallotStatus.PUBLISHED)


def get_minutes(session: Session, meeting: Meeting) -> Minutes | None:
    return session.exec(select(Minutes).where(Minutes.meeting_id == meeting.id)).first()


def is_signed(session: Session, meeting: Meeting) -> bool:
    return (
        session.exec(
            select(Minutes.id).where(
                Minutes.meeting_id == meeting.id, Minutes.status == MinutesStatus.SIGNED
            )
        ).first()
        is not None
    )


def can_sign_now(meeting: Meeting) -> bool:
    """The minutes may be signed once the meeting started (or its start time passed), unless
    it was cancelled."""
    return meeting.status != MeetingStatus.CANCELLED and (
        meeting.started_at is not None or clock.now() >= meeting.starts_at
    )


def _home(building: str | None, entrance: str | None, room: str | None) -> str:
    home = "".join(p for p in (building, entrance) if p)
    return home + (f" {mask_room(room)}" if room else "")


def _expected(session: Session, meeting: Meeting) -> list[minutes.ExpectedMember]:
    expected = queries.expected_members(meeting).subquery()
    holder = sa.orm.aliased(Membership)
    holder_user = sa.orm.aliased(User)
    rows = session.execute(
        sa.select(
            col(User.name),
            col(Building.name),
            col(Entrance.name),
            col(Household.room),
            col(Attendance.id),
            col(holder_user.name),
            col(Absence.reason),
        )
        .select_from(Membership)
        .join(User, col(User.id) == Membership.user_id)
        .join(Household, col(Household.id) == Membership.household_id, isouter=True)
        .join(Entrance, col(Entrance.id) == Household.entrance_id, isouter=True)
        .join(Building, col(Building.id) == Entrance.building_id, isouter=True)
        .join(
            Attendance,
            (col(Attendance.meeting_id) == meeting.id)
            & (col(Attendance.membership_id) == Membership.id),
            isouter=True,
        )
        .join(holder, col(holder.id) == Attendance.proxy_membership_id, isouter=True)
        .join(holder_user, col(holder_user.id) == holder.user_id, isouter=True)
        .join(
            Absence,
            (col(Absence.meeting_id) == meeting.id) & (col(Absence.membership_id) == Membership.id),
            isouter=True,
        )
        .where(col(Membership.id).in_(select(expected.c.id)))
        .order_by(
            col(Building.sort_key),
            col(Building.name),
            col(Entrance.sort_key),
            col(Entrance.name),
            col(Household.room),
            col(User.name),
            col(Membership.id),
        )
    ).all()
    return [
        minutes.ExpectedMember(
            name=name,
            home=_home(building, entrance, room),
            present=signed is not None,
            proxy=proxy,
            reason=None if signed is not None else reason,
        )
        for name, building, entrance, room, signed, proxy, reason in rows
    ]


def _guests(session: Session, meeting: Meeting) -> tuple[list[minutes.Guest], list[minutes.Guest]]:
    came = session.exec(
        select(Attendance.guest_name, Attendance.guest_org, Attendance.guest_kind)
        .where(Attendance.meeting_id == meeting.id, col(Attendance.guest_kind).is_not(None))
        .order_by(col(Attendance.signed_in_at), col(Attendance.id))
    ).all()
    invited = session.exec(
        select(MeetingInvitee.guest_name, MeetingInvitee.guest_org, MeetingInvitee.guest_kind)
        .where(MeetingInvitee.meeting_id == meeting.id, col(MeetingInvitee.guest_kind).is_not(None))
        .order_by(col(MeetingInvitee.id))
    ).all()

    def guest(row: Any) -> minutes.Guest:
        return minutes.Guest(row[0], row[1], str(row[2]))

    return [guest(r) for r in came], [guest(r) for r in invited]


def _agenda(session: Session, meeting: Meeting) -> list[minutes.Item]:
    rows = session.execute(
        sa.select(
            MeetingItem,
            col(Issue.title),
            col(Issue.source),
            col(Issue.cosign_count),
            col(Issue.work_order_no),
            col(User.name),
        )
        .join(Issue, col(Issue.id) == MeetingItem.issue_id, isouter=True)
        .join(User, col(User.id) == Issue.proposer_id, isouter=True)
        .where(col(MeetingItem.meeting_id) == meeting.id)
        .order_by(col(MeetingItem.position))
    ).all()
    return [
        minutes.Item(
            id=item.id or 0,
            position=item.position,
            title=title or item.title,
            source=None
            if item.issue_id is None
            else minutes.Source(str(source), proposer or "", cosigners or 0, work_order),
        )
        for item, title, source, cosigners, work_order, proposer in rows
    ]


def _speeches(session: Session, meeting: Meeting) -> list[minutes.Speech]:
    rows = session.exec(
        select(Speech).where(Speech.meeting_id == meeting.id).order_by(col(Speech.position))
    ).all()
    return [
        minutes.Speech(s.position, s.item_id, s.speaker_name, s.identity, s.summary) for s in rows
    ]


def _ballots(
    session: Session, meeting: Meeting
) -> tuple[list[minutes.Ballot], list[minutes.Resolution]]:
    ballots = session.exec(
        select(Ballot)
        .where(
            Ballot.hall_id == meeting.hall_id,
            Ballot.meeting_id == meeting.id,
            col(Ballot.status).in_(HELD),
        )
        .order_by(col(Ballot.id))
    ).all()
    ids = [b.id for b in ballots]
    options: dict[int, list[tuple[str, str]]] = {}
    resolutions: list[minutes.Resolution] = []
    if ids:
        for ballot_id, code, label in session.exec(
            select(BallotOption.ballot_id, BallotOption.code, BallotOption.label)
            .where(col(BallotOption.ballot_id).in_(ids))
            .order_by(col(BallotOption.ballot_id), col(BallotOption.position))
        ).all():
            options.setdefault(ballot_id, []).append((code, label))
        titles = {b.id: b.title for b in ballots}
        for r in session.exec(
            select(Resolution)
            .where(col(Resolution.ballot_id).in_(ids))
            .order_by(col(Resolution.ballot_id))
        ).all():
            resolutions.append(
                minutes.Resolution(
                    r.ballot_id,
                    titles.get(r.ballot_id, ""),
                    r.text,
                    r.passed,
                    r.publicity_starts_at,
                    r.publicity_ends_at,
                )
            )
    held = []
    for b in ballots:
        result = json.loads(b.result) if b.result else None
        counts: dict[str, int] = (result or {}).get("counts") or {}
        held.append(
            minutes.Ballot(
                id=b.id or 0,
                title=b.title,
                rule=b.rule.value,
                voter_unit=b.voter_unit.value,
                secret=b.secret,
                status=b.status.value,
                passed=b.passed,
                result=result,
                counts=[
                    minutes.BallotCount(code, label, int(counts.get(code, 0)))
                    for code, label in options.get(b.id or 0, [])
                ]
                if result is not None
                else [],
                head_hash=b.head_hash,
                height=b.height,
                closed_at=b.closed_at,
            )
        )
    return held, resolutions


def _officers(session: Session, meeting: Meeting) -> tuple[str, list[str], str | None]:
    """(主持人's name, their roles in the hall, 记录人's name) in one statement."""
    ids = {meeting.chair_id, meeting.recorder_id} - {None}
    rows = session.exec(
        select(User.id, User.name, MembershipRole.role)
        .join(
            Membership,
            (col(Membership.user_id) == User.id) & (col(Membership.hall_id) == meeting.hall_id),
            isouter=True,
        )
        .join(MembershipRole, col(MembershipRole.membership_id) == Membership.id, isouter=True)
        .where(col(User.id).in_(ids))
    ).all()
    names = {uid: name for uid, name, _ in rows}
    roles = sorted(
        str(role) for uid, _, role in rows if uid == meeting.chair_id and role is not None
    )
    recorder = names.get(meeting.recorder_id) if meeting.recorder_id else None
    return names.get(meeting.chair_id, ""), roles, recorder


def _number(session: Session, meeting: Meeting) -> int:
    """第 N 期: the meeting's place among the hall's meetings (not cancelled) of its year, in
    Beijing time, by start."""
    local = meeting.starts_at.astimezone(minutes.BEIJING)
    year_start = datetime(local.year, 1, 1, tzinfo=minutes.BEIJING)
    earlier = session.exec(
        select(func.count())
        .select_from(Meeting)
        .where(
            Meeting.hall_id == meeting.hall_id,
            Meeting.status != MeetingStatus.CANCELLED,
            col(Meeting.starts_at) >= year_start,
            sa.or_(
                col(Meeting.starts_at) < meeting.starts_at,
                (col(Meeting.starts_at) == meeting.starts_at) & (col(Meeting.id) < meeting.id),
            ),
        )
    ).one()
    return int(earlier) + 1


def texts_of(row: Minutes | None, resolutions: list[minutes.Resolution]) -> minutes.Texts:
    """What is typed; before anyone typed (no row yet), the 决议 and their 公示 periods."""
    if row is None:
        return minutes.Texts(
            resolutions=minutes.prefill_resolutions(resolutions),
            publicity=minutes.prefill_publicity(resolutions),
        )
    return minutes.Texts(row.resolutions, row.tasks, row.publicity, row.notes)


def record(
    session: Session, hall: Hall, meeting: Meeting, row: Minutes | None
) -> tuple[minutes.Record, list[minutes.Resolution]]:
    """The record of the meeting as it stands, with the minutes row's texts and signatures."""
    expected = _expected(session, meeting)
    present = sum(1 for m in expected if m.present)
    quorum = Fraction(meeting.quorum_num, meeting.quorum_den)
    answer = rules.attendance(meeting.kind, expected=len(expected), present=present, quorum=quorum)
    came, invited = _guests(session, meeting)
    ballots, resolutions = _ballots(session, meeting)
    chair, chair_roles, recorder = _officers(session, meeting)
    chair_sig = recorder_sig = None
    if row is not None and row.chair_signed_at is not None:
        chair_sig = minutes.Signature(chair, row.chair_signed_at)
    if row is not None and row.recorder_signed_at is not None:
        recorder_sig = minutes.Signature(recorder or "", row.recorder_signed_at)
    built = minutes.Record(
        hall_name=hall.name,
        issuer=issuer_record(hall),  # frozen with the signed minutes: not translated
        number=_number(session, meeting),
        meeting_id=meeting.id or 0,
        kind=meeting.kind,
        title=meeting.title,
        status=meeting.status.value,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        started_at=meeting.started_at,
        place=meeting.place,
        chair=chair,
        chair_roles=chair_roles,
        recorder=recorder,
        attendance=answer,
        expected=expected,
        guests_present=came,
        guests_invited=invited,
        agenda=_agenda(session, meeting),
        speeches=_speeches(session, meeting),
        ballots=ballots,
        texts=texts_of(row, resolutions),
        chair_signature=chair_sig,
        recorder_signature=recorder_sig,
    )
    return built, resolutions


@dataclass(frozen=True)
class View:
    """The minutes as shown: the document (frozen once signed, built now while a draft)."""

    row: Minutes | None
    document: dict[str, Any]
    signed: bool
    content_hash: str | None  # the frozen body's; None for a draft


def view(session: Session, hall: Hall, meeting: Meeting) -> View:
    row = get_minutes(session, meeting)
    if row is not None and row.status == MinutesStatus.SIGNED and row.body is not None:
        return View(row, json.loads(row.body), True, row.content_hash)
    built, _ = record(session, hall, meeting, row)
    return View(row, minutes.build(built), False, None)


@dataclass(frozen=True)
class CorrectionRow:
    correction: MinutesCorrection
    name: str  # who made it


def corrections(session: Session, row: Minutes | None) -> list[CorrectionRow]:
    if row is None or row.status != MinutesStatus.SIGNED:
        return []
    rows = session.exec(
        select(MinutesCorrection, User.name)
        .join(User, col(User.id) == MinutesCorrection.made_by_id)
        .where(MinutesCorrection.minutes_id == row.id)
        .order_by(col(MinutesCorrection.position))
    ).all()
    return [CorrectionRow(c, name) for c, name in rows]


def absence_choices(session: Session, meeting: Meeting) -> list[tuple[int, str, str]]:
    """(membership id, name, reason recorded) of the members 应到 not signed in, for the
    officers' absence form."""
    expected = queries.expected_members(meeting).subquery()
    rows = session.exec(
        select(Membership.id, User.name, Absence.reason)
        .join(User, col(User.id) == Membership.user_id)
        .join(
            Attendance,
            (col(Attendance.meeting_id) == meeting.id)
            & (col(Attendance.membership_id) == Membership.id),
            isouter=True,
        )
        .join(
            Absence,
            (col(Absence.meeting_id) == meeting.id) & (col(Absence.membership_id) == Membership.id),
            isouter=True,
        )
        .where(col(Membership.id).in_(select(expected.c.id)), col(Attendance.id).is_(None))
        .order_by(col(User.name), col(Membership.id))
    ).all()
    return [(mid or 0, name, reason or "") for mid, name, reason in rows]
