"""民办 → 吹哨报到 → 民评 in a real browser at a phone's 390×844, on both backends (issue #13's
"done when"). Each step is done by the person who does it in life, on their own phone (one
browser context each):

1. A decision passed and its 公示 ended (set up through the services): the issue is 办理中.
2. The chair adds two tasks on the 任务分工 page (物业; 居民志愿者 with a cap of 3 places and a
   responsible resident) and sees the issue's progress; a neighbour 认领 a place.
3. The volunteer leader posts a progress update with a photo (a JPEG carrying EXIF and GPS);
   residents see it on the issue's timeline, and the served photo has no EXIF.
4. The chair 吹哨 the issue to the street (category, urgency class); the street official
   dispatches it to 城管科; the department's member finds it in the department inbox, 报到,
   replies and resolves it; the issue page shows the whole trail with its deadline badges.
5. Every task 已完成; the chair opens 民评; three residents answer on their phones, two of them
   不满意 (2/3 > 1/3). Fourteen days later the job `evaluations.close_due` runs through
   app.jobs.runner: the issue is back in 民办, residents are told, and the page shows the reopen
   check with what was needed and the margin.
6. The chair adds and completes a 整改 task and opens a second round; the residents answer
   满意 / 基本满意 / 满意; when its window is over the job closes the issue as 已办结.
7. The 结果公示 PDF is downloaded from its page and read back with pypdf.

Time: the live server runs in this process (a uvicorn thread), so app.core.clock.freeze moves
the server's clock too. The clock is frozen the day after the issue reached 办理中 and moved
forward as the story goes (days between the steps, so every page shows the events in the
order they happened); each evaluation window is passed by setting the clock an hour past the
round's `ends_at` and running the job `evaluations.close_due` through app.jobs.runner, as the
scheduler would. Whoever comes back after their idle limit (the chair's is 30 minutes) logs in
again.

Screenshots (SQLite run only) go to $YST_JOURNEY_SHOTS or /tmp/five-steps/, for a person to
look at; they are not kept in the repository.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlmodel import col, select

from app.accounts.models import User
from app.core import clock
from app.evaluations.models import EvaluationRound
from app.issues.models import Category
from app.jobs import runner
from app.jobs.registry import JOBS
from tests import escalation_helpers as esc
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import Shots, assert_fits_the_phone, log_in, make_community
from tests.factories import make_member, make_user
from tests.implementation_helpers import implementing_issue
from tests.print_helpers import page_texts, squeeze

pytestmark = pytest.mark.browser

TITLE = "3号楼楼道照明改造"
SHOTS = Path(os.environ.get("YST_JOURNEY_SHOTS") or Path(tempfile.gettempdir()) / "five-steps")
CLOSE_DUE = JOBS["evaluations.close_due"]


@pytest.fixture
def released_clock() -> Iterator[None]:
    """The clock is frozen part of the way; it is let go whatever happens."""
    try:
        yield
    finally:
        clock.freeze(None)


def _flash(page: Page, text: str) -> None:
    expect(page.locator("#flash")).to_contain_text(text)


def _photo_with_exif(path: Path) -> Path:
    """A real photo-sized JPEG with a camera make and a GPS position in its EXIF."""
    image = Image.new("RGB", (800, 600))
    image.paste((240, 230, 200), (0, 0, 800, 300))
    image.paste((90, 90, 110), (0, 300, 800, 600))
    image.paste((255, 250, 220), (350, 40, 450, 120))  # the new lamp
    exif = Image.Exif()
    exif[0x010F] = "JourneyCam"  # Make
    exif[0x8825] = {1: "N", 2: (39.0, 55.0, 12.0), 3: "E", 4: (116.0, 28.0, 3.0)}  # GPSInfo
    image.save(path, format="JPEG", quality=85, exif=exif.tobytes())
    data = path.read_bytes()
    assert b"JourneyCam" in data
    assert Image.open(path).getexif().get(0x8825)
    return path


def _latest_round(live: LiveServer, issue_id: int) -> EvaluationRound:
    with live.db.session(read_only=True) as s:
        row = s.exec(
            select(EvaluationRound)
            .where(EvaluationRound.issue_id == issue_id)
            .order_by(col(EvaluationRound.number).desc())
        ).first()
    assert row is not None
    return row


def _later(**delta: float) -> None:
    """Time passes."""
    clock.freeze(clock.now() + timedelta(**delta))


def _window_ends(live: LiveServer, issue_id: int) -> None:
    """Two weeks later: the clock an hour past the round's end, then the periodic job."""
    row = _latest_round(live, issue_id)
    assert row.closed_at is None
    clock.freeze(row.ends_at + timedelta(hours=1))
    (outcome,) = runner.run_once(live.db, jobs=[CLOSE_DUE], force=True)
    assert outcome.status == "ran", outcome
    assert outcome.count >= 1  # ours (rounds other tests left open may be due as well)
    closed = _latest_round(live, issue_id)
    assert closed.closed_at is not None


