"""The meeting as it is held (live mode): opening and closing it, the item under discussion,
the speaker queue (发言排队) and the recorder's speeches (发言摘要).

- start_meeting / end_meeting: the chair, the meeting's 主持人 or 记录人 opens the meeting (from
  the sign-in window's opening, an hour before the start; never a cancelled one) and closes
  it: the meeting is then 已召开 (HELD), which the minutes need; the queue is emptied.
- set_current_item: the item of the agenda under discussion (the chair or 主持人).
- raise_hand / lower_hand: a verified member signed in to the meeting raises a hand from their
  own phone, and may lower it while waiting. Raising twice answers with the first hand.
- add_speaker / move_speaker / give_floor / withdraw: the chair (or 主持人) adds a member or a
  guest by name and 身份, reorders the queue, gives the floor (whoever had it is done), and
  takes someone off; a member may take their own waiting hand off too.
- record_speech / edit_speech: the chair, 主持人 or 记录人 notes a speech (speaker from the queue
  or typed, 身份, a summary of at most 500 characters) under the current item, in speaking
  order; it can be corrected until the minutes are signed.

The queue is the meeting's waiting speakers in `position` order, numbered 1…n with no gaps
after every change (the next to speak is 1); the one speaking has the floor outside it.

Concurrency. Queue changes hold the meeting row (FOR UPDATE on PostgreSQL; SQLite's BEGIN
IMMEDIATE holds the database), so positions stay dense. One hand per member is the partial
unique index uq_meeting_speaker_waiting (meeting, membership) over waiting and speaking rows:
the use case inserts without looking first, and a second raise (a double tap, two phones)
fails there when the first has committed, on both databases, and is answered with the first's
row. A speech's place in speaking order is the unique (meeting, position): two recorders
noting at once both try the next position, the second fails at the index when the first
commits, and tries the one after (in a savepoint, within its transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.db import locked, shared_lock
from app.halls.labels import ROLE_LABELS
from app.halls.models import Membership, MembershipRole, MembershipStatus, Role
from app.halls.policies import HallAccess
from app.meetings import policies, rules, schemas
from app.meetings.models import (
    Attendance,
    Meeting,
    MeetingItem,
    MeetingStatus,
    Minutes,
    MinutesStatus,
    Speaker,
    SpeakerStatus,
    Speech,
)
from app.voting import service as voting
from app.voting.models import Ballot, Resolution

# The 身份 a member's roles give when none is typed, the first that applies.
IDENTITY_ROLES = (
    Role.DEPARTMENT_REP,
    Role.PROPERTY_REP,
    Role.OWNERS_COMMITTEE_REP,
    Role.UNIT_REP,
    Role.OBSERVER,
    Role.RESIDENT_REP,
    Role.COUNCIL,
    Role.RESIDENT,
)
SPEECH_POSITION_TRIES = 8
IN_QUEUE = (SpeakerStatus.WAITING, SpeakerStatus.SPEAKING)


@dataclass(frozen=True)
class Hand:
    speaker: Speaker
    created: bool  # False: that member was in the queue already (the earlier hand stands)


# --- reading what a use case needs ---------------------------------------------------------------


def _meeting(
    session: Session, access: HallAccess, meeting_id: int, *, lock: bool = False
) -> Meeting:
    """The meeting in the caller's hall: FOR UPDATE to change the queue, FOR SHARE otherwise
    (a cancellation or the close waits for the change, and it for them)."""
    query = select(Meeting).where(Meeting.id == meeting_id, Meeting.hall_id == access.hall_id)
    meeting = session.exec(locked(query) if lock else shared_lock(query)).first()
    if meeting is None:
        raise NotFound("not_found")
    return meeting


def _require_live(meeting: Meeting) -> None:
    """Open (started) and not yet closed."""
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict("meeting_cancelled")
    if meeting.started_at is None:
        raise Conflict("meeting_not_started")
    if meeting.status == MeetingStatus.HELD:
        raise Conflict("meeting_held")


def _preside(access: HallAccess, meeting: Meeting) -> None:
    policies.require(policies.can_preside(access, chair_id=meeting.chair_id))


def _run(access: HallAccess, meeting: Meeting) -> None:
    policies.require(
        policies.can_run(access, chair_id=meeting.chair_id, recorder_id=meeting.recorder_id)
    )


def _waiting(session: Session, meeting_id: int) -> list[Speaker]:
    return list(
        session.exec(
            select(Speaker)
            .where(Speaker.meeting_id == meeting_id, Speaker.status == SpeakerStatus.WAITING)
            .order_by(col(Speaker.position), col(Speaker.id))
        ).all()
    )


def _renumber(session: Session, waiting: Sequence[Speaker]) -> None:
    """The queue numbered 1…n in this order (only the rows whose place changed are written)."""
    for place, speaker in enumerate(waiting, start=1):
        if speaker.position != place:
            speaker.position = place
            session.add(speaker)


def _speaker(session: Session, meeting: Meeting, speaker_id: int) -> Speaker:
    speaker = session.exec(
        select(Speaker).where(Speaker.id == speaker_id, Speaker.meeting_id == meeting.id)
    ).first()
    if speaker is None:
        raise NotFound("not_found")
    return speaker


def _in_queue(session: Session, meeting_id: int, membership_id: int) -> Speaker | None:
    return session.exec(
        select(Speaker).where(
            Speaker.meeting_id == meeting_id,
            Speaker.membership_id == membership_id,
            col(Speaker.status).in_(IN_QUEUE),
        )
    ).first()


def _member(session: Session, hall_id: int, membership_id: int) -> tuple[str, list[Role]] | None:
    """A verified member's name and roles, or None."""
    name = session.exec(
        select(User.name)
        .join(Membership, col(Membership.user_id) == User.id)
        .where(
            Membership.id == membership_id,
            Membership.hall_id == hall_id,
            Membership.status == MembershipStatus.VERIFIED,
        )
    ).first()
    if name is None:
        return None
    roles = session.exec(
        select(MembershipRole.role).where(MembershipRole.membership_id == membership_id)
    ).all()
    return name, [Role(r) for r in roles]


