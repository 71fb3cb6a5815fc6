"""The meeting as it is held, served for real (uvicorn) on both backends:

- the projector's stream (server-sent events, read with httpx): the state and the ballots
  once, then nothing while nothing changes (keep-alives only), then a `state` event naming a
  speaker within a second of their hand going up;
- in Chromium: the projector at 1280×720 follows a hand raised on a phone without a reload
  (the vendored htmx sse extension), and shows the current item's live tally; the chair's live
  mode at 390×844 fits the phone, and its queue takes a hand raised meanwhile (htmx refresh).

Screenshots go to docs/screenshots/meeting-live.png and meeting-screen.png (SQLite run).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from app.accounts.models import User
from app.db import Database
from app.meetings import queries, schemas, service
from app.meetings.models import Meeting
from app.voting.models import Ballot
from tests import live_helpers as lh
from tests import meeting_helpers as mh
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import Shots, assert_fits_the_phone, log_in, make_community
from tests.factories import PASSWORD, HallWorld, make_deciding_issue, make_member
from tests.web import issue_helpers as ih

pytestmark = pytest.mark.browser

NAMES = ("李秀英", "赵建国", "孙丽华", "周文华", "吴卫东")


def _http_login(live: LiveServer, user: User) -> httpx.Client:
    timeout = httpx.Timeout(10, read=2.5)  # a quiet stream's read fails after 2.5 s
    client = httpx.Client(base_url=live.url, headers={"Origin": live.url}, timeout=timeout)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    done = client.post(
        "/login", data={"phone": user.phone, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert done.status_code == 303, done.text[:300]
    return client


def _meeting(live: LiveServer) -> tuple[HallWorld, User, Meeting, list[User]]:
    """An open 议事会 on an issue with an open ballot held at it, its current item; council
    members signed in."""
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    people = []
    for i, name in enumerate(NAMES):
        user, _ = make_member(db, world, household_index=i, chair=chair, name=name)
        mh.give_roles(db, world, chair, user, "council")
        people.append(user)
    issue, _ = make_deciding_issue(db, world, chair, solutions=1, title="3号楼加装电梯")
    meeting = lh.started(
        db,
        world,
        chair,
        title="加装电梯议事会",
        issue_ids=[issue.id],
        free_items=["电梯施工期间停车安排"],
    )
    ballot = ih.ballot(db, world, chair, issue.id or 0, rule="council_majority")
    _hold_at(db, ballot, meeting)
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
    for person in people:
        mh.tick(db, world, chair, meeting, person)
    return world, chair, meeting, people


def _hold_at(db: Database, ballot: Ballot, meeting: Meeting) -> None:
    """The ballot is held at the meeting (its meeting_id; how ballots get one is voting's)."""
    with db.session() as session:
        row = session.get(Ballot, ballot.id)
        assert row is not None
        row.meeting_id = meeting.id
        session.add(row)
        session.commit()


def _events(lines: list[str]) -> list[tuple[str, str]]:
    """(event, data) of the SSE lines read so far."""
    found, name, data = [], "", []
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and name:
            found.append((name, "\n".join(data)))
            name, data = "", []
    return found


def test_a_new_speaker_appears_in_the_projector_stream(live_server: LiveServer) -> None:
    live = live_server
    world, _chair, meeting, people = _meeting(live)
    viewer = _http_login(live, people[-1])
    url = f"/halls/{world.hall.id}/meetings/{meeting.id}/screen/live"
    lines: list[str] = []
    with viewer.stream("GET", url) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        reader = stream.iter_lines()

        def read_until(done: Callable[[], bool], within: float) -> None:
            deadline = time.monotonic() + within
            while not done():
                assert time.monotonic() < deadline, lines[-10:]
                lines.append(next(reader))

        # No digests sent: both parts come at once, the state with nobody in the queue.
        read_until(lambda: len(_events(lines)) >= 2, 5)
        first = _events(lines)
        assert [n for n, _ in first] == ["state", "ballots"]
        assert "发言排队（0）" in first[0][1]
        assert "已投票 0 / " in first[1][1]  # the ballot's tally, following ballots.live
        # The hand goes up: a `state` event with the name, within a second.
        raised_at = time.monotonic()
        lh.call(live.db, world, people[0], service.raise_hand, meeting_id=meeting.id)
        read_until(lambda: len(_events(lines)) >= 3, 5)
        lag = time.monotonic() - raised_at
        name, data = _events(lines)[2]
        assert name == "state"
        assert NAMES[0] in data
        assert people[0].phone not in data
        assert lag < 1.0, lag
        # Nothing changes: nothing is sent (the snapshot key is unchanged; a keep-alive comes
        # only after 15 quiet seconds), so the next read times out (2.5 s).
        count = len(_events(lines))
        with pytest.raises(httpx.ReadTimeout):
            lines.append(next(reader))
        assert len(_events(lines)) == count
    viewer.close()


def test_projector_and_live_mode_in_the_browser(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "meeting-")
    world, chair, meeting, people = _meeting(live)
    db = live.db
    # Three hands up, one of them speaking; a guest added by the chair; two speeches noted.
    hands = [lh.call(db, world, p, service.raise_hand, meeting_id=meeting.id) for p in people[:3]]
    lh.call(
        db,
        world,
        chair,
        service.add_speaker,
        meeting_id=meeting.id,
        form=schemas.SpeakerForm(name="张经理", identity="物业"),
    )
    lh.call(
        db, world, chair, service.give_floor, meeting_id=meeting.id, speaker_id=hands[0].speaker.id
    )
    lh.speech(
        db,
        world,
        chair,
        meeting,
        speaker_name="刘科长",
        identity="街道城管科",
        summary="加装电梯须先办理规划审批，街道可协助联系设计单位，预计两个月。",
    )
    lh.speech(
        db,
        world,
        chair,
        meeting,
        speaker_name="陈桂兰",
        identity="居民代表",
        summary="一楼住户担心采光和噪音，希望施工安排在白天，并对一楼给予适当补偿。",
    )
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}"

    # The projector, 1280×720, logged in as a council member.
    screen = phone()
    screen.page.set_viewport_size({"width": 1280, "height": 720})
    log_in(screen.page, live, people[-1])
    screen.page.goto(live(f"{base}/screen"))
    queue = screen.page.locator(".screen-queue")
    expect(queue).to_contain_text("赵建国")
    expect(screen.page.locator(".screen-item .item")).to_contain_text("3号楼加装电梯")
    expect(screen.page.locator(".screen .speaking")).to_contain_text("李秀英")
    expect(screen.page.locator(".screen-ballot .turnout")).to_contain_text("已投票 0 / ")
    # A hand raised on a phone shows without a reload.
    screen.page.evaluate("window.__sameDocument = true")
    raised_at = time.monotonic()
    lh.call(db, world, people[3], service.raise_hand, meeting_id=meeting.id)
    expect(queue).to_contain_text("周文华", timeout=3000)
    lag = time.monotonic() - raised_at
    assert lag < 2.0, lag
    assert screen.page.evaluate("window.__sameDocument === true")
    no_scroll = screen.page.evaluate(
        "document.documentElement.scrollHeight <= document.documentElement.clientHeight"
    )
    shots(screen.page, "screen")
    assert no_scroll, "the projector scrolls at 1280×720"
    screen.watch.assert_clean()

    # The chair's live mode on a phone.
    desk = phone()
    log_in(desk.page, live, chair)
    desk.page.goto(live(f"{base}/live"))
    expect(desk.page.locator("main h1")).to_have_text("现场主持")
    expect(desk.page.locator("#live-queue .floor")).to_contain_text("李秀英")
    expect(desk.page.locator("#f-speaker_name")).to_have_value("李秀英")
    expect(desk.page.locator("#live-ballots .turnout")).to_contain_text("已投票 0 / ")
    # A hand raised meanwhile appears in the chair's queue (htmx refresh).
    lh.call(db, world, people[4], service.raise_hand, meeting_id=meeting.id)
    expect(desk.page.locator("#live-queue")).to_contain_text("吴卫东", timeout=8000)
    # The speech box: a summary, recorded; the speaker is done, the queue moves on.
    desk.page.fill("#f-summary", "支持加装，建议公示施工方案后再表决。")
    desk.page.locator("#speech-box button[type=submit]").click()
    expect(desk.page.locator("#live-speeches")).to_contain_text(
        "支持加装，建议公示施工方案后再表决。"
    )
    expect(desk.page.locator("#live-queue .floor")).to_have_count(0)
    desk.watch.assert_clean()
    # (Measured last: the measuring leaves marks on the page that a later swap would trip on.)
    assert_fits_the_phone(desk.page)
    desk.page.evaluate("window.scrollTo(0, 0)")
    if shots.enabled:  # what the chair sees first, at the phone's 390×844
        desk.page.screenshot(path=screenshot_dir / "meeting-live.png")
