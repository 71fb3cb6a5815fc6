"""协商会议 use cases on SQLite and PostgreSQL: scheduling and its notice period, the sign-in
window and token, one sign-in per member under concurrency, proxies, and who may do what."""

from __future__ import annotations

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
from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.db import Database, locked
from app.halls import queries as hall_queries
from app.halls.policies import HallAccess
from app.issues.models import Notification
from app.meetings import queries, schemas, service
from app.meetings.models import Attendance, GuestKind, Meeting, MeetingInvitee, MeetingStatus
from app.meetings.rules import MeetingKind
from tests import meeting_helpers as mh
from tests.factories import (
    HallWorld,
    make_chair,
    make_hall,
    make_member,
    make_user,
    set_hall_rules,
)


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


def access_of(db: Database, world: HallWorld, user: User) -> HallAccess:
    with db.session(read_only=True) as session:
        return hall_queries.hall_access(session, user=user, hall=world.hall)


def council(db: Database, world: HallWorld, chair: User, n: int) -> list[User]:
    """n verified members holding 议事会成员."""
    people = []
    for i in range(n):
        user, _ = make_member(db, world, household_index=i, chair=chair, name=f"议事会成员{i}")
        mh.give_roles(db, world, chair, user, "council")
        people.append(user)
    return people


def sign_in(db: Database, world: HallWorld, user: User, meeting: Meeting, token: str | None = None):  # type: ignore[no-untyped-def]
    with db.session() as session:
        return service.sign_in_self(
            session=session,
            access=access_of(db, world, user),
            actor=user,
            meeting_id=meeting.id or 0,
            token=meeting.signin_token if token is None else token,
        )


def by_chair(db: Database, world: HallWorld, chair: User, meeting: Meeting, **form: object):  # type: ignore[no-untyped-def]
    with db.session() as session:
        return service.sign_in_by_chair(
            session=session,
            access=access_of(db, world, chair),
            actor=chair,
            meeting_id=meeting.id or 0,
            form=schemas.SignInForm(**form),  # type: ignore[arg-type]
        )


def attendance(db: Database, meeting: Meeting):  # type: ignore[no-untyped-def]
    with db.session(read_only=True) as session:
        return queries.attendance(session, meeting)


# --- scheduling ----------------------------------------------------------------------------------


def test_schedule_with_full_notice_invites_and_notifies(
    db: Database, world: HallWorld, chair: User
) -> None:
    members = council(db, world, chair, 3)
    issue_form = mh.form(
        MeetingKind.COUNCIL,
        starts_in=timedelta(days=3, minutes=1),
        free_items=["楼道堆物", "停车管理"],
        guests=[{"name": "张经理", "organisation": "某某物业", "kind": "property"}],
    )
    meeting = mh.schedule(db, world, chair, issue_form)
    assert meeting.status == MeetingStatus.SCHEDULED
    assert meeting.short_notice_reason is None
    assert meeting.notice_sent_at is not None
    assert len(meeting.signin_token) >= 40
    assert (meeting.quorum_num, meeting.quorum_den) == (2, 3)
    with db.session(read_only=True) as session:
        items = queries.agenda(session, meeting)
        invited = queries.invitees(session, meeting)
        notes = session.exec(
            select(Notification).where(Notification.kind == "meeting_scheduled")
        ).all()
        event = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert [(r.item.position, r.title) for r in items] == [(1, "楼道堆物"), (2, "停车管理")]
    assert {r.name for r in invited} == {u.name for u in members} | {"张经理"}
    guest = next(r for r in invited if r.invitee.guest_kind is not None)
    assert (guest.invitee.guest_org, guest.invitee.guest_kind) == ("某某物业", GuestKind.PROPERTY)
    assert {n.user_id for n in notes if n.hall_id == world.hall.id} == {u.id for u in members}
    assert event is not None
    assert event.action == "meetings.schedule_meeting"
    assert meeting.signin_token not in event.data


