"""The 民提 · 民议 journey (issue 3) in a real browser, at a phone's 390×844, on both backends.

A resident proposes an issue with a photo (the similar-issues hint shows while they type the
title); two neighbours co-sign and the issue goes to 待审核 by itself; the chair accepts it;
residents comment with stances (支持 / 反对) and one adds a 方案; the chair hides an abusive
comment with a reason; the chair closes deliberation with a 协商意见 and the 方案 goes to
民决 (表决中). Every action that htmx enhances is checked to swap in place, not reload.
Also: the list and the hall home with stage counts, the issue page and list in 大字模式, and
a short pass without JavaScript (propose + co-sign through plain forms).

Screenshots go to docs/screenshots/issue-*.png from the SQLite run only.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from app.accounts.models import User
from app.halls import schemas as hall_schemas
from app.halls import service as hall_service
from app.halls.models import Hall
from app.halls.schemas import SETTING_BOUNDS
from app.issues.models import Category
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import (
    TAP_MIN_PX,
    Community,
    Shots,
    assert_elder,
    assert_fits_the_phone,
    assert_same_document,
    htmx_settled,
    log_in,
    make_community,
    mark_document,
    small_tap_targets,
    turn_on_elder_mode,
)
from tests.factories import chair_access, make_issue, make_member

pytestmark = pytest.mark.browser

ELDER_TAP_MIN_PX = 56  # 大字模式: --tap is 56 px

# The issue pages' own controls, on top of the selectors small_tap_targets() already checks.
ISSUE_CONTROLS = (
    "details > summary, .stage-counts a, .issue-row > a, .issue-list.compact a,"
    " .pill span, .bell, main .link"
)


# --- helpers --------------------------------------------------------------------------------


def jpeg(path: Path) -> Path:
    """A small real JPEG (a grey-blue 'photo' with a darker stripe), made with Pillow."""
    image = Image.new("RGB", (640, 480), (120, 140, 170))
    for x in range(640):
        for y in range(200, 280):
            image.putpixel((x, y), (60, 60, 70))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    path.write_bytes(buffer.getvalue())
    return path


def set_cosign_threshold(live: LiveServer, community: Community, threshold: int) -> None:
    """The chair sets the hall's co-sign threshold through halls.service (as the settings page
    does), keeping every other rule as it is."""
    with live.db.session() as session:
        hall = session.get(Hall, community.hall.id)
        assert hall is not None
        values = {name: str(getattr(hall, name)) for name in SETTING_BOUNDS}
    values["cosign_threshold"] = str(threshold)
    access = chair_access(live.db, community.world, community.chair)
    with live.db.session() as session:
        hall = hall_service.update_hall_settings(
            session=session,
            access=access,
            actor=community.chair,
            hall=community.hall,
            form=hall_schemas.SettingsForm(**values),
        )
        assert hall.cosign_threshold == threshold
        community.world.hall = hall


def neighbour(live: LiveServer, community: Community, index: int, name: str) -> User:
    """A verified resident of household `index` (the chair verified them)."""
    user, _ = make_member(
        live.db, community.world, household_index=index, chair=community.chair, name=name
    )
    return user


def checks(page: Page, *, elder: bool = False) -> None:
    """What every step must satisfy at 390 px: nothing sideways, every control big enough."""
    assert_fits_the_phone(page)
    minimum = ELDER_TAP_MIN_PX if elder else TAP_MIN_PX
    small = small_tap_targets(page, minimum) + page.evaluate(
        """([selector, minimum]) => [...document.querySelectorAll(selector)]
             .filter(el => { const b = el.getBoundingClientRect();
                             return b.width > 0 && b.height > 0 && b.height < minimum
                                    && !el.closest('.sr-only, .skip'); })
             .map(el => `${el.tagName}.${el.className} "${el.textContent.trim()}" ${el.getBoundingClientRect().height}px`)""",
        [ISSUE_CONTROLS, minimum],
    )
    assert small == [], (page.url, small)
    if elder:
        assert_elder(page)


def panel(page: Page) -> Locator:
    return page.locator("section.stage-panel")


def stage_badge(page: Page) -> Locator:
    return panel(page).locator(".stage-now .badge").first


def issue_id_from(page: Page) -> int:
    match = re.search(r"/issues/(\d+)", page.url)
    assert match, page.url
    return int(match.group(1))


def cosign(page: Page) -> None:
    """Press 附议 on the issue page: htmx swaps the stage panel, the page stays."""
    mark_document(page)
    panel(page).get_by_role("button", name="我也支持，附议").click()
    expect(page.locator("#flash")).to_contain_text("附议成功")
    expect(panel(page).get_by_role("button", name="我也支持，附议")).to_have_count(0)
    expect(panel(page)).to_contain_text("您已附议")
    assert_same_document(page)
    htmx_settled(page)


def comment(page: Page, stance: str, body: str) -> Locator:
    """Post a comment with a stance; htmx replaces the comments section in place."""
    mark_document(page)
    form = page.locator("form.comment-form")
    form.locator("label.choice", has_text=stance).click()
    expect(form.locator("label.choice", has_text=stance).locator("input")).to_be_checked()
    form.locator("#f-body").fill(body)
    form.get_by_role("button", name="发表").click()
    posted = page.locator("li.comment", has_text=body)
    expect(posted).to_be_visible()
    assert_same_document(page)
    htmx_settled(page)
    return posted


# --- the journey ------------------------------------------------------------------------------


def test_an_issue_goes_from_proposal_to_the_decision(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path, tmp_path: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "issue-")
    community = make_community(live)
    hall = community.hall
    set_cosign_threshold(live, community, 2)
    proposer_user = neighbour(live, community, 0, "陈桂兰")
    first_user = neighbour(live, community, 13, "李建华")
    second_user = neighbour(live, community, 26, "张秀英")
    # An open issue already in the hall, which the proposer's title will resemble.
    existing = make_issue(
        live.db,
        community.world,
        first_user,
        title="3号楼楼道堆放杂物堵住消防通道",
        description="楼道里堆满纸箱和旧家具。",
        category=Category.SAFETY,
    )

    # 1. The resident opens the hall, then 我要提议题.
    proposer = phone()
    page = proposer.page
    log_in(page, live, proposer_user)
    page.goto(live(f"/halls/{hall.id}"))
    page.locator(".issues-home").get_by_role("link", name="我要提议题").click()
    expect(page).to_have_url(live(f"/halls/{hall.id}/issues/new"))
    expect(page.locator("main h1")).to_have_text("提议题")
    shots(page, "01-new")
    checks(page)

    # 2. While typing the title, the similar open issue is suggested (htmx, no reload).
    mark_document(page)
    page.locator("#f-title").press_sequentially("楼道堆放杂物", delay=30)
    similar = page.locator("#similar-issues")
    expect(similar.locator("a", has_text=existing.title)).to_be_visible()
    expect(similar).to_contain_text("去附议")
    assert_same_document(page)
    htmx_settled(page)
    shots(page, "02-similar")
    checks(page)

    # It is a different matter after all: a new title, the details and a photo.
    title = "2号楼电动车在楼道充电，太危险"
    page.locator("#f-title").fill(title)
    page.fill("#f-description", "每天晚上有三四辆电动车推进楼道充电，电线从窗户拉出来。")
    page.select_option("#f-category", label="电动自行车充电")
    page.locator("label.choice", has_text="全社区").click()
    page.fill("#f-location", "2号楼1单元一层楼道")
    page.set_input_files("#f-photos", jpeg(tmp_path / "楼道.jpg"))
    page.get_by_role("button", name="发布议题").click()

    # 3. The issue page: 征集中, 0 of 2 co-signers, the photo served back.
    expect(page).to_have_url(re.compile(rf"/halls/{hall.id}/issues/\d+$"))
    expect(page.locator("main h1")).to_have_text(title)
    expect(page.locator("#flash")).to_contain_text("议题已发布")
    issue_id = issue_id_from(page)
    issue_url = live(f"/halls/{hall.id}/issues/{issue_id}")
    expect(stage_badge(page)).to_have_text("征集中")
    expect(page.locator(".photos img")).to_have_count(1)
    photo = page.locator(".photos img")
    photo.scroll_into_view_if_needed()
    assert photo.evaluate("img => img.decode().then(() => img.naturalWidth)") == 640
    served = proposer.context.request.get(live(photo.get_attribute("src") or ""))
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    page.evaluate("window.scrollTo(0, 0)")
    expect(panel(page).locator("progress")).to_have_attribute("value", "0")
    expect(panel(page).locator("progress")).to_have_attribute("max", "2")
    # The proposer cannot co-sign their own issue.
    expect(panel(page).get_by_role("button", name="我也支持，附议")).to_have_count(0)

    # 4. The first neighbour co-signs: 1 of 2, still collecting.
    first = phone()
    first_page = first.page
    log_in(first_page, live, first_user)
    first_page.goto(issue_url)
    expect(stage_badge(first_page)).to_have_text("征集中")
    cosign(first_page)
    expect(panel(first_page).locator("progress")).to_have_attribute("value", "1")
    expect(panel(first_page)).to_contain_text("已有 1 位居民附议")
    expect(panel(first_page).locator(".cosign-left")).to_have_text("还差 1 位")
    expect(panel(first_page).get_by_role("button", name="撤回附议")).to_be_visible()
    expect(stage_badge(first_page)).to_have_text("征集中")
    shots(first_page, "03-cosign")
    checks(first_page)

    # 5. The second neighbour co-signs: the threshold is reached and the issue goes to
    #    待审核 by itself, with the reason in the timeline.
    second = phone()
    second_page = second.page
    log_in(second_page, live, second_user)
    second_page.goto(issue_url)
    cosign(second_page)
    expect(stage_badge(second_page)).to_have_text("待审核")
    expect(panel(second_page)).to_contain_text("已有 2 位居民附议")
    expect(panel(second_page).locator("progress")).to_have_count(0)  # no longer collecting
    expect(panel(second_page).locator(".events")).to_contain_text("自动提交审核")
    shots(second_page, "04-review")
    checks(second_page)

    # 6. The chair is told (the bell), finds it in 议题审核, and accepts it in place.
    chair = phone()
    chair_page = chair.page
    log_in(chair_page, live, community.chair)
    chair_page.goto(live(f"/halls/{hall.id}"))
    expect(chair_page.locator("#bell .bell-count .sr-only")).to_have_text("1 条未读")
    expect(chair_page.locator("#bell .bell-count [aria-hidden]")).to_have_text("1")
    review_tile = chair_page.locator("a.tile", has_text="议题审核")
    expect(review_tile.locator("strong")).to_have_text("1")
    review_tile.click()
    chair_page.locator(".issue-row", has_text=title).get_by_role("link").click()
    expect(chair_page).to_have_url(issue_url)
    mark_document(chair_page)
    chair_page.get_by_role("button", name="受理，进入协商").click()
    expect(stage_badge(chair_page)).to_have_text("协商中")
    expect(chair_page.locator(".timeline [aria-current=step]")).to_contain_text("民议")
    assert_same_document(chair_page)
    htmx_settled(chair_page)

    # 7. Residents comment with their stances; one adds a 方案 (both swapped in place).
    first_page.reload()
    expect(stage_badge(first_page)).to_have_text("协商中")
    support = comment(first_page, "支持", "早就该管了，晚上闻到焦味都睡不着。")
    expect(support.locator(".badge.stance-support")).to_have_text("支持")
    mark_document(first_page)
    first_page.locator(".add-solution summary").click()
    first_page.fill("#s-title", "在自行车棚加装充电桩")
    first_page.fill("#s-description", "车棚东侧装 10 个充电口，按次扫码付费。")
    first_page.fill("#s-cost", "12000")
    first_page.get_by_role("button", name="提交方案").click()
    solution = first_page.locator(".solution-list li", has_text="在自行车棚加装充电桩")
    expect(solution).to_contain_text("预计费用 12000.00 元")
    assert_same_document(first_page)
    htmx_settled(first_page)

    second_page.reload()
    oppose = comment(second_page, "反对", "充电桩占车棚位置，自行车停哪儿？")
    expect(oppose.locator(".badge.stance-oppose")).to_have_text("反对")
    abusive = comment(second_page, "反对", "提这个的人就是脑子有病，管好你自己吧！")
    abusive_id = abusive.get_attribute("id")
    assert abusive_id
    counts = second_page.locator(".stance-counts")
    expect(counts.locator("li.stance-support strong")).to_have_text("1")
    expect(counts.locator("li.stance-oppose strong")).to_have_text("2")
    first_page.reload()
    shots(first_page, "05-deliberation")
    checks(first_page)

    # 8. The chair hides the abusive comment with a reason everyone sees (in place).
    chair_page.reload()
    target = chair_page.locator(f"#{abusive_id}")
    mark_document(chair_page)
    # The action is a plain link; htmx loads its form into the comment's slot.
    target.locator(".comment-actions").get_by_role("link", name="隐藏", exact=True).click()
    expect(target.locator(".comment-slot form")).to_be_visible()
    target.get_by_label("隐藏原因（所有人可见）").fill("人身攻击")
    target.get_by_role("button", name="隐藏评论").click()
    expect(target.locator(".hidden-note")).to_contain_text("已隐藏")
    expect(target.locator(".hidden-note")).to_contain_text("人身攻击")
    expect(chair_page.locator("#flash")).to_contain_text("评论已隐藏")
    assert_same_document(chair_page)
    htmx_settled(chair_page)
    # The residents see the note and the reason, not the words.
    second_page.reload()
    hidden = second_page.locator(f"#{abusive_id}")
    expect(hidden.locator(".hidden-note")).to_contain_text("原因：人身攻击")
    expect(hidden).not_to_contain_text("脑子有病")
    hidden.scroll_into_view_if_needed()
    shots(second_page, "06-hidden")
    checks(second_page)

    # 9. The chair closes deliberation with a 协商意见 choosing the 方案.
    chair_page.get_by_role("link", name="结束协商，形成协商意见").click()
    expect(chair_page).to_have_url(issue_url + "/close")
    chair_page.fill("#f-agreements", "楼道充电必须禁止，大家同意集中充电。")
    chair_page.fill("#f-disagreements", "有人担心占用自行车位：车棚西侧另划自行车区。")
    chair_page.locator("label.choice", has_text="在自行车棚加装充电桩").click()
    expect(
        chair_page.locator("label.choice", has_text="在自行车棚加装充电桩").locator("input")
    ).to_be_checked()
    shots(chair_page, "07-close")
    checks(chair_page)
    chair_page.get_by_role("button", name="结束协商，进入表决").click()

    # 10. 民决: waiting for the chair's ballot (表决中 only once one is open; said to the chair
    # as her own next step), the opinion and the 方案 that goes to the vote.
    expect(chair_page).to_have_url(issue_url)
    expect(chair_page.locator("#flash")).to_contain_text("方案进入表决")
    expect(stage_badge(chair_page)).to_have_text("待您发起表决")
    expect(chair_page.locator(".timeline [aria-current=step]")).to_contain_text("民决")
    expect(chair_page.locator(".opinion")).to_contain_text("集中充电")
    expect(chair_page.locator(".solution-list li .badge")).to_have_text("进入表决")
    proposer_page = page
    proposer_page.reload()
    expect(stage_badge(proposer_page)).to_have_text("等待居委会发起表决")
    shots(proposer_page, "08-deciding")
    checks(proposer_page)

    # The list and the hall home count the stages.
    proposer_page.goto(live(f"/halls/{hall.id}/issues"))
    expect(proposer_page.locator("main h1")).to_have_text("议题")
    row = proposer_page.locator(".issue-row", has_text=title)
    expect(row.locator(".badge")).to_have_text("等待居委会发起表决")
    shots(proposer_page, "list")
    checks(proposer_page)
    proposer_page.goto(live(f"/halls/{hall.id}"))
    counts = proposer_page.locator(".stage-counts")
    waiting = counts.locator("a", has_text="待发起表决")  # its own list (issue #14)
    expect(waiting.locator("strong")).to_have_text("1")
    expect(waiting).to_have_attribute("href", re.compile(r"\?stage=deciding&vote=waiting$"))
    expect(counts.locator("a", has_text="征集中").locator("strong")).to_have_text("1")
    shots(proposer_page, "hall-home")
    checks(proposer_page)

    # 大字模式: the issue page and the list, for the proposer.
    turn_on_elder_mode(proposer_page)
    proposer_page.goto(issue_url)
    expect(stage_badge(proposer_page)).to_have_text("等待居委会发起表决")
    shots(proposer_page, "elder-detail")
    checks(proposer_page, elder=True)
    proposer_page.goto(live(f"/halls/{hall.id}/issues"))
    expect(proposer_page.locator(".issue-row", has_text=title)).to_be_visible()
    shots(proposer_page, "elder-list")
    checks(proposer_page, elder=True)
    # A resident in 大字模式 while deliberation is open: the stance choices and forms.
    second_page.goto(live(f"/halls/{hall.id}/issues/{existing.id}"))
    turn_on_elder_mode(second_page)
    expect(stage_badge(second_page)).to_have_text("征集中")
    shots(second_page, "elder-cosign")
    checks(second_page, elder=True)

    for p in (proposer, first, second, chair):
        p.watch.assert_clean()
        assert p.watch.htmx_requests


def test_propose_and_cosign_without_javascript(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path, tmp_path: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "issue-nojs-")
    community = make_community(live)
    hall = community.hall
    set_cosign_threshold(live, community, 2)
    proposer_user = neighbour(live, community, 1, "王秀兰")
    other_user = neighbour(live, community, 14, "赵国强")

    proposer = phone(java_script_enabled=False)
    page = proposer.page
    log_in(page, live, proposer_user)
    page.goto(live(f"/halls/{hall.id}/issues/new"))
    title = "小区东门路灯坏了一个月"
    page.fill("#f-title", title)
    page.fill("#f-description", "晚上东门一片漆黑，老人进出容易摔倒。")
    page.select_option("#f-category", label="安全隐患")
    page.set_input_files("#f-photos", jpeg(tmp_path / "路灯.jpg"))
    page.get_by_role("button", name="发布议题").click()
    expect(page).to_have_url(re.compile(rf"/halls/{hall.id}/issues/\d+$"))
    expect(page.locator(".flash")).to_contain_text("议题已发布")
    expect(page.locator(".photos img")).to_have_count(1)
    issue_url = page.url

    other = phone(java_script_enabled=False)
    other_page = other.page
    log_in(other_page, live, other_user)
    other_page.goto(issue_url)
    expect(stage_badge(other_page)).to_have_text("征集中")
    other_page.get_by_role("button", name="我也支持，附议").click()
    # Post/Redirect/Get back to the panel, with the result as a flash message.
    expect(other_page).to_have_url(issue_url + "#stage")
    expect(other_page.locator(".flash")).to_contain_text("附议成功")
    expect(panel(other_page)).to_contain_text("已有 1 位居民附议")
    expect(panel(other_page).get_by_role("button", name="撤回附议")).to_be_visible()
    checks(other_page)
    shots(other_page, "cosign")

    for p in (proposer, other):
        p.watch.assert_clean()
        assert p.watch.requests
        assert p.watch.htmx_requests == []
