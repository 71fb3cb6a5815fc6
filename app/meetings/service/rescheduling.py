"""Rescheduling a meeting (改期 / 改地点): a new time, a new place or both, and the notice goes
out again.

- reschedule_meeting: the chair moves a scheduled meeting, with a reason told to the invitees.
  The new notice is held to the hall's `meeting_notice_days` exactly as a new meeting is
  (scheduling._check_span and scheduling._check_notice): a notice shorter than the hall's
  needs a reason of its own, recorded as the meeting's `short_notice_reason` (and cleared when
  the new notice is long enough). `notice_count` counts the notices sent (the calendar file's
  SEQUENCE is `notice_count - 1`, so a phone updates the event it holds), `rescheduled_at` and
  `notice_sent_at` are now.

Concurrency: the meeting row is locked (FOR UPDATE, as cancel_meeting does): a sign-in holds it
FOR SHARE, so a sign-in under way finishes first, and one arriving meanwhile waits and then
checks its window against the new time; a cancellation and a reschedule wait for each other,
and the second finds the meeting as the first left it (a cancelled meeting is not moved).
SQLite's BEGIN IMMEDIATE serialises them all.
"""

from __future__ import annotations

from sqlmodel import Session

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.meetings import policies, schemas
from app.meetings.models import Meeting, MeetingStatus
from app.meetings.service.scheduling import (
    _check_notice,
    _check_span,
    _everyone_told,
    _meeting,
    _notify,
    _text_problem,
)


def _new_span(meeting: Meeting, form: schemas.RescheduleForm) -> tuple[str, str]:
    """The start and end as typed, an empty field keeping the meeting's (a new start alone
    keeps the meeting's length)."""
    starts_raw = form.starts_at.strip() or meeting.starts_at.isoformat()
    if form.ends_at.strip():
        return starts_raw, form.ends_at
    new_start = schemas.parse_time(form.starts_at) if form.starts_at.strip() else None
    if new_start is None:
        return starts_raw, meeting.ends_at.isoformat()
    return starts_raw, (new_start + (meeting.ends_at - meeting.starts_at)).isoformat()


def reschedule_meeting(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    meeting_id: int,
    form: schemas.RescheduleForm,
) -> Meeting:
    """The chair moves a scheduled meeting to a new time and/or place; the notice goes out
    again to every invitee, in the app.

    Rules: only a scheduled meeting that has not started (a cancelled or held one: Conflict);
    a reason is given (told to the invitees, recorded); something changes; the new start is in
    the future and the meeting lasts at most 12 hours; the new notice (the start minus now) is
    at least the hall's `meeting_notice_days`, or `short_notice_reason` is stated and recorded.
    Raises: NotFound (not the chair, not this hall's), Conflict ("meeting_cancelled" |
    "meeting_held"), ValidationFailed.
    """
    policies.require(policies.can_schedule(access))
    meeting = _meeting(session, access.hall_id, meeting_id, lock=True)
    if meeting.status != MeetingStatus.SCHEDULED:
        raise Conflict(f"meeting_{meeting.status.value}")
    if meeting.started_at is not None:  # the live meeting is under way
        raise Conflict("meeting_held")
    hall = session.get(Hall, access.hall_id)
    if hall is None:
        raise NotFound("not_found")
    now = clock.now()
    errors: dict[str, str] = {}
    if problem := _text_problem(form.reason, schemas.REASON_MAX):
        errors["reason"] = problem
    place = form.place.strip() or meeting.place
    if len(place) > schemas.PLACE_MAX:
        errors["place"] = "too_long"
    starts, ends = _check_span(*_new_span(meeting, form), now, errors)
    notice = _check_notice(hall, starts, now, form.short_notice_reason, errors)
    unchanged = (starts, ends, place) == (meeting.starts_at, meeting.ends_at, meeting.place)
    if unchanged and not {"starts_at", "ends_at", "place"} & errors.keys():
        errors["starts_at"] = "reschedule_unchanged"
    if errors:
        raise ValidationFailed(errors, days=hall.meeting_notice_days)
    before = {
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        "place": meeting.place,
    }
    meeting.starts_at, meeting.ends_at, meeting.place = starts, ends, place
    meeting.short_notice_reason = None if notice.met else form.short_notice_reason.strip()
    meeting.rescheduled_at = now
    meeting.notice_sent_at = now
    meeting.notice_count += 1
    session.add(meeting)
    invited = _everyone_told(session, meeting, actor)
    _notify(session, meeting, invited, "meeting_rescheduled")
    audit.record(
        session,
        action="meetings.reschedule_meeting",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="meeting",
        subject_id=meeting.id,
        data={
            "from": before,
            "to": {"starts_at": starts.isoformat(), "ends_at": ends.isoformat(), "place": place},
            "reason": form.reason.strip(),
            "notice_seconds": int(notice.given.total_seconds()),
            "short_notice_reason": meeting.short_notice_reason,
            "notice_count": meeting.notice_count,
            "notified": len(invited),
        },
    )
    session.commit()
    return meeting