def identity_of(roles: Sequence[Role]) -> str:
    """The 身份 a member's roles give (职能部门代表, 物业代表 … 居民), in Chinese as recorded."""
    for role in IDENTITY_ROLES:
        if role in roles:
            return ROLE_LABELS[role]
    return ROLE_LABELS[Role.RESIDENT]


def _text(value: str, maximum: int, *, required: bool) -> tuple[str, str | None]:
    value = value.strip()
    if not value:
        return value, "required" if required else None
    return value, "too_long" if len(value) > maximum else None


def _minutes_signed(session: Session, meeting_id: int) -> bool:
    """The minutes are signed (locked): FOR SHARE, so a sign-off in progress waits for this
    speech, and this speech for it. No minutes yet: editable."""
    status = session.exec(
        shared_lock(select(Minutes.status).where(Minutes.meeting_id == meeting_id))
    ).first()
    return status == MinutesStatus.SIGNED


def _audit(session: Session, actor: User, meeting: Meeting, action: str, **data: object) -> None:
    audit.record(
        session,
        action=f"meetings.{action}",
        actor_id=actor.id,
        hall_id=meeting.hall_id,
        subject_type="meeting",
        subject_id=meeting.id,
        data=data,
    )


# --- opening, closing, the current item ----------------------------------------------------------


def start_meeting(*, session: Session, access: HallAccess, actor: User, meeting_id: int) -> Meeting:
    """开会: the meeting is open; hands may be raised and speeches noted.

    Rules: the chair, the meeting's 主持人 or 记录人; from the sign-in window's opening (an hour
    before the start); never a cancelled or closed meeting; opening it again changes nothing.
    Raises: NotFound, Conflict("meeting_cancelled" | "meeting_held" | "meeting_not_open_yet").
    """
    meeting = _meeting(session, access, meeting_id, lock=True)
    _run(access, meeting)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict("meeting_cancelled")
    if meeting.status == MeetingStatus.HELD:
        raise Conflict("meeting_held")
    if meeting.started_at is not None:
        return meeting
    now = clock.now()
    if now < rules.signin_opens(meeting.starts_at):
        raise Conflict("meeting_not_open_yet")
    meeting.started_at = now
    session.add(meeting)
    _audit(session, actor, meeting, "start_meeting", started_at=now.isoformat())
    session.commit()
    return meeting