def _report(page: Page, *, text: str, status: str | None = None, progress: str = "") -> None:
    """The 发布进展 form on a task's page."""
    page.fill("#f-text", text)
    if progress:
        page.fill("#f-progress", progress)
    if status:
        page.select_option("#f-status", status)
    page.locator("#report button[type=submit]").click()
    _flash(page, "进展已发布")


def _evaluate(
    page: Page, live: LiveServer, user: User, issue_url: str, choice: str, resolved: str
) -> None:
    """A resident answers 民评 from the issue page on their phone."""
    log_in(page, live, user)
    page.goto(issue_url)
    card = page.locator(".issue-evaluation")
    expect(card).to_contain_text("评价中")
    card.get_by_role("link", name="去评价").click()
    expect(page.locator("main h1")).to_have_text("民评 · 办理结果评价")
    page.locator("#answer label.choice", has_text=re.compile(f"^{choice}$")).click()
    page.locator("#answer label.choice", has_text=re.compile(f"^{resolved}$")).click()
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("#my-answer")).to_contain_text(choice)
    current = page.locator("#evaluation")
    expect(current.locator("[data-figure='answers']")).to_contain_text("评价期结束后公布结果")
    expect(current.locator("[data-figure='valid']")).to_have_count(0)  # no running counts
    assert_fits_the_phone(page)


