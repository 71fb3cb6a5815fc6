"""The header names the person in full (issue #14): a 4- or 5-character Chinese name, or a
Latin one, at a phone's 390×844, in Chinese and English, in normal and 大字模式, with nothing
in the header cut off or wider than the screen. Screenshots go to
docs/screenshots/header-*.png (SQLite run)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.accounts.models import User
from app.issues import notices
from app.issues.lifecycle import Stage
from app.issues.models import Issue, Notification
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import (
    Shots,
    assert_elder,
    assert_fits_the_phone,
    log_in,
    make_community,
    turn_on_elder_mode,
)
from tests.factories import make_issue, make_member

pytestmark = pytest.mark.browser

NAMES = ("欧阳秀兰", "司马春晓雪", "Maria Schmidt")


def assert_header_whole(page: Page, name: str) -> None:
    """The name shown whole (not clipped, no ellipsis), every part of the header inside it,
    and the header no wider than the screen."""
    who = page.locator(".topbar .who")
    expect(who).to_have_text(name)
    assert who.evaluate("el => el.scrollWidth <= el.clientWidth"), f"{name} is cut off"
    header = page.locator(".topbar")
    assert header.evaluate("el => el.scrollWidth <= el.clientWidth"), "the header overflows"
    clipped = header.evaluate(
        """el => {
          const box = el.getBoundingClientRect();
          return [...el.querySelectorAll('a, button, .who')]
            .filter(c => c.getBoundingClientRect().width > 0 && !c.closest('.sr-only, .skip'))
            .filter(c => {
              const r = c.getBoundingClientRect();
              return r.left < box.left - 0.5 || r.right > box.right + 0.5
                || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5
                || c.scrollWidth > c.clientWidth + 0.5;
            })
            .map(c => c.textContent.trim());
        }"""
    )
    assert clipped == [], f"cut off in the header: {clipped}"
    assert page.evaluate("innerWidth") == 390


def unread(live: LiveServer, issue: Issue, user: User, count: int) -> None:
    with live.db.session() as session:
        session.add_all(
            Notification(
                hall_id=issue.hall_id,
                user_id=user.id or 0,
                issue_id=issue.id,
                kind=notices.stage_kind(Stage.DELIBERATING),
                text=issue.title,
            )
            for _ in range(count)
        )
        session.commit()


@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
def test_the_header_shows_the_whole_name(
    live_server: LiveServer,
    phone: Callable[..., Phone],
    screenshot_dir: Path,
    english: bool,
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "header-")
    community = make_community(live)
    world, chair = community.world, community.chair
    lang = "en" if english else "zh"
    for n, name in enumerate(NAMES):
        user, _ = make_member(live.db, world, household_index=n, chair=chair, name=name)
        unread(live, make_issue(live.db, world, chair), user, 12)  # "12" on the bell
        person = phone()
        page = person.page
        log_in(page, live, user)
        if english:
            page.get_by_role("button", name="English").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")
        page.goto(live(f"/halls/{world.hall.id}"))
        shots(page, f"{lang}-{n}")
        assert_header_whole(page, name)
        assert_fits_the_phone(page)
        if english:
            page.get_by_role("button", name="Large text: off").click()
            expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))
        else:
            turn_on_elder_mode(page)
        shots(page, f"{lang}-{n}-elder")
        assert_elder(page)
        assert_header_whole(page, name)
        assert_fits_the_phone(page)
        person.watch.assert_clean()
