"""A ballot held at a meeting, over HTTP on SQLite and PostgreSQL: the draft form offers the
hall's meetings, a wrong rule comes back next to its field (422), the ballot page shows the
meeting's time and place and its attendance against the quorum, opening below the quorum is
refused with what is needed and how many are missing (back to the page, nothing changed), and the meeting
page lists its ballots; the roll page's checklist gives way to the meeting's sign-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app.accounts.models import User
from app.core import clock
from app.db import Database
from app.meetings.rules import MeetingKind
from app.voting.models import Ballot, BallotStatus
from tests import ballot_helpers as bh
from tests import factories as f
from tests import meeting_helpers as mh
from tests.conftest import Client
from tests.web.test_issue_pages import _queries


@pytest.fixture(autouse=True)
def _release_clock() -> Iterator[None]:
    yield
    clock.freeze(None)


def login(make_client: Callable[[], Client], user: User) -> Client:
    c = make_client()
    c.login(user.phone or "", f.PASSWORD)
    return c


def test_a_ballot_at_a_meeting_from_the_form_to_the_quorum_gate(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=1, entrances=2, rooms=4)
    chair = f.make_chair(db, world)
    issue, _ = f.make_deciding_issue(db, world, chair)
    members = []
    for i in range(3):
        user, _ = f.make_member(db, world, household_index=i, chair=chair, name=f"委员{i}")
        mh.give_roles(db, world, chair, user, "council")
        members.append(user)
    meeting = mh.now_meeting(db, world, chair)
    boss = login(make_client, chair)
    new = f"/halls/{world.hall.id}/issues/{issue.id}/ballots/new"
    form_page = boss.get(new)
    assert f'<option value="{meeting.id}"' in form_page.text
    assert meeting.title in form_page.text
    create = f"/halls/{world.hall.id}/issues/{issue.id}/ballots"
    wrong = boss.post_form(
        create,
        {"title": "是否同意清理楼道", "rule": "owners_ordinary", "meeting_id": str(meeting.id)},
        token_from=new,
    )
    assert wrong.status_code == 422
    assert 'id="e-rule"' in wrong.text
    assert "按该会议类型的表决规则计票" in wrong.text
    created = boss.post_form(
        create,
        {"title": "是否同意清理楼道", "meeting_id": str(meeting.id), "secret": "on"},
        token_from=new,
        follow_redirects=False,
    )
    assert created.status_code == 303
    url = created.headers["location"]
    page = boss.get(url)
    assert meeting.title in page.text
    assert meeting.place in page.text
    assert 'data-quorum="not_met"' in page.text
    assert "还差 2 人" in page.text  # 2/3 of 3 members: 2 needed, 0 signed in
    refused = boss.post_form(f"{url}/open", token_from=url)  # the reason under 开始投票
    assert refused.status_code == 409
    assert "应到 3 人，实到 0 人，至少需要 2 人，还差 2 人" in refused.text
    ballot_id = int(url.rsplit("/", 1)[1])
    with db.session(read_only=True) as s:
        ballot = s.get(Ballot, ballot_id)
        assert ballot is not None
        assert ballot.status == BallotStatus.DRAFT
    for user in members[:2]:
        mh.tick(db, world, chair, meeting, user)
    assert 'data-quorum="met"' in boss.get(url).text
    opened = boss.post_form(f"{url}/open", token_from=url, follow_redirects=False)
    assert opened.status_code == 303
    meeting_page = boss.get(f"/halls/{world.hall.id}/meetings/{meeting.id}")
    assert f"/halls/{world.hall.id}/ballots/{ballot_id}" in meeting_page.text
    roll = boss.get(f"{url}/roll")
    assert roll.status_code == 200
    assert "实到人数以会议签到为准" in roll.text
    assert "点名" not in roll.text  # no second attendance list
    # a resident sees the ballot on the meeting page once it is open, not while it was a draft
    resident = login(make_client, members[2])
    assert (
        f"/ballots/{ballot_id}"
        in resident.get(f"/halls/{world.hall.id}/meetings/{meeting.id}").text
    )


def test_the_meeting_page_costs_the_same_queries_for_3_and_30_sign_ins(
    db: Database, make_client: Callable[[], Client]
) -> None:
    """No N+1 on the meeting page, for the chair (who sees the sign-in form with every member)
    and a member: 3 or 30 sign-ins (with a proxy and a guest) and ballots at the meeting."""
    world = f.make_hall(db, buildings=2, entrances=4, rooms=5)
    chair = f.make_chair(db, world)
    people = [
        f.make_member(db, world, household_index=i, chair=chair, name=f"居民{i}")[0]
        for i in range(31)
    ]
    few = mh.now_meeting(db, world, chair, MeetingKind.RESIDENTS)
    many = mh.now_meeting(db, world, chair, MeetingKind.RESIDENTS)
    for meeting, n in ((few, 3), (many, 30)):
        for user in people[:n]:
            mh.tick(db, world, chair, meeting, user)
        for k in range(1 if n == 3 else 3):
            issue, _ = f.make_deciding_issue(db, world, chair)
            bh.draft_ballot(db, world, chair, issue, meeting_id=meeting.id, title=f"表决{k}")
    boss = login(make_client, chair)
    member = login(make_client, people[30])
    for client in (boss, member):
        cost = [
            _queries(client, db, f"/halls/{world.hall.id}/meetings/{m.id}") for m in (few, many)
        ]
        assert cost[0] == cost[1], cost
