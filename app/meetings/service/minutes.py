"""The 会议纪要 of a meeting: absences with reasons, the typed parts, the two signatures that
freeze it, and the 更正 appended afterwards.

- record_absence: the chair, 主持人 or 记录人 records why a member 应到 was absent (one reason a
  member; again replaces it). Changes the document: clears both signatures; refused once signed.
- edit_minutes: the typed parts (决议事项, 任务分工, 公示安排, 其他) with the `version` the form
  was read at; a stale version is a Conflict (the page shows it with the text typed kept). Any
  edit clears both signatures; refused once signed.
- sign_minutes: the 主持人 or the 记录人 signs their own line, once the meeting has started (or
  its start time passed) and it is not cancelled. When both have signed: status signed,
  `locked_at`, `body` the canonical JSON of the whole document (the 应到 list as it stands
  included, so it is frozen), `content_hash` its sha256, and the audit event
  `meetings.sign_minutes` carries the hash (its id kept in `audit_event_id`).
- append_correction: after sign-off only, the chair, 主持人 or 记录人 appends a 更正 (≤ 1000
  characters) at the next position, with its own hash chained to the minutes' hash; audited.
  The signed body is never edited.

Concurrency: every use case locks the meeting row first (FOR UPDATE; SQLite's BEGIN IMMEDIATE
holds the database), then reads the minutes row: two signers, or an edit and a signature,
take turns, and the second sees what the first wrote (an edit after sign-off is refused, a
signature after an edit signs the edited text). The minutes row is created under that lock,
so its unique meeting_id is never raced.
"""

from __future__ import annotations

from sqlmodel import Session, func, select

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.db import locked
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.meetings import minutes, minutes_queries, policies, schemas
from app.meetings.models import (
    Absence,
    Meeting,
    MeetingStatus,
    Minutes,
    MinutesCorrection,
    MinutesStatus,
)

ABSENCE_REASON_MAX = 60


def _meeting(session: Session, access: HallAccess, meeting_id: int) -> Meeting:
    meeting = session.exec(
        locked(select(Meeting).where(Meeting.id == meeting_id, Meeting.hall_id == access.hall_id))
    ).first()
    if meeting is None:
        raise NotFound("not_found")
    return meeting


def _keeper(access: HallAccess, meeting: Meeting) -> None:
    policies.require(
        policies.can_keep_minutes(
            access, chair_id=meeting.chair_id, recorder_id=meeting.recorder_id
        )
    )


def _draft(session: Session, meeting: Meeting) -> Minutes | None:
    row = minutes_queries.get_minutes(session, meeting)
    if row is not None and row.status == MinutesStatus.SIGNED:
        raise Conflict("minutes_signed")
    return row


def _clear_signatures(row: Minutes) -> bool:
    cleared = row.chair_signed_at is not None or row.recorder_signed_at is not None
    row.chair_signed_at = row.chair_signed_by_id = None
    row.recorder_signed_at = row.recorder_signed_by_id = None
    return cleared


def _new_row(session: Session, hall: Hall, meeting: Meeting) -> Minutes:
    """The minutes row, made with the texts as first offered (the 决议 and their 公示)."""
    _, resolutions = minutes_queries.record(session, hall, meeting, None)
    texts = minutes_queries.texts_of(None, resolutions)
    return Minutes(
        hall_id=meeting.hall_id,
        meeting_id=meeting.id or 0,
        resolutions=texts.resolutions,
        tasks=texts.tasks,
        publicity=texts.publicity,
        notes=texts.notes,
        version=1,
    )


def _hall(session: Session, access: HallAccess) -> Hall:
    hall = session.get(Hall, access.hall_id)
    if hall is None:
        raise NotFound("not_found")
    return hall