def test_decision_tasks_whistle_evaluation_reopen_and_close(
    live_server: LiveServer, phone: Callable[..., Phone], tmp_path: Path, released_clock: None
) -> None:
    live = live_server
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots = Shots(SHOTS, live, "journey-")
    community = make_community(live)
    db, world, hall = live.db, community.world, community.hall
    residents = [
        make_member(db, world, household_index=i, name=name, chair=community.chair)[0]
        for i, name in ((0, "陈桂兰"), (6, "李建华"), (12, "张秀英"))
    ]
    leader, _ = make_member(db, world, household_index=18, name="赵志刚", chair=community.chair)
    official = esc.street_admin(db, world, name="街道刘干事")
    captain = make_user(db, name="城管科周科长")
    esc.department(db, world, official, "城管科", (captain,))
    esc.department(db, world, official, "房管所")

    # --- 1. a decision: passed, 公示 ended, the issue is 办理中 ---------------------------------
    issue = implementing_issue(
        db,
        world,
        community.chair,
        title=TITLE,
        category=Category.BUILDING,
        description="3号楼楼道灯老化，晚上一片漆黑，老人上下楼容易摔倒。",
    )
    clock.freeze(issue.stage_changed_at + timedelta(hours=20))  # the next morning
    issue_url = live(f"/halls/{hall.id}/issues/{issue.id}")
    tasks_url = live(f"/halls/{hall.id}/issues/{issue.id}/tasks")

    # --- 2. the chair divides the work on the 任务分工 page ----------------------------------
    chair = phone()
    page = chair.page
    log_in(page, live, community.chair)
    page.goto(issue_url)
    expect(page.locator(".stage-now .badge")).to_have_text("办理中")
    expect(page.locator("#tasks")).to_contain_text("还没有分派办理任务")
    page.locator("#tasks").get_by_role("link", name="添加任务").click()
    expect(page.locator("#add h2")).to_have_text("添加任务")
    due = (clock.now() + timedelta(days=10)).date().isoformat()
    page.fill("#f-title", "更换3号楼楼道灯为声控LED")
    page.select_option("#f-party_type", "property")
    page.fill("#f-party_name", "安居物业")
    page.fill("#f-due_at", due)
    page.fill("#f-weight", "2")
    page.locator("#add button[type=submit]").click()
    _flash(page, "任务已添加")
    page.fill("#f-title", "清理楼道堆物")
    page.select_option("#f-party_type", "volunteers")
    page.fill("#f-responsible_user_id-q", "赵志刚")  # the person picker's search
    page.locator("#f-responsible_user_id label.person", has_text="赵志刚").click()
    page.fill("#f-due_at", due)
    page.fill("#f-volunteer_cap", "3")
    page.locator("#add input[name=is_milestone]").check()
    page.locator("#add button[type=submit]").click()
    _flash(page, "任务已添加")
    card = page.locator("#tasks")
    expect(card.locator("li.task")).to_have_count(2)
    expect(card).to_contain_text("完成 0/2 项任务，总进度 0%")
    lights = card.locator("li.task", has_text="更换3号楼楼道灯")
    expect(lights).to_contain_text("物业：安居物业")
    expect(lights).to_contain_text("权重 2")
    expect(lights.locator(".badge").first).to_have_text("未开始")
    bins = card.locator("li.task", has_text="清理楼道堆物")
    expect(bins).to_contain_text("居民志愿者：赵志刚")
    expect(bins.locator(".badge.milestone")).to_be_visible()
    lights_url = lights.locator(".task-head a").get_attribute("href")
    bins_url = bins.locator(".task-head a").get_attribute("href")
    assert lights_url
    assert bins_url
    assert_fits_the_phone(page)
    shots(page, "01-tasks")

    # --- 3. the volunteer leader reports progress with a photo; residents see it ------------
    _later(days=2)
    volunteer = phone()
    mine = volunteer.page
    log_in(mine, live, leader)
    mine.goto(issue_url)
    mine.locator("#tasks").get_by_role("link", name="清理楼道堆物").click()
    expect(mine.locator("#report h2")).to_have_text("发布进展")
    mine.set_input_files("#f-photos", _photo_with_exif(tmp_path / "IMG_0412.jpg"))
    _report(mine, text="1单元、2单元楼道堆物已清完，共清出纸箱旧家具12件", progress="50")
    expect(mine.locator(".task-timeline")).to_contain_text("共清出纸箱旧家具12件")
    assert_fits_the_phone(mine)
    shots(mine, "02-progress-photo")
    volunteer.watch.assert_clean()

    _later(hours=3)
    neighbour = phone()
    seen = neighbour.page
    log_in(seen, live, residents[0])
    seen.goto(issue_url)
    card = seen.locator("#tasks")
    expect(card).to_contain_text("完成 0/2 项任务，总进度 16%")  # (2×0 + 50) / 3 = 16.7, down
    update = card.locator(".task-timeline li", has_text="共清出纸箱旧家具12件")
    expect(update).to_contain_text("赵志刚")
    expect(update.locator(".badge.milestone")).to_be_visible()
    photo = update.locator("img")
    photo.scroll_into_view_if_needed()  # it loads lazily
    seen.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle()
    )
    assert photo.evaluate("img => img.naturalWidth") == 800  # shown, as re-encoded
    served = neighbour.context.request.get(live(photo.get_attribute("src") or ""))
    assert served.status == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert b"JourneyCam" not in served.body()
    assert dict(Image.open(io.BytesIO(served.body())).getexif()) == {}  # no EXIF, no GPS
    seen.locator("#tasks li.task", has_text="清理楼道堆物").get_by_role(
        "button", name="我来认领"
    ).click()
    expect(seen.locator("#tasks li.task", has_text="清理楼道堆物")).to_contain_text("认领成功")
    expect(seen.locator("#tasks li.task", has_text="清理楼道堆物")).to_contain_text("陈桂兰")
    assert_fits_the_phone(seen)
    shots(seen, "03-resident-timeline")

    # --- 4. 吹哨报到: the chair, the street official, the department ------------------------
    _later(hours=1)
    log_in(page, live, community.chair)
    page.goto(issue_url)
    page.locator(".issue-escalations").get_by_role("link", name="吹哨：请街道协调").click()
    expect(page.locator("main h1")).to_have_text("吹哨：请街道统筹协调")
    page.locator("label.choice", has_text="群众诉求").click()
    page.locator("label.choice", has_text="一般诉求").click()
    page.fill("#f-summary", "3号楼北侧路灯杆倾斜、楼前井盖破损，请街道协调城管修复")
    page.fill("#f-work_order_no", "GD20261207088")
    assert_fits_the_phone(page)
    shots(page, "04-whistle-form")
    page.get_by_role("button", name="吹哨", exact=True).click()
    _flash(page, "已吹哨，等待街道派单")
    whistle = page.locator(".issue-escalations article.escalation")
    expect(whistle.locator(".badge").first).to_have_text("已吹哨，待派单")
    expect(whistle).to_contain_text("一般")

    _later(minutes=40)
    street = phone()
    desk = street.page
    log_in(desk, live, official)
    desk.get_by_role("link", name="吹哨派单").first.click()
    row = desk.locator("#escalation-rows", has_text="路灯杆倾斜")
    expect(row).to_contain_text(TITLE)
    assert_fits_the_phone(desk)
    desk.locator("#escalation-rows a", has_text=re.compile("路灯杆倾斜|" + TITLE)).first.click()
    expect(desk.locator("main")).to_contain_text("GD20261207088")
    desk.select_option("#f-department_id", label="城管科")
    desk.locator("form[action$='/dispatch'] button[type=submit]").click()
    _flash(desk, "已派单，部门报到计时开始")
    expect(desk.locator("main")).to_contain_text("已派单，待报到")
    assert_fits_the_phone(desk)
    shots(desk, "05-street-dispatched")
    street.watch.assert_clean()

    _later(minutes=50)  # within the 一般 class’s 2 hours
    department = phone()
    work = department.page
    log_in(work, live, captain)
    work.get_by_role("link", name="部门待办").first.click()
    expect(work.locator("#escalation-rows")).to_contain_text("路灯杆倾斜")
    assert_fits_the_phone(work)
    shots(work, "06-department-inbox")
    item = work.locator("#escalation-rows a").first
    item_url = live(item.get_attribute("href") or "")
    item.click()
    work.locator("form[action$='/acknowledge'] button[type=submit]").click()
    _flash(work, "已报到")
    _later(hours=3)
    work.fill("#f-reply", "已派执法队现场勘查，路灯杆明日扶正加固")
    work.get_by_role("button", name="提交答复").click()
    _flash(work, "答复已记录")
    _later(days=2)
    log_in(work, live, captain)
    work.goto(item_url)
    work.fill("#f-resolve", "路灯杆已扶正加固，井盖已更换")
    work.locator("form[action$='/resolve'] button[type=submit]").click()
    _flash(work, "已办结，社区会收到通知")
    expect(work.locator("main .badge.escalation-resolved")).to_have_text("已办结")
    assert_fits_the_phone(work)
    shots(work, "07-department-resolved")
    department.watch.assert_clean()

    _later(hours=1)
    log_in(page, live, community.chair)
    page.goto(issue_url)
    whistle = page.locator(".issue-escalations article.escalation")
    expect(whistle.locator(".badge").first).to_have_text("已办结")
    expect(whistle).to_contain_text("城管科")
    expect(whistle.locator(".deadlines")).to_contain_text("报到·按时")
    expect(whistle.locator(".deadlines")).to_contain_text("办结·按时")
    whistle.locator("summary", has_text="办理经过").click()
    steps = whistle.locator(".escalation-trail li")
    expect(steps).to_have_count(5)
    for i, (step, words) in enumerate(
        (
            ("吹哨", "王主任"),
            ("派单", "城管科"),
            ("报到", "城管科周科长"),
            ("答复", "明日扶正加固"),
            ("办结", "井盖已更换"),
        )
    ):
        expect(steps.nth(i).locator("strong")).to_have_text(step)
        expect(steps.nth(i)).to_contain_text(words)
    whistle.scroll_into_view_if_needed()
    assert_fits_the_phone(page)
    shots(page, "08-issue-trail")

    # --- 5. the work is done; 民评, round 1: a low score reopens the issue -------------------
    _later(days=1)
    log_in(page, live, community.chair)
    page.goto(live(lights_url))
    _report(page, text="12盏声控LED灯已全部装好，夜间试亮正常", status="done")
    page.goto(live(bins_url))
    _report(page, text="3个单元楼道全部清完，消防通道畅通", status="done")
    page.goto(tasks_url)
    expect(page.locator("#tasks")).to_contain_text("完成 2/2 项任务，总进度 100%")
    expect(page.locator("#tasks")).to_contain_text("全部任务已完成，可以开启民评")
    expect(page.locator("#tasks li.task .badge", has_text="已完成")).to_have_count(2)
    page.goto(issue_url)
    page.locator(".issue-evaluation").get_by_role("link", name="查看民评").click()
    expect(page.locator("[data-tasks]")).to_contain_text("办理任务 2 项，未完成 0 项")
    page.get_by_role("button", name="开启民评").click()
    _flash(page, "民评已开启，已通知相关居民")
    expect(page.locator("[data-round='1']")).to_contain_text("评价中")
    assert_fits_the_phone(page)
    shots(page, "09-evaluation-opened")

    phones = [neighbour, phone(), phone()]
    _later(hours=2)
    for who, user, choice, resolved in zip(
        phones, residents, ("满意", "不满意", "不满意"), ("是", "否", "否"), strict=True
    ):
        _evaluate(who.page, live, user, issue_url, choice, resolved)
        _later(hours=5)
    shots(phones[1].page, "10-answered")
    log_in(page, live, community.chair)
    page.goto(live(f"/halls/{hall.id}/issues/{issue.id}/evaluation"))
    expect(page.locator("[data-round='1'] [data-figure='valid']")).to_have_text("3")  # the chair

    _window_ends(live, issue.id or 0)  # fourteen days later
    objector = phones[1].page
    log_in(objector, live, residents[1])
    objector.goto(live("/notifications"))
    expect(objector.locator("main")).to_contain_text("满意度未达标，重新办理")
    objector.goto(issue_url)
    expect(objector.locator(".stage-now .badge")).to_have_text("办理中")
    expect(objector.locator(".issue-evaluation")).to_contain_text("满意度未达标，重新办理")
    objector.locator(".issue-evaluation").get_by_role("link", name="查看民评").click()
    first = objector.locator("[data-round='1']")
    expect(first.locator("[data-outcome]")).to_have_attribute("data-outcome", "reopened")
    expect(first.locator("[data-figure='valid']")).to_have_text("3")
    expect(first.locator("[data-figure='dissatisfied']")).to_have_text("2")
    expect(first.locator("[data-rate='satisfaction_rate']")).to_contain_text("1/3 = 0.3333")
    expect(first.locator("[data-rate='dissatisfied_share']")).to_contain_text("2/3 = 0.6667")
    check = first.locator("[data-check]")
    expect(check).to_have_attribute("data-reopen", "yes")
    # what was needed (more than 1/3 of 3: at least 2) and the margin (exactly reached)
    expect(check).to_have_text(
        "不满意人数 2 人，占有效评价人数 3 人的 66.67%；需 ≥ 2 人（超过 1/3），恰好达到"
    )
    assert_fits_the_phone(objector)
    shots(objector, "11-reopened")

    # --- 6. the chair completes the work again; round 2 closes the issue --------------------
    log_in(page, live, community.chair)  # two weeks on: a new sign-in
    page.goto(tasks_url)
    expect(page.locator(".crumbs")).to_contain_text(TITLE)
    page.fill("#f-title", "整改：3号楼地下室楼梯灯补装")
    page.select_option("#f-party_type", "property")
    page.fill("#f-party_name", "安居物业")
    page.fill("#f-due_at", (clock.now() + timedelta(days=5)).date().isoformat())
    page.locator("#add button[type=submit]").click()
    _flash(page, "任务已添加")
    expect(page.locator("#tasks")).to_contain_text("完成 2/3 项任务，总进度 75%")  # 300/4
    _later(days=3)
    log_in(page, live, community.chair)
    page.goto(tasks_url)
    page.locator("#tasks").get_by_role("link", name="整改：3号楼地下室楼梯灯补装").click()
    _report(page, text="地下室楼梯灯4盏已补装，居民代表验收", status="done")
    page.goto(tasks_url)
    expect(page.locator("#tasks")).to_contain_text("完成 3/3 项任务，总进度 100%")
    page.goto(issue_url)
    page.locator(".issue-evaluation").get_by_role("link", name="查看民评").click()
    page.get_by_role("button", name="开启新一轮民评").click()
    _flash(page, "民评已开启，已通知相关居民")
    expect(page.locator("[data-round='2']")).to_contain_text("评价中")
    expect(page.locator("#earlier-rounds [data-round='1']")).to_be_visible()

    for who, user, choice in zip(phones, residents, ("满意", "基本满意", "满意"), strict=True):
        _later(hours=4)
        _evaluate(who.page, live, user, issue_url, choice, "是")

    _window_ends(live, issue.id or 0)  # another fourteen days
    log_in(page, live, community.chair)
    page.goto(issue_url)
    expect(page.locator(".stage-now .badge")).to_have_text("已办结")
    expect(page.locator(".issue-evaluation")).to_contain_text("第 2 轮：已办结")
    page.locator(".issue-evaluation").get_by_role("link", name="查看民评").click()
    second = page.locator("#evaluation [data-round='2']")
    expect(second.locator("[data-outcome]")).to_have_attribute("data-outcome", "closed")
    expect(second.locator("[data-figure='satisfied']")).to_have_text("2")
    expect(second.locator("[data-figure='basically_satisfied']")).to_have_text("1")
    expect(second.locator("[data-figure='dissatisfied']")).to_have_text("0")
    expect(second.locator("[data-rate='satisfaction_rate']")).to_contain_text("29/30 = 0.9666")
    expect(second.locator("[data-check]")).to_have_attribute("data-reopen", "no")
    expect(second.locator("[data-check]")).to_have_text(
        "不满意人数 0 人，占有效评价人数 3 人的 0.00%；需 ≥ 2 人（超过 1/3），差 2 人，未达到"
    )
    assert_fits_the_phone(page)
    shots(page, "12-closed")

    # --- 7. the 结果公示: the A4 page and its PDF ----------------------------------------------
    page.get_by_role("link", name="结果公示（A4）").click()
    expect(page.locator("h1")).to_contain_text(f"关于「{TITLE}」办理结果评价的公示")
    assert_fits_the_phone(page)
    shots(page, "13-result-print")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").click()
    pdf = Path(download.value.path()).read_bytes()
    text = "".join(page_texts(pdf))
    for expected in (
        squeeze(f"关于「{TITLE}」办理结果评价的公示"),
        "更换3号楼楼道灯为声控LED",
        "整改：3号楼地下室楼梯灯补装",
        "第2轮评价结果",
        "有效评价3",
        "满意2",
        "基本满意1",
        "不满意0",
        "已解决/未解决3/0",
        "29/30=0.9666",  # rounded down: never overstated
        "不满意占比0/1=0.0000",  # the fraction reduced
        squeeze(
            "不满意人数 0 人，占有效评价人数 3 人的 0.00%；需 ≥ 2 人（超过 1/3），差 2 人，未达到"
        ),
        "四、结论已办结",
    ):
        assert expected in text, (expected, text)
    for who in (chair, neighbour, *phones[1:]):
        who.watch.assert_clean()
