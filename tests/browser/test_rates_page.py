"""三率 at a phone's 390×844 in a real browser, on both backends: a street official opens the
report (a year of evaluations in three halls), switches to departments, reads the chart and
its table, and sets the weights (a sum that is not 100 is told next to the field). The page
fits the phone with JavaScript and without. Screenshots go to /tmp/rates-*.png (SQLite run)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.core import clock
from tests import rates_helpers as rh
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import assert_fits_the_phone, log_in

pytestmark = pytest.mark.browser
SHOTS = Path(tempfile.gettempdir())


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_street_official_reads_the_rates_on_a_phone(
    live_server: LiveServer, phone: Callable[..., Phone], js: bool
) -> None:
    live = live_server
    w = rh.street_world(live.db, halls=3, departments=2, companies=1)
    now = clock.now()
    for month in range(1, 12):
        at = now - timedelta(days=30 * month)
        for i, hall in enumerate(w.halls):
            of = rh.closed_round(
                w,
                hall,
                at,
                satisfied=20 + (month * 7 + i * 5) % 13,
                basic=3 + i,
                dissatisfied=(month + i) % 4,
                yes=18 + (month + i) % 6,
                no=(month * 3 + i) % 5,
            )
            rh.issue(
                w,
                hall,
                review_due_at=at - timedelta(days=1),
                reviewed_at=at - timedelta(days=1, seconds=(month + i) % 2),
            )
            rh.escalation(
                w,
                of,
                w.departments[(month + i) % 2],
                dispatched_at=at - timedelta(days=5),
                respond_due_at=at - timedelta(days=4),
                acknowledged_at=at - timedelta(days=4, seconds=-(month % 3)),
            )
    official = phone(java_script_enabled=js)
    page = official.page
    log_in(page, live, w.official)
    page.goto(live(f"/streets/{w.street.id}/rates"))
    expect(page.locator("main h1")).to_have_text("三率：响应率、解决率、满意率")
    expect(page.locator(".rates-chart svg")).to_be_visible()
    expect(page.locator(".rates-table tbody tr")).to_have_count(3)
    assert_fits_the_phone(page)
    if js and live.backend == "sqlite":
        page.screenshot(path=SHOTS / "rates-halls.png", full_page=True)
    page.get_by_role("link", name="按部门").click()
    expect(page.locator(".rates-table tbody tr")).to_have_count(2)
    expect(page.locator("main")).to_contain_text("按时报到")
    assert_fits_the_phone(page)
    if js and live.backend == "sqlite":
        page.screenshot(path=SHOTS / "rates-departments.png", full_page=True)
    page.get_by_text("各月数据表").click()
    expect(page.locator(".rates-data table")).to_be_visible()
    page.get_by_role("link", name="修改权重").click()
    page.fill("#f-rate_weight_response", "20")
    official.watch.expect_status(422)
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#e-rate_weight_response")).to_have_text(
        "三个权重合计必须是 100，现在是 110"
    )
    assert_fits_the_phone(page)
    if js and live.backend == "sqlite":
        page.screenshot(path=SHOTS / "rates-settings.png", full_page=True)
    page.fill("#f-rate_weight_satisfaction", "35")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("main")).to_contain_text("响应 20% · 解决 45% · 满意 35%")
    # one hall's own figures (its chair's page; the street's officials may read it too)
    page.get_by_role("link", name=w.halls[1].name).click()
    expect(page.locator("main h1")).to_have_text("本社区的三率")
    expect(page.locator(".rates-table tbody tr")).to_have_count(1)
    assert_fits_the_phone(page)
    if js and live.backend == "sqlite":
        page.screenshot(path=SHOTS / "rates-hall.png", full_page=True)
    official.watch.assert_clean()
