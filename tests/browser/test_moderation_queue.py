"""The chair works the moderation queue in a real browser (issue #14), on both backends, at
a phone's 390×844: hide without a reason shows the message next to the row's reason field in
the queue; with a reason the row says 评论已隐藏 where it was; 驳回举报 likewise; the address
stays the queue's and the page is never reloaded. Without JavaScript the same forms come back
to the queue (PRG), the message next to the field and the notice in #flash.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from app.accounts.models import User
from app.issues import schemas as issue_schemas
from app.issues import service as issue_service
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import (
    Community,
    assert_same_document,
    htmx_settled,
    log_in,
    make_community,
    mark_document,
)
from tests.factories import make_member
from tests.web import issue_helpers as ih

pytestmark = pytest.mark.browser


def _reported(
    live: LiveServer, community: Community, author: User, reporter: User, body: str
) -> int:
    """A comment of `author` on a fresh issue in 协商, reported by `reporter`."""
    world, chair = community.world, community.chair
    issue = ih.deliberating(live.db, world, chair, title="举报队列" + body)
    said = ih.comment(live.db, world, author, issue.id or 0)
    with live.db.session() as session:
        issue_service.report_comment(
            session=session,
            access=ih._access(live.db, world, reporter),
            actor=reporter,
            comment_id=said.id or 0,
            form=issue_schemas.ReasonForm(reason="语气不好"),
        )
    return said.id or 0


def test_the_chair_works_the_queue(live_server: LiveServer, phone: Callable[..., Phone]) -> None:
    live = live_server
    community = make_community(live)
    author, _ = make_member(live.db, community.world, household_index=0, chair=community.chair)
    reporter, _ = make_member(live.db, community.world, household_index=1, chair=community.chair)
    first = _reported(live, community, author, reporter, "一")
    second = _reported(live, community, author, reporter, "二")
    queue = live(f"/halls/{community.hall.id}/moderation")

    chair = phone()
    chair.watch.expect_status(422)
    page = chair.page
    log_in(page, live, community.chair)
    page.goto(queue)
    mark_document(page)
    row = page.locator(f"#report-{first}")
    row.get_by_role("button", name="隐藏评论").click()
    expect(row.locator(f"#e-reason-{first}")).to_be_visible()
    expect(row.get_by_label("隐藏原因（所有人可见）")).to_have_attribute("aria-invalid", "true")
    htmx_settled(page)
    row.get_by_label("隐藏原因（所有人可见）").fill("人身攻击")
    row.get_by_role("button", name="隐藏评论").click()
    expect(row.get_by_role("status")).to_have_text("评论已隐藏")
    htmx_settled(page)
    other = page.locator(f"#report-{second}")
    other.get_by_role("button", name="驳回举报").click()
    expect(other.get_by_role("status")).to_have_text("已驳回举报，评论继续显示")
    assert page.url == queue
    assert_same_document(page)
    chair.watch.assert_clean()


def test_the_queue_without_javascript(live_server: LiveServer, phone: Callable[..., Phone]) -> None:
    live = live_server
    community = make_community(live)
    author, _ = make_member(live.db, community.world, household_index=0, chair=community.chair)
    reporter, _ = make_member(live.db, community.world, household_index=1, chair=community.chair)
    cid = _reported(live, community, author, reporter, "三")
    queue = live(f"/halls/{community.hall.id}/moderation")

    chair = phone(java_script_enabled=False)
    chair.watch.expect_status(422)
    page = chair.page
    log_in(page, live, community.chair)
    page.goto(queue)
    page.locator(f"#report-{cid}").get_by_role("button", name="隐藏评论").click()
    expect(page.locator("h1")).to_have_text("评论举报")
    expect(page.locator(f"#report-{cid} #e-reason-{cid}")).to_be_visible()
    page.locator(f"#report-{cid}").get_by_label("隐藏原因（所有人可见）").fill("广告")
    page.locator(f"#report-{cid}").get_by_role("button", name="隐藏评论").click()
    expect(page).to_have_url(queue)
    expect(page.locator("#flash")).to_contain_text("评论已隐藏")
    expect(page.locator(f"#report-{cid}")).to_have_count(0)
    chair.watch.assert_clean()
