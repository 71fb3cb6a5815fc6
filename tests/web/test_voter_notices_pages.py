"""What a voter sees (issue #14): 等您投票 on the hall home, a large 去投票 on the issue page,
the notice in the bell's list; the reminder field's error next to it on the ballot form."""

from __future__ import annotations

from collections.abc import Callable

from app.accounts.models import User
from app.db import Database
from app.voting.rules import RuleKind
from tests import factories as f
from tests import meeting_helpers as mh
from tests.ballot_helpers import cast, draft_ballot, open_ballot
from tests.conftest import Client


def login(make_client: Callable[[], Client], user: User) -> Client:
    c = make_client()
    c.login(user.phone or "", f.PASSWORD)
    return c


def test_a_council_member_is_told_and_shown_where_to_vote_until_she_has(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    member, _ = f.make_member(db, world, household_index=0, chair=chair, name="议事会王")
    mh.give_roles(db, world, chair, member, "council")
    resident, _ = f.make_member(db, world, household_index=1, chair=chair, name="居民李")
    issue, _ = f.make_deciding_issue(db, world, chair)
    ballot = draft_ballot(
        db, world, chair, issue, rule=RuleKind.COUNCIL_MAJORITY, title="东门改造方案表决"
    )
    ballot = open_ballot(db, world, chair, ballot)
    her = login(make_client, member)
    home = her.get(f"/halls/{world.hall.id}")
    assert "等您投票" in home.text
    assert f"/halls/{world.hall.id}/ballots/{ballot.id}" in home.text
    page = her.get(f"/halls/{world.hall.id}/issues/{issue.id}")
    assert "vote-now" in page.text
    assert "去投票：东门改造方案表决" in page.text
    bell = her.get("/notifications")
    assert "您有一项表决可以投票了" in bell.text
    assert "东门改造方案表决" in bell.text

    other = login(make_client, resident)  # not on the council's roll: nothing asks her
    assert "等您投票" not in other.get(f"/halls/{world.hall.id}").text
    assert "vote-now" not in other.get(f"/halls/{world.hall.id}/issues/{issue.id}").text
    assert "您有一项表决可以投票了" not in other.get("/notifications").text

    cast(db, world, member, ballot.id or 0, "yes")
    assert "等您投票" not in her.get(f"/halls/{world.hall.id}").text
    assert "vote-now" not in her.get(f"/halls/{world.hall.id}/issues/{issue.id}").text


def test_the_reminder_field_answers_next_to_itself(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    issue, _ = f.make_deciding_issue(db, world, chair)
    boss = login(make_client, chair)
    new = f"/halls/{world.hall.id}/issues/{issue.id}/ballots/new"
    assert 'name="remind_before_hours"' in boss.get(new).text
    bad = boss.post_form(
        f"/halls/{world.hall.id}/issues/{issue.id}/ballots",
        {
            "title": "是否同意",
            "rule": "council_majority",
            "closes_in_hours": "12",
            "remind_before_hours": "24",
        },
        token_from=new,
    )
    assert bad.status_code == 422
    assert 'id="e-remind_before_hours"' in bad.text
    assert "提醒要在截止之前" in bad.text
    assert 'value="24"' in bad.text  # what was typed is kept
