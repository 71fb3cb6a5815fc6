"""The 公示 in a real browser, on both backends: a resident raises an 异议 (htmx swaps the
card in place), the chair answers it; the printed notice at A4 width fits one sheet.

Screenshots go to docs/screenshots/publicity-*.png from the SQLite run only.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from app.halls.models import Household, Relation
from app.issues.models import Category, Scope
from app.voting import schemas, service
from app.voting.rules import RuleKind
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import (
    Shots,
    assert_fits_the_phone,
    assert_same_document,
    htmx_settled,
    log_in,
    make_community,
    mark_document,
)
from tests.factories import chair_access, make_deciding_issue, make_member

pytestmark = pytest.mark.browser

A4_WIDTH_PX, A4_HEIGHT_PX = 794, 1123  # 210 × 297 mm at 96 dpi
MARGIN_PX = 53  # the 14 mm @page margin
HEADROOM_PX = 40  # a usual notice leaves this much of the sheet: other rules' checks read longer
NAMES = ("李建国", "张秀英", "王桂兰", "刘志强", "陈玉梅", "杨德明")


def test_publicity_objection_answer_and_the_printed_notice(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "publicity-")
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    # 1号楼1单元: six flats, an owners' vote on adding a lift; five agree, one does not
    owners = [
        make_member(db, world, household_index=i, relation=Relation.OWNER, chair=chair, name=n)[0]
        for i, n in enumerate(NAMES)
    ]
    with db.session(read_only=True) as s:
        first = s.get(Household, world.households[0].id)
        assert first is not None
        entrance_id = first.entrance_id
    issue, _ = make_deciding_issue(
        db,
        world,
        chair,
        title="1号楼1单元加装电梯",
        category=Category.ELEVATOR,
        scope=Scope.ENTRANCE,
        scope_entrance_id=entrance_id,
    )
    access = chair_access(db, world, chair)
    with db.session() as s:
        ballot = service.create_ballot(
            session=s,
            access=access,
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.BallotForm(
                title="是否同意1号楼1单元加装电梯",
                rule=RuleKind.OWNERS_ORDINARY,
                scope=Scope.ENTRANCE,
                scope_entrance_id=entrance_id,
                meeting_note="11月20日晚7点 居委会活动室 业主会议",
            ),
        )
    with db.session() as s:
        service.open_ballot(session=s, access=access, actor=chair, ballot_id=ballot.id or 0)
    for n, owner in enumerate(owners):
        with db.session() as s:
            service.cast_vote(
                session=s,
                access=chair_access(db, world, owner),
                actor=owner,
                ballot_id=ballot.id or 0,
                form=schemas.VoteForm(
                    option="no" if n == 0 else "yes", submission_id=str(uuid.uuid4())
                ),
            )
    with db.session() as s:
        service.close_ballot(session=s, access=access, actor=chair, ballot_id=ballot.id or 0)
    url = live(f"/halls/{world.hall.id}/issues/{issue.id}/publicity")

    # a resident raises an 异议: htmx swaps the card, the page stays
    resident = phone()
    page = resident.page
    log_in(page, live, owners[0])
    page.goto(url)
    expect(page.locator("h1")).to_contain_text("协商结果的公示")
    expect(page.locator(".check-lines li")).to_have_count(4)
    assert_fits_the_phone(page)
    mark_document(page)
    card = page.locator(f"#issue-{issue.id}-objections")
    resident.watch.expect_status(422)
    card.locator("button[type=submit]").click()
    expect(card.locator("#e-body")).to_contain_text("此项必填")
    htmx_settled(page)
    card.locator("#f-body").fill("一层住户用不上电梯，分摊比例应该更低，请重新考虑。")
    card.locator("button[type=submit]").click()
    expect(card.locator(".objection")).to_have_count(1)
    expect(page.locator("#flash")).to_contain_text("异议已提交")
    assert_same_document(page)
    htmx_settled(page)
    with db.session() as s:
        service.file_objection(
            session=s,
            access=chair_access(db, world, owners[1]),
            actor=owners[1],
            issue_id=issue.id or 0,
            form=schemas.ObjectionForm(body="施工期间请避开中午休息时间。"),
        )

    # the chair answers the first (not upheld); the second waits
    boss = phone()
    page = boss.page
    log_in(page, live, chair)
    page.goto(url)
    mark_document(page)
    card = page.locator(f"#issue-{issue.id}-objections")
    first = card.locator(".objection").first
    first.locator("textarea[name=answer]").fill(
        "按业主会议商定的分摊办法，一层住户不分摊电梯建设费用。"
    )
    first.locator("button[type=submit]").click()
    expect(card.locator(".objection.answered")).to_have_count(1)
    assert_same_document(page)
    htmx_settled(page)
    # ending now is refused, with the reason in the card
    boss.watch.expect_status(409)
    card.locator(".publicity-end button").click()
    expect(card.locator(".error")).to_contain_text("公示期还没有结束")
    htmx_settled(page)
    assert_fits_the_phone(page)
    shots(page, "chair")

    # the resident's view with the answer
    page = resident.page
    page.goto(url)
    expect(page.locator(".objection.answered")).to_have_count(1)
    assert_fits_the_phone(page)
    shots(page, "page")
    page.goto(f"{url}/print")  # a chair may open the notice on the phone too
    expect(page.locator(".pub-qr img")).to_be_visible()
    assert_fits_the_phone(page)

    # the printed notice, at A4 width, as it prints
    page = boss.page
    page.set_viewport_size({"width": A4_WIDTH_PX, "height": A4_HEIGHT_PX})
    page.goto(f"{url}/print")
    expect(page.locator(".pub-title")).to_contain_text("1号楼1单元加装电梯")
    expect(page.locator(".pub-qr img")).to_be_visible()
    shots(page, "print-screen")
    page.emulate_media(media="print")
    expect(page.locator(".pub-tools")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages == 1, f"the notice prints on {pages} A4 sheets, not one"
    # what the sheet looks like: the printable area (A4 less the 14 mm margins) on an A4 page
    page.set_viewport_size({"width": A4_WIDTH_PX - 2 * MARGIN_PX, "height": 600})
    sheet = Image.open(io.BytesIO(page.screenshot(full_page=True)))
    if shots.enabled:  # before the check below, so a notice that overflows can be looked at
        paper = Image.new("RGB", (A4_WIDTH_PX, A4_HEIGHT_PX), "white")
        paper.paste(sheet, (MARGIN_PX, MARGIN_PX))
        paper.save(screenshot_dir / "publicity-print.png")
    assert sheet.height <= A4_HEIGHT_PX - 2 * MARGIN_PX - HEADROOM_PX, sheet.height
    for screen in (resident, boss):
        screen.watch.assert_clean()
