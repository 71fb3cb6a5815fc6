"""Scheduling a meeting, cancelling it, and signing people in.

- schedule_meeting: the chair schedules a meeting (kind, time, place, 主持人, 记录人, agenda,
  invitees by role and guests); the notice goes out in the app at once, and a notice shorter
  than the hall's needs a reason, which is recorded.
- cancel_meeting: the chair cancels it with a reason; the invitees are told.
- sign_in_self: a member signs in with the meeting's QR token, within the sign-in window;
  idempotent.
- sign_in_by_chair: the chair (or the meeting's 主持人 / 记录人) signs in a member without a
  phone (optionally through a proxy holder, where the kind allows), or a guest by name and
  organisation; idempotent.

Concurrency: one sign-in per member is the unique constraint (meeting, membership). On SQLite
write transactions are BEGIN IMMEDIATE, so a second sign-in sees the first; on PostgreSQL two
concurrent inserts meet at the unique index, the second fails when the first commits, and is
answered with the first's row. No meeting row lock: sign-ins of different people never wait
for each other but at the audit chain.

Notifications reuse the issues' in-app notices (app.issues.notices, without an issue): the
invitee's bell shows "会议通知" / "会议改期" / "会议取消" with the meeting's title, time and
place, and links to the meeting's page (a cancelled meeting's page says it is cancelled).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.db import locked, shared_lock
from app.halls.models import Hall, Membership, MembershipRole, MembershipStatus, Role
from app.halls.policies import HallAccess
from app.issues import notices
from app.issues import service as issues
from app.issues.models import Issue
from app.meetings import policies, queries, rules, schemas
from app.meetings.models import (
    Attendance,
    Meeting,
    MeetingInvitee,
    MeetingItem,
    MeetingStatus,
    SignInHow,
)
from app.meetings.schemas import BEIJING
from app.voting.models import Ballot, BallotStatus, RollEntry


def _text_problem(value: str, maximum: int, *, required: bool = True) -> str | None:
    value = value.strip()
    if not value:
        return "required" if required else None
    return "too_long" if len(value) > maximum else None


def _meeting(
    session: Session, hall_id: int, meeting_id: int, *, lock: bool = False, share: bool = False
) -> Meeting:
    """The meeting; `lock` (FOR UPDATE) to change it, `share` (FOR SHARE) to sign someone in:
    sign-ins do not wait for each other, and a cancellation waits for them, and they for it."""
    query = select(Meeting).where(Meeting.id == meeting_id, Meeting.hall_id == hall_id)
    if lock:
        query = locked(query)
    elif share:
        query = shared_lock(query)
    meeting = session.exec(query).first()
    if meeting is None:
        raise NotFound("not_found")
    return meeting


def _verified(session: Session, hall_id: int, ids: Iterable[int]) -> dict[int, int]:
    """membership id → user id of those of `ids` that are verified members of the hall."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.exec(
        select(Membership.id, Membership.user_id).where(
            Membership.hall_id == hall_id,
            Membership.status == MembershipStatus.VERIFIED,
            col(Membership.id).in_(wanted),
        )
    ).all()
    return {mid: uid for mid, uid in rows if mid is not None}


def _member_user_ids(session: Session, hall_id: int, user_ids: Iterable[int | None]) -> set[int]:
    wanted = {uid for uid in user_ids if uid is not None}
    if not wanted:
        return set()
    return set(
        session.exec(
            select(Membership.user_id).where(
                Membership.hall_id == hall_id,
                Membership.status == MembershipStatus.VERIFIED,
                col(Membership.user_id).in_(wanted),
            )
        ).all()
    )


def _when(meeting: Meeting) -> str:
    start = meeting.starts_at.astimezone(BEIJING)
    return f"{meeting.title} · {start:%m-%d %H:%M} · {meeting.place}"[:200]


def _notify(session: Session, meeting: Meeting, user_ids: Iterable[int], kind: str) -> None:
    notices.send(
        session,
        hall_id=meeting.hall_id,
        user_ids=user_ids,
        kind=kind,
        text=_when(meeting),
        meeting_id=meeting.id,
    )