def test_notice_period_both_sides(db: Database, world: HallWorld, chair: User) -> None:
    set_hall_rules(db, world, meeting_notice_days=3)
    now = clock.now().replace(microsecond=0)
    clock.freeze(now)
    # Exactly three days: enough, no reason needed.
    exact = mh.schedule(db, world, chair, mh.form(starts_in=timedelta(days=3)))
    assert exact.short_notice_reason is None
    # One minute short: refused without a reason, next to the reason's field …
    short = mh.form(starts_in=timedelta(days=3) - timedelta(minutes=1))
    with pytest.raises(ValidationFailed) as refused:
        mh.schedule(db, world, chair, short)
    assert refused.value.errors == {"short_notice_reason": "short_notice_reason_required"}
    assert refused.value.params == {"days": 3}
    # … and recorded with one.
    reason = mh.form(
        starts_in=timedelta(days=3) - timedelta(minutes=1),
        short_notice_reason="暖气抢修，需尽快商议",
    )
    meeting = mh.schedule(db, world, chair, reason)
    assert meeting.short_notice_reason == "暖气抢修，需尽快商议"
    with db.session(read_only=True) as session:
        event = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert event is not None
    assert "暖气抢修" in event.data


def test_the_hall_setting_decides_the_notice(db: Database, world: HallWorld, chair: User) -> None:
    set_hall_rules(db, world, meeting_notice_days=7)
    with pytest.raises(ValidationFailed) as refused:
        mh.schedule(db, world, chair, mh.form(starts_in=timedelta(days=6, hours=23)))
    assert "short_notice_reason" in refused.value.errors
    assert mh.schedule(db, world, chair, mh.form(starts_in=timedelta(days=7, minutes=1))).id


def test_bad_forms_come_back_per_field(db: Database, world: HallWorld, chair: User) -> None:
    other = make_hall(db)
    stranger = make_chair(db, other)
    bad = schemas.MeetingForm(
        title="",
        starts_at="明天晚上",
        ends_at="2020-01-01T10:00",
        place="",
        chair_id=stranger.id,
        free_items=[],
        guests=[{"name": "李", "organisation": "", "kind": "unit"}],
    )
    with pytest.raises(ValidationFailed) as refused:
        mh.schedule(db, world, chair, bad)
    assert refused.value.errors == {
        "kind": "meeting_kind_required",
        "title": "required",
        "place": "required",
        "starts_at": "time_invalid",
        "chair_id": "meeting_officer_not_member",
        "free_items": "agenda_required",
        "guests": "required",
    }
    past = mh.form(starts_in=-timedelta(hours=1))
    with pytest.raises(ValidationFailed) as refused:
        mh.schedule(db, world, chair, past)
    assert refused.value.errors["starts_at"] == "meeting_in_past"
    too_long = mh.form(hours=13)
    with pytest.raises(ValidationFailed) as refused:
        mh.schedule(db, world, chair, too_long)
    assert refused.value.errors == {"ends_at": "meeting_length_invalid"}


def test_another_halls_issue_is_not_an_agenda_item(
    db: Database, world: HallWorld, chair: User
) -> None:
    from tests.factories import make_issue

    other = make_hall(db)
    outsider, _ = make_member(db, other)
    issue = make_issue(db, other, outsider)
    with pytest.raises(ValidationFailed) as refused:
        mh.schedule(db, world, chair, mh.form(issue_ids=[issue.id]))
    assert refused.value.errors == {"issue_ids": "issue_unknown"}


def test_only_the_chair_schedules_and_cancels(db: Database, world: HallWorld, chair: User) -> None:
    resident, _ = make_member(db, world, chair=chair)
    with db.session() as session, pytest.raises(NotFound):
        service.schedule_meeting(
            session=session, access=access_of(db, world, resident), actor=resident, form=mh.form()
        )
    meeting = mh.schedule(db, world, chair)
    with db.session() as session, pytest.raises(NotFound):
        service.cancel_meeting(
            session=session,
            access=access_of(db, world, resident),
            actor=resident,
            meeting_id=meeting.id or 0,
            form=schemas.CancelForm(reason="不想开"),
        )


