"""吹哨报到 at a phone's 390×844, in a real browser, on both backends: the street official
dispatches from the inbox (the department asked for next to its field first), and the
department's member finds the inbox from the home page and 报到. Every page fits the phone.

Screenshots (YST_ESCALATION_SHOTS=<dir>) are taken from the SQLite run only, outside the repo.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import escalation_helpers as eh
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import Shots, assert_fits_the_phone, log_in

pytestmark = pytest.mark.browser


def test_dispatch_and_check_in_on_a_phone(
    live_server: LiveServer, phone: Callable[..., Phone], tmp_path: Path
) -> None:
    live = live_server
    shots = Shots(Path(os.environ.get("YST_ESCALATION_SHOTS") or tmp_path), live, "escalation-")
    st = eh.story(live.db)
    e = eh.raise_on(live.db, st.world, st.chair, st.issue, work_order_no="GD20261207001")
    eh.raise_on(live.db, st.world, st.chair, st.issue, summary="楼前停水，请协调自来水公司抢修")
    admin = phone()
    page = admin.page
    admin.watch.expect_status(422)  # 派单 without a department, once
    log_in(page, live, st.admin)
    page.get_by_role("link", name="吹哨派单").first.click()
    expect(page.locator("#escalation-rows")).to_contain_text("北门路面塌陷")
    assert_fits_the_phone(page)
    shots(page, "street-inbox")
    page.goto(live(f"/streets/{st.world.street.id}/escalations/{e.id}"))
    page.locator("form[action$='/dispatch'] button[type=submit]").click()
    expect(page.locator("#e-department_id")).to_contain_text("此项必填")
    page.select_option("#f-department_id", str(st.lead.id))
    page.locator("form[action$='/dispatch'] button[type=submit]").click()
    expect(page.get_by_text("已派单，部门报到计时开始")).to_be_visible()
    assert_fits_the_phone(page)
    shots(page, "street-dispatched")
    admin.watch.assert_clean()
    member = phone()
    page = member.page
    log_in(page, live, st.lead_user)
    page.get_by_role("link", name="部门待办").first.click()
    expect(page.locator("#escalation-rows")).to_contain_text("北门路面塌陷")
    assert_fits_the_phone(page)
    shots(page, "department-inbox")
    page.locator("#escalation-rows a").first.click()
    page.locator("form[action$='/acknowledge'] button[type=submit]").click()
    expect(page.get_by_text("已报到", exact=True).first).to_be_visible()
    expect(page.locator("form[action$='/resolve']")).to_be_visible()
    assert_fits_the_phone(page)
    shots(page, "department-detail")
    member.watch.assert_clean()
