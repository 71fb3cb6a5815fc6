"""A whole 议事会 at a phone's 390×844, in a real browser, on both backends (issue #12's
"done when"): the chair schedules it with short notice (the reason asked for and recorded) and
drafts a ballot held at it; the ballot cannot open before the quorum (the chair sees why);
the council members sign in through the QR's link on their own phones and the quorum is met
live; the chair opens the meeting and the agenda item, a member raises a hand, the chair gives
the floor, the 记录人 notes the speech on their phone; the chair opens the ballot from live
mode, the members vote on their phones, the chair closes it from live mode with the tally;
the meeting ends; the 主持人 and the 记录人 sign the minutes on their phones; the minutes PDF
is downloaded and its Chinese read back (pypdf); a 更正 is appended after sign-off.

Screenshots (SQLite run) go to docs/screenshots/whole-meeting-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.core import clock
from tests import meeting_helpers as mh
from tests.browser.conftest import LiveServer, Phone
from tests.browser.test_journeys import (
    Shots,
    assert_fits_the_phone,
    log_in,
    make_community,
    submit,
)
from tests.factories import make_deciding_issue, make_member
from tests.print_helpers import page_texts, squeeze

pytestmark = pytest.mark.browser

NAMES = ("李明", "刘德明", "孙建国")  # 李明 is also the 记录人


def _flash(page: Page, text: str) -> None:
    expect(page.locator("#flash")).to_contain_text(text)


def test_a_whole_meeting_from_the_notice_to_the_signed_minutes(
    live_server: LiveServer, phone: Callable[..., Phone], screenshot_dir: Path
) -> None:
    live = live_server
    shots = Shots(screenshot_dir, live, "whole-meeting-")
    community = make_community(live)
    hall, world, db = community.hall, community.world, live.db
    members = []
    for i, name in enumerate(NAMES):
        user, _ = make_member(db, world, household_index=i, name=name)
        mh.give_roles(db, world, community.chair, user, "council")
        members.append(user)
    recorder = members[0]
    issue, _ = make_deciding_issue(
        db, world, community.chair, solutions=1, title="南门增设电动自行车充电桩"
    )

    # --- the chair schedules it, with short notice ---------------------------------------
    chair = phone()
    page = chair.page
    chair.watch.expect_status(422)
    chair.watch.expect_status(409)  # 开始投票 below the quorum
    log_in(page, live, community.chair)
    page.goto(live(f"/halls/{hall.id}/meetings/new"))
    starts = clock.now() + timedelta(minutes=30)
    page.fill("#f-title", "充电桩议事会")
    page.fill("#f-starts_at", mh.local(starts))
    page.fill("#f-ends_at", mh.local(starts + timedelta(hours=2)))
    page.fill("#f-recorder-q", recorder.name)  # the person picker's search
    page.locator("#f-recorder label.person", has_text=recorder.name).click()
    page.locator("label.choice", has_text="南门增设电动自行车充电桩").locator("input").check()
    page.fill("#f-free_items_text", "其他事项")
    submit(page)
    expect(page.locator("#e-short_notice_reason")).to_contain_text("天通知期")
    page.fill("#f-short_notice_reason", "消防检查前须议定")
    submit(page)
    expect(page.locator("main h1")).to_have_text("充电桩议事会")
    meeting_url = page.url
    meeting_id = int(meeting_url.rstrip("/").rsplit("/", 1)[1])
    signin_link = page.locator("#signin-url").input_value()
    assert signin_link.startswith(live.url)

    # --- a ballot held at it: no opening before the quorum -------------------------------
    page.goto(live(f"/halls/{hall.id}/issues/{issue.id}/ballots/new"))
    page.select_option("#f-meeting", value=str(meeting_id))
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator('[data-quorum="not_met"]')).to_be_visible()
    expect(page.locator("#meeting-quorum")).to_contain_text("还差 2 人")  # ≥ 2/3 of 3
    ballot_url = page.url
    ballot_id = int(ballot_url.rstrip("/").rsplit("/", 1)[1])
    page.get_by_role("button", name=re.compile("开始投票")).click()  # refused under the button
    expect(page.locator("#e-manage")).to_contain_text(
        "应到 3 人，实到 0 人，至少需要 2 人，还差 2 人"
    )

    # --- the members sign in through the QR's link on their phones ------------------------
    phones = {}
    for member in members:
        attendee = phone()
        log_in(attendee.page, live, member)
        attendee.page.goto(signin_link)
        attendee.page.get_by_role("button", name="我已到会，签到").click()
        _flash(attendee.page, "签到成功")
        phones[member.name] = attendee
    page.goto(meeting_url)
    expect(page.locator('[data-figure="present"]')).to_have_text("3")
    expect(page.locator('[data-quorum="met"]')).to_be_visible()

    # --- live mode: open the meeting and the item; a hand, the floor, a speech ------------
    page.goto(live(f"/halls/{hall.id}/meetings/{meeting_id}/live"))
    page.get_by_role("button", name="开始会议").click()
    page.locator("#live-agenda li", has_text="南门增设电动自行车充电桩").get_by_role(
        "button", name="设为当前"
    ).click()
    expect(page.locator("#live-agenda li.current")).to_contain_text("南门增设电动自行车充电桩")
    speaker = phones["孙建国"].page
    speaker.goto(meeting_url)
    speaker.get_by_role("button", name=re.compile("举手发言")).click()
    expect(speaker.get_by_role("button", name="放下")).to_be_visible()
    page.reload()
    page.locator("#live-queue li", has_text="孙建国").get_by_role("button", name="请发言").click()
    expect(page.locator("#live-queue .floor")).to_contain_text("孙建国")
    note = phones[recorder.name].page  # the 记录人 notes it on their own phone
    note.goto(live(f"/halls/{hall.id}/meetings/{meeting_id}/live"))
    expect(note.locator("#f-speaker_name")).to_have_value("孙建国")
    note.fill("#f-speech-identity", "业委会代表")
    note.fill("#f-summary", "同意增设充电桩，建议按度计费、物业负责日常巡查。")
    note.locator("#speech-box button[type=submit]").click()
    expect(note.locator("#live-speeches")).to_contain_text("建议按度计费")
    assert_fits_the_phone(note)

    # --- the ballot, opened and closed from live mode -------------------------------------
    page.reload()
    page.locator(f"#ballot-{ballot_id}-open").click()
    _flash(page, "投票已开始")
    expect(page.locator("#live-ballots")).to_contain_text("已投票 0 / 3")
    assert_fits_the_phone(page)
    shots(page, "live")
    for member in members:
        voter = phones[member.name].page
        voter.goto(ballot_url)
        card = voter.locator(f"#ballot-{ballot_id}-vote")
        card.locator("label.choice", has_text="同意").first.click()
        card.get_by_role("button", name="投票").click()
        expect(card.locator(".receipt")).to_contain_text("当前有效：同意")
    page.reload()
    expect(page.locator("#live-ballots")).to_contain_text("已投票 3 / 3")
    page.locator(f"#ballot-{ballot_id}-close").click()
    _flash(page, "投票已截止")
    page.get_by_role("button", name="结束会议").click()

    # --- the minutes: both sign on their phones, the PDF, a 更正 -------------------------
    minutes_url = live(f"/halls/{hall.id}/meetings/{meeting_id}/minutes")
    page.goto(minutes_url)
    page.fill("#f-resolutions", "同意在南门车棚增设电动自行车充电口，按度计费。")
    page.fill("#f-tasks", "南门车棚充电口安装 | 物业 | 2027-01-31")
    page.locator("#edit button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("南门车棚充电口安装")
    page.get_by_role("button", name="我是主持人，签署纪要").click()
    expect(page.locator('[data-line="chair"]')).to_contain_text("已于")
    mine = phones[recorder.name].page
    mine.goto(minutes_url)
    mine.get_by_role("button", name="我是记录人，签署纪要").click()
    expect(mine.locator("#signed")).to_contain_text("已签署")
    mine.locator("#signed summary", has_text="核验").click()  # the hash is for whoever asks
    digest = mine.locator("[data-hash]").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", digest), digest
    assert_fits_the_phone(mine)
    shots(mine, "minutes-signed")

    response = chair.context.request.get(
        live(f"/halls/{hall.id}/meetings/{meeting_id}/print/minutes.pdf")
    )
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/pdf")
    text = "".join(page_texts(response.body()))
    for field in (
        "会议纪要",
        "充电桩议事会",
        squeeze("应到 3 人"),
        squeeze("实到 3 人"),
        "南门增设电动自行车充电桩",
        "孙建国",
        "建议按度计费",
        "同意在南门车棚增设电动自行车充电口",
        "南门车棚充电口安装",
        "主持人",
        "记录人",
        digest[:16],
    ):
        assert field in text, field

    page.reload()
    page.fill("#f-text", "第二项决议的计费方式应为“按度计费、月结”。")
    page.locator("#f-text").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("按度计费、月结")
    expect(page.locator("[data-hash]")).to_have_text(digest)  # the signed body is unchanged
    assert_fits_the_phone(page)
    for who in (chair, *phones.values()):
        who.watch.assert_clean()
