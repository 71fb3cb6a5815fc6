"""The last refusals said under the button pressed (issue #14), on SQLite and PostgreSQL.

The resident's 举手发言 / 放下 on the meeting page, and the chair's frozen roll: 记录现场表决,
确认作废 and 保存出席. Each conflict is provoked for real (the meeting not open yet or ended,
the ballot closed meanwhile, a vote another chair voided a moment ago) and sent with htmx
(``HX-Request``) and as a plain form: both answer 409 with the form that was sent, the reason in
the alert under its button (named by the button's ``aria-describedby``), what was typed still in
the fields, said once, and no floating #flash notice. Without JS the roll comes back narrowed to
the row pressed, so the reason is in sight in a roll of hundreds.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import select

from app.db import Database
from app.meetings import service as meeting_service
from app.voting import schemas as voting_schemas
from app.voting import service as voting_service
from app.voting.models import Vote
from app.voting.rules import RuleKind
from app.web.messages import message
from tests import factories as f
from tests import live_helpers as lh
from tests import meeting_helpers as mh
from tests.conftest import Client
from tests.web import issue_helpers as ih
from tests.web import voting_helpers as vh
from tests.web.test_refusals_beside_control import said_once
from tests.web.test_voting_paper import Desk, form_of, login

HX = pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])


def _post(client: Client, action: str, body: dict[str, Any], htmx: bool) -> Any:
    headers = {"X-CSRF-Token": client.csrf("/"), **({"HX-Request": "true"} if htmx else {})}
    return client.post(action, data=body, headers=headers, follow_redirects=False)


# --- 举手发言 / 放下 ----------------------------------------------------------------------------


@HX
def test_raising_a_hand_before_the_meeting_opens_is_said_under_the_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """Signed in at the door, the meeting not opened yet: the meeting page again, the reason
    under 举手发言 (the card shows it for the refusal, though the meeting is not live)."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    (member,) = lh.members(db, world, chair, 1)
    meeting = mh.now_meeting(db, world, chair)
    mh.tick(db, world, chair, meeting, member)
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}"
    assert 'id="hand"' not in login(make_client, member).get(base).text  # no card yet
    response = _post(login(make_client, member), f"{base}/hand", {}, htmx)
    said_once(response, f"{base}/hand", message("meeting_not_started"), {})
    assert 'id="hand"' in response.text
    assert lh.call(db, world, chair, meeting_service.start_meeting, meeting_id=meeting.id)
    # Once it is open the same tap queues them (a 303 back to the card, the place said).
    done = _post(login(make_client, member), f"{base}/hand", {}, htmx=False)
    assert done.status_code == 303
    assert done.headers["location"].endswith(f"{base}#hand")


@HX
def test_raising_a_hand_without_signing_in_is_said_under_the_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    (member,) = lh.members(db, world, chair, 1)
    meeting = lh.started(db, world, chair)
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}"
    response = _post(login(make_client, member), f"{base}/hand", {}, htmx)
    said_once(response, f"{base}/hand", message("not_signed_in"), {})
    assert "签到后可以举手发言" not in response.text  # the reason says it, once


