"""Telling voters they have a vote (issue #14): who hears of a ballot's opening, its reminder
and its result, and only they; the reminder job's timing, on both sides of its instant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.core.errors import ValidationFailed
from app.db import Database
from app.issues.models import Notification
from app.jobs import registry, runner
from app.voting import queries, service
from app.voting.models import Ballot
from app.voting.rules import RuleKind
from tests import factories as f
from tests import meeting_helpers as mh
from tests.ballot_helpers import cast, draft_ballot, open_ballot
from tests.implementation_helpers import frozen

REMIND = registry.JOBS["voting.remind"]


def notices(db: Database, kind: str, issue_id: int | None) -> dict[int, str]:
    with db.session(read_only=True) as s:
        rows = s.exec(
            select(Notification).where(Notification.kind == kind, Notification.issue_id == issue_id)
        ).all()
    return {n.user_id: n.text for n in rows}


def council_world(db: Database, n: int = 3):  # type: ignore[no-untyped-def]
    world = f.make_hall(db, buildings=1, entrances=1, rooms=8)
    chair = f.make_chair(db, world)
    members = []
    for i in range(n):
        user, _ = f.make_member(db, world, household_index=i, chair=chair, name=f"议事会{i}")
        mh.give_roles(db, world, chair, user, "council")
        members.append(user)
    resident, _ = f.make_member(db, world, household_index=n, chair=chair, name="普通居民")
    return world, chair, members, resident


def test_a_council_ballot_is_announced_to_the_council_only(db: Database) -> None:
    world, chair, members, resident = council_world(db)
    issue, _ = f.make_deciding_issue(db, world, chair)
    ballot = draft_ballot(db, world, chair, issue, rule=RuleKind.COUNCIL_MAJORITY)
    open_ballot(db, world, chair, ballot)
    opened = notices(db, "ballot_open", issue.id)
    assert set(opened) == {m.id for m in members}  # not the resident, not the chair who opened
    assert resident.id not in opened
    assert set(opened.values()) == {ballot.title}


def test_the_result_goes_to_everyone_on_the_roll(db: Database) -> None:
    world, chair, members, resident = council_world(db)
    issue, _ = f.make_deciding_issue(db, world, chair)
    ballot = open_ballot(
        db, world, chair, draft_ballot(db, world, chair, issue, rule=RuleKind.COUNCIL_MAJORITY)
    )
    for m in members[:2]:
        cast(db, world, m, ballot.id or 0, "yes")
    with db.session() as s:
        service.close_ballot(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
        )
    assert set(notices(db, "ballot_passed", issue.id)) == {m.id for m in members}
    assert notices(db, "ballot_failed", issue.id) == {}
    assert resident.id not in notices(db, "ballot_passed", issue.id)


def _timed_ballot(db: Database, hours: int, remind: str = ""):  # type: ignore[no-untyped-def]
    world, chair, members, _ = council_world(db)
    issue, _ = f.make_deciding_issue(db, world, chair)
    ballot = draft_ballot(
        db,
        world,
        chair,
        issue,
        rule=RuleKind.COUNCIL_MAJORITY,
        closes_in_hours=str(hours),
        remind_before_hours=remind,
    )
    return world, chair, members, issue, open_ballot(db, world, chair, ballot)


def _run(db: Database, at):  # type: ignore[no-untyped-def]
    with frozen(at):
        (result,) = runner.run_once(db, jobs=[REMIND], force=True)
    return result


def test_the_reminder_goes_at_its_instant_to_those_who_have_not_voted_once(db: Database) -> None:
    world, _, members, issue, ballot = _timed_ballot(db, 72)  # default: 24 h before
    cast(db, world, members[0], ballot.id or 0, "yes")
    assert ballot.closes_at is not None
    due = ballot.closes_at - timedelta(hours=24)
    _run(db, due - timedelta(seconds=1))
    assert notices(db, "ballot_reminder", issue.id) == {}
    _run(db, due)
    assert set(notices(db, "ballot_reminder", issue.id)) == {members[1].id, members[2].id}
    _run(db, due + timedelta(hours=1))  # once
    with db.session(read_only=True) as s:
        count = len(
            s.exec(
                select(Notification.id).where(
                    Notification.kind == "ballot_reminder", Notification.issue_id == issue.id
                )
            ).all()
        )
        reminded = s.get(Ballot, ballot.id)
    assert count == 2
    assert reminded is not None
    assert reminded.reminded_at is not None


def test_no_reminder_when_the_chair_set_none_or_it_would_come_before_the_opening(
    db: Database,
) -> None:
    _, _, _, none_issue, none_ballot = _timed_ballot(db, 48, remind="0")
    _, _, _, short_issue, short_ballot = _timed_ballot(db, 12)  # default 24 h > 12 h
    assert none_ballot.closes_at is not None
    assert short_ballot.closes_at is not None
    _run(db, none_ballot.closes_at - timedelta(minutes=1))
    _run(db, short_ballot.closes_at - timedelta(minutes=1))
    assert notices(db, "ballot_reminder", none_issue.id) == {}
    assert notices(db, "ballot_reminder", short_issue.id) == {}


@pytest.mark.parametrize(
    ("closes", "remind", "error"),
    [
        ("48", "abc", "remind_hours_invalid"),
        ("48", "721", "remind_hours_invalid"),
        ("48", "48", "remind_not_before_close"),
        ("", "-1", "remind_hours_invalid"),
    ],
)
def test_the_reminder_hours_are_checked_next_to_the_field(
    db: Database, closes: str, remind: str, error: str
) -> None:
    world, chair, _, _ = council_world(db, n=1)
    issue, _ = f.make_deciding_issue(db, world, chair)
    with pytest.raises(ValidationFailed) as info:
        draft_ballot(
            db,
            world,
            chair,
            issue,
            rule=RuleKind.COUNCIL_MAJORITY,
            closes_in_hours=closes,
            remind_before_hours=remind,
        )
    assert info.value.errors["remind_before_hours"] == error


def test_the_hall_home_lists_what_waits_for_my_vote_until_i_vote(db: Database) -> None:
    world, chair, members, _, ballot = _timed_ballot(db, 48)
    with db.session(read_only=True) as s:
        before = queries.awaiting_vote(s, hall_id=world.hall.id or 0, user_id=members[0].id or 0)
    assert [a.ballot_id for a in before] == [ballot.id]
    cast(db, world, members[0], ballot.id or 0, "no")
    with db.session(read_only=True) as s:
        after = queries.awaiting_vote(s, hall_id=world.hall.id or 0, user_id=members[0].id or 0)
        other = queries.awaiting_vote(s, hall_id=world.hall.id or 0, user_id=members[1].id or 0)
        chair_sees = queries.awaiting_vote(s, hall_id=world.hall.id or 0, user_id=chair.id or 0)
    assert after == []
    assert [a.ballot_id for a in other] == [ballot.id]
    assert chair_sees == []  # the chair is not on the council's roll