def _invited_user_ids(session: Session, meeting: Meeting) -> list[int]:
    return list(
        session.exec(
            select(Membership.user_id)
            .join(MeetingInvitee, col(MeetingInvitee.membership_id) == Membership.id)
            .where(MeetingInvitee.meeting_id == meeting.id)
        ).all()
    )


def _told(session: Session, meeting: Meeting, actor: User) -> set[int]:
    """Who is expected at a meeting: its invitees and its 主持人 and 记录人 (who may hold no
    invited role), but not the chair who scheduled it."""
    officers = {meeting.chair_id, meeting.recorder_id}
    told = set(_invited_user_ids(session, meeting)) | {u for u in officers if u is not None}
    return told - {actor.id or 0}


def _everyone_told(session: Session, meeting: Meeting, actor: User) -> set[int]:
    """Who heard of the meeting (those expected and the agenda's followers): they hear of its
    改期 or cancellation, but the chair who did it."""
    return (_told(session, meeting, actor) | _agenda_followers(session, meeting)) - {actor.id or 0}


def _agenda_followers(session: Session, meeting: Meeting) -> set[int]:
    """Who follows an issue on the meeting's agenda (its proposer, co-signers, commenters)."""
    agenda = session.exec(
        select(MeetingItem.issue_id).where(
            MeetingItem.meeting_id == meeting.id, col(MeetingItem.issue_id).is_not(None)
        )
    ).all()
    return issues.followers_of(session, [i for i in agenda if i is not None]) if agenda else set()


# --- scheduling --------------------------------------------------------------------------------


@dataclass
class _Plan:
    """A checked form: what scheduling writes."""

    starts_at: datetime
    ends_at: datetime
    notice: rules.Notice
    items: list[tuple[int | None, str]]
    invitees: dict[int, Role]  # membership id → the role it was invited as
    guests: list[schemas.GuestIn]


def _check_times(
    form: schemas.MeetingForm, now: datetime, errors: dict[str, str]
) -> tuple[datetime, datetime]:
    return _check_span(form.starts_at, form.ends_at, now, errors)


def _check_span(
    starts_raw: str, ends_raw: str, now: datetime, errors: dict[str, str]
) -> tuple[datetime, datetime]:
    """The start in the future, the end after it and at most LONGEST_MEETING later (also the
    rule a reschedule is held to)."""
    starts = schemas.parse_time(starts_raw)
    ends = schemas.parse_time(ends_raw)
    if starts is None:
        errors["starts_at"] = "time_invalid"
    elif starts <= now:
        errors["starts_at"] = "meeting_in_past"
    if ends is None:
        errors["ends_at"] = "time_invalid"
    elif starts is not None and not starts < ends <= starts + rules.LONGEST_MEETING:
        errors["ends_at"] = "meeting_length_invalid"
    return starts or now, ends or now


def _check_agenda(
    session: Session, hall_id: int, form: schemas.MeetingForm, errors: dict[str, str]
) -> list[tuple[int | None, str]]:
    items: list[tuple[int | None, str]] = []
    page = isinstance(form, schemas.MeetingPageForm)
    key = "free_items_text" if page else "free_items"  # where the page or the API typed them
    issue_ids = list(dict.fromkeys(form.issue_ids))
    if issue_ids:
        found = set(
            session.exec(
                select(Issue.id).where(Issue.hall_id == hall_id, col(Issue.id).in_(issue_ids))
            ).all()
        )
        if found != set(issue_ids):
            errors["issue_ids"] = "issue_unknown"
        items += [(issue_id, "") for issue_id in issue_ids]
    free = list(form.free_items)
    if isinstance(form, schemas.MeetingPageForm):
        free += form.free_items_text.splitlines()
    for line in free:
        if not line.strip():
            continue
        if len(line.strip()) > schemas.TITLE_MAX:
            errors[key] = "too_long"
        items.append((None, line.strip()[: schemas.TITLE_MAX]))
    if not items:
        errors[key] = "agenda_required"
    elif len(items) > schemas.ITEMS_MAX:
        errors[key] = "agenda_too_long"
    return items