def test_cancel_tells_the_invitees_and_closes_the_sign_in(
    db: Database, world: HallWorld, chair: User
) -> None:
    members = council(db, world, chair, 2)
    meeting = mh.now_meeting(db, world, chair)
    with db.session() as session:
        with pytest.raises(ValidationFailed):
            service.cancel_meeting(
                session=session,
                access=access_of(db, world, chair),
                actor=chair,
                meeting_id=meeting.id or 0,
                form=schemas.CancelForm(reason=" "),
            )
        session.rollback()
        cancelled = service.cancel_meeting(
            session=session,
            access=access_of(db, world, chair),
            actor=chair,
            meeting_id=meeting.id or 0,
            form=schemas.CancelForm(reason="主持人临时出差"),
        )
    assert cancelled.status == MeetingStatus.CANCELLED
    with db.session(read_only=True) as session:
        told = session.exec(
            select(Notification.user_id).where(
                Notification.kind == "meeting_cancelled", Notification.hall_id == world.hall.id
            )
        ).all()
    assert set(told) == {u.id for u in members}
    with pytest.raises(Conflict, match="meeting_cancelled"):
        sign_in(db, world, members[0], meeting)
    with pytest.raises(Conflict, match="meeting_cancelled"):
        by_chair(db, world, chair, meeting, membership_id=mh.membership(db, world, members[1]).id)


# --- attendance and the quorum ---------------------------------------------------------------------


def test_council_quorum_counts_only_the_expected(
    db: Database, world: HallWorld, chair: User
) -> None:
    members = council(db, world, chair, 3)
    bystander, _ = make_member(db, world, household_index=5, chair=chair)
    meeting = mh.now_meeting(db, world, chair)
    assert attendance(db, meeting).expected == 3
    sign_in(db, world, members[0], meeting)
    sign_in(db, world, bystander, meeting)  # a resident may come; not 应到, not counted
    by_chair(
        db, world, chair, meeting, guest={"name": "王", "organisation": "物业", "kind": "property"}
    )
    one = attendance(db, meeting)
    assert (one.expected, one.present, one.quorum_needed, one.quorum_met) == (3, 1, 2, False)
    assert one.check is not None
    assert one.check.margin == -1
    sign_in(db, world, members[1], meeting)
    two = attendance(db, meeting)  # exactly 2/3: the quorum (以上)
    assert (two.present, two.quorum_met) == (2, True)
    assert two.check is not None
    assert two.check.margin == 0


def test_residents_meeting_needs_more_than_half(
    db: Database, world: HallWorld, chair: User
) -> None:
    residents = [make_member(db, world, household_index=i, chair=chair)[0] for i in range(4)]
    meeting = mh.now_meeting(db, world, chair, MeetingKind.RESIDENTS)
    with db.session(read_only=True) as session:
        expected = session.exec(queries.expected_members(meeting)).all()
    assert len(expected) == 4  # the chair has no household: not a resident here
    with db.session(read_only=True) as session:
        invited = {r.invitee.membership_id for r in queries.invitees(session, meeting)}
        told = set(
            session.exec(
                select(Notification.user_id).where(
                    Notification.kind == "meeting_scheduled", Notification.hall_id == world.hall.id
                )
            ).all()
        )
    assert set(expected) <= invited  # every resident is invited to a 居民会议 …
    assert {u.id for u in residents} <= told  # … and told in the app
    for user in residents[:2]:
        sign_in(db, world, user, meeting)
    half = attendance(db, meeting)
    assert (half.present, half.quorum_needed, half.quorum_met) == (2, 3, False)
    sign_in(db, world, residents[2], meeting)
    assert attendance(db, meeting).quorum_met


def test_a_hall_quorum_of_its_own(db: Database, world: HallWorld, chair: User) -> None:
    set_hall_rules(db, world, council_quorum_num=3, council_quorum_den=4)
    members = council(db, world, chair, 4)
    meeting = mh.now_meeting(db, world, chair)
    assert (meeting.quorum_num, meeting.quorum_den) == (3, 4)
    for user in members[:2]:
        sign_in(db, world, user, meeting)
    assert attendance(db, meeting).quorum_needed == 3
    assert not attendance(db, meeting).quorum_met