def end_meeting(*, session: Session, access: HallAccess, actor: User, meeting_id: int) -> Meeting:
    """散会: the meeting is 已召开 (HELD); whoever had the floor is done, the queue is emptied.

    Rules: the chair, 主持人 or 记录人; only a meeting that was opened; closing it again
    changes nothing. Speeches can still be noted and corrected until the minutes are signed.
    Raises: NotFound, Conflict("meeting_cancelled" | "meeting_not_started").
    """
    meeting = _meeting(session, access, meeting_id, lock=True)
    _run(access, meeting)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict("meeting_cancelled")
    if meeting.started_at is None:
        raise Conflict("meeting_not_started")
    if meeting.status == MeetingStatus.HELD:
        return meeting
    left = 0
    for speaker in session.exec(
        select(Speaker).where(Speaker.meeting_id == meeting.id, col(Speaker.status).in_(IN_QUEUE))
    ).all():
        waiting = speaker.status == SpeakerStatus.WAITING
        left += waiting
        speaker.status = SpeakerStatus.WITHDRAWN if waiting else SpeakerStatus.DONE
        session.add(speaker)
    meeting.status = MeetingStatus.HELD
    session.add(meeting)
    _audit(session, actor, meeting, "end_meeting", ended_at=clock.now().isoformat(), left=left)
    session.commit()
    return meeting


def set_current_item(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    meeting_id: int,
    form: schemas.CurrentItemForm,
) -> Meeting:
    """The agenda item under discussion now (shown on the projector; speeches go under it).

    Rules: the chair or 主持人; an item of this meeting's agenda; the meeting open; nothing
    else changes (the queue and the floor stay as they are).
    Raises: NotFound, ValidationFailed({"item_id": "item_unknown"}), Conflict.
    """
    meeting = _meeting(session, access, meeting_id, lock=True)
    _preside(access, meeting)
    _require_live(meeting)
    item = session.exec(
        select(MeetingItem.id).where(
            MeetingItem.id == form.item_id, MeetingItem.meeting_id == meeting.id
        )
    ).first()
    if form.item_id is None or item is None:
        raise ValidationFailed({"item_id": "item_unknown"})
    before = meeting.current_item_id
    meeting.current_item_id = item
    session.add(meeting)
    _audit(session, actor, meeting, "set_current_item", item=item, before=before)
    session.commit()
    return meeting


# --- the queue -----------------------------------------------------------------------------------


def _enqueue(session: Session, actor: User, meeting: Meeting, row: Speaker, action: str) -> Hand:
    """Put `row` at the end of the queue, or answer with the member's hand already there: the
    partial unique index decides (see the module docstring). Audited with the new row."""
    meeting_id = meeting.id or 0
    row.position = len(_waiting(session, meeting_id)) + 1
    row.item_id = meeting.current_item_id
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        earlier = _in_queue(session, meeting_id, row.membership_id or 0)
        if row.membership_id is None or earlier is None:
            raise
        return Hand(earlier, created=False)
    _audit(
        session,
        actor,
        meeting,
        action,
        speaker=row.id,
        membership=row.membership_id,
        position=row.position,
    )
    session.commit()
    return Hand(row, created=True)


def raise_hand(*, session: Session, access: HallAccess, actor: User, meeting_id: int) -> Hand:
    """举手发言 from one's own phone: the member joins the end of the queue.

    Rules: a verified member of the hall, signed in to this meeting (in person); the meeting
    open; a member already waiting (or speaking) keeps that place (idempotent).
    Raises: NotFound, Conflict("not_signed_in" | "meeting_not_started" | "meeting_held" |
    "meeting_cancelled").
    """
    policies.require(policies.can_raise_hand(access))
    meeting = _meeting(session, access, meeting_id, lock=True)
    _require_live(meeting)
    membership_id = access.membership_id or 0
    signed_in = session.exec(
        select(Attendance.id).where(
            Attendance.meeting_id == meeting.id, Attendance.membership_id == membership_id
        )
    ).first()
    if signed_in is None:
        raise Conflict("not_signed_in")
    member = _member(session, meeting.hall_id, membership_id)
    if member is None:
        raise NotFound("not_found")
    name, roles = member
    row = Speaker(
        hall_id=meeting.hall_id,
        meeting_id=meeting_id,
        membership_id=membership_id,
        name=name[: schemas.SPEAKER_NAME_MAX],
        identity=identity_of(roles),
        position=0,
        added_by_id=actor.id or 0,
    )
    return _enqueue(session, actor, meeting, row, "raise_hand")


