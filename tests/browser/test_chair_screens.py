"""The chair's screens at a phone's 390×844 (issue #14), on both backends: the 计票人 / 监票人
pickers (by building, name · building and unit, a search that filters as one types, targets of
at least 44 px; the buildings fold open without JavaScript) and the review, the issue's details
above accept / reject / merge. Screenshots go to docs/screenshots/chair-*.png (SQLite run)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, expect

from app.issues import schemas as issue_schemas
from app.issues import service as issue_service
from app.issues.models import Category
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import (
    TAP_MIN_PX,
    Shots,
    assert_elder,
    assert_fits_the_phone,
    log_in,
    make_community,
)
from tests.factories import chair_access, make_deciding_issue, make_member

pytestmark = pytest.mark.browser

# (name, household index): 1号楼1单元 is 0–5, 2号楼1单元 12–17, 3号楼2单元 30–35
PEOPLE = (
    ("吕洋", 0),
    ("吕洋", 31),
    ("赵秀兰", 2),
    ("钱建华", 13),
    ("孙丽", 33),
    ("李国庆", 20),
)


def heights(targets: Locator) -> list[float]:
    return [box["height"] for box in (t.bounding_box() for t in targets.all()) if box]


def test_the_officer_picker_filters_as_one_types_and_its_targets_are_big(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "chair-")
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    for name, index in PEOPLE:
        make_member(db, world, household_index=index, chair=chair, name=name)
    issue, _ = make_deciding_issue(db, world, chair, solutions=1)
    desk = phone()
    page = desk.page
    log_in(page, live, chair)
    page.goto(live(f"/halls/{world.hall.id}/issues/{issue.id}/ballots/new"))
    counters = page.locator("#f-counters")
    counters.scroll_into_view_if_needed()
    search = page.locator("#f-counters-q")
    expect(search).to_be_visible()  # shown by app.js

    # by name: both 吕洋, told apart by building and unit; nobody else
    search.fill("吕洋")
    shown = counters.locator("label.person:visible")
    expect(shown).to_have_text(["吕洋 · 1号楼1单元", "吕洋 · 3号楼2单元"])
    assert all(h >= TAP_MIN_PX for h in heights(shown)), heights(shown)
    shots(page, "01-picker-search")
    # by building: its people only, its group opened
    search.fill("3号楼")
    expect(shown).to_have_text(["吕洋 · 3号楼2单元", "孙丽 · 3号楼2单元"])
    search.fill("3号楼 孙")
    expect(shown).to_have_text(["孙丽 · 3号楼2单元"])
    search.fill("没有这个人")
    expect(shown).to_have_count(0)
    expect(counters.locator("[data-picker-none]")).to_be_visible()
    # Enter in the search box does not send the form
    search.press("Enter")
    expect(page.locator("h1")).to_have_text("发起表决")
    search.fill("吕洋")
    # a tap anywhere on the row ticks the box
    namesake = counters.locator("label.person", has_text="吕洋 · 3号楼2单元")
    namesake.click()
    expect(namesake.locator("input")).to_be_checked()
    # cleared: everyone again, the buildings searched stay open, 2号楼 (never matched) folded
    search.fill("")
    every = counters.locator("label.person:visible")
    expect(every).to_have_count(5)
    counters.locator("summary", has_text="2号楼").click()
    expect(every).to_have_count(len(PEOPLE) + 1)  # and the chair
    assert min(heights(every)) >= TAP_MIN_PX, heights(every)
    summaries = heights(counters.locator("summary"))
    assert min(summaries) >= TAP_MIN_PX, summaries
    assert_fits_the_phone(page)
    shots(page, "02-picker")
    desk.watch.assert_clean()


def test_without_javascript_the_picker_folds_by_building(
    live_server: LiveServer, phone: Callable[..., Phone]
) -> None:
    live = live_server
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    for name, index in PEOPLE:
        make_member(db, world, household_index=index, chair=chair, name=name)
    issue, _ = make_deciding_issue(db, world, chair, solutions=1)
    desk = phone(java_script_enabled=False)
    page = desk.page
    log_in(page, live, chair)
    page.goto(live(f"/halls/{world.hall.id}/issues/{issue.id}/ballots/new"))
    scrutineers = page.locator("#f-scrutineers")
    expect(scrutineers.locator(".picker-search")).to_be_hidden()
    expect(scrutineers.locator("label.person:visible")).to_have_text([chair.name])
    scrutineers.locator("summary", has_text="3号楼").click()
    shown = scrutineers.locator("label.person:visible")
    expect(shown).to_have_text([chair.name, "吕洋 · 3号楼2单元", "孙丽 · 3号楼2单元"])
    assert min(heights(shown)) >= TAP_MIN_PX, heights(shown)
    assert_fits_the_phone(page)


def test_the_review_shows_the_details_above_the_buttons(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "chair-")
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    with db.session() as s:
        issue_service.enter_issue_on_behalf(
            session=s,
            access=chair_access(db, world, chair),
            actor=chair,
            form=issue_schemas.OnBehalfIssueForm(
                title="3号楼北侧路灯不亮",
                description="3号楼北侧两盏路灯坏了一个多月，晚上老人出门看不清台阶，已经有人摔倒。",
                category=Category.SAFETY,
            ),
        )
    desk = phone()
    page = desk.page
    log_in(page, live, chair)
    page.goto(live(f"/halls/{world.hall.id}/review"))
    page.locator(".issue-row a", has_text="3号楼北侧路灯不亮").click()
    details = page.locator("section.card", has_text="具体情况")
    accept = page.get_by_role("button", name="受理，进入协商")
    expect(details).to_contain_text("已经有人摔倒")
    top = details.bounding_box()
    button = accept.bounding_box()
    assert top is not None
    assert button is not None
    assert top["y"] < button["y"]
    assert_fits_the_phone(page)
    shots(page, "03-review")
    # 大字模式 from the header: back on the same page, in large text, the header still fits
    here = page.url
    page.get_by_role("button", name="大字模式：关").click()
    expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))
    expect(page).to_have_url(here)
    expect(page.get_by_role("button", name="大字模式：开")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert_elder(page)
    assert_fits_the_phone(page)
    who = page.locator(".topbar .who")
    expect(who).to_have_text(chair.name)
    assert who.evaluate("el => el.scrollWidth <= el.clientWidth"), "the name is cut off"
    shots(page, "04-review-elder")
    desk.watch.assert_clean()
