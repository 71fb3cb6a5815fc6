"""The last two refusals moved under the button pressed (issue #14), at a phone's 390×844, on
both backends, with JavaScript (htmx swaps the 409) and without:

- a resident taps 举手发言 on the meeting page a moment after the chair closed the meeting;
- the chair taps 确认作废 on the frozen roll for a vote another chair voided a moment ago,
  the reason she typed still there.

Screenshots: docs/screenshots/refusal-hand.png and refusal-roll-void.png (the SQLite JS run).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.meetings import service as meeting_service
from app.voting import schemas as voting_schemas
from app.voting import service as voting_service
from app.web.messages import message
from tests import factories as f
from tests import live_helpers as lh
from tests import meeting_helpers as mh
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import assert_fits_the_phone, log_in, make_community
from tests.browser.test_refusal_beside_button import reason_under
from tests.web import voting_helpers as vh

pytestmark = pytest.mark.browser

JS = pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])


def _shoot(page: Page, selector: str, path: Path) -> None:
    page.evaluate(
        "(s) => window.scrollTo(0, document.querySelector(s).getBoundingClientRect().top"
        " + window.scrollY - 72)",
        selector,
    )
    page.screenshot(path=path)


@JS
def test_a_hand_raised_after_the_meeting_closed_is_said_under_the_button(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path, js: bool
) -> None:
    live = live_server
    community = make_community(live)
    world, chair = community.world, community.chair
    (member,) = lh.members(live.db, world, chair, 1)
    meeting = lh.started(live.db, world, chair)
    mh.tick(live.db, world, chair, meeting, member)
    device = phone(java_script_enabled=js)
    page = device.page
    device.watch.expect_status(409)
    log_in(page, live, member)
    page.goto(live(f"/halls/{community.hall.id}/meetings/{meeting.id}"))
    # meanwhile the chair says 散会 in live mode
    lh.call(live.db, world, chair, meeting_service.end_meeting, meeting_id=meeting.id)
    page.get_by_role("button", name="举手发言").click()
    expect(page.locator("#e-hand")).to_have_text(message("meeting_held"))
    expect(page.get_by_role("button", name="举手发言")).to_have_attribute(
        "aria-describedby", "e-hand"
    )
    assert reason_under(page, "e-hand"), "the reason is not under the button"
    if js:  # the address bar stays on the meeting page (not the POST's …/hand)
        expect(page).to_have_url(live(f"/halls/{community.hall.id}/meetings/{meeting.id}"))
    expect(page.locator(".flash-float")).to_have_count(0)
    assert_fits_the_phone(page)
    if js and live.backend == "sqlite":
        _shoot(page, "#hand", screenshot_dir / "refusal-hand.png")
    device.watch.assert_clean()


@JS
def test_a_void_of_a_vote_voided_meanwhile_is_said_under_its_button(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path, js: bool
) -> None:
    live = live_server
    community = make_community(live)
    world, chair = community.world, community.chair
    ballot = vh.open_ballot(live.db, world, chair, secret=False)
    entry = vh.roll(live.db, ballot)[0].entry
    access = f.chair_access(live.db, world, chair)
    with live.db.session() as s:
        receipt = voting_service.record_in_person(
            session=s,
            access=access,
            actor=chair,
            ballot_id=ballot.id or 0,
            form=voting_schemas.InPersonForm(
                roll_id=entry.id, option="yes", submission_id=vh.sid()
            ),
        )
    device = phone(java_script_enabled=js)
    page = device.page
    device.watch.expect_status(409)
    log_in(page, live, chair)
    page.goto(live(f"/halls/{community.hall.id}/ballots/{ballot.id}/roll"))
    row = page.locator(f"#roll-{entry.id}")
    row.get_by_text("作废", exact=True).click()
    typed = "举手时看错了人"
    page.fill(f"#f-reason-{entry.id}", typed)
    # meanwhile the other chair, at the office computer, voids the same vote
    with live.db.session() as s:
        vote_id = next(r.vote_id for r in vh.roll(live.db, ballot) if r.entry.id == entry.id)
        voting_service.void_vote(
            session=s,
            access=access,
            actor=chair,
            ballot_id=ballot.id or 0,
            vote_id=vote_id or 0,
            form=voting_schemas.VoidForm(reason="录入重复"),
        )
    assert receipt.receipt
    page.get_by_role("button", name="确认作废").click()
    slot = f"e-void-{entry.id}"
    expect(page.locator(f"#{slot}")).to_have_text(message("vote_not_current"))
    expect(page.locator(f"#f-reason-{entry.id}")).to_have_value(typed)
    assert reason_under(page, slot), "the reason is not under the button"
    expect(page.locator(".flash-float")).to_have_count(0)
    if not js:
        expect(page.locator(".roll-row")).to_have_count(1)  # the roll narrowed to the row
    assert_fits_the_phone(page)
    if js and live.backend == "sqlite":
        _shoot(page, f"#roll-{entry.id}", screenshot_dir / "refusal-roll-void.png")
    device.watch.assert_clean()
