"""A ballot held at a meeting, on SQLite and PostgreSQL: it takes the meeting kind's rule and
quorum, opens only while the meeting has its quorum (the refusal says what is needed and how
many are missing), and its attendance (实到) is the meeting's sign-in — frozen onto the roll
at open, marked by every later sign-in while it is open, untouched once it is closed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from fractions import Fraction

import pytest
from sqlmodel import col, select

from app.accounts.models import User
from app.core import clock
from app.core.errors import Conflict, ValidationFailed
from app.db import Database, locked
from app.issues.models import Issue
from app.meetings import rules as meeting_rules
from app.meetings.models import Meeting
from app.meetings.rules import MeetingKind
from app.voting import schemas, service
from app.voting.models import Ballot, BallotStatus, RollEntry
from app.voting.rules import RuleKind
from tests import ballot_helpers as bh
from tests import meeting_helpers as mh
from tests.factories import (
    HallWorld,
    make_chair,
    make_deciding_issue,
    make_hall,
    make_member,
    set_hall_rules,
)


@pytest.fixture
def world(db: Database) -> HallWorld:
    return make_hall(db, buildings=1, entrances=2, rooms=4)


@pytest.fixture
def chair(db: Database, world: HallWorld) -> User:
    return make_chair(db, world)


@pytest.fixture
def issue(db: Database, world: HallWorld, chair: User) -> Issue:
    return make_deciding_issue(db, world, chair)[0]


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


def present_keys(db: Database, ballot: Ballot) -> set[str]:
    with db.session(read_only=True) as session:
        return set(
            session.exec(
                select(RollEntry.voter_key).where(
                    RollEntry.ballot_id == ballot.id, col(RollEntry.present).is_(True)
                )
            ).all()
        )


def at_meeting(
    db: Database, world: HallWorld, chair: User, issue: Issue, meeting: Meeting
) -> Ballot:
    return bh.draft_ballot(db, world, chair, issue, meeting_id=meeting.id)


# --- drafting --------------------------------------------------------------------------------


def test_a_ballot_at_a_meeting_takes_its_rule_and_quorum(
    db: Database, world: HallWorld, chair: User, issue: Issue
) -> None:
    set_hall_rules(db, world, council_quorum_num=3, council_quorum_den=4)
    meeting = mh.now_meeting(db, world, chair, MeetingKind.COUNCIL)
    ballot = at_meeting(db, world, chair, issue, meeting)
    assert ballot.meeting_id == meeting.id
    assert ballot.rule == meeting_rules.DECISION_RULES[MeetingKind.COUNCIL]
    assert (ballot.quorum_num, ballot.quorum_den) == (meeting.quorum_num, meeting.quorum_den)
    assert ballot.meeting_note == ""


def test_a_rule_other_than_the_meetings_is_refused_next_to_the_rule(
    db: Database, world: HallWorld, chair: User, issue: Issue
) -> None:
    meeting = mh.now_meeting(db, world, chair, MeetingKind.COUNCIL)
    with pytest.raises(ValidationFailed) as refused:
        bh.draft_ballot(
            db, world, chair, issue, meeting_id=meeting.id, rule=RuleKind.OWNERS_ORDINARY
        )
    assert refused.value.errors == {"rule": "meeting_rule_mismatch"}


@pytest.mark.parametrize("case", ["forum", "cancelled", "unknown", "other_hall", "long_over"])
def test_only_a_meeting_of_the_hall_that_votes_and_is_not_over_holds_a_ballot(
    db: Database, world: HallWorld, chair: User, issue: Issue, case: str
) -> None:
    if case == "forum":
        meeting_id = mh.now_meeting(db, world, chair, MeetingKind.FORUM).id
    elif case == "cancelled":
        meeting = mh.now_meeting(db, world, chair)
        mh.cancel(db, world, chair, meeting)
        meeting_id = meeting.id
    elif case == "unknown":
        meeting_id = 10**9
    elif case == "other_hall":
        other = make_hall(db, buildings=1, entrances=1, rooms=1)
        meeting_id = mh.now_meeting(db, other, make_chair(db, other)).id
    else:
        meeting = mh.now_meeting(db, world, chair)
        clock.freeze(meeting.ends_at + meeting_rules.CHAIR_GRACE + timedelta(seconds=1))
        meeting_id = meeting.id
    with pytest.raises(ValidationFailed) as refused:
        bh.draft_ballot(db, world, chair, issue, meeting_id=meeting_id)
    assert refused.value.errors == {"meeting_id": "meeting_not_for_ballot"}


# --- opening: the quorum, both sides ---------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "quorum"), [(3, (2, 3)), (4, (2, 3)), (5, (1, 2)), (7, (3, 4))]
)
def test_a_meeting_ballot_opens_exactly_at_the_quorum(
    db: Database,
    world: HallWorld,
    chair: User,
    issue: Issue,
    members: int,
    quorum: tuple[int, int],
) -> None:
    """Below the quorum by one the chair is refused with what is needed and the margin; at
    the quorum it opens, and the roll marks present exactly those signed in."""
    set_hall_rules(db, world, council_quorum_num=quorum[0], council_quorum_den=quorum[1])
    people = council(db, world, chair, members)
    meeting = mh.now_meeting(db, world, chair, MeetingKind.COUNCIL)
    needed = next(
        n for n in range(members + 1) if Fraction(n, members) >= Fraction(*quorum)
    )  # inclusive: ≥ the fraction (DOMAIN.md: 议事会 quorum)
    ballot = at_meeting(db, world, chair, issue, meeting)
    for user in people[: needed - 1]:
        mh.tick(db, world, chair, meeting, user)
    with pytest.raises(Conflict) as refused:
        bh.open_ballot(db, world, chair, ballot)
    assert refused.value.code == "meeting_quorum_not_met"
    assert refused.value.params == {
        "present": needed - 1,
        "expected": members,
        "needed": needed,
        "short": 1,
    }
    mh.tick(db, world, chair, meeting, people[needed - 1])
    opened = bh.open_ballot(db, world, chair, ballot)
    assert opened.status == BallotStatus.OPEN
    assert present_keys(db, ballot) == {f"u:{u.id}" for u in people[:needed]}


def test_a_cancelled_meeting_holds_no_ballot_open(
    db: Database, world: HallWorld, chair: User, issue: Issue
) -> None:
    people = council(db, world, chair, 3)
    meeting = mh.now_meeting(db, world, chair)
    ballot = at_meeting(db, world, chair, issue, meeting)
    for user in people:
        mh.tick(db, world, chair, meeting, user)
    mh.cancel(db, world, chair, meeting)
    with pytest.raises(Conflict) as refused:
        bh.open_ballot(db, world, chair, ballot)
    assert refused.value.code == "meeting_cancelled"


# --- one attendance --------------------------------------------------------------------------


def test_a_later_sign_in_is_present_on_the_open_ballot_and_counts_at_close(
    db: Database, world: HallWorld, chair: User, issue: Issue
) -> None:
    people = council(db, world, chair, 4)  # 2/3 of 4: 3 needed
    meeting = mh.now_meeting(db, world, chair)
    ballot = at_meeting(db, world, chair, issue, meeting)
    for user in people[:3]:
        mh.tick(db, world, chair, meeting, user)
    bh.open_ballot(db, world, chair, ballot)
    assert f"u:{people[3].id}" not in present_keys(db, ballot)
    mh.tick(db, world, chair, meeting, people[3])  # arrives late, signs in
    assert present_keys(db, ballot) == {f"u:{u.id}" for u in people}
    for user in people[:2]:
        bh.cast(db, world, user, ballot.id or 0, "yes")
    with db.session() as session:
        service.close_ballot(
            session=session,
            access=bh.access_of(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
        )
    with db.session(read_only=True) as session:
        closed = session.get(Ballot, ballot.id)
        assert closed is not None
        assert closed.result is not None
    # 实到 4 (all signed in), 2 yes of 4 present is not more than half: the base is the
    # meeting's sign-in, not only those who voted (who would make 2 of 2).
    assert closed.passed is False
    checks = {c["id"]: c for c in json.loads(closed.result)["checks"]}
    assert (checks["attendance_heads"]["value"], checks["attendance_heads"]["whole"]) == (4, 4)


def test_the_roll_page_checklist_is_refused_for_a_meeting_ballot(
    db: Database, world: HallWorld, chair: User, issue: Issue
) -> None:
    people = council(db, world, chair, 3)
    meeting = mh.now_meeting(db, world, chair)
    ballot = at_meeting(db, world, chair, issue, meeting)
    for user in people:
        mh.tick(db, world, chair, meeting, user)
    bh.open_ballot(db, world, chair, ballot)
    with db.session() as session, pytest.raises(Conflict) as refused:
        service.record_attendance(
            session=session,
            access=bh.access_of(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
            form=schemas.AttendanceForm(present_ids=[]),
        )
    assert refused.value.code == "attendance_from_meeting"
    assert len(present_keys(db, ballot)) == 3


def test_a_sign_in_waiting_for_a_close_does_not_touch_the_closed_roll(
    db: Database, world: HallWorld, chair: User, issue: Issue
) -> None:
    """The close holds the ballot (FOR UPDATE); a sign-in arriving meanwhile waits (FOR SHARE
    on the meeting's open ballots), then finds it closed: the frozen attendance stays as the
    result counted it."""
    people = council(db, world, chair, 4)
    meeting = mh.now_meeting(db, world, chair)
    ballot = at_meeting(db, world, chair, issue, meeting)
    for user in people[:3]:
        mh.tick(db, world, chair, meeting, user)
    bh.open_ballot(db, world, chair, ballot)
    started = threading.Event()

    def sign_in_meanwhile() -> None:
        started.set()
        mh.tick(db, world, chair, meeting, people[3])

    with db.session() as session:  # the close's transaction, held open
        held = session.exec(locked(select(Ballot).where(Ballot.id == ballot.id))).one()
        with ThreadPoolExecutor(1) as pool:
            outcome = pool.submit(sign_in_meanwhile)
            started.wait()
            time.sleep(0.3)  # the sign-in is now waiting
            assert not outcome.done()
            held.status = BallotStatus.CLOSED
            session.add(held)
            session.commit()
            outcome.result(timeout=10)
    assert present_keys(db, ballot) == {f"u:{u.id}" for u in people[:3]}
    with db.session(read_only=True) as session:  # the meeting still has them all
        from app.meetings import queries as meeting_queries

        held_meeting = session.get(Meeting, meeting.id)
        assert held_meeting is not None
        assert meeting_queries.attendance(session, held_meeting).present == 4
