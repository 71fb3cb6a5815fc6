"""改期 at a phone's 390×844, in a real browser, on both backends: the chair moves a meeting
to tomorrow without a reason — both reasons are asked for next to their fields — then with
them; the page says it was rescheduled and offers 加入手机日历. Every page fits the phone.

Screenshots go to docs/screenshots/meeting-reschedule*.png from the SQLite run only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.core import clock
from tests import meeting_helpers as mh
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import Shots, assert_fits_the_phone, log_in, make_community

pytestmark = pytest.mark.browser


def test_the_chair_reschedules_on_a_phone(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "meeting-")
    community = make_community(live)
    meeting = mh.schedule(
        live.db,
        community.world,
        community.chair,
        mh.form(title="楼道堆物清理议事会", free_items=["楼道堆物清理方案"]),
    )
    chair = phone()
    page = chair.page
    chair.watch.expect_status(422)  # the missing reasons, refused once
    log_in(page, live, community.chair)
    page.goto(live(f"/halls/{community.hall.id}/meetings/{meeting.id}"))
    expect(page.get_by_role("link", name="加入手机日历")).to_be_visible()
    button = page.locator("form[action$='/reschedule'] button[type=submit]")
    page.fill("#r-starts_at", mh.local(clock.now() + timedelta(days=1)))
    page.fill("#r-place", "3号楼活动室")
    button.click()
    expect(page.locator("#e-r-reason")).to_contain_text("此项必填")
    expect(page.locator("#e-r-short_notice_reason")).to_contain_text("天通知期")
    expect(page.locator("#r-place")).to_have_value("3号楼活动室")
    assert_fits_the_phone(page)
    shots(page, "reschedule-errors")
    page.fill("#r-reason", "议事厅维修")
    page.fill("#r-short_notice_reason", "消防检查提前")
    page.locator("form[action$='/reschedule'] button[type=submit]").click()
    expect(page.get_by_text("会议已改期，新的通知已发给受邀成员")).to_be_visible()
    expect(page.locator("[data-rescheduled='2']")).to_be_visible()
    expect(page.locator("main header")).to_contain_text("3号楼活动室")
    assert_fits_the_phone(page)
    shots(page, "rescheduled")
    chair.watch.assert_clean()
