"""The issue page's 民办 card at a phone's 390×844, in a real browser, on both backends: the
tasks with their progress, an overdue flag, a blocked reason, a milestone on the timeline;
a resident 认领 a place with one tap (htmx swaps the volunteers' block) and sees their name.
The page fits the phone. A screenshot goes to /tmp (tasks-issue-*.png) for a person to look at.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.core import clock
from app.tasks.models import PartyType
from tests import factories as f
from tests import task_helpers as th
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import assert_fits_the_phone, htmx_settled, log_in, make_community
from tests.implementation_helpers import implementing_issue

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.gettempdir())  # for a person to look at; not kept in the repository


def test_the_issue_page_with_tasks_on_a_phone(
    live_server: LiveServer, phone: Callable[..., Phone]
) -> None:
    live = live_server
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    issue = implementing_issue(db, world, chair)
    neighbour, _ = f.make_member(db, world, chair=chair, name="李大爷")
    lights = th.add_task(
        db, world, chair, issue, title="更换3号楼楼道灯", party_name="安居物业", weight="2"
    )
    th.report(db, world, chair, lights, status="done", text="12盏灯已全部换成声控LED")
    bins = th.add_task(
        db,
        world,
        chair,
        issue,
        title="清理楼道堆物",
        party_type=PartyType.VOLUNTEERS,
        volunteer_cap="4",
        is_milestone=True,
        due_at=th.due_in(1),
    )
    th.report(db, world, chair, bins, progress="30", text="第一次清理：1单元已清完")
    shed = th.add_task(
        db,
        world,
        chair,
        issue,
        title="车棚加装充电桩",
        party_type=PartyType.UNIT,
        party_name="供电所",
        helpers="居委会、物业",
    )
    th.report(
        db,
        world,
        chair,
        shed,
        status="blocked",
        blocked_reason="等待供电所现场勘查",
        text="已报供电所，尚未安排勘查",
    )
    url = live(f"/halls/{community.hall.id}/issues/{issue.id}")

    resident = phone()
    page = resident.page
    log_in(page, live, neighbour)
    clock.freeze(bins.due_at + timedelta(hours=3))  # one task is overdue by a day
    try:
        page.goto(url + "#tasks")
        card = page.locator("#tasks")
        # (2×100 + 30 + 0) / 4 = 57.5: shown as 57, never rounded up
        expect(card).to_contain_text("完成 1/3 项任务，总进度 57%")
        expect(page.locator(f"#task-{bins.id}")).to_contain_text("已逾期 1 天")
        expect(page.locator(f"#task-{shed.id}")).to_contain_text("受阻原因：等待供电所现场勘查")
        expect(card.locator(".task-timeline li.milestone").first).to_contain_text("1单元已清完")
        page.locator(f"#vol-{bins.id}").get_by_role("button", name="我来认领").click()
        expect(page.locator(f"#vol-{bins.id}")).to_contain_text("李大爷")
        expect(page.locator(f"#vol-{bins.id}")).to_contain_text("认领成功")
        htmx_settled(page)
        assert page.url == url + "#tasks"  # swapped in place, no page load
        assert_fits_the_phone(page)
        card.scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / f"tasks-issue-{live.backend}.png", full_page=True)
        card.screenshot(path=SHOTS / f"tasks-card-{live.backend}.png")
    finally:
        clock.freeze(None)

    # the chair's 任务分工 page: the tasks, the add form, the timeline
    boss = phone()
    log_in(boss.page, live, chair)
    boss.page.goto(live(f"/halls/{community.hall.id}/issues/{issue.id}/tasks"))
    expect(boss.page.locator("#add h2")).to_have_text("添加任务")
    assert_fits_the_phone(boss.page)
    boss.page.screenshot(path=SHOTS / f"tasks-list-{live.backend}.png", full_page=True)
    boss.page.goto(live(f"/halls/{community.hall.id}/issues/{issue.id}/tasks/{shed.id}"))
    expect(boss.page.locator("#report h2")).to_have_text("发布进展")
    assert_fits_the_phone(boss.page)
    boss.page.screenshot(path=SHOTS / f"tasks-detail-{live.backend}.png", full_page=True)
