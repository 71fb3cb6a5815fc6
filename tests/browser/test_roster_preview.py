"""The roster import in a real browser at 390×844, with htmx and without JavaScript: the chair
uploads a CSV, sees the preview (an area changed, with the open ballot's frozen area; new rows),
nothing is written until the confirm, and the confirm imports it.

The screenshot docs/screenshots/roster-preview.png comes from the SQLite run with JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.halls.models import Household
from app.halls.roster import COLUMNS
from tests.ballot_helpers import owners_ballot
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import (
    assert_fits_the_phone,
    assert_same_document,
    log_in,
    make_community,
    mark_document,
)
from tests.factories import make_deciding_issue

pytestmark = pytest.mark.browser


def _area(live: LiveServer, household_id: int | None) -> int | None:
    with live.db.session(read_only=True) as session:
        return session.exec(
            select(Household.area_centi_m2).where(Household.id == household_id)
        ).one()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_the_chair_previews_then_confirms_a_roster(
    live_server: LiveServer,
    phone: Callable[..., Phone],
    screenshot_dir: Path,
    tmp_path: Path,
    javascript: bool,
) -> None:
    live = live_server
    community = make_community(live)
    world = community.world
    issue, _ = make_deciding_issue(live.db, world, community.chair)
    owners_ballot(live.db, world, community.chair, issue, title="1号楼加装电梯")
    first = world.households[0]  # 1号楼1单元101, 68.50 m²
    csv = tmp_path / "名册.csv"
    csv.write_text(
        ",".join(COLUMNS)
        + "\r\n1号楼,1单元,101,70.25,,,\r\n"
        + "1号楼,1单元,102,68.50,,,\r\n"
        + "4号楼,1单元,101,80,林晓燕,13912345678,业主\r\n",
        encoding="utf-8-sig",
    )

    visitor = phone(java_script_enabled=javascript)
    page = visitor.page
    log_in(page, live, community.chair)
    page.goto(live(f"/halls/{community.hall.id}/roster"))
    if javascript:
        mark_document(page)
    page.set_input_files("#f-file", str(csv))
    page.locator("#roster form button[type=submit]").click()

    preview = page.locator("#roster-preview")
    expect(preview).to_be_visible()
    expect(preview.locator(".diff.changed")).to_have_count(1)
    changed = preview.locator(".diff.changed")
    expect(changed).to_contain_text("1号楼1单元101")
    expect(changed.locator("del")).to_have_text("68.50")
    expect(changed.locator("ins")).to_have_text("70.25")
    expect(changed.locator(".frozen")).to_have_text(
        "该户在进行中的表决「1号楼加装电梯」名册中，本次表决仍按冻结时的面积 68.50 ㎡"
    )
    expect(preview.locator(".diff.new")).to_contain_text("4号楼1单元101")
    expect(preview.locator("details.unchanged summary")).to_have_text("无变化（1 行）")
    assert _area(live, first.id) == 6850  # nothing written yet
    assert_fits_the_phone(page)
    if javascript:
        assert_same_document(page)
        if live.backend == "sqlite":
            page.screenshot(path=screenshot_dir / "roster-preview.png", full_page=True)

    preview.get_by_role("button", name="确认导入 3 行").click()
    expect(page.locator("#roster-result")).to_contain_text("3 行全部导入")
    expect(page.locator("#roster-preview")).to_have_count(0)
    assert _area(live, first.id) == 7025
    if javascript:
        assert_same_document(page)
    assert_fits_the_phone(page)
    visitor.watch.assert_clean()
