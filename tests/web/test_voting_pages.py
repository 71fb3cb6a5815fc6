"""Ballot pages over HTTP: draft → open → vote on the phone (plain form and htmx) → close → result."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlmodel import select

from app.accounts.models import User
from app.db import Database
from app.halls.models import Entrance, Household, Relation
from app.voting.models import Ballot, Vote
from app.voting.rules import RuleKind
from tests import factories as f
from tests.conftest import Client
from tests.web import voting_helpers as vh


def login(make_client: Callable[[], Client], user: User) -> Client:
    c = make_client()
    c.login(user.phone or "", f.PASSWORD)
    return c


def test_chair_drafts_opens_residents_vote_and_the_result_shows_every_check(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=2, entrances=1, rooms=3)
    chair = f.make_chair(db, world)
    issue, _ = f.make_deciding_issue(db, world, chair)
    owners = [
        f.make_member(db, world, household_index=i, relation=Relation.OWNER, chair=chair)[0]
        for i in range(3)
    ]
    with db.session(read_only=True) as s:
        household = s.get(Household, world.households[0].id)
        assert household is not None
        entrance = s.get(Entrance, household.entrance_id)
        assert entrance is not None
        building_id = entrance.building_id
    boss = login(make_client, chair)
    page = boss.get(f"/halls/{world.hall.id}/issues/{issue.id}/ballots/new")
    assert page.status_code == 200
    assert "业主共同决定·一般事项" in page.text
    # a bad form: 422 with the message next to the field, nothing saved
    bad = boss.post_form(
        f"/halls/{world.hall.id}/issues/{issue.id}/ballots",
        {"title": "", "rule": "owners_ordinary", "scope": "building"},
        token_from=f"/halls/{world.hall.id}/issues/{issue.id}/ballots/new",
    )
    assert bad.status_code == 422
    assert 'id="e-title"' in bad.text
    assert 'id="e-scope_building_id"' in bad.text
    created = boss.post_form(
        f"/halls/{world.hall.id}/issues/{issue.id}/ballots",
        {
            "title": "是否同意加装电梯",
            "rule": "owners_ordinary",
            "scope": "building",
            "scope_building_id": str(building_id),
            "secret": "on",
        },
        token_from=f"/halls/{world.hall.id}/issues/{issue.id}/ballots/new",
        follow_redirects=False,
    )
    assert created.status_code == 303
    url = created.headers["location"]
    ballot_id = int(url.rsplit("/", 1)[1])
    opened = boss.post_form(f"{url}/open", token_from=url, follow_redirects=False)
    assert opened.status_code == 303
    voters = [login(make_client, o) for o in owners]
    # plain form (no JS): PRG with the receipt in the flash
    token = voters[0].csrf(url)
    page = voters[0].get(url)
    assert "无记名投票" in page.text  # the mode is told before the choices (VOTE-12)
    assert page.text.index("无记名投票") < page.text.index('name="option"')
    submission = re.search(r'name="submission_id" value="([^"]+)"', page.text)
    assert submission
    first = voters[0].post(
        f"{url}/votes",
        data={"csrf_token": token, "option": "yes", "submission_id": submission.group(1)},
        follow_redirects=True,
    )
    assert first.status_code == 200
    receipt = re.search(r"回执码 ([A-Z2-7]{12})", first.text)
    assert receipt
    # htmx: the vote card comes back with the receipt
    token = voters[1].csrf(url)
    page = voters[1].get(url)
    sub = re.search(r'name="submission_id" value="([^"]+)"', page.text)
    assert sub
    card = voters[1].post(
        f"{url}/votes",
        data={"csrf_token": token, "option": "yes", "submission_id": sub.group(1)},
        headers={"HX-Request": "true"},
    )
    assert card.status_code == 200
    assert "receipt-code" in card.text
    assert "<html" not in card.text
    # no choice: 422 next to the field
    token = voters[2].csrf(url)
    empty = voters[2].post(
        f"{url}/votes",
        data={"csrf_token": token, "option": "", "submission_id": "0f" * 8},
        headers={"HX-Request": "true"},
    )
    assert empty.status_code == 422
    assert 'id="e-option"' in empty.text
    voters[2].post(
        f"{url}/votes",
        data={"csrf_token": token, "option": "no", "submission_id": "0f" * 8},
        headers={"HX-Request": "true"},
    )
    # a 无记名 board: while open the voter sees only their own receipt there
    assert receipt.group(1) in voters[0].get(f"{url}/board").text
    assert receipt.group(1) not in voters[2].get(f"{url}/board").text
    tally = voters[2].get(f"{url}/tally")
    assert "已投票 3 / 3" in tally.text
    closed = boss.post_form(f"{url}/close", token_from=url, follow_redirects=True)
    assert closed.status_code == 200
    assert "表决结果：通过" in closed.text
    assert "参与表决专有部分面积" in closed.text
    with db.session(read_only=True) as s:
        ballot = s.get(Ballot, ballot_id)
        assert ballot is not None
        assert ballot.head_hash is not None
        assert ballot.head_hash in closed.text
    # once closed, the public board lists the receipt with its choice and no names
    board = voters[2].get(f"{url}/board")
    assert receipt.group(1) in board.text
    assert all(o.name not in board.text.split("<main", 1)[-1] for o in owners if o.name != "居民")


def test_a_resident_of_another_hall_gets_404(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    issue, _ = f.make_deciding_issue(db, world, chair)
    other = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    stranger = f.make_member(db, other, household_index=0)[0]
    boss = login(make_client, chair)
    created = boss.post_form(
        f"/halls/{world.hall.id}/issues/{issue.id}/ballots",
        {"title": "表决", "rule": "residents_meeting", "voter_unit": "household"},
        token_from=f"/halls/{world.hall.id}/issues/{issue.id}/ballots/new",
        follow_redirects=False,
    )
    url = created.headers["location"]
    boss.post_form(f"{url}/open", token_from=url)
    outsider = login(make_client, stranger)
    assert outsider.get(url).status_code == 404
    token = outsider.csrf("/")
    assert (
        outsider.post(
            f"{url}/votes", data={"csrf_token": token, "option": "yes", "submission_id": "ab" * 8}
        ).status_code
        == 404
    )


def test_a_named_ballot_takes_a_vote_only_with_the_voters_consent(
    db: Database, make_client: Callable[[], Client]
) -> None:
    """记名投票 publishes each receipt's choice: the voter agrees separately (PIPL art. 25),
    on the page (422 next to the box, nothing saved) and in the API alike."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=3)
    chair = f.make_chair(db, world)
    owners = [
        f.make_member(db, world, household_index=i, relation=Relation.OWNER, chair=chair)[0]
        for i in range(2)
    ]
    ballot = vh.open_ballot(db, world, chair, rule=RuleKind.OWNERS_ORDINARY, secret=False)
    url = f"/halls/{world.hall.id}/ballots/{ballot.id}"
    voter = login(make_client, owners[0])
    page = voter.get(url)
    assert "记名投票" in page.text
    assert page.text.index("记名投票") < page.text.index('name="option"')
    assert 'name="consent"' in page.text
    submission = re.search(r'name="submission_id" value="([^"]+)"', page.text)
    assert submission
    form = {"csrf_token": voter.csrf(url), "option": "yes", "submission_id": submission.group(1)}
    refused = voter.post(f"{url}/votes", data=form, headers={"HX-Request": "true"})
    assert refused.status_code == 422
    assert 'id="e-consent"' in refused.text
    assert "请勾选同意公开您的选择" in refused.text
    with db.session(read_only=True) as s:
        assert s.exec(select(Vote).where(Vote.ballot_id == ballot.id)).all() == []
    taken = voter.post(
        f"{url}/votes", data=form | {"consent": "on"}, headers={"HX-Request": "true"}
    )
    assert taken.status_code == 200
    assert "当前有效：同意" in taken.text
    # the JSON API asks the same
    api = login(make_client, owners[1])
    token = api.csrf(url)
    path = f"/api/v1/halls/{world.hall.id}/ballots/{ballot.id}/votes"
    body = {"option": "no", "submission_id": vh.sid()}
    response = api.post(path, json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 422
    assert "consent" in response.text
    response = api.post(path, json=body | {"consent": True}, headers={"X-CSRF-Token": token})
    assert response.status_code == 201
    with db.session(read_only=True) as s:
        assert len(s.exec(select(Vote).where(Vote.ballot_id == ballot.id)).all()) == 2