def record_absence(
    *, session: Session, access: HallAccess, actor: User, meeting_id: int, form: schemas.AbsenceForm
) -> Absence:
    """Record why a member 应到 was absent (请假, 出差 …), or change the reason.

    Rules: the chair, 主持人 or 记录人; the member is one of those 应到 and not signed in; the
    reason is 1–60 characters; one reason a member (recording again replaces it); the minutes
    are still a draft, and both signatures are cleared (the document changed).
    Raises: NotFound, ValidationFailed (membership_id, reason), Conflict("minutes_signed").
    """
    meeting = _meeting(session, access, meeting_id)
    _keeper(access, meeting)
    row = _draft(session, meeting)
    reason = form.reason.strip()
    errors: dict[str, str] = {}
    absent = {mid for mid, _, _ in minutes_queries.absence_choices(session, meeting)}
    if form.membership_id is None or form.membership_id not in absent:
        errors["membership_id"] = "member_not_absent"
    if not reason:
        errors["reason"] = "required"
    elif len(reason) > ABSENCE_REASON_MAX:
        errors["reason"] = "too_long"
    if errors:
        raise ValidationFailed(errors)
    assert form.membership_id is not None
    absence = session.exec(
        select(Absence).where(
            Absence.meeting_id == meeting_id, Absence.membership_id == form.membership_id
        )
    ).first()
    if absence is None:
        absence = Absence(
            hall_id=meeting.hall_id,
            meeting_id=meeting_id,
            membership_id=form.membership_id,
            reason=reason,
            recorded_by_id=actor.id or 0,
        )
    absence.reason = reason
    absence.recorded_by_id = actor.id or 0
    session.add(absence)
    cleared = False
    if row is not None:
        cleared = _clear_signatures(row)
        row.updated_at, row.updated_by_id = clock.now(), actor.id
        session.add(row)
    audit.record(
        session,
        action="meetings.record_absence",
        actor_id=actor.id,
        hall_id=meeting.hall_id,
        subject_type="meeting",
        subject_id=meeting_id,
        data={"membership": form.membership_id, "reason": reason, "signatures_cleared": cleared},
    )
    session.commit()
    return absence


def edit_minutes(
    *, session: Session, access: HallAccess, actor: User, meeting_id: int, form: schemas.MinutesForm
) -> Minutes:
    """Save the typed parts of the minutes.

    Rules: the chair, 主持人 or 记录人; the form's `version` is the minutes' version now (0 before
    the first save), else someone saved in between (Conflict, nothing written); each text is
    at most 5000 characters and the task table at most 50 lines; the minutes are still a
    draft; the version goes up by one and both signatures are cleared.
    Raises: NotFound, ValidationFailed (per field), Conflict("minutes_stale" |
    "minutes_signed").
    """
    meeting = _meeting(session, access, meeting_id)
    _keeper(access, meeting)
    row = _draft(session, meeting)
    if (row.version if row is not None else 0) != form.version:
        raise Conflict("minutes_stale")
    texts = {
        "resolutions": form.resolutions.strip(),
        "tasks": form.tasks.strip(),
        "publicity": form.publicity.strip(),
        "notes": form.notes.strip(),
    }
    errors = {key: "too_long" for key, text in texts.items() if len(text) > minutes.TEXT_MAX}
    if "tasks" not in errors and len(minutes.parse_tasks(texts["tasks"])) > minutes.TASKS_MAX:
        errors["tasks"] = "minutes_too_many_tasks"
    if errors:
        raise ValidationFailed(errors, n=minutes.TASKS_MAX)
    if row is None:
        row = Minutes(hall_id=meeting.hall_id, meeting_id=meeting_id, version=0)
    row.resolutions = texts["resolutions"]
    row.tasks = texts["tasks"]
    row.publicity = texts["publicity"]
    row.notes = texts["notes"]
    row.version += 1
    cleared = _clear_signatures(row)
    row.updated_at, row.updated_by_id = clock.now(), actor.id
    session.add(row)
    audit.record(
        session,
        action="meetings.edit_minutes",
        actor_id=actor.id,
        hall_id=meeting.hall_id,
        subject_type="meeting",
        subject_id=meeting_id,
        data={"version": row.version, "signatures_cleared": cleared},
    )
    session.commit()
    return row


def _may_sign(meeting: Meeting) -> None:
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict("meeting_cancelled")
    if not minutes_queries.can_sign_now(meeting):
        raise Conflict("minutes_before_meeting")


