"""The 民决 journey (issue 4) in a real browser, at a phone's 390×844, on both backends.

The chair drafts an owners' ballot (民法典 278, ordinary matter) for one building from the issue
page and opens it; three owners vote on their phones (the voting notice comes before the
choices) and keep their receipt codes; the chair prints the paper ballots; a 计票人 enters ten
returned papers by their codes (one from an owner who had voted on the phone: the later vote
counts, and the desk says so), a different 监票人 confirms them; the reconciliation balances;
the chair closes; the result shows every check with its numbers and the ledger head; the 公示
follows, a resident objects, the chair answers; when the 公示 period is over the chair moves
the issue to 民办. Every htmx action is checked to swap in place, not reload.

Screenshots go to docs/screenshots/vote-*.png from the SQLite run only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import select

from app.core import clock
from app.halls.models import Entrance, Household, Relation
from app.issues.lifecycle import Stage
from app.issues.models import Category, Issue, Scope
from app.voting.models import Ballot, Vote
from app.voting.queries import verify_ballot
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
from tests.factories import make_deciding_issue, make_member

pytestmark = pytest.mark.browser

OWNERS = ("李建国", "张秀英", "王桂兰")  # 1号楼 101, 102, 201: they vote on their phones
FLATS_IN_BUILDING = 12  # make_community: 2 entrances × 3 floors × 2 flats, 68.50 ㎡ each
# The ten returned papers, in the order the 计票人 enters them: (roll index, reading). Index 2
# is 王桂兰, who voted 反对 on the phone and then 同意 on paper: the paper is later and counts.
READINGS = [
    (2, "同意"),
    (3, "同意"),
    (4, "同意"),
    (5, "同意"),
    (6, "同意"),
    (7, "同意"),
    (8, "同意"),
    (9, "反对"),
    (10, "空白票"),
    (11, "无效票"),
]


def stat(page: Page, card: Locator, label: str) -> Locator:
    """The number under one heading of the paper count (发出, 收回 …; not 未收回)."""
    heading = page.locator("dt", has_text=re.compile(f"^{label}$"))
    return card.locator(".paper-stats div").filter(has=heading).locator("dd")


def enter_paper(page: Page, code: str, reading: str) -> None:
    form = page.locator(".paper-entry form")
    form.locator("#f-code").fill(code)
    if reading in ("空白票", "无效票"):
        form.locator("label.choice", has_text=reading).click()
    else:
        form.locator("label.choice", has_text="有效票").click()
        form.locator(".paper-options label.choice", has_text=reading).click()
    form.get_by_role("button", name="录入，交监票人确认").click()
    expect(page.locator(".paper-entry .done-note")).to_be_visible()
    expect(page.locator(".paper-pending")).to_contain_text(code)
    htmx_settled(page)


def test_an_owners_vote_from_the_issue_page_to_implementation(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "vote-")
    community = make_community(live)
    db, world, chair = live.db, community.world, community.chair
    hall_id = world.hall.id
    owners = [
        make_member(db, world, household_index=i, relation=Relation.OWNER, chair=chair, name=n)[0]
        for i, n in enumerate(OWNERS)
    ]
    counter = make_member(db, world, household_index=20, chair=chair, name="赵计票")[0]
    scrutineer = make_member(db, world, household_index=21, chair=chair, name="钱监票")[0]
    with db.session(read_only=True) as s:
        flat = s.get(Household, world.households[0].id)
        assert flat is not None
        entrance = s.get(Entrance, flat.entrance_id)
        assert entrance is not None
        building_id = entrance.building_id
    issue, _ = make_deciding_issue(
        db,
        world,
        chair,
        solutions=1,
        title="1号楼外墙保温层脱落维修",
        category=Category.BUILDING,
        scope=Scope.BUILDING,
        scope_building_id=building_id,
    )
    issue_url = live(f"/halls/{hall_id}/issues/{issue.id}")

    # 1. The chair drafts the ballot from the issue page's 民决 card and opens it.
    desk = phone()
    page = desk.page
    log_in(page, live, chair)
    page.goto(issue_url)
    decision = page.locator(f"#issue-{issue.id}-decision")
    expect(decision).to_contain_text("协商意见已形成")
    decision.get_by_role("link", name="发起表决").click()
    expect(page.locator("h1")).to_have_text("发起表决")
    page.fill("#f-title", "是否同意使用维修资金维修1号楼外墙")
    page.locator("label.rule-choice", has_text="业主共同决定·一般事项").click()
    expect(page.locator("label.choice", has_text="一栋楼").locator("input")).to_be_checked()
    expect(page.locator("#f-building")).to_have_value(str(building_id))
    expect(page.locator("input[name=secret]")).to_be_checked()  # secret unless the chair says
    page.fill("#f-meeting-note", "12月5日晚7点 1号楼业主会 居委会活动室")
    page.fill("#f-counters-q", "赵计票")  # the pickers' search, then the person
    page.locator("#f-counters label.person", has_text="赵计票").click()
    page.fill("#f-scrutineers-q", "钱监票")
    page.locator("#f-scrutineers label.person", has_text="钱监票").click()
    assert_fits_the_phone(page)
    shots(page, "01-new")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator(".badge.ballot-draft")).to_have_text("草稿")
    page.get_by_role("button", name="开始投票（冻结投票人名单）").click()
    expect(page.locator(".badge.ballot-open")).to_have_text("投票中")
    expect(page.locator(".rule-card")).to_contain_text(
        f"投票人名单：{FLATS_IN_BUILDING}（开始投票时冻结）"
    )
    expect(page.locator(".rule-card")).to_contain_text("总面积 822.00 ㎡")
    ballot_url = page.url
    ballot_id = int(ballot_url.rsplit("/", 1)[1])
    assert_fits_the_phone(page)
    shots(page, "02-open")

    # 2. Three owners vote on their phones: the notice first, then the choices; a receipt.
    receipts = []
    for owner, choice in zip(owners, ("同意", "同意", "反对"), strict=True):
        screen = phone()
        voter = screen.page
        log_in(voter, live, owner)
        voter.goto(issue_url)
        # an owner on the roll who has not voted is shown the large 去投票 (issue #14)
        go = voter.locator(f"#issue-{issue.id}-decision a.vote-now")
        expect(go).to_contain_text("去投票：是否同意使用维修资金")
        go.click()
        card = voter.locator(f"#ballot-{ballot_id}-vote")
        notice = card.locator(".vote-notice")
        expect(notice).to_contain_text("无记名投票")
        expect(notice).to_contain_text("按业主投票")
        assert card.evaluate(
            "c => c.querySelector('.vote-notice').compareDocumentPosition("
            "c.querySelector('.vote-choices')) & Node.DOCUMENT_POSITION_FOLLOWING"
        ), "the voting notice must come before the choices (VOTE-12)"
        mark_document(voter)
        card.locator("label.choice", has_text=choice).click()
        card.get_by_role("button", name="投票").click()
        expect(card.locator(".receipt")).to_contain_text(f"当前有效：{choice}")
        code = card.locator(".receipt-code").inner_text()
        assert re.fullmatch(r"[A-Z2-7]{12}", code), code
        receipts.append(code)
        assert_same_document(voter)
        htmx_settled(voter)
        if owner is owners[0]:
            assert_fits_the_phone(voter)
            shots(voter, "03-phone-vote")
            # The receipt is on the public board, which names nobody.
            voter.goto(ballot_url + "/board")
            expect(voter.locator("main")).to_contain_text(code)
            board = voter.locator("main").inner_text()
            assert all(name not in board for name in OWNERS)
        screen.watch.assert_clean()
    assert len(set(receipts)) == 3

    # 3. The chair prints the paper ballots (one per voter of the frozen roll).
    page.goto(ballot_url + "/paper")
    page.get_by_role("button", name="打印纸质票").click()
    counts = page.locator(f"#ballot-{ballot_id}-paper-counts")
    expect(stat(page, counts, "发出")).to_have_text(str(FLATS_IN_BUILDING))
    page.get_by_role("link", name=re.compile("打印页")).click()
    sheets = page.locator(".paper-sheet")
    expect(sheets).to_have_count(FLATS_IN_BUILDING)
    expect(sheets.first.locator("svg.qr")).to_be_visible()
    codes = sheets.locator(".sheet-code").all_inner_texts()
    assert len(set(codes)) == FLATS_IN_BUILDING
    assert all(re.fullmatch(r"[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}", c) for c in codes), codes
    shots(page, "04-paper-print")

    # 4. The 计票人 enters the ten returned papers by their codes.
    officer = phone()
    counting = officer.page
    log_in(counting, live, counter)
    counting.goto(ballot_url)
    counting.get_by_role("link", name="纸质票录入与确认").click()
    mark_document(counting)
    for index, reading in READINGS:
        enter_paper(counting, codes[index], reading)
    assert_same_document(counting)
    pending = counting.locator(".paper-pending li")
    expect(pending).to_have_count(len(READINGS))
    # 王桂兰 voted on the phone first: the desk says the paper, being later, will count.
    expect(counting.locator(".paper-pending")).to_contain_text("确认后以这张纸质票为准")
    # Their own entries wait for another officer: no confirm button for the one who entered.
    expect(counting.locator(".paper-pending button", has_text="确认")).to_have_count(0)
    assert_fits_the_phone(counting)
    shots(counting, "05-paper-entry")
    officer.watch.assert_clean()

    # 5. The 监票人 confirms each reading.
    second = phone()
    checking = second.page
    log_in(checking, live, scrutineer)
    checking.goto(ballot_url + "/paper")
    mark_document(checking)
    for left in range(len(READINGS), 0, -1):
        expect(checking.locator(".paper-pending li")).to_have_count(left)
        checking.locator(".paper-pending li").first.get_by_role("button", name="确认").click()
        htmx_settled(checking)
    expect(checking.locator(".paper-pending")).to_contain_text("没有待确认的纸质票")
    stats = checking.locator(f"#ballot-{ballot_id}-paper-counts")
    for label, value in (("收回", 10), ("有效", 8), ("无效", 1), ("空白", 1), ("待确认", 0)):
        expect(stat(checking, stats, label)).to_have_text(str(value))
    expect(stats.locator(".balance.ok")).to_contain_text("账目相符")
    assert_same_document(checking)
    assert_fits_the_phone(checking)
    shots(checking, "06-paper-confirmed")
    second.watch.assert_clean()

    # 6. The chair closes; the result lists every check with its numbers.
    page.goto(ballot_url)
    page.locator("summary", has_text="截止投票并计票").click()
    page.get_by_role("button", name="确认截止").click()
    result = page.locator("#result")
    expect(result).to_contain_text("表决结果：通过")
    checks = result.locator(".checks li")
    # 10 of 12 owners took part (the blank and the invalid paper are not votes): 10/12 by head
    # and 685.00 of 822.00 ㎡ by area; 9 agree of 10 by head and by area.
    texts = checks.all_inner_texts()
    assert len(texts) == 4, texts
    assert all(t.endswith("达到") and "未达到" not in t for t in texts), texts
    joined = "\n".join(texts)
    for number in ("685.00", "822.00", "616.50"):
        assert number in joined, (number, joined)
    assert "10" in joined
    assert "12" in joined
    # plain words first; the head hash is one fold-out (核验) away, for whoever asks
    expect(result.locator(".head-hash")).to_be_hidden()
    result.locator("summary", has_text="核验").click()
    head = result.locator(".head-hash").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", head)
    assert_fits_the_phone(page)
    shots(page, "07-result")
    with db.session(read_only=True) as s:
        ballot = s.get(Ballot, ballot_id)
        assert ballot is not None
        assert ballot.head_hash == head
        current = s.exec(
            select(Vote).where(Vote.ballot_id == ballot_id, Vote.is_current == True)  # noqa: E712
        ).all()
        assert len(current) == 10  # one current vote per voter across phone and paper
        check = verify_ballot(s, ballot_id, expect_head=head)
    assert check.ok, check.problems

    # 7. 公示: a resident objects, the chair answers; ending early is refused.
    result.get_by_role("link", name="查看公示").click()
    expect(page.locator("h1")).to_contain_text("协商结果的公示")
    objector_screen = phone()
    objector = objector_screen.page
    log_in(objector, live, owners[2])
    objector.goto(page.url)
    mark_document(objector)
    card = objector.locator(f"#issue-{issue.id}-objections")
    card.locator("#f-body").fill("维修资金分摊请按各户面积，并公示施工单位报价。")
    card.get_by_role("button", name="提交异议").click()
    expect(card.locator(".objection")).to_have_count(1)
    assert_same_document(objector)
    htmx_settled(objector)
    objector_screen.watch.assert_clean()
    page.reload()
    mark_document(page)
    card = page.locator(f"#issue-{issue.id}-objections")
    card.locator("textarea[name=answer]").fill(
        "按专有部分面积分摊；施工单位的三家报价已张贴在1号楼门厅。"
    )
    card.get_by_role("button", name="提交答复").click()
    expect(card.locator(".objection.answered")).to_have_count(1)
    desk.watch.expect_status(409)
    card.get_by_role("button", name="公示期满，转入办理").click()
    expect(card.locator(".error")).to_contain_text("公示期还没有结束")
    assert_same_document(page)
    htmx_settled(page)
    assert_fits_the_phone(page)
    shots(page, "08-publicity")

    # 8. The 公示 period is over (the server's clock moves on): to 民办.
    with db.session(read_only=True) as s:
        hall = s.get(type(world.hall), hall_id)
        assert hall is not None
        days = hall.publicity_days
    publicity_url = page.url
    clock.freeze(clock.now() + timedelta(days=days, minutes=1))
    try:
        # A week later: the chair's session has long expired; they log in again.
        log_in(page, live, chair)
        page.goto(publicity_url)
        card = page.locator(f"#issue-{issue.id}-objections")
        card.get_by_role("button", name="公示期满，转入办理").click()
        expect(page.locator("#flash")).to_contain_text("公示期满，议题已转入办理")
        page.goto(issue_url)
        expect(page.locator(".timeline [aria-current=step]")).to_contain_text("民办")
        assert_fits_the_phone(page)
        shots(page, "09-implementing")
    finally:
        clock.freeze(None)
    with db.session(read_only=True) as s:
        moved = s.get(Issue, issue.id)
        assert moved is not None
        assert moved.stage == Stage.IMPLEMENTING
    desk.watch.assert_clean()
