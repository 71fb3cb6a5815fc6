"""Rescheduling a meeting (改期) on SQLite and PostgreSQL: the notice period checked again on
both sides of the hall's setting, the reason, every invitee told again, the notice counted,
who may, what may not be moved, and a reschedule against a sign-in or a cancellation under way
(the meeting row's lock)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import col, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.db import Database, locked, shared_lock
from app.halls import queries as hall_queries
from app.issues.models import Notification
from app.meetings import schemas, service
from app.meetings.models import Attendance, Meeting, MeetingStatus
from tests import meeting_helpers as mh
from tests.factories import HallWorld, make_chair, make_hall, make_member, set_hall_rules


@pytest.fixture
def world(db: Database) -> HallWorld:
    return make_hall(db, buildings=1, entrances=2, rooms=4)


@pytest.fixture
def chair(db: Database, world: HallWorld) -> User:
    return make_chair(db, world)


@pytest.fixture(autouse=True)
def _release_clock() -> Iterator[None]:
    yield
    clock.freeze(None)


def council(db: Database, world: HallWorld, chair: User, n: int) -> list[User]:
    people = []
    for i in range(n):
        user, _ = make_member(db, world, household_index=i, chair=chair, name=f"议事会成员{i}")
        mh.give_roles(db, world, chair, user, "council")
        people.append(user)
    return people


def stored(db: Database, meeting: Meeting) -> Meeting:
    with db.session(read_only=True) as session:
        row = session.get(Meeting, meeting.id)
        assert row is not None
        return row


def test_a_reschedule_tells_every_invitee_again_and_counts_the_notice(
    db: Database, world: HallWorld, chair: User
) -> None:
    members = council(db, world, chair, 3)
    meeting = mh.schedule(db, world, chair, mh.form(starts_in=timedelta(days=4), hours=2))
    new_start = (clock.now() + timedelta(days=6)).replace(microsecond=0)
    moved = mh.reschedule(
        db, world, chair, meeting, starts_at=new_start, place="3号楼活动室", reason="议事厅维修"
    )
    assert moved.starts_at == new_start
    assert moved.ends_at == new_start + timedelta(hours=2)  # a new start alone keeps the length
    assert moved.place == "3号楼活动室"
    assert moved.notice_count == 2
    assert moved.rescheduled_at is not None
    assert moved.notice_sent_at == moved.rescheduled_at
    assert moved.short_notice_reason is None
    assert moved.signin_token == meeting.signin_token  # the QR printed at the door still works
    with db.session(read_only=True) as session:
        told = session.exec(
            select(Notification).where(
                Notification.kind == "meeting_rescheduled", Notification.hall_id == world.hall.id
            )
        ).all()
        event = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "meetings.reschedule_meeting",
                AuditEvent.subject_id == meeting.id,
            )
        ).one()
    assert sorted(n.user_id for n in told) == sorted(u.id for u in members)  # each once
    assert all("3号楼活动室" in n.text for n in told)
    data = json.loads(event.data)
    assert data["reason"] == "议事厅维修"
    assert data["from"]["place"] == "社区议事厅"
    assert data["to"]["place"] == "3号楼活动室"
    assert data["notice_count"] == 2
    assert data["notified"] == 3
    assert event.subject_id == meeting.id
    again = mh.reschedule(db, world, chair, moved, place="社区议事厅")
    assert again.notice_count == 3


def test_the_notice_period_both_sides(db: Database, world: HallWorld, chair: User) -> None:
    set_hall_rules(db, world, meeting_notice_days=3)
    meeting = mh.schedule(db, world, chair, mh.form(starts_in=timedelta(days=5)))
    now = clock.now().replace(microsecond=0)
    clock.freeze(now)
    # A second short of the hall's three days: refused without a reason, next to its field …
    short = now + timedelta(days=3) - timedelta(seconds=1)
    with pytest.raises(ValidationFailed) as refused:
        mh.reschedule(db, world, chair, meeting, starts_at=short)
    assert refused.value.errors == {"short_notice_reason": "short_notice_reason_required"}
    assert refused.value.params == {"days": 3}
    assert stored(db, meeting).notice_count == 1  # nothing changed
    # … recorded with one …
    moved = mh.reschedule(
        db, world, chair, meeting, starts_at=short, short_notice_reason="施工队提前进场"
    )
    assert moved.short_notice_reason == "施工队提前进场"
    # … and exactly the three days: enough, and the earlier reason no longer applies.
    exact = mh.reschedule(db, world, chair, moved, starts_at=now + timedelta(days=3))
    assert exact.short_notice_reason is None
    assert exact.notice_count == 3
    # The hall's own setting decides.
    set_hall_rules(db, world, meeting_notice_days=7)
    with pytest.raises(ValidationFailed) as refused:
        mh.reschedule(db, world, chair, exact, starts_at=now + timedelta(days=7, seconds=-1))
    assert "short_notice_reason" in refused.value.errors
    assert mh.reschedule(db, world, chair, exact, starts_at=now + timedelta(days=7)).id


def test_bad_forms_come_back_per_field(db: Database, world: HallWorld, chair: User) -> None:
    meeting = mh.schedule(db, world, chair)
    with pytest.raises(ValidationFailed) as refused:
        mh.reschedule(db, world, chair, meeting, place="新地点", reason=" ")
    assert refused.value.errors == {"reason": "required"}
    with pytest.raises(ValidationFailed) as refused:
        mh.reschedule(db, world, chair, meeting)  # nothing moves
    assert refused.value.errors == {"starts_at": "reschedule_unchanged"}
    with pytest.raises(ValidationFailed) as refused:
        mh.reschedule(db, world, chair, meeting, starts_at="下周三", place="很" * 81)
    assert refused.value.errors == {"starts_at": "time_invalid", "place": "too_long"}
    past = clock.now() - timedelta(hours=1)
    with pytest.raises(ValidationFailed) as refused:
        mh.reschedule(db, world, chair, meeting, starts_at=past, short_notice_reason="x")
    assert refused.value.errors == {"starts_at": "meeting_in_past"}
    start = clock.now() + timedelta(days=5)
    with pytest.raises(ValidationFailed) as refused:
        mh.reschedule(
            db, world, chair, meeting, starts_at=start, ends_at=start + timedelta(hours=13)
        )
    assert refused.value.errors == {"ends_at": "meeting_length_invalid"}
    assert stored(db, meeting).notice_count == 1


def test_only_this_halls_chair_reschedules(db: Database, world: HallWorld, chair: User) -> None:
    (resident,) = council(db, world, chair, 1)
    meeting = mh.schedule(db, world, chair)
    form = schemas.RescheduleForm(place="别处", reason="想换")
    with db.session() as session, pytest.raises(NotFound):
        service.reschedule_meeting(
            session=session,
            access=hall_queries.hall_access(session, user=resident, hall=world.hall),
            actor=resident,
            meeting_id=meeting.id or 0,
            form=form,
        )
    other = make_hall(db)
    other_chair = make_chair(db, other)
    with db.session() as session, pytest.raises(NotFound):
        service.reschedule_meeting(
            session=session,
            access=hall_queries.hall_access(session, user=other_chair, hall=other.hall),
            actor=other_chair,
            meeting_id=meeting.id or 0,
            form=form,
        )
    assert stored(db, meeting).place == "社区议事厅"


def test_a_cancelled_or_held_meeting_is_not_moved(
    db: Database, world: HallWorld, chair: User
) -> None:
    cancelled = mh.schedule(db, world, chair)
    with db.session() as session:
        service.cancel_meeting(
            session=session,
            access=hall_queries.hall_access(session, user=chair, hall=world.hall),
            actor=chair,
            meeting_id=cancelled.id or 0,
            form=schemas.CancelForm(reason="取消"),
        )
    with pytest.raises(Conflict, match="meeting_cancelled"):
        mh.reschedule(db, world, chair, cancelled, place="别处")
    held = mh.schedule(db, world, chair)
    started = mh.schedule(db, world, chair)
    with db.session() as session:
        for row, change in ((held, "status"), (started, "started_at")):
            meeting = session.get(Meeting, row.id)
            assert meeting is not None
            if change == "status":
                meeting.status = MeetingStatus.HELD
            else:
                meeting.started_at = clock.now()
            session.add(meeting)
        session.commit()
    for row in (held, started):
        with pytest.raises(Conflict, match="meeting_held"):
            mh.reschedule(db, world, chair, row, place="别处")
        assert stored(db, row).notice_count == 1


def test_a_reschedule_waits_for_a_cancellation_under_way(
    db: Database, world: HallWorld, chair: User
) -> None:
    """The cancellation holds the meeting (FOR UPDATE); the reschedule waits for it and then
    finds the meeting cancelled: a cancelled meeting is never moved, nor anyone told it was."""
    council(db, world, chair, 1)
    meeting = mh.schedule(db, world, chair)
    started = threading.Event()

    def reschedule_meanwhile() -> str:
        started.set()
        try:
            mh.reschedule(db, world, chair, meeting, place="3号楼活动室")
        except Conflict as exc:
            return exc.code
        return "moved"

    with db.session() as session:  # the cancellation's transaction, held open
        held = session.exec(locked(select(Meeting).where(Meeting.id == meeting.id))).one()
        with ThreadPoolExecutor(1) as pool:
            outcome = pool.submit(reschedule_meanwhile)
            started.wait()
            time.sleep(0.3)
            assert not outcome.done()  # waiting for the meeting
            held.status = MeetingStatus.CANCELLED
            session.add(held)
            session.commit()
            assert outcome.result(timeout=10) == "meeting_cancelled"
    after = stored(db, meeting)
    assert (after.place, after.notice_count) == ("社区议事厅", 1)
    with db.session(read_only=True) as session:
        assert not session.exec(
            select(Notification)
            .where(Notification.kind == "meeting_rescheduled")
            .where(Notification.hall_id == world.hall.id)
        ).all()


def test_a_reschedule_waits_for_a_sign_in_under_way_and_one_after_it_sees_the_new_time(
    db: Database, world: HallWorld, chair: User
) -> None:
    """A sign-in holds the meeting FOR SHARE: the reschedule (FOR UPDATE) waits for it to
    commit. A sign-in after the meeting moved four days on is outside the new window."""
    first, second = council(db, world, chair, 2)
    meeting = mh.now_meeting(db, world, chair)
    started = threading.Event()
    later = clock.now() + timedelta(days=4)

    def reschedule_meanwhile() -> Meeting:
        started.set()
        return mh.reschedule(db, world, chair, meeting, starts_at=later)

    with db.session() as session:  # a sign-in's transaction, held open
        session.exec(shared_lock(select(Meeting).where(Meeting.id == meeting.id))).one()
        with ThreadPoolExecutor(1) as pool:
            outcome = pool.submit(reschedule_meanwhile)
            started.wait()
            time.sleep(0.3)
            assert not outcome.done()  # waiting for the sign-in
            session.add(
                Attendance(
                    hall_id=world.hall.id or 0,
                    meeting_id=meeting.id or 0,
                    membership_id=mh.membership(db, world, first).id or 0,
                    how="self_qr",
                    recorded_by_id=first.id or 0,
                )
            )
            session.commit()
            moved = outcome.result(timeout=10)
    assert moved.notice_count == 2
    with db.session() as session, pytest.raises(Conflict, match="signin_closed"):
        service.sign_in_self(
            session=session,
            access=hall_queries.hall_access(session, user=second, hall=world.hall),
            actor=second,
            meeting_id=meeting.id or 0,
            token=meeting.signin_token,
        )
    with db.session(read_only=True) as session:
        rows = session.exec(
            select(Attendance.id).where(col(Attendance.meeting_id) == meeting.id)
        ).all()
    assert len(rows) == 1  # the sign-in that was under way stands
