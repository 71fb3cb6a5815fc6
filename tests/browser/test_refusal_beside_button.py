"""A refusal under the button that was pressed, at a phone's 390×844, on both backends
(issue #14): the chair has 结束协商 open and types the 协商意见 while 民议 is closed from
another device; the tap answers that the stage no longer allows it, right under 结束协商，进入表决,
with what was typed still there: with JavaScript (htmx swaps the 409) and without.

Screenshot: docs/screenshots/refusal-beside-button.png (the SQLite run only).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.web.messages import message
from tests import factories as f
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import assert_fits_the_phone, log_in, make_community
from tests.web import issue_helpers as ih

pytestmark = pytest.mark.browser

AGREED = "同意在绿化带边划线增加车位"
APART = "担心占用绿地：改用透水砖，已向反对的居民说明"


def reason_under(page: Page, slot: str) -> bool:
    """The alert `slot` is in the form of the button that names it, below that button."""
    return bool(
        page.evaluate(
            """(slot) => {
              const b = document.querySelector(`button[aria-describedby="${slot}"]`);
              const e = document.getElementById(slot);
              return !!b && !!e && b.form === e.closest('form')
                && e.getBoundingClientRect().top >= b.getBoundingClientRect().bottom;
            }""",
            slot,
        )
    )


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_refusal_is_said_under_the_button(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path, js: bool
) -> None:
    live = live_server
    community = make_community(live)
    world, chair = community.world, community.chair
    issue = f.make_deliberating_issue(live.db, world, chair, title="楼下停车难")
    solution = ih.solution(live.db, world, chair, issue.id or 0)
    device = phone(java_script_enabled=js)
    page = device.page
    device.watch.expect_status(409)
    log_in(page, live, chair)
    page.goto(live(f"/halls/{community.hall.id}/issues/{issue.id}/close"))
    page.fill("#f-agreements", AGREED)
    page.fill("#f-disagreements", APART)
    page.get_by_label("划线增加车位").check()
    # meanwhile 民议 is closed from the office computer
    ih.close_deliberation(live.db, world, chair, issue.id or 0, solution.id or 0)
    page.get_by_role("button", name="结束协商，进入表决").click()
    reason = page.locator("#e-close")
    expect(reason).to_have_text(message("stage_action_not_allowed"))
    button = page.get_by_role("button", name="结束协商，进入表决")
    expect(button).to_have_attribute("aria-describedby", "e-close")
    # the reason sits right under the button, inside the same form
    assert reason_under(page, "e-close"), "the reason is not under the button"
    expect(page.locator("#f-agreements")).to_have_value(AGREED)
    expect(page.locator("#f-disagreements")).to_have_value(APART)
    expect(page.get_by_label("划线增加车位")).to_be_checked()
    expect(page.locator(".flash-float")).to_have_count(0)
    assert_fits_the_phone(page)
    if js and live.backend == "sqlite":
        # the form from its heading down to the reason under the button, on one screen
        page.evaluate(
            "window.scrollTo(0, document.querySelector('main h1').getBoundingClientRect().top"
            " + window.scrollY - 72)"
        )
        page.screenshot(path=screenshot_dir / "refusal-beside-button.png")
    device.watch.assert_clean()