def add_speaker(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    meeting_id: int,
    form: schemas.SpeakerForm,
) -> Hand:
    """The chair adds a speaker to the end of the queue: a member of the hall (whose 身份 is
    their role unless typed), or a guest by name and 身份.

    Rules: the chair or 主持人; the meeting open; a member is a verified member of this hall
    (signed in or not: the chair sees who is in the room); a member already in the queue keeps
    their place; a guest has a name (≤ 40) and a 身份 (≤ 40).
    Raises: NotFound, ValidationFailed (membership_id, name, identity), Conflict.
    """
    meeting = _meeting(session, access, meeting_id, lock=True)
    _preside(access, meeting)
    _require_live(meeting)
    errors: dict[str, str] = {}
    identity, problem = _text(
        form.identity, schemas.IDENTITY_MAX, required=form.membership_id is None
    )
    if problem:
        errors["identity"] = problem
    if form.membership_id is not None:
        member = _member(session, meeting.hall_id, form.membership_id)
        if member is None:
            raise ValidationFailed({"membership_id": "member_unknown"})
        name, roles = member[0][: schemas.SPEAKER_NAME_MAX], member[1]
        identity = identity or identity_of(roles)
    else:
        name, problem = _text(form.name, schemas.SPEAKER_NAME_MAX, required=True)
        if problem:
            errors["name"] = problem
    if errors:
        raise ValidationFailed(errors, maximum=schemas.IDENTITY_MAX)
    row = Speaker(
        hall_id=meeting.hall_id,
        meeting_id=meeting_id,
        membership_id=form.membership_id,
        name=name,
        identity=identity,
        position=0,
        added_by_id=actor.id or 0,
    )
    return _enqueue(session, actor, meeting, row, "add_speaker")


def move_speaker(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    meeting_id: int,
    speaker_id: int,
    form: schemas.MoveForm,
) -> Speaker:
    """The chair reorders the queue: one place up or down, or to a position (1 = next).

    Rules: the chair or 主持人; a waiting speaker of this meeting; a position beyond the end
    puts them last; the queue stays numbered 1…n.
    Raises: NotFound, ValidationFailed({"position": "required"}), Conflict("speaker_not_waiting").
    """
    meeting = _meeting(session, access, meeting_id, lock=True)
    _preside(access, meeting)
    _require_live(meeting)
    speaker = _speaker(session, meeting, speaker_id)
    if speaker.status != SpeakerStatus.WAITING:
        raise Conflict("speaker_not_waiting")
    queue = _waiting(session, meeting.id or 0)
    before = next(i for i, s in enumerate(queue) if s.id == speaker.id)
    if form.direction is not None:
        after = before + (-1 if form.direction == schemas.Direction.UP else 1)
    elif form.position is not None:
        after = form.position - 1
    else:
        raise ValidationFailed({"position": "required"})
    after = max(0, min(after, len(queue) - 1))
    queue.insert(after, queue.pop(before))
    _renumber(session, queue)
    _audit(
        session,
        actor,
        meeting,
        "move_speaker",
        speaker=speaker.id,
        before=before + 1,
        after=after + 1,
    )
    session.commit()
    return speaker


def give_floor(
    *, session: Session, access: HallAccess, actor: User, meeting_id: int, speaker_id: int
) -> Speaker:
    """The chair gives the floor to a waiting speaker; whoever had it is done.

    Rules: the chair or 主持人; a waiting speaker of this meeting (giving it again to the one
    speaking changes nothing); the speaker speaks under the current item.
    Raises: NotFound, Conflict("speaker_not_waiting" | the meeting's state).
    """
    meeting = _meeting(session, access, meeting_id, lock=True)
    _preside(access, meeting)
    _require_live(meeting)
    speaker = _speaker(session, meeting, speaker_id)
    if speaker.status == SpeakerStatus.SPEAKING:
        return speaker
    if speaker.status != SpeakerStatus.WAITING:
        raise Conflict("speaker_not_waiting")
    previous = session.exec(
        select(Speaker).where(
            Speaker.meeting_id == meeting.id, Speaker.status == SpeakerStatus.SPEAKING
        )
    ).all()
    for done in previous:
        done.status = SpeakerStatus.DONE
        session.add(done)
    speaker.status = SpeakerStatus.SPEAKING
    speaker.item_id = meeting.current_item_id
    session.add(speaker)
    session.flush()
    _renumber(session, _waiting(session, meeting.id or 0))
    _audit(
        session,
        actor,
        meeting,
        "give_floor",
        speaker=speaker.id,
        previous=[p.id for p in previous],
    )
    session.commit()
    return speaker


def _take_off(
    session: Session, actor: User, meeting: Meeting, speaker: Speaker, action: str
) -> Speaker:
    speaker.status = SpeakerStatus.WITHDRAWN
    session.add(speaker)
    session.flush()
    _renumber(session, _waiting(session, meeting.id or 0))
    _audit(session, actor, meeting, action, speaker=speaker.id)
    session.commit()
    return speaker


