"""The hall page's counts at a phone's 390×844 (issue #14): 表决中 split into 待发起表决 (the
chair: 请您发起表决), 表决中 and 表决已截止, each label on one line of its half-width tile, in
Chinese and in English, and each tile opening the list of exactly its issues. Screenshots go to
docs/screenshots/hall-tiles-*.png (SQLite run)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.halls.models import Relation
from app.voting import service
from tests import factories as f
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import Shots, assert_fits_the_phone, log_in, make_community
from tests.web.test_vote_state_labels import draft, open_

pytestmark = pytest.mark.browser


def wrapped_tiles(page: Page) -> list[str]:
    """The tiles whose words take more than one line (a line per distinct top of the text)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.stage-counts a > span')].filter(span => {
              const range = document.createRange();
              range.selectNodeContents(span);
              const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
              return tops.size > 1;
            }).map(span => span.textContent)"""
    )


@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
def test_each_count_fits_its_tile_and_opens_its_own_list(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path, english: bool
) -> None:
    live = live_server
    db = live.db
    shots = Shots(screenshot_dir, live, "hall-tiles-")
    community = make_community(live)
    world, chair = community.world, community.chair
    owner, _ = f.make_member(db, world, household_index=0, relation=Relation.OWNER, chair=chair)
    waiting, _ = f.make_deciding_issue(db, world, chair, title="楼道堆物清理")
    voting, _ = f.make_deciding_issue(db, world, chair, title="加装电梯")
    open_(db, world, chair, draft(db, world, chair, voting))
    closed, _ = f.make_deciding_issue(db, world, chair, title="停车位划线")
    ballot = draft(db, world, chair, closed)
    open_(db, world, chair, ballot)
    with db.session() as s:
        service.close_ballot(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
        )
    f.make_issue(db, world, owner)
    lang = "en" if english else "zh"
    words = (
        ["Co-signing", "Awaiting vote", "Voting", "Voting closed"]
        if english
        else ["征集中", "待发起表决", "表决中", "表决已截止"]
    )
    for who, user in (("resident", owner), ("chair", chair)):
        person = phone()
        page = person.page
        log_in(page, live, user)
        if english:
            page.get_by_role("button", name="English").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")
        page.goto(live(f"/halls/{world.hall.id}"))
        tiles = page.locator(".issues-home .stage-counts > li > a > span")
        if who == "resident":
            expect(tiles).to_have_text(words)
        page.locator(".stage-counts").first.scroll_into_view_if_needed()
        shots(page, f"{lang}-{who}")
        assert wrapped_tiles(page) == []
        assert_fits_the_phone(page)
        for title, n in ((waiting.title, 1), (voting.title, 2), (closed.title, 3)):
            page.locator(".issues-home .stage-counts > li > a").nth(n).click()
            expect(page).to_have_url(re.compile(r"stage=deciding&vote=\w+"))
            expect(page.locator("#issue-results .issue-title")).to_have_text([title])
            expect(page.locator("#issue-results .shown-filter")).to_contain_text(words[n])
            if n == 2 and who == "resident":
                shots(page, f"{lang}-voting-list")
                assert_fits_the_phone(page)
            page.go_back()
        person.watch.assert_clean()
