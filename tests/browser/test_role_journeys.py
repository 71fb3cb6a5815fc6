"""Issue #14's "done when": one journey per role at a phone's 390×844, on both backends.

Each person has their own phone (a browser context with its own cookies). Every page a journey
stops on fits the phone (no sideways scrolling, 44 px targets) and nothing is fetched from
anywhere but the server. Screenshots go to docs/screenshots/role-*.png from the SQLite run.

- the council member: told she has a vote (the bell, 等您投票, 去投票), votes, changes her vote
  and is told so in place, finds her own receipt marked on the receipt board, hears the result;
  a resident who is not on the roll is asked nothing and told why in a resident's words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.issues import schemas as issue_schemas
from app.issues import service as issue_service
from app.issues.models import Category
from app.voting import service as voting_service
from app.voting.rules import RuleKind
from tests import escalation_helpers as eh
from tests import meeting_helpers as mh
from tests.ballot_helpers import draft_ballot, open_ballot
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import (
    Shots,
    assert_elder,
    assert_fits_the_phone,
    assert_same_document,
    htmx_settled,
    log_in,
    make_community,
    mark_document,
)
from tests.factories import PASSWORD, chair_access, make_deciding_issue, make_member
from tests.web import issue_helpers as ih

pytestmark = pytest.mark.browser


def test_a_council_member_is_asked_to_vote_and_does(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "role-council-")
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    hall_id = world.hall.id
    member = make_member(db, world, household_index=0, chair=chair, name="刘议事")[0]
    mh.give_roles(db, world, chair, member, "council")
    resident = make_member(db, world, household_index=1, chair=chair, name="孙桂芝")[0]
    issue, _ = make_deciding_issue(db, world, chair, solutions=1, title="东门增设非机动车棚")
    ballot = draft_ballot(
        db, world, chair, issue, rule=RuleKind.COUNCIL_MAJORITY, title="是否在东门增设非机动车棚"
    )
    ballot = open_ballot(db, world, chair, ballot)
    issue_url = live(f"/halls/{hall_id}/issues/{issue.id}")

    # 1. The bell says she has something; the notice says what, and leads to the issue.
    mine = phone()
    page = mine.page
    log_in(page, live, member)
    page.goto(live("/notifications"))
    notice = page.locator(".notifications li", has_text="您有一项表决可以投票了")
    expect(notice).to_contain_text("是否在东门增设非机动车棚")
    assert_fits_the_phone(page)
    shots(page, "01-notice")
    notice.get_by_role("link", name="去投票").click()
    expect(page).to_have_url(issue_url)

    # 2. The issue page's large 去投票; the hall home lists it under 等您投票.
    go = page.locator("a.vote-now")
    expect(go).to_contain_text("去投票")
    assert go.bounding_box()["height"] >= 44  # type: ignore[index]
    assert_fits_the_phone(page)
    shots(page, "02-issue")
    page.goto(live(f"/halls/{hall_id}"))
    expect(page.locator(".awaiting-vote")).to_contain_text("是否在东门增设非机动车棚")
    shots(page, "03-hall-home")
    page.locator(".awaiting-vote a").first.click()

    # 3. She votes; then changes her mind, and the card says what now counts, in place.
    card = page.locator(".vote-card")
    card.locator("label.choice", has_text="同意").click()
    mark_document(page)
    card.get_by_role("button", name="投票").click()
    expect(page.locator(".vote-card .receipt")).to_contain_text("同意")
    htmx_settled(page)
    page.locator(".vote-card label.choice", has_text="反对").click()
    page.locator(".vote-card").get_by_role("button", name="改投").click()
    expect(page.locator(".vote-card .receipt")).to_contain_text("反对")
    assert_same_document(page)
    assert_fits_the_phone(page)
    shots(page, "04-voted")
    page.goto(live(f"/halls/{hall_id}"))
    expect(page.locator(".awaiting-vote")).to_have_count(0)
    mine.watch.assert_clean()

    # 4. A resident who is not on the council's roll is asked nothing.
    hers = phone()
    other = hers.page
    log_in(other, live, resident)
    other.goto(live(f"/halls/{hall_id}"))
    expect(other.locator(".awaiting-vote")).to_have_count(0)
    other.goto(issue_url)
    expect(other.locator("a.vote-now")).to_have_count(0)
    other.goto(live("/notifications"))
    expect(other.locator("main")).not_to_contain_text("您有一项表决可以投票了")
    hers.watch.assert_clean()

    # 5. The chair closes it; she hears the result.
    with db.session() as session:
        voting_service.close_ballot(
            session=session,
            access=chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
        )
    page.goto(live("/notifications"))
    result = page.locator(".notifications li[data-kind=ballot_failed]")  # her 反对 was the roll's
    expect(result).to_contain_text("表决未通过")
    expect(result.get_by_role("link", name="查看表决结果")).to_be_visible()
    shots(page, "05-result")


# --- the resident, in normal and in 大字模式 ------------------------------------------------


def spaced(phone: str) -> str:
    """A phone number as people type it: 138 0000 0004."""
    return f"{phone[:3]} {phone[3:7]} {phone[7:]}"


@pytest.mark.parametrize("elder", [False, True], ids=["normal", "elder"])
def test_a_resident_on_her_phone(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path, elder: bool
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "role-elder-" if elder else "role-resident-")
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    hall_id = world.hall.id
    name = "刘淑芬" if elder else "陈桂兰"
    me = make_member(db, world, household_index=3, chair=chair, name=name)[0]
    neighbour = make_member(db, world, household_index=4, chair=chair, name="周建军")[0]
    talk = ih.deliberating(db, world, chair, title="北门外电动车乱停")
    said = ih.comment(db, world, neighbour, talk.id or 0, body="物业根本不管，骂他们也没用！")
    collecting = ih.propose(db, world, neighbour, title="2号楼前增设晾衣架")
    for title in ("小区里养鸽子扰民", "请求更换单元门禁"):
        declined = ih.enter(db, world, chair, title=title)
        with db.session() as s:
            issue_service.reject_issue(
                session=s,
                access=chair_access(db, world, chair),
                actor=chair,
                issue_id=declined.id or 0,
                form=issue_schemas.ReasonForm(reason="属于物业服务合同事项，已转物业处理"),
            )

    mine = phone()
    page = mine.page

    def step(name: str) -> None:
        shots(page, name)
        assert_fits_the_phone(page)
        if elder:
            assert_elder(page)

    # 1. She types her number the way it is printed on her card, with spaces; one hall: in.
    page.goto(live("/login"))
    if elder:  # 大字模式 from the top of the page, before anything else
        page.get_by_role("button", name="大字模式：关").click()
        expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))
        expect(page).to_have_url(live("/login"))
    page.fill("#f-phone", spaced(me.phone or ""))
    page.fill("#f-password", PASSWORD)
    page.locator("main form[method=post] button[type=submit]").last.click()
    expect(page).to_have_url(live(f"/halls/{hall_id}"))
    expect(page.locator(".topbar .who")).to_have_text(name)

    # 2. The hall: what is being worked on first; the ended ones folded, with their count.
    ended = page.locator("details.ended-counts")
    expect(ended.locator("summary")).to_contain_text("不予受理、已合并、已撤回（2）")
    expect(ended).not_to_have_attribute("open", "")
    step("01-hall-home")

    # 3. An issue collecting co-signatures: the share box, its link on the public origin, the QR.
    page.goto(live(f"/halls/{hall_id}/issues/{collecting.id}"))
    box = page.locator("details.share-box")
    expect(box).to_have_attribute("open", "")
    link = box.locator("#share-link").input_value()
    assert f"/halls/{hall_id}/issues/{collecting.id}" in link
    expect(box.locator("img.share-qr")).to_be_visible()
    step("02-share")

    # 4. A comment without a stance: the form says so, and the notice names what it counted as.
    page.goto(live(f"/halls/{hall_id}/issues/{talk.id}"))
    form = page.locator("form.comment-form")
    expect(form).to_contain_text("不选态度即算作中立")
    expect(form.locator("input[name=stance]:checked")).to_have_count(0)
    form.locator("#f-body").fill("建议在北门划出电动车停放区")
    mark_document(page)
    form.get_by_role("button", name="发表").click()
    expect(page.get_by_role("status").filter(has_text="评论已发布，态度：中立")).to_be_visible()
    assert_same_document(page)
    htmx_settled(page)
    step("03-commented")

    # 5. She reports a rude comment: told it was reported, in place.
    thread = page.locator(f"#comment-{said.id}")
    thread.get_by_role("link", name="举报").click()
    page.get_by_label("举报原因").fill("骂人")
    page.get_by_role("button", name="提交举报").click()
    expect(page.get_by_role("status").filter(has_text="举报")).to_be_visible()
    htmx_settled(page)
    step("04-reported")
    mine.watch.assert_clean()


# --- the chair ----------------------------------------------------------------------------


def test_the_chair_on_her_phone(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "role-chair-")
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    hall_id = world.hall.id
    for index, name in ((0, "吕洋"), (31, "吕洋"), (13, "钱建华")):
        make_member(db, world, household_index=index, chair=chair, name=name)
    author = make_member(db, world, household_index=2, chair=chair, name="赵秀兰")[0]
    reporter = make_member(db, world, household_index=5, chair=chair, name="孙丽")[0]
    with db.session() as s:
        entered = issue_service.enter_issue_on_behalf(
            session=s,
            access=chair_access(db, world, chair),
            actor=chair,
            form=issue_schemas.OnBehalfIssueForm(
                title="3号楼北侧路灯不亮",
                description="两盏路灯坏了一个多月，晚上老人出门看不清台阶，已经有人摔倒。",
                category=Category.SAFETY,
            ),
        )
    rude = ih.deliberating(db, world, chair, title="楼道堆物清理")
    said = ih.comment(db, world, author, rude.id or 0, body="谁堆的谁就是没素质！")
    with db.session() as s:
        issue_service.report_comment(
            session=s,
            access=ih._access(db, world, reporter),
            actor=reporter,
            comment_id=said.id or 0,
            form=issue_schemas.ReasonForm(reason="人身攻击"),
        )

    desk = phone()
    desk.watch.expect_status(422)  # the hide without a reason, once
    page = desk.page

    def step(name: str) -> None:
        shots(page, name)
        assert_fits_the_phone(page)

    log_in(page, live, chair)
    expect(page).to_have_url(live(f"/halls/{hall_id}"))

    # 1. Review: what the resident wrote comes before 受理 / 不予受理 / 合并; a 协商期限.
    page.goto(live(f"/halls/{hall_id}/issues/{entered.id}"))
    details = page.locator("section.card", has_text="具体情况")
    accept = page.get_by_role("button", name="受理，进入协商")
    expect(details).to_contain_text("已经有人摔倒")
    top, button = details.bounding_box(), accept.bounding_box()
    assert top is not None
    assert button is not None
    assert top["y"] < button["y"]
    merge_targets = page.locator("label.merge-row")
    assert "楼道堆物清理" in " ".join(merge_targets.all_inner_texts())
    step("01-review")
    page.locator("input[name=deliberation_days]").fill("3")
    accept.click()
    expect(page.locator(".deadline").first).to_contain_text("协商期限：")
    expect(page.locator(".flash")).to_be_visible()
    step("02-accepted")

    # 2. Moderation stays in its queue: a missing reason is said next to the field.
    queue = live(f"/halls/{hall_id}/moderation")
    page.goto(queue)
    row = page.locator(f"#report-{said.id}")
    row.get_by_role("button", name="隐藏评论").click()
    expect(row.locator(f"#e-reason-{said.id}")).to_be_visible()
    htmx_settled(page)
    step("03-queue-error")
    row.get_by_label("隐藏原因（所有人可见）").fill("人身攻击")
    row.get_by_role("button", name="隐藏评论").click()
    expect(row.get_by_role("status")).to_have_text("评论已隐藏")
    assert page.url == queue
    htmx_settled(page)

    # 3. After 结束协商 the issue waits for her ballot; the default title names the 方案.
    solution = ih.solution(db, world, chair, rude.id or 0)
    ih.close_deliberation(db, world, chair, rude.id or 0, solution.id or 0)
    page.goto(live(f"/halls/{hall_id}/issues/{rude.id}"))
    expect(page.locator("main")).to_contain_text("待您发起表决")
    expect(page.locator("main")).not_to_contain_text("表决中")
    page.get_by_role("link", name="发起表决").first.click()
    title = page.locator("#f-title").input_value()
    assert solution.title in title, title
    step("04-new-ballot")

    # 4. The audit trail in words: who did what to which issue, the raw record folded.
    page.goto(live(f"/halls/{hall_id}/audit"))
    first = page.locator("ol.audit > li").filter(has_text="楼道堆物清理").first
    expect(first.locator(".audit-subject a").first).to_be_visible()
    raw = page.locator("details.audit-raw").first
    expect(raw).not_to_have_attribute("open", "")
    expect(raw.locator(".mono").first).to_be_hidden()
    assert "voting.open_ballot" not in page.locator("ol.audit").inner_text()
    step("05-audit")
    desk.watch.assert_clean()


# --- the street official ------------------------------------------------------------------

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")


def test_the_street_official_on_his_phone(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "role-street-")
    st = eh.story(live.db)
    db, world = live.db, st.world
    eh.raise_on(db, world, st.chair, st.issue, summary="北门路面塌陷，请城管科处理")
    issue, _ = make_deciding_issue(db, world, st.chair, solutions=1, title="东门增设非机动车棚")
    council = make_member(db, world, household_index=0, chair=st.chair, name="刘议事")[0]
    mh.give_roles(db, world, st.chair, council, "council")
    ballot = open_ballot(
        db,
        world,
        st.chair,
        draft_ballot(db, world, st.chair, issue, rule=RuleKind.COUNCIL_MAJORITY),
    )
    desk = phone()
    page = desk.page

    def step(name: str) -> None:
        shots(page, name)
        assert_fits_the_phone(page)

    # 1. His desk is the street's: home, not one hall.
    log_in(page, live, st.admin)
    expect(page).to_have_url(live("/"))
    expect(page.get_by_role("link", name="吹哨派单").first).to_be_visible()
    step("01-home")

    # 2. The notice says what he can do, and takes him there.
    page.goto(live("/notifications"))
    raised = page.locator("li[data-kind=escalation_raised]")
    expect(raised).to_contain_text("社区吹哨，等待派单")
    step("02-notice")
    raised.get_by_role("link", name="去派单").click()
    expect(page).to_have_url(live(f"/streets/{world.street.id}/escalations"))
    expect(page.locator("#escalation-rows")).to_contain_text("北门路面塌陷")
    step("03-inbox")

    # 3. A hall's ballot speaks to him as the street, not as a resident.
    page.goto(live(f"/halls/{world.hall.id}/ballots/{ballot.id}"))
    expect(page.locator(".vote-card")).to_contain_text("您以街道工作人员的身份查看本次表决")
    expect(page.locator(".vote-card")).not_to_contain_text("请联系居委会")
    step("04-ballot")

    # 4. 三率, then the same in English: nothing of the page's own in Chinese.
    page.goto(live(f"/streets/{world.street.id}/rates"))
    expect(page.locator("main h1")).to_contain_text("三率")
    step("05-rates")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    heading = page.locator("main h1").inner_text()
    assert not CJK.search(heading), heading
    chrome = page.evaluate(
        """() => [...document.querySelectorAll('.topbar button, .topbar .sr-only, footer')]
                 .map(el => el.textContent).join(' ')"""
    )  # the header and footer, without his name (user content)
    assert "Log out" in chrome
    assert not CJK.search(chrome.replace("简体中文", "")), chrome
    step("06-rates-english")
    desk.watch.assert_clean()