def withdraw(
    *, session: Session, access: HallAccess, actor: User, meeting_id: int, speaker_id: int
) -> Speaker:
    """Take a speaker off the queue (or off the floor, without a speech): the chair or 主持人
    anyone; a member their own waiting hand.

    Rules: a speaker of this meeting, waiting (or speaking: the chair only); taking off one
    who is off already changes nothing; someone who spoke cannot be taken off.
    Raises: NotFound, Conflict("speaker_not_waiting" | the meeting's state).
    """
    meeting = _meeting(session, access, meeting_id, lock=True)
    speaker = _speaker(session, meeting, speaker_id)
    presides = policies.can_preside(access, chair_id=meeting.chair_id)
    own = (
        access.is_verified
        and access.membership_id is not None
        and speaker.membership_id == access.membership_id
    )
    policies.require(presides or own)
    _require_live(meeting)
    if speaker.status == SpeakerStatus.WITHDRAWN:
        return speaker
    if speaker.status == SpeakerStatus.DONE or not (
        presides or speaker.status == SpeakerStatus.WAITING
    ):
        raise Conflict("speaker_not_waiting")
    return _take_off(session, actor, meeting, speaker, "withdraw")


def lower_hand(
    *, session: Session, access: HallAccess, actor: User, meeting_id: int
) -> Speaker | None:
    """放下: the member takes their own waiting hand off the queue. None when they had none
    (a second tap changes nothing).
    Raises: NotFound, Conflict (the meeting's state)."""
    policies.require(policies.can_raise_hand(access))
    meeting = _meeting(session, access, meeting_id, lock=True)
    _require_live(meeting)
    mine = _in_queue(session, meeting.id or 0, access.membership_id or 0)
    if mine is None or mine.status != SpeakerStatus.WAITING:
        return None
    return _take_off(session, actor, meeting, mine, "lower_hand")


# --- speeches ------------------------------------------------------------------------------------


def _check_speech(
    name: str, identity: str, summary: str, errors: dict[str, str]
) -> tuple[str, str, str]:
    name, problem = _text(name, schemas.SPEAKER_NAME_MAX, required=True)
    if problem:
        errors["speaker_name"] = problem
    identity, problem = _text(identity, schemas.IDENTITY_MAX, required=False)
    if problem:
        errors["identity"] = problem
    summary, problem = _text(summary, schemas.SUMMARY_MAX, required=True)
    if problem:
        errors["summary"] = "summary_too_long" if problem == "too_long" else "summary_required"
    return name, identity, summary


def _next_speech_position(session: Session, meeting_id: int) -> int:
    last = session.exec(
        select(func.max(Speech.position)).where(Speech.meeting_id == meeting_id)
    ).one()
    return (last or 0) + 1


def _place_speech(session: Session, speech: Speech) -> None:
    """Insert at the next speaking position; a concurrent speech that took it first makes the
    unique (meeting, position) refuse this one, which then tries the next (in a savepoint)."""
    for _ in range(SPEECH_POSITION_TRIES):
        speech.position = _next_speech_position(session, speech.meeting_id)
        try:
            with session.begin_nested():
                session.add(speech)
        except IntegrityError:
            continue
        return
    raise Conflict("busy_try_again")


