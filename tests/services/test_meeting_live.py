"""The meeting as it is held, on SQLite and PostgreSQL: opening it (the window, both sides),
the current item, the speaker queue (raise and lower a hand, the chair adds, reorders, gives
the floor, takes off; positions stay 1…n), speeches (limits both sides, speaking order,
editing until the minutes are signed), closing it, who may do what (a resident of another
hall, a logged-in stranger, an applicant, a street official, a plain member, the 记录人), and
races: a double raise is one row (the partial unique index), concurrent raises stay dense,
concurrent speeches take distinct places (the unique (meeting, position))."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import col, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.db import Database
from app.halls import queries as hall_queries
from app.halls.policies import HallAccess
from app.meetings import live_queries, queries, rules, schemas, service
from app.meetings.models import (
    Meeting,
    MeetingItem,
    MeetingStatus,
    Minutes,
    MinutesStatus,
    Speaker,
    SpeakerStatus,
    Speech,
)
from tests import live_helpers as lh
from tests import meeting_helpers as mh
from tests.factories import HallWorld, make_chair, make_hall, make_member, make_user


@pytest.fixture
def world(db: Database) -> HallWorld:
    return make_hall(db, buildings=1, entrances=2, rooms=8)


@pytest.fixture
def chair(db: Database, world: HallWorld) -> User:
    return make_chair(db, world)


@pytest.fixture(autouse=True)
def _release_clock() -> Iterator[None]:
    yield
    clock.freeze(None)


def waiting(db: Database, meeting: Meeting) -> list[tuple[str, int]]:
    with db.session(read_only=True) as session:
        now = live_queries.queue(session, meeting)
    return [(s.name, s.position) for s in now.waiting]


def fresh(db: Database, meeting: Meeting) -> Meeting:
    with db.session(read_only=True) as session:
        row = session.get(Meeting, meeting.id)
    assert row is not None
    return row


def events(db: Database, meeting: Meeting, action: str) -> list[AuditEvent]:
    with db.session(read_only=True) as session:
        return list(
            session.exec(
                select(AuditEvent).where(
                    AuditEvent.subject_type == "meeting",
                    AuditEvent.subject_id == meeting.id,
                    AuditEvent.action == action,
                )
            ).all()
        )


# --- opening and closing --------------------------------------------------------------------


def test_the_meeting_opens_from_the_sign_in_window_both_sides(
    db: Database, world: HallWorld, chair: User
) -> None:
    meeting = mh.schedule(db, world, chair, mh.form(starts_in=timedelta(days=4)))
    opens = rules.signin_opens(meeting.starts_at)
    clock.freeze(opens - timedelta(seconds=1))
    with pytest.raises(Conflict) as early:
        lh.call(db, world, chair, service.start_meeting, meeting_id=meeting.id)
    assert early.value.code == "meeting_not_open_yet"
    assert fresh(db, meeting).started_at is None
    clock.freeze(opens)
    opened = lh.call(db, world, chair, service.start_meeting, meeting_id=meeting.id)
    assert opened.started_at == opens
    # Opening it again changes nothing (one audit event).
    clock.freeze(opens + timedelta(minutes=5))
    again = lh.call(db, world, chair, service.start_meeting, meeting_id=meeting.id)
    assert again.started_at == opens
    assert len(events(db, meeting, "meetings.start_meeting")) == 1


def test_a_cancelled_meeting_never_opens_and_a_closed_one_stays_closed(
    db: Database, world: HallWorld, chair: User
) -> None:
    meeting = mh.now_meeting(db, world, chair)
    lh.call(
        db,
        world,
        chair,
        service.cancel_meeting,
        meeting_id=meeting.id,
        form=schemas.CancelForm(reason="台风"),
    )
    with pytest.raises(Conflict) as cancelled:
        lh.call(db, world, chair, service.start_meeting, meeting_id=meeting.id)
    assert cancelled.value.code == "meeting_cancelled"
    held = lh.started(db, world, chair)
    with pytest.raises(Conflict):  # not opened: cannot be closed
        lh.call(
            db, world, chair, service.end_meeting, meeting_id=mh.now_meeting(db, world, chair).id
        )
    (member,) = lh.members(db, world, chair, 1)
    lh.signed_in_hand(db, world, chair, held, member)
    closed = lh.call(db, world, chair, service.end_meeting, meeting_id=held.id)
    assert closed.status == MeetingStatus.HELD
    assert waiting(db, held) == []  # the queue is emptied
    with pytest.raises(Conflict) as after:
        lh.call(db, world, member, service.raise_hand, meeting_id=held.id)
    assert after.value.code == "meeting_held"
    with pytest.raises(Conflict) as reopen:
        lh.call(db, world, chair, service.start_meeting, meeting_id=held.id)
    assert reopen.value.code == "meeting_held"
    # Closing twice changes nothing.
    lh.call(db, world, chair, service.end_meeting, meeting_id=held.id)
    assert len(events(db, held, "meetings.end_meeting")) == 1


def test_current_item_is_an_item_of_this_agenda(
    db: Database, world: HallWorld, chair: User
) -> None:
    meeting = lh.started(db, world, chair, free_items=["电梯", "停车"])
    other = lh.started(db, world, chair)
    with db.session(read_only=True) as session:
        items = queries.agenda(session, meeting)
        foreign = queries.agenda(session, other)[0].item.id
    (member,) = lh.members(db, world, chair, 1)
    lh.signed_in_hand(db, world, chair, meeting, member)
    for bad in (foreign, None):
        with pytest.raises(ValidationFailed) as refused:
            lh.call(
                db,
                world,
                chair,
                service.set_current_item,
                meeting_id=meeting.id,
                form=schemas.CurrentItemForm(item_id=bad),
            )
        assert refused.value.errors == {"item_id": "item_unknown"}
    second = items[1].item.id
    done = lh.call(
        db,
        world,
        chair,
        service.set_current_item,
        meeting_id=meeting.id,
        form=schemas.CurrentItemForm(item_id=second),
    )
    assert done.current_item_id == second
    assert waiting(db, meeting) == [("委员0", 1)]  # nothing else changes


# --- the queue ------------------------------------------------------------------------------


def test_raise_lower_and_raise_again(db: Database, world: HallWorld, chair: User) -> None:
    meeting = lh.started(db, world, chair)
    (member,) = lh.members(db, world, chair, 1)
    with pytest.raises(Conflict) as unsigned:
        lh.call(db, world, member, service.raise_hand, meeting_id=meeting.id)
    assert unsigned.value.code == "not_signed_in"
    mh.tick(db, world, chair, meeting, member)
    first = lh.call(db, world, member, service.raise_hand, meeting_id=meeting.id)
    assert first.created
    assert first.speaker.position == 1
    assert first.speaker.identity == "议事会成员"
    again = lh.call(db, world, member, service.raise_hand, meeting_id=meeting.id)
    assert not again.created
    assert again.speaker.id == first.speaker.id
    lowered = lh.call(db, world, member, service.lower_hand, meeting_id=meeting.id)
    assert lowered is not None
    assert lowered.status == SpeakerStatus.WITHDRAWN
    assert lh.call(db, world, member, service.lower_hand, meeting_id=meeting.id) is None
    third = lh.call(db, world, member, service.raise_hand, meeting_id=meeting.id)
    assert third.created
    assert third.speaker.id != first.speaker.id
    assert len(events(db, meeting, "meetings.raise_hand")) == 2


def test_hands_before_the_meeting_opens_are_refused(
    db: Database, world: HallWorld, chair: User
) -> None:
    meeting = mh.now_meeting(db, world, chair)
    (member,) = lh.members(db, world, chair, 1)
    mh.tick(db, world, chair, meeting, member)
    with pytest.raises(Conflict) as refused:
        lh.call(db, world, member, service.raise_hand, meeting_id=meeting.id)
    assert refused.value.code == "meeting_not_started"


def test_the_chair_runs_the_queue_and_positions_stay_dense(
    db: Database, world: HallWorld, chair: User
) -> None:
    meeting = lh.started(db, world, chair)
    people = lh.members(db, world, chair, 3)
    for person in people:
        lh.signed_in_hand(db, world, chair, meeting, person)
    guest = lh.call(
        db,
        world,
        chair,
        service.add_speaker,
        meeting_id=meeting.id,
        form=schemas.SpeakerForm(name="张经理", identity="物业"),
    )
    assert guest.created
    assert guest.speaker.membership_id is None
    assert waiting(db, meeting) == [("委员0", 1), ("委员1", 2), ("委员2", 3), ("张经理", 4)]
    member = lh.access_of(db, world, people[0]).membership_id
    # The chair adds a member already waiting: their place stands.
    same = lh.call(
        db,
        world,
        chair,
        service.add_speaker,
        meeting_id=meeting.id,
        form=schemas.SpeakerForm(membership_id=member),
    )
    assert not same.created
    ids = {g.name: g.id for g in _speakers(db, meeting)}

    def move(name: str, **form: object) -> None:
        lh.call(
            db,
            world,
            chair,
            service.move_speaker,
            meeting_id=meeting.id,
            speaker_id=ids[name],
            form=schemas.MoveForm(**form),  # type: ignore[arg-type]
        )

    move("张经理", direction="up")
    assert waiting(db, meeting) == [("委员0", 1), ("委员1", 2), ("张经理", 3), ("委员2", 4)]
    move("委员0", position=3)
    assert waiting(db, meeting) == [("委员1", 1), ("张经理", 2), ("委员0", 3), ("委员2", 4)]
    move("委员1", direction="up")  # first stays first
    move("委员2", position=99)  # beyond the end: last
    assert waiting(db, meeting) == [("委员1", 1), ("张经理", 2), ("委员0", 3), ("委员2", 4)]
    with pytest.raises(ValidationFailed):
        move("委员2")
    # The floor: the first speaker speaks, then the next; the first is done.
    lh.call(db, world, chair, service.give_floor, meeting_id=meeting.id, speaker_id=ids["张经理"])
    assert waiting(db, meeting) == [("委员1", 1), ("委员0", 2), ("委员2", 3)]
    lh.call(db, world, chair, service.give_floor, meeting_id=meeting.id, speaker_id=ids["委员0"])
    statuses = {s.name: s.status for s in _speakers(db, meeting)}
    assert statuses["张经理"] == SpeakerStatus.DONE
    assert statuses["委员0"] == SpeakerStatus.SPEAKING
    assert waiting(db, meeting) == [("委员1", 1), ("委员2", 2)]
    with pytest.raises(Conflict) as done:
        move("张经理", direction="down")
    assert done.value.code == "speaker_not_waiting"
    # Take off: the chair anyone, a member their own waiting hand only.
    with pytest.raises(NotFound):
        lh.call(
            db, world, people[2], service.withdraw, meeting_id=meeting.id, speaker_id=ids["委员1"]
        )
    lh.call(db, world, people[2], service.withdraw, meeting_id=meeting.id, speaker_id=ids["委员2"])
    lh.call(db, world, chair, service.withdraw, meeting_id=meeting.id, speaker_id=ids["委员1"])
    assert waiting(db, meeting) == []
    # The speaker raises a hand again while speaking: the same row (one hand at a time).
    again = lh.call(db, world, people[0], service.raise_hand, meeting_id=meeting.id)
    assert not again.created
    assert again.speaker.status == SpeakerStatus.SPEAKING


def _speakers(db: Database, meeting: Meeting) -> list[Speaker]:
    with db.session(read_only=True) as session:
        return list(
            session.exec(
                select(Speaker).where(Speaker.meeting_id == meeting.id).order_by(col(Speaker.id))
            ).all()
        )


def test_a_guest_speaker_needs_a_name_and_an_identity_both_limits(
    db: Database, world: HallWorld, chair: User
) -> None:
    meeting = lh.started(db, world, chair)

    def add(**form: object) -> service.Hand:
        return lh.call(  # type: ignore[no-any-return]
            db,
            world,
            chair,
            service.add_speaker,
            meeting_id=meeting.id,
            form=schemas.SpeakerForm(**form),  # type: ignore[arg-type]
        )

    with pytest.raises(ValidationFailed) as empty:
        add(name="  ", identity="")
    assert empty.value.errors == {"name": "required", "identity": "required"}
    with pytest.raises(ValidationFailed) as long:
        add(name="名" * 41, identity="身" * 41)
    assert long.value.errors == {"name": "too_long", "identity": "too_long"}
    assert add(name="名" * 40, identity="身" * 40).created
    other = make_hall(db)
    _, outsider = make_member(db, other)
    with pytest.raises(ValidationFailed) as foreign:
        add(membership_id=outsider.id)
    assert foreign.value.errors == {"membership_id": "member_unknown"}


# --- speeches -------------------------------------------------------------------------------


def test_speeches_limits_order_and_the_speaker_is_done(
    db: Database, world: HallWorld, chair: User
) -> None:
    meeting = lh.started(db, world, chair, free_items=["电梯"])
    with db.session(read_only=True) as session:
        item = queries.agenda(session, meeting)[0].item.id
    lh.call(
        db,
        world,
        chair,
        service.set_current_item,
        meeting_id=meeting.id,
        form=schemas.CurrentItemForm(item_id=item),
    )
    (member,) = lh.members(db, world, chair, 1)
    hand = lh.signed_in_hand(db, world, chair, meeting, member)
    lh.call(db, world, chair, service.give_floor, meeting_id=meeting.id, speaker_id=hand.id)
    for summary, code in (
        ("", "summary_required"),
        ("   ", "summary_required"),
        ("字" * 501, "summary_too_long"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            lh.speech(db, world, chair, meeting, speaker_id=hand.id, summary=summary)
        assert refused.value.errors == {"summary": code}
    with pytest.raises(ValidationFailed) as nameless:
        lh.speech(db, world, chair, meeting, speaker_name="", summary="有话说")
    assert nameless.value.errors == {"speaker_name": "required"}
    first = lh.speech(
        db,
        world,
        chair,
        meeting,
        speaker_id=hand.id,
        speaker_name="",
        identity="",
        summary="字" * 500,
    )
    assert (first.position, first.speaker_name, first.identity) == (1, "委员0", "议事会成员")
    assert first.item_id == item
    assert first.membership_id == lh.access_of(db, world, member).membership_id
    assert {s.id: s.status for s in _speakers(db, meeting)}[hand.id] == SpeakerStatus.DONE
    typed = lh.speech(db, world, chair, meeting, speaker_name="刘科长", identity="街道城管科")
    assert typed.position == 2
    assert typed.membership_id is None


def test_the_recorder_notes_and_edits_until_the_minutes_are_signed(
    db: Database, world: HallWorld, chair: User
) -> None:
    recorder, plain = lh.members(db, world, chair, 2)
    meeting = lh.started(db, world, chair, recorder_id=recorder.id)
    noted = lh.speech(db, world, recorder, meeting)
    with pytest.raises(NotFound):
        lh.speech(db, world, plain, meeting)

    def edit(user: User, summary: str) -> Speech:
        return lh.call(  # type: ignore[no-any-return]
            db,
            world,
            user,
            service.edit_speech,
            meeting_id=meeting.id,
            speech_id=noted.id,
            form=schemas.SpeechEditForm(speaker_name="张三", identity="居民", summary=summary),
        )

    assert edit(recorder, "改：同意加装。").summary == "改：同意加装。"  # no minutes yet
    with pytest.raises(ValidationFailed):
        edit(recorder, "字" * 501)
    with db.session() as session:
        session.add(Minutes(hall_id=meeting.hall_id, meeting_id=meeting.id or 0))
        session.commit()
    assert edit(recorder, "草稿期间可改").summary == "草稿期间可改"  # draft minutes
    with db.session() as session:
        minutes = session.exec(select(Minutes).where(Minutes.meeting_id == meeting.id)).one()
        minutes.status = MinutesStatus.SIGNED
        session.add(minutes)
        session.commit()
    with pytest.raises(Conflict) as locked:
        edit(recorder, "签署后不能改")
    assert locked.value.code == "speeches_locked"
    with pytest.raises(Conflict):
        lh.speech(db, world, recorder, meeting)
    assert len(events(db, meeting, "meetings.edit_speech")) == 2


# --- who may --------------------------------------------------------------------------------


def test_access_matrix(db: Database, world: HallWorld, chair: User) -> None:
    recorder, host, member = lh.members(db, world, chair, 3)
    meeting = lh.started(db, world, chair, recorder_id=recorder.id, chair_id=host.id)
    hand = lh.signed_in_hand(db, world, chair, meeting, member)
    other = make_hall(db)
    outsider, _ = make_member(db, other)
    applicant, _ = make_member(db, world, household_index=6, verified=False)
    stranger = make_user(db)
    street_user = make_user(db, name="街道干部")
    street = HallAccess(user_id=street_user.id, hall_id=world.hall.id or 0, is_street_admin=True)
    mid = meeting.id or 0
    uses = {
        "raise": lambda: (service.raise_hand, {}),
        "add": lambda: (
            service.add_speaker,
            {"form": schemas.SpeakerForm(name="甲", identity="乙")},
        ),
        "floor": lambda: (service.give_floor, {"speaker_id": hand.id}),
        "withdraw": lambda: (service.withdraw, {"speaker_id": hand.id}),
        "move": lambda: (
            service.move_speaker,
            {"speaker_id": hand.id, "form": schemas.MoveForm(position=1)},
        ),
        "speech": lambda: (
            service.record_speech,
            {"form": schemas.SpeechForm(speaker_name="甲", summary="乙")},
        ),
        "item": lambda: (service.set_current_item, {"form": schemas.CurrentItemForm(item_id=1)}),
        "end": lambda: (service.end_meeting, {}),
    }
    before = len(_speakers(db, meeting))
    for name, use in uses.items():
        use_case, kwargs = use()
        # Another hall's resident with their own hall's standing; strangers; the street.
        with db.session() as session:
            outsider_access = hall_queries.hall_access(session, user=outsider, hall=other.hall)
        for who, access in (
            (outsider, outsider_access),
            (applicant, lh.access_of(db, world, applicant)),
            (stranger, lh.access_of(db, world, stranger)),
            (street_user, street),
        ):
            with db.session() as session, pytest.raises(NotFound):
                use_case(session=session, access=access, actor=who, meeting_id=mid, **kwargs)
        # A plain member may only raise (and take off) their own hand.
        if name not in {"raise", "withdraw"}:
            with pytest.raises(NotFound):
                lh.call(db, world, member, use_case, meeting_id=mid, **kwargs)
    assert len(_speakers(db, meeting)) == before
    # The 记录人 notes speeches but does not run the floor; the 主持人 does.
    lh.speech(db, world, recorder, meeting)
    with pytest.raises(NotFound):
        lh.call(db, world, recorder, service.give_floor, meeting_id=mid, speaker_id=hand.id)
    assert (
        lh.call(db, world, host, service.give_floor, meeting_id=mid, speaker_id=hand.id).status
        == SpeakerStatus.SPEAKING
    )


# --- races ----------------------------------------------------------------------------------


def test_a_double_raise_from_eight_taps_is_one_hand(
    db: Database, world: HallWorld, chair: User
) -> None:
    """Eight taps at once (threads, each its own connection): one row, one audit event, and
    every tap answered with that row; the partial unique index decided (the use case inserts
    without looking first)."""
    meeting = lh.started(db, world, chair)
    (member,) = lh.members(db, world, chair, 1)
    mh.tick(db, world, chair, meeting, member)
    access = lh.access_of(db, world, member)
    barrier = threading.Barrier(8)

    def tap(_: int) -> service.Hand:
        barrier.wait()
        with db.session() as session:
            return service.raise_hand(
                session=session, access=access, actor=member, meeting_id=meeting.id or 0
            )

    with ThreadPoolExecutor(8) as pool:
        hands = list(pool.map(tap, range(8)))
    rows = _speakers(db, meeting)
    assert len(rows) == 1
    assert sum(h.created for h in hands) == 1
    assert {h.speaker.id for h in hands} == {rows[0].id}
    assert len(events(db, meeting, "meetings.raise_hand")) == 1


def test_concurrent_hands_of_different_members_stay_dense(
    db: Database, world: HallWorld, chair: User
) -> None:
    meeting = lh.started(db, world, chair)
    people = lh.members(db, world, chair, 6)
    for person in people:
        mh.tick(db, world, chair, meeting, person)
    accesses = [lh.access_of(db, world, p) for p in people]
    barrier = threading.Barrier(len(people))

    def tap(i: int) -> service.Hand:
        barrier.wait()
        with db.session() as session:
            return service.raise_hand(
                session=session, access=accesses[i], actor=people[i], meeting_id=meeting.id or 0
            )

    with ThreadPoolExecutor(len(people)) as pool:
        hands = list(pool.map(tap, range(len(people))))
    assert all(h.created for h in hands)
    assert sorted(p for _, p in waiting(db, meeting)) == list(range(1, len(people) + 1))


def test_concurrent_speeches_take_distinct_places(
    db: Database, world: HallWorld, chair: User
) -> None:
    """Eight recorders' speeches at once: eight rows at positions 1…8 (the unique (meeting,
    position) sends a loser to the next place), eight audit events."""
    meeting = lh.started(db, world, chair)
    access = lh.access_of(db, world, chair)
    barrier = threading.Barrier(8)

    def note(i: int) -> Speech:
        barrier.wait()
        with db.session() as session:
            return service.record_speech(
                session=session,
                access=access,
                actor=chair,
                meeting_id=meeting.id or 0,
                form=schemas.SpeechForm(speaker_name=f"居民{i}", summary=f"意见{i}"),
            )

    with ThreadPoolExecutor(8) as pool:
        noted = list(pool.map(note, range(8)))
    with db.session(read_only=True) as session:
        rows = live_queries.speeches(session, meeting)
    assert [s.position for s in rows] == list(range(1, 9))
    assert {s.id for s in noted} == {s.id for s in rows}
    assert len(events(db, meeting, "meetings.record_speech")) == 8


def test_rows_stay_in_their_meeting(db: Database, world: HallWorld, chair: User) -> None:
    """A speaker id of another meeting is not found in this one."""
    one = lh.started(db, world, chair)
    two = lh.started(db, world, chair)
    (member,) = lh.members(db, world, chair, 1)
    hand = lh.signed_in_hand(db, world, chair, one, member)
    with pytest.raises(NotFound):
        lh.call(db, world, chair, service.give_floor, meeting_id=two.id, speaker_id=hand.id)
    with db.session(read_only=True) as session:
        assert session.exec(select(MeetingItem).where(MeetingItem.meeting_id == two.id)).all()