@HX
def test_lowering_a_hand_after_the_meeting_ended_is_said_under_the_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """The chair closed the meeting while the resident was waiting: 放下 says why, under 放下,
    though the card no longer offers it."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    (member,) = lh.members(db, world, chair, 1)
    meeting = lh.started(db, world, chair)
    lh.signed_in_hand(db, world, chair, meeting, member)
    phone = login(make_client, member)
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}"
    assert f'action="{base}/hand/lower"' in phone.get(base).text
    lh.call(db, world, chair, meeting_service.end_meeting, meeting_id=meeting.id)
    response = _post(phone, f"{base}/hand/lower", {}, htmx)
    said_once(response, f"{base}/hand/lower", message("meeting_held"), {})


# --- the frozen roll ----------------------------------------------------------------------------


def _row_card(page: str, roll_id: int) -> str:
    start = page.index(f'id="roll-{roll_id}"')
    return page[start : page.index("</li>", start)]


@HX
def test_an_in_person_vote_after_the_close_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """The roll was open on the chair's phone when the ballot closed: 记录现场表决 says why under
    that button of that row only; without JS the roll is narrowed to the row."""
    desk = Desk(db, make_client, secret=False)
    page = desk.boss.get(f"{desk.url}/roll").text
    roll_id = vh.roll(db, desk.ballot)[2].entry.id or 0
    hidden = form_of(page[page.index(f'id="roll-{roll_id}"') :], f"{desk.url}/in-person")
    ih.close_ballot(db, desk.world, desk.chair, desk.ballot.id or 0)
    response = _post(desk.boss, f"{desk.url}/in-person", {**hidden, "option": "yes"}, htmx)
    # the choice made is still chosen
    said_once(response, f"{desk.url}/in-person", message("ballot_closed"), {"option": "yes"})
    card = _row_card(response.text, roll_id)
    assert f'aria-describedby="e-in-person-{roll_id}"' in card
    assert "<details open>" in card
    if htmx:
        assert response.text.lstrip().startswith(f'<li class="roll-row" id="roll-{roll_id}"')
    else:
        assert response.text.count('class="roll-row') == 1  # narrowed to the row …
        assert "找到 1 位" in response.text  # … with 显示全部 beside
    with db.session(read_only=True) as s:
        assert s.exec(select(Vote).where(Vote.ballot_id == desk.ballot.id)).all() == []


@HX
def test_voiding_a_vote_voided_meanwhile_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """Two chairs void the same vote: the second is told under 确认作废 (409, was a 404 page),
    the reason typed kept; the vote is voided once."""
    desk = Desk(db, make_client, secret=False)
    page = desk.boss.get(f"{desk.url}/roll").text
    roll_id = vh.roll(db, desk.ballot)[0].entry.id or 0
    hidden = form_of(page, f"{desk.url}/in-person")
    assert hidden["roll_id"] == str(roll_id)
    desk.boss.post(f"{desk.url}/in-person", data={**hidden, "option": "yes"})
    vote_id = next(r.vote_id for r in vh.roll(db, desk.ballot) if r.entry.id == roll_id)
    void_url = f"{desk.url}/votes/{vote_id}/void"
    first = _post(desk.boss, void_url, {"reason": "举手时看错了人"}, htmx=True)
    assert first.status_code == 200
    response = _post(desk.boss, void_url, {"reason": "我也看错了"}, htmx)
    said_once(response, void_url, message("vote_not_current"), {"reason": "我也看错了"})
    assert f'aria-describedby="e-void-{roll_id}"' in _row_card(response.text, roll_id)
    with db.session(read_only=True) as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None
        assert vote.void_reason == "举手时看错了人"


@HX
def test_saving_attendance_after_the_close_is_said_under_its_button(
    db: Database, make_client: Any, htmx: bool
) -> None:
    desk = Desk(
        db, make_client, rule=RuleKind.RESIDENTS_MEETING, voter_unit="household", secret=False
    )
    page = desk.boss.get(f"{desk.url}/roll").text
    assert "出席登记（实到）" in page
    rows = vh.roll(db, desk.ballot)
    ih.close_ballot(db, desk.world, desk.chair, desk.ballot.id or 0)
    action = f"{desk.url}/attendance"
    body = {"present_ids": [str(rows[0].entry.id)]}
    response = _post(desk.boss, action, body, htmx)
    said_once(response, action, message("ballot_closed"), {})
    assert 'aria-describedby="e-attendance"' in response.text
    assert not re.search(r"实到 1 人", response.text)  # nothing saved


@HX
def test_voiding_a_vote_the_voter_replaced_is_refused_and_offers_that_vote_only(
    db: Database, make_client: Any, htmx: bool
) -> None:
    """The voter voted again while the chair typed the reason: 确认作废 says the vote no longer
    counts, and the form under it still names that old vote, so a second tap is refused again
    rather than voiding the new vote the chair never looked at."""
    desk = Desk(db, make_client, secret=False)
    entry = vh.roll(db, desk.ballot)[0].entry
    access = f.chair_access(db, desk.world, desk.chair)

    def in_person(option: str) -> int:
        with db.session() as s:
            voting_service.record_in_person(
                session=s,
                access=access,
                actor=desk.chair,
                ballot_id=desk.ballot.id or 0,
                form=voting_schemas.InPersonForm(
                    roll_id=entry.id, option=option, submission_id=vh.sid()
                ),
            )
        return next(r.vote_id or 0 for r in vh.roll(db, desk.ballot) if r.entry.id == entry.id)

    old, new = in_person("yes"), in_person("no")
    assert old != new
    old_url, new_url = f"{desk.url}/votes/{old}/void", f"{desk.url}/votes/{new}/void"
    response = _post(desk.boss, old_url, {"reason": "举手时看错了人"}, htmx)
    said_once(response, old_url, message("vote_not_current"), {"reason": "举手时看错了人"})
    assert f'action="{new_url}"' not in response.text
    with db.session(read_only=True) as s:
        current = s.get(Vote, new)
        assert current is not None
        assert current.is_current


def test_a_boosted_form_answered_with_its_page_keeps_the_address_bar(
    db: Database, make_client: Any
) -> None:
    """hx-boost would push the POST's URL (…/hand), which a reload would GET (405): a page sent
    back to a boosted form (409, 422) says HX-Push-Url: false; a redirect and a GET do not."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    (member,) = lh.members(db, world, chair, 1)
    meeting = mh.now_meeting(db, world, chair)
    mh.tick(db, world, chair, meeting, member)
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}"
    phone = login(make_client, member)
    boosted = {"HX-Request": "true", "HX-Boosted": "true", "X-CSRF-Token": phone.csrf(base)}
    refused = phone.post(f"{base}/hand", headers=boosted, follow_redirects=False)
    assert refused.status_code == 409
    assert refused.headers.get("HX-Push-Url") == "false"
    boss = login(make_client, chair)
    boss_boosted = {**boosted, "X-CSRF-Token": boss.csrf(base)}
    invalid = boss.post(
        f"{base}/reschedule", data={"starts_at": "not a time"}, headers=boss_boosted
    )
    assert invalid.status_code == 422
    assert invalid.headers.get("HX-Push-Url") == "false"
    lh.call(db, world, chair, meeting_service.start_meeting, meeting_id=meeting.id)
    done = phone.post(f"{base}/hand", headers=boosted, follow_redirects=False)
    assert done.status_code == 303
    assert "HX-Push-Url" not in done.headers
    assert "HX-Push-Url" not in phone.get(base, headers=boosted).headers