def record_speech(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    meeting_id: int,
    form: schemas.SpeechForm,
) -> Speech:
    """The recorder notes a speech: who (from the queue, or typed), their 身份, a summary.

    Rules: the chair, 主持人 or 记录人; the meeting opened (and not cancelled; after the close
    too, until the minutes are signed); the summary is required, at most 500 characters; the
    name at most 40, the 身份 at most 40 (from the queue, what is left empty is the
    speaker's); the item is the current one (or another of this agenda); the speech takes the
    next place in speaking order; the speaker is then done.
    Raises: NotFound, ValidationFailed (speaker_id, speaker_name, identity, summary, item_id),
    Conflict("meeting_cancelled" | "meeting_not_started" | "speeches_locked").
    """
    meeting = _meeting(session, access, meeting_id)
    _run(access, meeting)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict("meeting_cancelled")
    if meeting.started_at is None:
        raise Conflict("meeting_not_started")
    if _minutes_signed(session, meeting.id or 0):
        raise Conflict("speeches_locked")
    errors: dict[str, str] = {}
    speaker = None
    if form.speaker_id is not None:
        speaker = session.exec(
            select(Speaker).where(Speaker.id == form.speaker_id, Speaker.meeting_id == meeting.id)
        ).first()
        if speaker is None:
            errors["speaker_id"] = "speaker_unknown"
    name, identity, summary = _check_speech(
        form.speaker_name or (speaker.name if speaker else ""),
        form.identity or (speaker.identity if speaker else ""),
        form.summary,
        errors,
    )
    item_id = form.item_id or meeting.current_item_id
    if (
        form.item_id is not None
        and not session.exec(
            select(MeetingItem.id).where(
                MeetingItem.id == form.item_id, MeetingItem.meeting_id == meeting.id
            )
        ).first()
    ):
        errors["item_id"] = "item_unknown"
    if errors:
        raise ValidationFailed(errors, maximum=schemas.SUMMARY_MAX)
    if speaker is not None and speaker.status in IN_QUEUE:
        was_waiting = speaker.status == SpeakerStatus.WAITING
        speaker.status = SpeakerStatus.DONE
        session.add(speaker)
        if was_waiting:
            session.flush()
            _renumber(session, _waiting(session, meeting.id or 0))
    speech = Speech(
        hall_id=meeting.hall_id,
        meeting_id=meeting.id or 0,
        item_id=item_id,
        position=0,
        membership_id=speaker.membership_id if speaker else None,
        speaker_name=name,
        identity=identity,
        summary=summary,
        recorded_by_id=actor.id or 0,
    )
    _place_speech(session, speech)
    _audit(
        session,
        actor,
        meeting,
        "record_speech",
        speech=speech.id,
        position=speech.position,
        speaker=speaker.id if speaker else None,
        item=item_id,
    )
    session.commit()
    return speech


def edit_speech(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    meeting_id: int,
    speech_id: int,
    form: schemas.SpeechEditForm,
) -> Speech:
    """Correct a noted speech (name, 身份, summary) while the minutes are not signed.

    Rules: the chair, 主持人 or 记录人; the same limits as noting it; its place in speaking
    order and its item stay; no minutes yet, or minutes not signed.
    Raises: NotFound, ValidationFailed, Conflict("speeches_locked").
    """
    meeting = _meeting(session, access, meeting_id)
    _run(access, meeting)
    speech = session.exec(
        select(Speech).where(Speech.id == speech_id, Speech.meeting_id == meeting.id)
    ).first()
    if speech is None:
        raise NotFound("not_found")
    if _minutes_signed(session, meeting.id or 0):
        raise Conflict("speeches_locked")
    errors: dict[str, str] = {}
    name, identity, summary = _check_speech(form.speaker_name, form.identity, form.summary, errors)
    if errors:
        raise ValidationFailed(errors, maximum=schemas.SUMMARY_MAX)
    changed = [
        field
        for field, value in (("speaker_name", name), ("identity", identity), ("summary", summary))
        if getattr(speech, field) != value
    ]
    if not changed:
        return speech
    speech.speaker_name, speech.identity, speech.summary = name, identity, summary
    session.add(speech)
    _audit(session, actor, meeting, "edit_speech", speech=speech.id, changed=changed)
    session.commit()
    return speech


# --- the current item's ballot, from live mode ---------------------------------------------------


def _held_here(session: Session, access: HallAccess, meeting_id: int, ballot_id: int) -> None:
    """A ballot held at this meeting of the caller's hall (NotFound for any other)."""
    found = session.exec(
        select(Ballot.id).where(
            Ballot.id == ballot_id,
            Ballot.hall_id == access.hall_id,
            Ballot.meeting_id == meeting_id,
        )
    ).first()
    if found is None:
        raise NotFound("not_found")


def open_ballot(
    *, session: Session, access: HallAccess, actor: User, meeting_id: int, ballot_id: int
) -> Ballot:
    """Open a ballot held at this meeting from live mode: the voting desk's own use case
    (app.voting.service.open_ballot: the chair; only with the meeting's quorum), which owns the
    transaction and its audit event."""
    _held_here(session, access, meeting_id, ballot_id)
    return voting.open_ballot(session=session, access=access, actor=actor, ballot_id=ballot_id)


def close_ballot(
    *, session: Session, access: HallAccess, actor: User, meeting_id: int, ballot_id: int
) -> Resolution:
    """Close a ballot held at this meeting from live mode (app.voting.service.close_ballot)."""
    _held_here(session, access, meeting_id, ballot_id)
    return voting.close_ballot(session=session, access=access, actor=actor, ballot_id=ballot_id)
