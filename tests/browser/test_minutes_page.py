"""The 会议纪要 at a phone's 390×844, in a real browser, on both backends: the 主持人 opens the
draft (the document as built from the meeting), types the task table and saves, signs; the
记录人 signs on their own phone; the page then shows 已签署 with the hash and the 更正 form.
Every page fits the phone; with JavaScript or without.

Screenshots go to docs/screenshots/minutes-*.png from the SQLite run only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import minutes_helpers as minh
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import Shots, assert_fits_the_phone, log_in, make_community

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_keep_and_sign_the_minutes_on_phones(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path, js: bool
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "minutes-")
    shots.enabled = shots.enabled and js
    community = make_community(live)
    held = minh.held_meeting(live.db, world=community.world, speeches=6, ballots=1)
    url = live(f"/halls/{community.hall.id}/meetings/{held.meeting.id}/minutes")

    chair = phone(java_script_enabled=js)
    page = chair.page
    log_in(page, live, held.chair)
    page.goto(url)
    expect(page.locator("main h1")).to_have_text("会议纪要")
    expect(page.locator("main")).to_contain_text("应到 3 人，实到 2 人")
    assert_fits_the_phone(page)
    shots(page, "draft")
    page.fill("#f-tasks", "清理楼道堆物 | 物业 | 12月20日\n通知住户 | 楼门长 | 12月15日")
    page.locator("#edit button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("通知住户")
    page.get_by_role("button", name="我是主持人，签署纪要").click()
    expect(page.locator('[data-line="chair"]')).to_contain_text("已于")

    recorder = phone(java_script_enabled=js)
    log_in(recorder.page, live, held.recorder)
    recorder.page.goto(url)
    recorder.page.get_by_role("button", name="我是记录人，签署纪要").click()
    expect(recorder.page.locator("#signed")).to_contain_text("已签署")
    expect(recorder.page.locator("[data-hash]")).to_have_text(
        __import__("re").compile(r"^[0-9a-f]{64}$")
    )
    expect(recorder.page.locator("#f-text")).to_be_visible()
    assert_fits_the_phone(recorder.page)
    shots(recorder.page, "signed")
    for who in (chair, recorder):
        who.watch.assert_clean()