def test_forum_has_no_quorum_and_expects_the_invited(
    db: Database, world: HallWorld, chair: User
) -> None:
    resident, _ = make_member(db, world, chair=chair)
    meeting = mh.schedule(
        db,
        world,
        chair,
        mh.form(MeetingKind.FORUM, starts_in=timedelta(days=5), invite_roles=["resident"]),
    )
    answer = attendance(db, meeting)
    assert answer.quorum_needed is None
    assert answer.quorum_met
    assert answer.expected >= 1
    del resident


# --- sign-in: token, window, idempotence, races ----------------------------------------------------


def test_sign_in_window_both_sides(db: Database, world: HallWorld, chair: User) -> None:
    (member,) = council(db, world, chair, 1)
    meeting = mh.schedule(db, world, chair, mh.form(starts_in=timedelta(days=4)))
    second = timedelta(seconds=1)
    clock.freeze(meeting.starts_at - timedelta(hours=1) - second)
    with pytest.raises(Conflict, match="signin_closed"):
        sign_in(db, world, member, meeting)
    clock.freeze(meeting.ends_at + second)
    with pytest.raises(Conflict, match="signin_closed"):
        sign_in(db, world, member, meeting)
    clock.freeze(meeting.ends_at)
    assert sign_in(db, world, member, meeting).created
    # The chair may still enter the paper sheet for a day after the end, not a second more.
    late, _ = make_member(db, world, household_index=3, chair=chair)
    late_id = mh.membership(db, world, late).id
    clock.freeze(meeting.ends_at + timedelta(hours=24) + second)
    with pytest.raises(Conflict, match="signin_closed"):
        by_chair(db, world, chair, meeting, membership_id=late_id)
    clock.freeze(meeting.ends_at + timedelta(hours=24))
    assert by_chair(db, world, chair, meeting, membership_id=late_id).created


def test_the_window_opens_an_hour_before(db: Database, world: HallWorld, chair: User) -> None:
    (member,) = council(db, world, chair, 1)
    meeting = mh.schedule(db, world, chair, mh.form(starts_in=timedelta(days=4)))
    clock.freeze(meeting.starts_at - timedelta(hours=1))
    assert sign_in(db, world, member, meeting).attendance.how == "self_qr"


def test_a_bad_token_signs_nobody_in(db: Database, world: HallWorld, chair: User) -> None:
    (member,) = council(db, world, chair, 1)
    meeting = mh.now_meeting(db, world, chair)
    other = mh.now_meeting(db, world, chair)
    for token in ("", "x" * 43, other.signin_token):
        with pytest.raises(NotAllowed, match="signin_token_invalid"):
            sign_in(db, world, member, meeting, token)
    assert attendance(db, meeting).present == 0


def test_signing_in_twice_keeps_the_first(db: Database, world: HallWorld, chair: User) -> None:
    (member,) = council(db, world, chair, 1)
    meeting = mh.now_meeting(db, world, chair)
    first = sign_in(db, world, member, meeting)
    again = sign_in(db, world, member, meeting)
    by_hand = by_chair(db, world, chair, meeting, membership_id=mh.membership(db, world, member).id)
    assert first.created
    assert not again.created
    assert not by_hand.created
    assert again.attendance.id == first.attendance.id == by_hand.attendance.id
    assert attendance(db, meeting).present == 1