def sign_minutes(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    meeting_id: int,
    form: schemas.SignMinutesForm,
) -> Minutes:
    """The 主持人 or the 记录人 signs their own line; the second signature freezes the minutes.

    Rules: only the meeting's 主持人 signs the 主持人 line and its 记录人 the 记录人 line, as
    verified members of the hall; the meeting is not cancelled and has started (or its start
    time passed); a line signed already stays as it was (idempotent); when both lines are
    signed the whole document is frozen: `body` its canonical JSON, `content_hash` its sha256,
    `locked_at` now, and the audit event carries the hash.
    Raises: NotFound (not this line's officer), ValidationFailed(line), Conflict
    ("meeting_cancelled" | "minutes_before_meeting" | "minutes_no_recorder" |
    "minutes_signed").
    """
    meeting = _meeting(session, access, meeting_id)
    if form.line is None:
        raise ValidationFailed({"line": "required"})
    line = form.line.value
    lines = policies.minutes_lines(
        access, chair_id=meeting.chair_id, recorder_id=meeting.recorder_id
    )
    if line == "recorder" and meeting.recorder_id is None:
        policies.require(policies.can_see(access))
        raise Conflict("minutes_no_recorder")
    policies.require(line in lines)
    _may_sign(meeting)
    hall = _hall(session, access)
    row = _draft(session, meeting)
    if row is None:
        row = _new_row(session, hall, meeting)
    now = clock.now()
    if line == "chair" and row.chair_signed_at is None:
        row.chair_signed_at, row.chair_signed_by_id = now, actor.id
    elif line == "recorder" and row.recorder_signed_at is None:
        row.recorder_signed_at, row.recorder_signed_by_id = now, actor.id
    else:
        return row  # signed already: as it was
    data: dict[str, object] = {"line": line, "version": row.version}
    if row.chair_signed_at is not None and row.recorder_signed_at is not None:
        built, _ = minutes_queries.record(session, hall, meeting, row)
        body = minutes.canonical(minutes.build(built))
        row.status = MinutesStatus.SIGNED
        row.locked_at = now
        row.body = body
        row.content_hash = minutes.digest(body)
        data["content_hash"] = row.content_hash
    session.add(row)
    event = audit.record(
        session,
        action="meetings.sign_minutes",
        actor_id=actor.id,
        hall_id=meeting.hall_id,
        subject_type="meeting",
        subject_id=meeting_id,
        data=data,
    )
    if row.status == MinutesStatus.SIGNED:
        row.audit_event_id = event.id
        session.add(row)
    session.commit()
    return row


def append_correction(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    meeting_id: int,
    form: schemas.CorrectionForm,
) -> MinutesCorrection:
    """Append a 更正 to signed minutes.

    Rules: the chair, 主持人 or 记录人; only after sign-off; 1–1000 characters; numbered on from
    the last (1, 2, …); its own hash (sha256 over the minutes' hash, its number, text and
    time) goes into the audit chain with it. The signed body is not touched.
    Raises: NotFound, ValidationFailed(text), Conflict("minutes_not_signed").
    """
    meeting = _meeting(session, access, meeting_id)
    _keeper(access, meeting)
    row = minutes_queries.get_minutes(session, meeting)
    if row is None or row.status != MinutesStatus.SIGNED or row.content_hash is None:
        raise Conflict("minutes_not_signed")
    text = form.text.strip()
    if not text:
        raise ValidationFailed({"text": "required"})
    if len(text) > minutes.CORRECTION_MAX:
        raise ValidationFailed({"text": "too_long"})
    last = session.exec(
        select(func.max(MinutesCorrection.position)).where(MinutesCorrection.minutes_id == row.id)
    ).one()
    position = int(last or 0) + 1
    now = clock.now()
    correction = MinutesCorrection(
        hall_id=meeting.hall_id,
        minutes_id=row.id or 0,
        position=position,
        text=text,
        made_by_id=actor.id or 0,
        made_at=now,
        content_hash=minutes.correction_hash(
            minutes_hash=row.content_hash, position=position, text=text, at=now
        ),
    )
    session.add(correction)
    event = audit.record(
        session,
        action="meetings.append_correction",
        actor_id=actor.id,
        hall_id=meeting.hall_id,
        subject_type="meeting",
        subject_id=meeting_id,
        data={
            "position": position,
            "content_hash": correction.content_hash,
            "minutes_hash": row.content_hash,
        },
    )
    correction.audit_event_id = event.id
    session.add(correction)
    session.commit()
    return correction
