"""The chair's 合并 list on a phone (390×844), in a hall of many issues (issue #14): rows of at
least 48 px, filtered as one types (app.js), a search that reaches any other issue, and the
merge done by tapping a row; the same without JavaScript. Screenshots go to
docs/screenshots/chair-05-merge*.png (SQLite run)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.issues import schemas as issue_schemas
from app.issues import service as issue_service
from app.issues.lifecycle import Stage
from app.issues.models import Category, Issue
from app.issues.queries import MERGE_CHOICES
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import (
    Shots,
    assert_elder,
    assert_fits_the_phone,
    log_in,
    make_community,
    turn_on_elder_mode,
)
from tests.factories import chair_access, make_member
from tests.web.test_merge_list import bulk

pytestmark = pytest.mark.browser

ROW_MIN_PX = 48


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_the_merge_list_is_short_searchable_and_merges(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path, js: bool
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "chair-05-merge" + ("" if js else "-nojs"))
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    resident, _ = make_member(db, world, household_index=0, chair=chair)
    stages = [Stage.COLLECTING, Stage.DELIBERATING, Stage.DECIDING, Stage.IMPLEMENTING]
    bulk(db, world, resident, [("3号楼北侧路灯坏了", Stage.DELIBERATING)])
    bulk(db, world, resident, [(f"议题{i}：小区公共事务", stages[i % 4]) for i in range(150)])
    with db.session() as s:
        issue = issue_service.enter_issue_on_behalf(
            session=s,
            access=chair_access(db, world, chair),
            actor=chair,
            form=issue_schemas.OnBehalfIssueForm(
                title="3号楼北侧路灯不亮", description="晚上很黑。", category=Category.SAFETY
            ),
        )
    desk = phone(java_script_enabled=js)
    page = desk.page
    log_in(page, live, chair)
    page.goto(live(f"/halls/{world.hall.id}/issues/{issue.id}"))
    rows = page.locator("[data-merge-row]")
    expect(rows).to_have_count(MERGE_CHOICES)
    expect(rows.first).to_contain_text("3号楼北侧路灯坏了")  # the closest title first
    expect(rows.first).to_contain_text("协商中")
    heights = [b["height"] for b in (r.bounding_box() for r in rows.all()) if b]
    assert min(heights) >= ROW_MIN_PX, heights
    page.locator(".merge").scroll_into_view_if_needed()
    assert_fits_the_phone(page)
    shots(page, "")
    search = page.locator("[data-merge-search]")
    if js:
        # typing filters the rows shown, at once
        search.fill("议题149")
        expect(page.locator("[data-merge-row]:visible")).to_have_count(1)
        search.fill("没有的词")
        expect(page.locator("[data-merge-row]:visible")).to_have_count(0)
        expect(page.locator("[data-merge-none]")).to_be_visible()
    # a search reaches an issue the first rows do not show (the oldest 议题0)
    search.fill("议题0")
    page.get_by_role("button", name="查找").click()
    expect(page.locator("[data-merge-row]")).to_have_count(1)
    expect(page.locator("[data-merge-row]")).to_contain_text("议题0：小区公共事务")
    shots(page, "-search")
    page.locator("[data-merge-row]").click()
    page.get_by_role("button", name="合并", exact=True).click()
    expect(page.locator(".stage-panel")).to_contain_text("已合并到：")
    with db.session(read_only=True) as s:
        merged = s.get(Issue, issue.id)
        target = s.get(Issue, merged.merged_into_id if merged else None)
        assert merged is not None
        assert target is not None
        assert merged.stage == Stage.MERGED
        assert target.title == "议题0：小区公共事务"
    if js:
        # 大字模式: rows still at least 48 px, the page still fits
        with db.session() as s:
            other = issue_service.enter_issue_on_behalf(
                session=s,
                access=chair_access(db, world, chair),
                actor=chair,
                form=issue_schemas.OnBehalfIssueForm(
                    title="议题重复了", description="同上。", category=Category.OTHER
                ),
            )
        page.goto(live(f"/halls/{world.hall.id}/issues/{other.id}"))
        turn_on_elder_mode(page)
        assert_elder(page)
        heights = [b["height"] for b in (r.bounding_box() for r in rows.all()) if b]
        assert len(heights) == MERGE_CHOICES
        assert min(heights) >= ROW_MIN_PX, heights
        page.locator(".merge").scroll_into_view_if_needed()
        assert_fits_the_phone(page)
        shots(page, "-elder")
    desk.watch.assert_clean()


def test_a_row_the_filter_hides_is_no_longer_chosen(
    live_server: LiveServer, phone: Callable[..., Phone]
) -> None:
    """合并 cannot be undone and asks nothing more: once the chair's typing hides the row they
    had checked, nothing is checked, and 合并 asks them to choose instead of merging into an
    issue they can no longer see."""
    live = live_server
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    resident, _ = make_member(db, world, household_index=0, chair=chair)
    bulk(
        db,
        world,
        resident,
        [("3号楼北侧路灯坏了", Stage.DELIBERATING), ("楼道灯不亮", Stage.COLLECTING)],
    )
    with db.session() as s:
        issue = issue_service.enter_issue_on_behalf(
            session=s,
            access=chair_access(db, world, chair),
            actor=chair,
            form=issue_schemas.OnBehalfIssueForm(
                title="3号楼北侧路灯不亮", description="晚上很黑。", category=Category.SAFETY
            ),
        )
    desk = phone()
    page = desk.page
    log_in(page, live, chair)
    page.goto(live(f"/halls/{world.hall.id}/issues/{issue.id}"))
    chosen = page.locator("[data-merge-row]", has_text="3号楼北侧路灯坏了")
    chosen.click()
    expect(page.locator("input[name=target_id]:checked")).to_have_count(1)
    page.locator("[data-merge-search]").fill("楼道")
    expect(chosen).to_be_hidden()
    expect(page.locator("[data-merge-row]:visible")).to_have_count(1)
    expect(page.locator("input[name=target_id]:checked")).to_have_count(0)
    desk.watch.expect_status(422)  # nothing chosen: the refusal next to the list
    page.get_by_role("button", name="合并", exact=True).click()
    error = page.locator(".merge-list #e-target_id")
    expect(error).to_be_visible()
    expect(page.locator(".stage-panel")).not_to_contain_text("已合并到：")
    with db.session(read_only=True) as s:
        after = s.get(Issue, issue.id)
        assert after is not None
        assert (after.stage, after.merged_into_id) == (Stage.UNDER_REVIEW, None)
    # a row the filter shows again stays unchecked until the chair taps it
    page.locator("[data-merge-search]").fill("")
    expect(page.locator("[data-merge-row]:visible")).to_have_count(2)
    expect(page.locator("input[name=target_id]:checked")).to_have_count(0)
    desk.watch.assert_clean()