def _check_invitees(
    session: Session, hall_id: int, form: schemas.MeetingForm, errors: dict[str, str]
) -> tuple[dict[int, Role], list[schemas.GuestIn]]:
    # Those expected are always invited (first, so they are invited as that role): the role's
    # holders, or at a 居民会议 every resident (every verified member holds 居民).
    expected = rules.expected_role(form.kind) if form.kind else None
    if form.kind is not None and rules.expected_by(form.kind) == rules.Expected.RESIDENTS:
        expected = Role.RESIDENT.value
    roles = list(dict.fromkeys(([Role(expected)] if expected else []) + form.invite_roles))
    invitees: dict[int, Role] = {}
    if roles:
        rows = session.exec(
            select(MembershipRole.membership_id, MembershipRole.role)
            .join(Membership, col(Membership.id) == MembershipRole.membership_id)
            .where(
                Membership.hall_id == hall_id,
                Membership.status == MembershipStatus.VERIFIED,
                col(MembershipRole.role).in_(roles),
            )
        ).all()
        rank = {role.value: i for i, role in enumerate(roles)}
        for mid, role in sorted(rows, key=lambda r: rank[str(r[1])]):
            invitees.setdefault(mid, Role(role))
    key = "guests_text" if isinstance(form, schemas.MeetingPageForm) else "guests"
    guests = list(form.guests)
    if isinstance(form, schemas.MeetingPageForm):
        typed, bad_line = schemas.guest_lines(form.guests_text)
        guests += typed
        if bad_line is not None:
            errors[key] = "guest_line_invalid"
    for guest in guests:
        problem = _text_problem(guest.name, schemas.GUEST_NAME_MAX) or _text_problem(
            guest.organisation, schemas.GUEST_ORG_MAX
        )
        if problem or guest.kind is None:
            errors.setdefault(key, problem or "guest_kind_required")
    if len(guests) > schemas.GUESTS_MAX:
        errors[key] = "too_many_guests"
    return invitees, guests


def _check_notice(
    hall: Hall, starts: datetime, now: datetime, reason_raw: str, errors: dict[str, str]
) -> rules.Notice:
    """The notice given now against the hall's `meeting_notice_days`: shorter needs a reason
    (also the rule a reschedule is held to, whose notice goes out again)."""
    notice = rules.notice(starts_at=starts, sent_at=now, notice_days=hall.meeting_notice_days)
    reason = reason_raw.strip()
    if len(reason) > schemas.REASON_MAX:
        errors["short_notice_reason"] = "too_long"
    elif "starts_at" not in errors and not notice.met and not reason:
        errors["short_notice_reason"] = "short_notice_reason_required"
    return notice


def _check_form(
    session: Session, hall: Hall, form: schemas.MeetingForm, now: datetime
) -> tuple[dict[str, str], _Plan]:
    errors: dict[str, str] = {}
    if form.kind is None:
        errors["kind"] = "meeting_kind_required"
    if problem := _text_problem(form.title, schemas.TITLE_MAX):
        errors["title"] = problem
    if problem := _text_problem(form.place, schemas.PLACE_MAX):
        errors["place"] = problem
    starts, ends = _check_times(form, now, errors)
    notice = _check_notice(hall, starts, now, form.short_notice_reason, errors)
    hall_id = hall.id or 0
    officers = {"chair_id": form.chair_id, "recorder_id": form.recorder_id}
    members = _member_user_ids(session, hall_id, officers.values())
    for key, user_id in officers.items():
        if user_id is not None and user_id not in members:
            errors[key] = "meeting_officer_not_member"
    items = _check_agenda(session, hall_id, form, errors)
    invitees, guests = _check_invitees(session, hall_id, form, errors)
    return errors, _Plan(starts, ends, notice, items, invitees, guests)


