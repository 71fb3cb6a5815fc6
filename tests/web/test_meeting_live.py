"""The meeting as it is held, over the pages (plain form posts, no JavaScript) and the JSON API,
on SQLite and PostgreSQL: the chair opens it, a resident raises a hand on the meeting page and
sees their place, the chair gives the floor and the speech box is filled in with who has it, a
bad summary comes back with its Chinese message (422), the projector shows names only; the
API's queue, floor, move, withdraw, speeches and current item; and what the live page and the
projector cost with 30 speakers and 30 speeches (the same statements as with one of each)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from app.accounts.models import User
from app.core import clock
from app.db import Database
from app.meetings import live_routes, queries, schemas, service
from app.meetings.models import Meeting, Speaker, Speech
from app.voting.models import Ballot
from tests import live_helpers as lh
from tests import meeting_helpers as mh
from tests.conftest import Client
from tests.factories import (
    PASSWORD,
    HallWorld,
    make_chair,
    make_deciding_issue,
    make_hall,
    without_place_names,
)
from tests.web import issue_helpers as ih


@pytest.fixture(autouse=True)
def _release_clock() -> Iterator[None]:
    yield
    clock.freeze(None)


def logged_in(make_client: Any, user: User) -> Client:
    client: Client = make_client()
    client.login(user.phone or "", PASSWORD)
    return client


def json_client(make_client: Any, user: User) -> tuple[Client, dict[str, str]]:
    client = logged_in(make_client, user)
    return client, {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}


def hall_with_council(db: Database, n: int) -> tuple[HallWorld, User, list[User]]:
    world = make_hall(db, buildings=1, entrances=2, rooms=20)
    chair = make_chair(db, world, name="王主任")
    return world, chair, lh.members(db, world, chair, n)


def test_the_meeting_on_pages_without_javascript(db: Database, make_client: Any) -> None:
    world, chair, (member, other) = hall_with_council(db, 2)
    meeting = mh.now_meeting(db, world, chair)
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}"
    boss = logged_in(make_client, chair)
    page = boss.get(f"{base}/live")
    assert page.status_code == 200
    assert "开始会议" in page.text
    started = boss.post_form(f"{base}/live/start", token_from=f"{base}/live", follow_redirects=True)
    assert "会议开始" in started.text  # type: ignore[attr-defined]
    assert 'data-figure="expected">2<' in started.text  # type: ignore[attr-defined]
    # The resident is not signed in yet: no button, a hint; once signed in, the big button.
    phone = logged_in(make_client, member)
    assert "签到后可以举手发言" in phone.get(base).text
    mh.tick(db, world, chair, meeting, member)
    mh.tick(db, world, chair, meeting, other)
    assert "举手发言" in phone.get(base).text
    raised = phone.post_form(f"{base}/hand", token_from=base, follow_redirects=True)
    assert "已举手，排在第 1 位" in raised.text  # type: ignore[attr-defined]
    assert 'data-place="1"' in raised.text  # type: ignore[attr-defined]
    assert "放下" in raised.text  # type: ignore[attr-defined]
    second = logged_in(make_client, other)
    queued = second.post_form(f"{base}/hand", token_from=base, follow_redirects=True)
    assert "前面还有 1 人" in queued.text  # type: ignore[attr-defined]
    lowered = second.post_form(f"{base}/hand/lower", token_from=base, follow_redirects=True)
    assert "已放下" in lowered.text  # type: ignore[attr-defined]
    assert "举手发言" in lowered.text  # type: ignore[attr-defined]
    # The chair sees the hand, gives the floor; the speech box names the speaker.
    live = boss.get(f"{base}/live").text
    speaker_id = int(re.search(r'data-speaker="(\d+)"', live).group(1))  # type: ignore[union-attr]
    assert "委员0" in live
    floor = boss.post_form(
        f"{base}/live/speakers/{speaker_id}/floor", token_from=f"{base}/live", follow_redirects=True
    )
    text = floor.text  # type: ignore[attr-defined]
    assert f'data-speaking="{speaker_id}"' in text
    assert 'name="speaker_name" maxlength="40" value="委员0"' in text
    assert f'name="speaker_id" value="{speaker_id}"' in text
    assert "请您发言" in phone.get(base).text
    # A bad summary: 422 with the message next to the field, what was typed comes back.
    form = {"speaker_id": str(speaker_id), "speaker_name": "委员0", "identity": "议事会成员"}
    for summary, words in (("", "请填写发言摘要"), ("长" * 501, "发言摘要最多500字")):
        bad = boss.post_form(
            f"{base}/live/speeches", form | {"summary": summary}, token_from=f"{base}/live"
        )
        assert bad.status_code == 422  # type: ignore[attr-defined]
        error = re.search(r'<p class="error" id="e-summary"[^>]*>([^<]*)<', bad.text)  # type: ignore[attr-defined]
        assert error is not None
        assert error.group(1) == words
    done = boss.post_form(
        f"{base}/live/speeches",
        form | {"summary": "长" * 500},
        token_from=f"{base}/live",
        follow_redirects=True,
    )
    assert "发言已记录" in done.text  # type: ignore[attr-defined]
    assert "长" * 500 in done.text  # type: ignore[attr-defined]
    # A guest added by the chair without a 身份 is refused next to the field.
    guest = boss.post_form(f"{base}/live/speakers", {"name": "张经理"}, token_from=f"{base}/live")
    assert guest.status_code == 422  # type: ignore[attr-defined]
    assert 'id="e-identity"' in guest.text  # type: ignore[attr-defined]
    assert 'value="张经理"' in guest.text  # type: ignore[attr-defined]
    # Correcting the speech.
    with db.session(read_only=True) as session:
        speech = session.exec(select(Speech).where(Speech.meeting_id == meeting.id)).one()
    edit_url = f"{base}/live/speeches/{speech.id}"
    assert boss.get(edit_url).status_code == 200
    edited = boss.post_form(
        edit_url,
        {"speaker_name": "委员0", "identity": "居民代表", "summary": "改过的摘要"},
        token_from=edit_url,
        follow_redirects=True,
    )
    assert "改过的摘要" in edited.text  # type: ignore[attr-defined]
    # A plain member does not get the live mode; the projector they may open.
    assert phone.get(f"{base}/live").status_code == 404
    screen = phone.get(f"{base}/screen")
    assert screen.status_code == 200
    assert 'data-figure="present">2<' in screen.text
    ended = boss.post_form(f"{base}/live/end", token_from=f"{base}/live", follow_redirects=True)
    assert "会议结束" in ended.text  # type: ignore[attr-defined]
    with db.session(read_only=True) as session:
        assert (
            queries.get_meeting(
                session, hall_id=world.hall.id or 0, meeting_id=meeting.id or 0
            ).status
            == "held"
        )  # type: ignore[union-attr]


def test_refusals_come_back_on_the_meeting_page(db: Database, make_client: Any) -> None:
    """Raising a hand before the meeting opens: the meeting page again (409), the reason under
    the button (tests/web/test_hand_and_roll_refusals.py has every case, with htmx too)."""
    world, chair, (member,) = hall_with_council(db, 1)
    meeting = mh.now_meeting(db, world, chair)
    mh.tick(db, world, chair, meeting, member)
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}"
    phone = logged_in(make_client, member)
    refused = phone.post_form(f"{base}/hand", token_from=base, follow_redirects=False)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "会议还没有开始" in refused.text  # type: ignore[attr-defined]


def test_the_projector_shows_names_only(db: Database, make_client: Any) -> None:
    world, chair, people = hall_with_council(db, 3)
    meeting = lh.started(db, world, chair)
    for person in people:
        lh.signed_in_hand(db, world, chair, meeting, person)
    client = logged_in(make_client, people[0])
    text = client.get(f"/halls/{world.hall.id}/meetings/{meeting.id}/screen").text
    assert all(p.name in text for p in people)
    unnamed = without_place_names(text, world)
    assert not any((p.phone or "")[-4:] in unnamed for p in people)
    assert not re.search(r"1[3-9]\d{9}", text)
    assert 'sse-connect="/halls/' in text
    assert "?s=" in text


def test_the_api(db: Database, make_client: Any) -> None:
    world, chair, (member, other) = hall_with_council(db, 2)
    meeting = lh.started(db, world, chair, free_items=["电梯", "停车"])
    base = f"/api/v1/halls/{world.hall.id}/meetings/{meeting.id}"
    boss, headers = json_client(make_client, chair)
    phone, phone_headers = json_client(make_client, member)
    assert (
        phone.post(f"{base}/speakers", headers=phone_headers, json={}).json()["error"]
        == "not_signed_in"
    )
    mh.tick(db, world, chair, meeting, member)
    first = phone.post(f"{base}/speakers", headers=phone_headers, json={})
    assert first.status_code == 201, first.text
    assert phone.post(f"{base}/speakers", headers=phone_headers, json={}).status_code == 200
    guest = boss.post(
        f"{base}/speakers", headers=headers, json={"name": "张经理", "identity": "物业"}
    )
    assert guest.status_code == 201
    # A member may not add others.
    assert (
        phone.post(
            f"{base}/speakers", headers=phone_headers, json={"name": "甲", "identity": "乙"}
        ).status_code
        == 404
    )
    moved = boss.post(
        f"{base}/speakers/{guest.json()['id']}/move", headers=headers, json={"position": 1}
    )
    assert [s["name"] for s in moved.json()["waiting"]] == ["张经理", "委员0"]
    assert [s["position"] for s in moved.json()["waiting"]] == [1, 2]
    floor = boss.post(f"{base}/speakers/{guest.json()['id']}/floor", headers=headers)
    assert floor.json()["status"] == "speaking"
    queue = phone.get(f"{base}/speakers").json()
    assert queue["speaking"]["name"] == "张经理"
    assert [s["position"] for s in queue["waiting"]] == [1]
    off = phone.post(f"{base}/speakers/{first.json()['id']}/withdraw", headers=phone_headers)
    assert off.json()["status"] == "withdrawn"
    with db.session(read_only=True) as session:
        items = queries.agenda(session, meeting)
    current = boss.post(f"{base}/current-item", headers=headers, json={"item_id": items[1].item.id})
    assert current.json()["current_item_id"] == items[1].item.id
    unknown = boss.post(f"{base}/current-item", headers=headers, json={"item_id": 2**40})
    assert unknown.status_code == 422
    assert unknown.json()["fields"]["item_id"] == "请选择本次会议的议程"
    empty = boss.post(
        f"{base}/speeches", headers=headers, json={"speaker_name": "张经理", "summary": ""}
    )
    assert empty.status_code == 422
    assert empty.json()["fields"]["summary"] == "请填写发言摘要"
    noted = boss.post(
        f"{base}/speeches",
        headers=headers,
        json={"speaker_id": floor.json()["id"], "summary": "物业同意出资。"},
    )
    assert noted.status_code == 201, noted.text
    assert noted.json()["speaker_name"] == "张经理"
    assert noted.json()["item_id"] == items[1].item.id
    listed = phone.get(f"{base}/speeches").json()["speeches"]
    assert [(s["position"], s["summary"]) for s in listed] == [(1, "物业同意出资。")]
    assert boss.get(f"{base}/speakers").json()["speaking"] is None  # the speaker is done
    # Another hall's resident: not found.
    outsider_world = make_hall(db)
    outsider = make_chair(db, outsider_world, name="别处主任")
    stranger, stranger_headers = json_client(make_client, outsider)
    assert stranger.get(f"{base}/speakers").status_code == 404
    assert (
        stranger.post(
            f"{base}/speeches",
            headers=stranger_headers,
            json={"speaker_name": "甲", "summary": "乙"},
        ).status_code
        == 404
    )
    del other


# --- what the pages cost ------------------------------------------------------------------------


class Counter:
    def __init__(self, db: Database) -> None:
        self.count = 0
        self.engines = {id(e): e for e in (db.write_engine, db.read_engine)}.values()

    def _on(self, *_args: object) -> None:
        self.count += 1

    def __enter__(self) -> Counter:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._on)


def _meeting_with(db: Database, n: int) -> tuple[HallWorld, User, Meeting]:
    """An open meeting whose current item is an issue with an open ballot held at the meeting,
    n members waiting to speak (one speaking) and n speeches."""
    world, chair, people = hall_with_council(db, n)
    issue, _ = make_deciding_issue(db, world, chair, solutions=1)
    meeting = lh.started(db, world, chair, issue_ids=[issue.id], free_items=[])
    ballot = ih.ballot(db, world, chair, issue.id or 0)
    with db.session() as session:
        row = session.get(Ballot, ballot.id)
        assert row is not None
        row.meeting_id = meeting.id
        session.add(row)
        session.commit()
        item = queries.agenda(session, meeting)[0].item.id
    lh.call(
        db,
        world,
        chair,
        service.set_current_item,
        meeting_id=meeting.id,
        form=schemas.CurrentItemForm(item_id=item),
    )
    for person in people:
        lh.signed_in_hand(db, world, chair, meeting, person)
    with db.session(read_only=True) as session:
        first = session.exec(select(Speaker).where(Speaker.meeting_id == meeting.id)).first()
    assert first is not None
    lh.call(db, world, chair, service.give_floor, meeting_id=meeting.id, speaker_id=first.id)
    for i in range(n):
        lh.speech(db, world, chair, meeting, speaker_name=f"居民{i}", summary=f"意见{i}")
    with db.session(read_only=True) as session:
        fresh = session.get(Meeting, meeting.id)
    assert fresh is not None
    return world, chair, fresh


def _page_cost(client: Client, db: Database, url: str) -> tuple[int, str]:
    client.get(url)  # warm up (session touch, caches)
    for name, memo in db.memos.items():
        if name.startswith(("fragment:", "kept:")):
            memo.clear()
    with Counter(db) as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count, response.text


def _snapshot_cost(
    db: Database, world: HallWorld, chair: User, meeting: Meeting
) -> tuple[int, list[str]]:
    access = lh.access_of(db, world, chair)
    with Counter(db) as counter:
        _, events, _ = live_routes._screen_snapshot(
            db, access, world.hall.id or 0, meeting.id or 0, ("", "")
        )
    return counter.count, [name for name, _ in events]


def test_live_page_and_projector_cost_the_same_for_1_and_30(db: Database, make_client: Any) -> None:
    costs = {}
    for n in (1, 30):
        world, chair, meeting = _meeting_with(db, n)
        client = logged_in(make_client, chair)
        base = f"/halls/{world.hall.id}/meetings/{meeting.id}"
        live, text = _page_cost(client, db, f"{base}/live")
        assert text.count('data-speaker="') == n - 1
        assert len(re.findall(r'id="speech-\d+"', text)) == n
        assert "已投票 0 / " in text  # the current item's tally
        screen, screen_text = _page_cost(client, db, f"{base}/screen")
        assert 'sse-connect="/halls/' in screen_text
        snapshot, names = _snapshot_cost(db, world, chair, meeting)
        assert names == ["state", "ballots"]
        costs[n] = (live, screen, snapshot)
    assert costs[1] == costs[30], costs
    live, screen, snapshot = costs[30]
    assert live <= 30, costs
    assert screen <= 20, costs
    assert snapshot <= 12, costs
