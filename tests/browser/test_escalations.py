"""吹哨报到 at a phone's 390×844, in a real browser, on both backends: the street official
dispatches from the inbox (the department asked for next to its field first), and the
department's member finds the inbox from the home page and 报到. Every page fits the phone.

Screenshots (YST_ESCALATION_SHOTS=<dir>) are taken from the SQLite run only, outside the repo.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.core import clock
from app.escalations.models import Urgency
from tests import escalation_helpers as eh
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import Shots, assert_fits_the_phone, log_in
from tests.implementation_helpers import frozen

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


def test_the_hall_sees_the_trail_on_the_issue(
    live_server: LiveServer, phone: Callable[..., Phone], tmp_path: Path
) -> None:
    live = live_server
    shots = Shots(Path(os.environ.get("YST_ESCALATION_SHOTS") or tmp_path), live, "escalation-")
    st = eh.story(live.db)
    with frozen(clock.now() - timedelta(hours=3)):
        late = eh.raise_on(live.db, st.world, st.chair, st.issue, urgency=Urgency.EMERGENCY)
        eh.dispatch(live.db, st.world, st.admin, late, st.lead)
    eh.raise_on(live.db, st.world, st.chair, st.issue, summary="楼前停水，请协调自来水公司抢修")
    chair = phone()
    page = chair.page
    log_in(page, live, st.chair)
    page.goto(live(f"/halls/{st.world.hall.id}/issues/{st.issue.id}"))
    card = page.locator(".issue-escalations")
    expect(card).to_contain_text("报到·已逾期")
    expect(card).to_contain_text("办结·已逾期")
    expect(card.get_by_role("button", name="撤回吹哨")).to_be_visible()
    card.scroll_into_view_if_needed()
    assert_fits_the_phone(page)
    shots(page, "issue-card")
    chair.watch.assert_clean()