def test_concurrent_double_sign_in_is_one_row(db: Database, world: HallWorld, chair: User) -> None:
    """Eight taps at once from one phone (and the chair's tick): one row, one audit event, and
    every caller gets that row."""
    (member,) = council(db, world, chair, 1)
    meeting = mh.now_meeting(db, world, chair)
    access = access_of(db, world, member)
    chair_access = access_of(db, world, chair)
    barrier = threading.Barrier(8)

    def tap(i: int) -> service.SignIn:
        barrier.wait()
        with db.session() as session:
            if i == 7:
                return service.sign_in_by_chair(
                    session=session,
                    access=chair_access,
                    actor=chair,
                    meeting_id=meeting.id or 0,
                    form=schemas.SignInForm(membership_id=access.membership_id),
                )
            return service.sign_in_self(
                session=session,
                access=access,
                actor=member,
                meeting_id=meeting.id or 0,
                token=meeting.signin_token,
            )

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(tap, range(8)))
    with db.session(read_only=True) as session:
        rows = session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)).all()
        events = session.exec(
            select(AuditEvent).where(
                AuditEvent.subject_type == "meeting", AuditEvent.subject_id == meeting.id
            )
        ).all()
    assert len(rows) == 1
    assert sum(r.created for r in results) == 1
    assert {r.attendance.id for r in results} == {rows[0].id}
    assert len([e for e in events if e.action.startswith("meetings.sign_in")]) == 1


# --- who may: another hall, a guest, the street, the chair -----------------------------------------


def test_access_matrix(db: Database, world: HallWorld, chair: User) -> None:
    (member,) = council(db, world, chair, 1)
    meeting = mh.now_meeting(db, world, chair)
    other = make_hall(db)
    outsider, _ = make_member(db, other)
    applicant, _ = make_member(db, world, household_index=2, verified=False)
    nobody = make_user(db)
    # A resident of another hall, with this hall's meeting id and token: their own hall's
    # standing, so the meeting is not found there.
    with db.session() as session, pytest.raises(NotFound):
        service.sign_in_self(
            session=session,
            access=hall_queries.hall_access(session, user=outsider, hall=other.hall),
            actor=outsider,
            meeting_id=meeting.id or 0,
            token=meeting.signin_token,
        )
    # An applicant (not verified) and a logged-in stranger (no standing): not members.
    for user in (applicant, nobody):
        with db.session() as session, pytest.raises(NotFound):
            service.sign_in_self(
                session=session,
                access=access_of(db, world, user),
                actor=user,
                meeting_id=meeting.id or 0,
                token=meeting.signin_token,
            )
    # A plain resident may not sign others in.
    with pytest.raises(NotFound):
        by_chair(
            db, world, member, meeting, guest={"name": "甲", "organisation": "乙", "kind": "unit"}
        )
    # A street official sees the hall but does not sign in as a member.
    street = HallAccess(user_id=nobody.id, hall_id=world.hall.id or 0, is_street_admin=True)
    with db.session() as session, pytest.raises(NotFound):
        service.sign_in_self(
            session=session,
            access=street,
            actor=nobody,
            meeting_id=meeting.id or 0,
            token=meeting.signin_token,
        )
    # The chair signs in a guest by name and organisation; the guest is listed, not counted.
    guest = by_chair(
        db,
        world,
        chair,
        meeting,
        guest={"name": "刘代表", "organisation": "区人大", "kind": "deputy"},
    )
    assert guest.created
    again = by_chair(
        db,
        world,
        chair,
        meeting,
        guest={"name": "刘代表", "organisation": "区人大", "kind": "deputy"},
    )
    assert again.attendance.id == guest.attendance.id
    with pytest.raises(ValidationFailed) as refused:
        by_chair(db, world, chair, meeting, guest={"name": "", "organisation": "", "kind": None})
    assert set(refused.value.errors) == {"guest_name", "guest_org", "guest_kind"}
    assert attendance(db, meeting).present == 0
    # The chair cannot sign in another hall's member.
    outsider_id = mh.membership(db, other, outsider).id
    with pytest.raises(ValidationFailed) as refused:
        by_chair(db, world, chair, meeting, membership_id=outsider_id)
    assert refused.value.errors == {"membership_id": "member_unknown"}


def test_the_meetings_recorder_signs_others_in(db: Database, world: HallWorld, chair: User) -> None:
    members = council(db, world, chair, 2)
    meeting = mh.schedule(
        db,
        world,
        chair,
        mh.form(
            starts_in=timedelta(minutes=10),
            short_notice_reason="临时",
            recorder_id=members[0].id,
        ),
    )
    done = by_chair(
        db, world, members[0], meeting, membership_id=mh.membership(db, world, members[1]).id
    )
    assert done.attendance.how == "by_chair"
    assert done.attendance.recorded_by_id == members[0].id


