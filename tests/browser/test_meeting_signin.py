"""A meeting at a phone's 390×844, in a real browser, on both backends: the chair schedules a
议事会 with short notice (the reason is asked for next to its field, then recorded), the
meeting page shows 应到 / 实到 / the quorum and the sign-in QR; two council members open the
QR's link on their own phones and sign in with the one button; the chair's page then shows the
quorum met. Every page fits the phone.

Screenshots go to docs/screenshots/meeting-*.png from the SQLite run only.
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
from tests.browser.test_journeys import (
    Shots,
    assert_fits_the_phone,
    log_in,
    make_community,
    submit,
)
from tests.factories import make_member

pytestmark = pytest.mark.browser


def test_schedule_and_sign_in_on_phones(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "meeting-")
    community = make_community(live)
    hall = community.hall
    members = []
    for i, name in enumerate(("李秀英", "赵建国", "孙丽华")):
        user, _ = make_member(live.db, community.world, household_index=i, name=name)
        mh.give_roles(live.db, community.world, community.chair, user, "council")
        members.append(user)

    chair = phone()
    page = chair.page
    chair.watch.expect_status(422)  # the short notice, refused once
    log_in(page, live, community.chair)
    page.goto(live(f"/halls/{hall.id}"))
    page.get_by_role("link", name="安排会议").click()
    expect(page.locator("main h1")).to_have_text("安排会议")
    starts = clock.now() + timedelta(minutes=40)
    page.fill("#f-title", "楼道堆物清理议事会")
    page.fill("#f-starts_at", mh.local(starts))
    page.fill("#f-ends_at", mh.local(starts + timedelta(hours=2)))
    page.fill("#f-free_items_text", "楼道堆物清理方案\n清理时间安排")
    page.fill("#f-guests_text", "张经理，物业，团结湖物业公司")
    submit(page)
    expect(page.locator("#e-short_notice_reason")).to_contain_text("天通知期")
    assert_fits_the_phone(page)
    shots(page, "schedule-short-notice")
    page.fill("#f-short_notice_reason", "消防检查前须清理完毕")
    submit(page)
    expect(page.locator("main h1")).to_have_text("楼道堆物清理议事会")
    expect(page.locator('[data-figure="expected"]')).to_have_text("3")
    expect(page.locator('[data-quorum="not_met"]')).to_be_visible()
    expect(page.locator("svg.qr")).to_be_visible()
    assert_fits_the_phone(page)
    shots(page, "chair-before")
    link = page.locator("#signin-url").input_value()
    assert link.startswith(live.url + f"/halls/{hall.id}/meetings/")

    for member in members[:2]:
        attendee = phone()
        log_in(attendee.page, live, member)
        attendee.page.goto(link)
        button = attendee.page.get_by_role("button", name="我已到会，签到")
        expect(button).to_be_visible()
        assert_fits_the_phone(attendee.page)
        shots(attendee.page, "signin")
        button.click()
        expect(attendee.page.get_by_text("签到成功")).to_be_visible()
        expect(attendee.page.locator("main h1")).to_have_text("楼道堆物清理议事会")
        attendee.watch.assert_clean()

    page.reload()
    expect(page.locator('[data-figure="present"]')).to_have_text("2")
    expect(page.locator('[data-quorum="met"]')).to_be_visible()
    expect(page.locator('[data-check="attendance_heads"]')).to_contain_text("2")
    assert_fits_the_phone(page)
    shots(page, "chair-quorum")
    chair.watch.assert_clean()
