"""民评 on a phone at 390×844, on both databases: a resident opens the issue's 民评 card,
answers (满意 / 基本满意 / 不满意, 是否解决, a comment), sees their own answer and not the running
counts; the round closes by the job's use case, and the closed summary shows the exact rates and
the reopen check. Screenshots go to /tmp/evaluation-*.png from the SQLite run only."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.evaluations import service
from tests import evaluation_helpers as eh
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import Shots, assert_fits_the_phone, log_in, make_community
from tests.factories import make_member
from tests.implementation_helpers import implementing_issue

pytestmark = pytest.mark.browser


def test_a_resident_evaluates_on_the_phone(
    live_server: LiveServer, phone: Callable[..., Phone]
) -> None:
    live = live_server
    shots = Shots(Path(tempfile.gettempdir()), live, "evaluation-")
    community = make_community(live)
    world, chair = community.world, community.chair
    resident, _ = make_member(live.db, world, household_index=0, name="郑满意", chair=chair)
    issue = implementing_issue(live.db, world, chair)
    eh.add_task(live.db, world, issue, chair)
    row = eh.open_round(live.db, world, chair, issue)
    eh.answer_many(live.db, world, issue, ["satisfied", "dissatisfied"])

    mobile = phone()
    page = mobile.page
    mobile.watch.expect_status(422)
    log_in(page, live, resident)
    page.goto(live(f"/halls/{world.hall.id}/issues/{issue.id}"))
    page.get_by_role("link", name="去评价").click()
    expect(page.locator("main h1")).to_have_text("民评 · 办理结果评价")
    expect(page.locator('[data-figure="answers"]')).to_contain_text("已有 2 人评价")
    page.get_by_role("button", name="提交评价").click()  # nothing chosen: 422 next to the field
    expect(page.locator("#e-satisfaction")).to_contain_text("请选择满意、基本满意或不满意")
    page.locator("label.choice", has_text="基本满意").click()
    page.locator("label.choice", has_text="是").first.click()
    page.fill("#f-comment", "楼道灯已经修好，希望以后定期检查")
    assert_fits_the_phone(page)
    shots(page, "answer-form")
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("[data-mine]")).to_have_attribute("data-mine", "basic")
    expect(page.locator('[data-figure="valid"]')).to_have_count(0)  # no running counts

    desk = phone()
    log_in(desk.page, live, chair)
    desk.page.goto(live(f"/halls/{world.hall.id}/issues/{issue.id}/evaluation/paper?q=郑"))
    expect(desk.page.locator("label.choice", has_text="郑满意")).to_contain_text("已评价")
    assert_fits_the_phone(desk.page)
    shots(desk.page, "paper-desk")

    with live.db.session() as s:
        assert service.close_due_rounds(session=s, now=row.ends_at) == [row.id]
        s.commit()
    page.reload()
    expect(page.locator("[data-outcome]")).to_have_attribute("data-outcome", "closed")
    expect(page.locator('[data-figure="valid"]')).to_have_text("3")
    expect(page.locator('[data-rate="satisfaction_rate"]')).to_contain_text("19/30 = 0.6333")
    expect(page.locator('[data-check="dissatisfied_heads"]')).to_contain_text("差 1 人")
    expect(page.locator("[data-mine]")).to_have_attribute("data-mine", "basic")  # still shown
    expect(page.get_by_role("button", name="修改评价")).to_have_count(0)  # closed: no changes
    assert_fits_the_phone(page)
    shots(page, "closed-summary")
    page.get_by_role("link", name="结果公示（A4）").click()
    expect(page.locator("h1")).to_contain_text("办理结果评价的公示")
    shots(page, "result-print")
    mobile.watch.assert_clean()