# --- proxies ---------------------------------------------------------------------------------------


def test_proxies_only_at_a_residents_meeting(db: Database, world: HallWorld, chair: User) -> None:
    a, _ = make_member(db, world, household_index=0, chair=chair)
    b, _ = make_member(db, world, household_index=1, chair=chair)
    c, _ = make_member(db, world, household_index=2, chair=chair)
    mh.give_roles(db, world, chair, a, "council")
    mh.give_roles(db, world, chair, b, "council")
    a_id, b_id, c_id = (mh.membership(db, world, u).id for u in (a, b, c))
    council_meeting = mh.now_meeting(db, world, chair)
    sign_in(db, world, a, council_meeting)
    with pytest.raises(ValidationFailed) as refused:
        by_chair(db, world, chair, council_meeting, membership_id=b_id, proxy_membership_id=a_id)
    assert refused.value.errors == {"proxy_membership_id": "proxy_not_allowed"}

    residents = mh.now_meeting(db, world, chair, MeetingKind.RESIDENTS)
    with pytest.raises(ValidationFailed) as refused:  # the holder must be there in person
        by_chair(db, world, chair, residents, membership_id=b_id, proxy_membership_id=a_id)
    assert refused.value.errors == {"proxy_membership_id": "proxy_holder_absent"}
    sign_in(db, world, a, residents)
    proxy = by_chair(db, world, chair, residents, membership_id=b_id, proxy_membership_id=a_id)
    assert proxy.attendance.proxy_membership_id == a_id
    with pytest.raises(ValidationFailed) as refused:  # one proxy each
        by_chair(db, world, chair, residents, membership_id=c_id, proxy_membership_id=a_id)
    assert refused.value.errors == {"proxy_membership_id": "proxy_limit"}
    with db.session(read_only=True) as session:
        rows = queries.sign_ins(session, residents)
        answer = queries.attendance(session, residents)
    assert answer.present == 2  # a in person, b through a
    assert [r.proxy_name for r in rows] == [None, a.name]


def test_invitee_rows_hold_a_member_or_a_guest(db: Database, world: HallWorld, chair: User) -> None:
    council(db, world, chair, 1)
    meeting = mh.schedule(db, world, chair)
    with db.session(read_only=True) as session:
        rows = session.exec(
            select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting.id)
        ).all()
    assert rows
    assert all((r.membership_id is None) != (r.guest_kind is None) for r in rows)


def test_a_sign_in_waits_for_a_cancellation_in_progress(
    db: Database, world: HallWorld, chair: User
) -> None:
    """The chair's cancellation holds the meeting (FOR UPDATE); a sign-in arriving meanwhile
    waits for it (FOR SHARE) and then finds the meeting cancelled: nobody is signed in to a
    meeting that no longer takes place."""
    (member,) = council(db, world, chair, 1)
    meeting = mh.now_meeting(db, world, chair)
    access = access_of(db, world, member)
    started = threading.Event()

    def sign_in_meanwhile() -> str:
        started.set()
        with db.session() as session:
            try:
                service.sign_in_self(
                    session=session,
                    access=access,
                    actor=member,
                    meeting_id=meeting.id or 0,
                    token=meeting.signin_token,
                )
            except Conflict as exc:
                return exc.code
        return "signed in"

    with db.session() as session:  # the cancellation's transaction, held open
        held = session.exec(locked(select(Meeting).where(Meeting.id == meeting.id))).one()
        with ThreadPoolExecutor(1) as pool:
            outcome = pool.submit(sign_in_meanwhile)
            started.wait()
            time.sleep(0.3)  # the sign-in is now waiting for the meeting
            assert not outcome.done()
            held.status = MeetingStatus.CANCELLED
            session.add(held)
            session.commit()
            assert outcome.result(timeout=10) == "meeting_cancelled"
    assert attendance(db, meeting).present == 0