def schedule_meeting(
    *, session: Session, access: HallAccess, actor: User, form: schemas.MeetingForm
) -> Meeting:
    """The chair schedules a meeting and its notice goes out (in the app) at once.

    Rules: the start is in the future and the meeting lasts at most 12 hours; the notice (the
    start minus now) is at least the hall's `meeting_notice_days`, or a reason is stated and
    recorded; the agenda has at least one item (issues of this hall, then free items); the
    members holding the kind's expected role, and those of the roles chosen, are invited;
    guests have a name, an organisation and a kind. The meeting keeps the hall's quorum
    fraction of the time.
    Raises: NotFound (not the chair), ValidationFailed.
    """
    policies.require(policies.can_schedule(access))
    hall = session.get(Hall, access.hall_id)
    if hall is None:
        raise NotFound("not_found")
    now = clock.now()
    errors, plan = _check_form(session, hall, form, now)
    if errors:
        raise ValidationFailed(errors, days=hall.meeting_notice_days)
    assert form.kind is not None
    meeting = Meeting(
        hall_id=access.hall_id,
        kind=form.kind,
        title=form.title.strip(),
        starts_at=plan.starts_at,
        ends_at=plan.ends_at,
        place=form.place.strip(),
        chair_id=form.chair_id or actor.id or 0,
        recorder_id=form.recorder_id,
        notice_sent_at=now,
        short_notice_reason=None if plan.notice.met else form.short_notice_reason.strip(),
        signin_token=secrets.token_urlsafe(32),
        quorum_num=hall.council_quorum_num,
        quorum_den=hall.council_quorum_den,
        created_by_id=actor.id or 0,
        created_at=now,
    )
    session.add(meeting)
    session.flush()
    meeting_id = meeting.id or 0
    for position, (issue_id, title) in enumerate(plan.items, start=1):
        session.add(
            MeetingItem(
                hall_id=access.hall_id,
                meeting_id=meeting_id,
                position=position,
                issue_id=issue_id,
                title=title,
            )
        )
    for membership_id, role in plan.invitees.items():
        session.add(
            MeetingInvitee(
                hall_id=access.hall_id,
                meeting_id=meeting_id,
                membership_id=membership_id,
                role=role,
            )
        )
    for guest in plan.guests:
        session.add(
            MeetingInvitee(
                hall_id=access.hall_id,
                meeting_id=meeting_id,
                guest_name=guest.name.strip(),
                guest_org=guest.organisation.strip(),
                guest_kind=guest.kind,
            )
        )
    session.flush()
    expected = _told(session, meeting, actor)
    _notify(session, meeting, expected, "meeting_scheduled")
    # Those whose issue is on the agenda hear when it will be discussed (not as invitees).
    _notify(
        session,
        meeting,
        _agenda_followers(session, meeting) - expected - {actor.id or 0},
        "meeting_agenda",
    )
    audit.record(
        session,
        action="meetings.schedule_meeting",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="meeting",
        subject_id=meeting_id,
        data={
            "kind": meeting.kind.value,
            "starts_at": meeting.starts_at.isoformat(),
            "notice_seconds": int(plan.notice.given.total_seconds()),
            "short_notice_reason": meeting.short_notice_reason,
            "items": len(plan.items),
            "invitees": len(plan.invitees),
            "guests": len(plan.guests),
        },
    )
    session.commit()
    return meeting


def cancel_meeting(
    *, session: Session, access: HallAccess, actor: User, meeting_id: int, form: schemas.CancelForm
) -> Meeting:
    """The chair cancels a scheduled meeting, with a reason; the invitees are told.
    Raises: NotFound, ValidationFailed (reason), Conflict (not scheduled)."""
    policies.require(policies.can_schedule(access))
    meeting = _meeting(session, access.hall_id, meeting_id, lock=True)
    if meeting.status != MeetingStatus.SCHEDULED:
        raise Conflict(f"meeting_{meeting.status.value}")
    if problem := _text_problem(form.reason, schemas.REASON_MAX):
        raise ValidationFailed({"reason": problem})
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancelled_at = clock.now()
    meeting.cancel_reason = form.reason.strip()
    session.add(meeting)
    _notify(session, meeting, _everyone_told(session, meeting, actor), "meeting_cancelled")
    audit.record(
        session,
        action="meetings.cancel_meeting",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="meeting",
        subject_id=meeting.id,
        data={"reason": meeting.cancel_reason},
    )
    session.commit()
    return meeting


# --- sign-in -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    attendance: Attendance
    created: bool  # False: already signed in (the earlier sign-in stands)


def _existing(session: Session, meeting_id: int, membership_id: int) -> Attendance | None:
    return session.exec(
        select(Attendance).where(
            Attendance.meeting_id == meeting_id, Attendance.membership_id == membership_id
        )
    ).first()


def _present_on_ballots(session: Session, meeting: Meeting, membership_id: int) -> None:
    """The meeting's sign-in is its ballots' attendance (实到): mark the member present on
    the frozen roll of every ballot of the meeting open now. FOR SHARE on those ballots: a
    close (FOR UPDATE) waits for this sign-in, or this waits for the close and then finds the
    ballot closed; an opening holds the meeting (FOR UPDATE) while it freezes the roll."""
    open_ids = session.exec(
        shared_lock(
            select(Ballot.id).where(
                Ballot.hall_id == meeting.hall_id,
                Ballot.meeting_id == meeting.id,
                Ballot.status == BallotStatus.OPEN,
            )
        )
    ).all()
    if not open_ids:
        return
    keys = queries.present(session, meeting, membership_id=membership_id).keys()
    session.execute(
        update(RollEntry)
        .where(col(RollEntry.ballot_id).in_(open_ids), col(RollEntry.voter_key).in_(keys))
        .values(present=True)
    )


def _insert(
    session: Session, actor: User, meeting: Meeting, row: Attendance, action: str
) -> SignIn:
    """Store a member's sign-in, or answer with theirs if it is already there (or a concurrent
    one won the unique constraint). Audited in the same transaction."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        if row.membership_id is not None:
            earlier = _existing(session, meeting.id or 0, row.membership_id)
            if earlier is not None:
                return SignIn(earlier, created=False)
        raise ValidationFailed({"proxy_membership_id": "proxy_limit"}) from None
    if row.membership_id is not None:
        _present_on_ballots(session, meeting, row.membership_id)
    audit.record(
        session,
        action=action,
        actor_id=actor.id,
        hall_id=meeting.hall_id,
        subject_type="meeting",
        subject_id=meeting.id,
        data={
            "membership": row.membership_id,
            "proxy": row.proxy_membership_id,
            "guest": row.guest_kind.value if row.guest_kind else None,
            "how": row.how.value,
        },
    )
    session.commit()
    return SignIn(row, created=True)


def sign_in_self(
    *, session: Session, access: HallAccess, actor: User, meeting_id: int, token: str
) -> SignIn:
    """签到 on one's own phone with the meeting's QR token.

    Rules: only verified members of the hall (others: not found); the token must be the
    meeting's; only a scheduled meeting, within the window (from an hour before the start
    until its end); signing in again answers with the first sign-in (idempotent).
    Raises: NotFound, NotAllowed("signin_token_invalid"), Conflict("meeting_cancelled" |
    "signin_closed").
    """
    policies.require(policies.can_sign_in_self(access))
    meeting = _meeting(session, access.hall_id, meeting_id, share=True)
    if not secrets.compare_digest(token.encode(), meeting.signin_token.encode()):
        raise NotAllowed("signin_token_invalid")
    if meeting.status != MeetingStatus.SCHEDULED:
        raise Conflict(f"meeting_{meeting.status.value}")
    if not rules.self_signin_open(
        starts_at=meeting.starts_at, ends_at=meeting.ends_at, now=clock.now()
    ):
        raise Conflict("signin_closed")
    membership_id = access.membership_id or 0
    if (earlier := _existing(session, meeting_id, membership_id)) is not None:
        return SignIn(earlier, created=False)
    row = Attendance(
        hall_id=meeting.hall_id,
        meeting_id=meeting_id,
        membership_id=membership_id,
        how=SignInHow.SELF_QR,
        recorded_by_id=actor.id or 0,
    )
    return _insert(session, actor, meeting, row, "meetings.sign_in_self")


def _guest_row(meeting: Meeting, actor: User, guest: schemas.GuestIn) -> Attendance:
    errors = {
        key: problem
        for key, problem in (
            ("guest_name", _text_problem(guest.name, schemas.GUEST_NAME_MAX)),
            ("guest_org", _text_problem(guest.organisation, schemas.GUEST_ORG_MAX)),
            ("guest_kind", None if guest.kind else "guest_kind_required"),
        )
        if problem
    }
    if errors:
        raise ValidationFailed(errors)
    assert guest.kind is not None
    return Attendance(
        hall_id=meeting.hall_id,
        meeting_id=meeting.id or 0,
        guest_name=guest.name.strip(),
        guest_org=guest.organisation.strip(),
        guest_kind=guest.kind,
        how=SignInHow.BY_CHAIR,
        recorded_by_id=actor.id or 0,
    )


def _check_proxy(session: Session, meeting: Meeting, principal: int, holder: int) -> None:
    if not rules.allows_proxy(meeting.kind):
        raise ValidationFailed({"proxy_membership_id": "proxy_not_allowed"})
    if holder == principal or not _verified(session, meeting.hall_id, [holder]):
        raise ValidationFailed({"proxy_membership_id": "member_unknown"})
    own = _existing(session, meeting.id or 0, holder)
    if own is None or own.proxy_membership_id is not None:
        raise ValidationFailed({"proxy_membership_id": "proxy_holder_absent"})
    held = session.exec(
        select(Attendance.id).where(
            Attendance.meeting_id == meeting.id, Attendance.proxy_membership_id == holder
        )
    ).first()
    if held is not None:
        raise ValidationFailed({"proxy_membership_id": "proxy_limit"})


def sign_in_by_chair(
    *, session: Session, access: HallAccess, actor: User, meeting_id: int, form: schemas.SignInForm
) -> SignIn:
    """The chair (or the meeting's 主持人 / 记录人) signs someone in: a verified member of the
    hall (without a phone, or from the paper sheet), or a guest by name, organisation and kind.

    Rules: only a scheduled meeting, from an hour before the start until a day after the end;
    a proxy (委托) only at a 居民会议, held by a member already signed in in person, one proxy
    each, and the principal counts once; a member signed in already keeps the first sign-in
    (idempotent), a guest with the same name and organisation too.
    Raises: NotFound, ValidationFailed, Conflict("meeting_cancelled" | "signin_closed").
    """
    meeting = _meeting(session, access.hall_id, meeting_id, share=True)
    policies.require(
        policies.can_sign_in_others(
            access, chair_id=meeting.chair_id, recorder_id=meeting.recorder_id
        )
    )
    if meeting.status != MeetingStatus.SCHEDULED:
        raise Conflict(f"meeting_{meeting.status.value}")
    if not rules.chair_signin_open(
        starts_at=meeting.starts_at, ends_at=meeting.ends_at, now=clock.now()
    ):
        raise Conflict("signin_closed")
    if form.membership_id is None:
        row = _guest_row(meeting, actor, form.guest or schemas.GuestIn())
        same = session.exec(
            select(Attendance).where(
                Attendance.meeting_id == meeting_id,
                Attendance.guest_name == row.guest_name,
                Attendance.guest_org == row.guest_org,
            )
        ).first()
        if same is not None:
            return SignIn(same, created=False)
        return _insert(session, actor, meeting, row, "meetings.sign_in_by_chair")
    if not _verified(session, meeting.hall_id, [form.membership_id]):
        raise ValidationFailed({"membership_id": "member_unknown"})
    if (earlier := _existing(session, meeting_id, form.membership_id)) is not None:
        return SignIn(earlier, created=False)
    if form.proxy_membership_id is not None:
        _check_proxy(session, meeting, form.membership_id, form.proxy_membership_id)
    row = Attendance(
        hall_id=meeting.hall_id,
        meeting_id=meeting_id,
        membership_id=form.membership_id,
        proxy_membership_id=form.proxy_membership_id,
        how=SignInHow.BY_CHAIR,
        recorded_by_id=actor.id or 0,
    )
    return _insert(session, actor, meeting, row, "meetings.sign_in_by_chair")
