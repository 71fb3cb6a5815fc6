"""The chair's screens fitted to the chair's work (issue #14): the review, the person pickers,
the way into a resident's one hall, 大字模式 at the top of every page, the hall page's fold."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from app.accounts.models import User
from app.core import clock
from app.core.errors import ValidationFailed
from app.db import Database
from app.halls import service as hall_service
from app.issues import schemas as issue_schemas
from app.issues import service as issue_service
from app.issues.lifecycle import Stage
from app.issues.models import Category, Issue
from app.meetings.models import Meeting
from app.voting.models import Ballot, BallotOfficer
from tests import escalation_helpers as eh
from tests import factories as f
from tests import meeting_helpers as mh
from tests.conftest import Client
from tests.implementation_helpers import implementing_issue


def login(make_client: Callable[[], Client], user: User) -> Client:
    c = make_client()
    c.login(user.phone or "", f.PASSWORD)
    return c


def picker(html: str, picker_id: str) -> str:
    """The HTML of one person picker on a page."""
    start = html.index(f'id="{picker_id}"')
    end = html.index("data-picker-none", start)
    return html[start:end]


# --- 计票人 / 监票人: by building, name · building and unit, never the room -----------------


def test_the_officer_pickers_tell_namesakes_apart_by_building_and_unit(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=2, entrances=2, rooms=2)
    chair = f.make_chair(db, world)
    issue, _ = f.make_deciding_issue(db, world, chair)
    # households: 1号楼1单元 101 (0) … 2号楼2单元 101 (6)
    first, _ = f.make_member(db, world, household_index=0, chair=chair, name="吕洋")
    second, _ = f.make_member(db, world, household_index=6, chair=chair, name="吕洋")
    f.make_member(db, world, household_index=3, chair=chair, name="白桦")
    f.make_member(db, world, household_index=1, verified=False, name="待审核")
    boss = login(make_client, chair)
    new = f"/halls/{world.hall.id}/issues/{issue.id}/ballots/new"
    page = boss.get(new)
    assert page.status_code == 200
    counters = picker(page.text, "f-counters")
    # each person a checkbox in a label, with the building and unit next to the name
    assert re.search(
        rf'<input type="checkbox" name="counter_ids" value="{first.id}"> '
        r'<span>吕洋 <span class="meta">· 1号楼1单元</span>',
        counters,
    )
    assert re.search(
        rf'<input type="checkbox" name="counter_ids" value="{second.id}"> '
        r'<span>吕洋 <span class="meta">· 2号楼2单元</span>',
        counters,
    )
    assert '白桦 <span class="meta">· 1号楼2单元' in counters
    assert "待审核" not in counters  # verified members only
    # no room number anywhere in the picker
    assert not re.search(r"10[12]", counters)
    # grouped by building: the chair (no household) first and open, the buildings folded
    groups = re.findall(
        r"<details class=\"picker-group\" data-picker-group( open)?>\s*<summary>([^<]+)<", counters
    )
    assert [(o, g.strip()) for o, g in groups] == [
        (" open", "居委会及未登记住址的成员"),
        ("", "1号楼"),
        ("", "2号楼"),
    ]
    assert "王主任" in counters.split("1号楼")[0]
    # the search box is there for app.js to show (hidden without JavaScript)
    assert '<div class="picker-search" hidden>' in counters
    # the search reads each row's own text: no name copied into an attribute (PRIV)
    assert re.search(
        r'<label class="person" data-person><input[^>]*> <span>吕洋 <span class="meta">· 2号楼2单元</span>',
        counters,
    )
    assert "data-search" not in counters
    scrutineers = picker(page.text, "f-scrutineers")
    assert f'name="scrutineer_ids" value="{second.id}"' in scrutineers

    # a refused form keeps the choices, and opens the building holding them
    form = {"title": "", "rule": "owners_ordinary", "counter_ids": [str(second.id)]}
    bad = boss.post_form(f"/halls/{world.hall.id}/issues/{issue.id}/ballots", form, token_from=new)
    assert bad.status_code == 422
    counters = picker(bad.text, "f-counters")
    assert f'name="counter_ids" value="{second.id}" checked>' in counters
    assert f'name="counter_ids" value="{first.id}">' in counters
    assert re.search(
        r"<details class=\"picker-group\" data-picker-group open>\s*<summary>2号楼", counters
    )
    assert re.search(
        r"<details class=\"picker-group\" data-picker-group>\s*<summary>1号楼", counters
    )

    # the chosen people are the ballot's officers
    made = boss.post_form(
        f"/halls/{world.hall.id}/issues/{issue.id}/ballots",
        {
            "title": "是否同意加装电梯",
            "rule": "owners_ordinary",
            "counter_ids": [str(second.id)],
            "scrutineer_ids": [str(first.id)],
        },
        token_from=new,
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text[:2000]
    with db.session(read_only=True) as s:
        ballot = s.exec(select(Ballot).where(Ballot.issue_id == issue.id)).one()
        officers = {
            (o.user_id, str(o.duty))
            for o in s.exec(select(BallotOfficer).where(BallotOfficer.ballot_id == ballot.id))
        }
    assert officers == {(second.id, "counter"), (first.id, "scrutineer")}


# --- the review: 具体情况 first, merge targets exactly those the service takes, 协商期限 -------


def _on_behalf(db: Database, world: f.HallWorld, chair: User, title: str) -> Issue:
    """An issue the chair entered from paper: it waits for review."""
    with db.session() as s:
        return issue_service.enter_issue_on_behalf(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            form=issue_schemas.OnBehalfIssueForm(
                title=title, description="三单元门口路灯坏了一个月。", category=Category.PARKING
            ),
        )


def test_the_chair_reads_the_details_before_accept_reject_and_merge(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    issue = _on_behalf(db, world, chair, "路灯不亮")
    resident, _ = f.make_member(db, world, chair=chair)
    path = f"/halls/{world.hall.id}/issues/{issue.id}"
    page = login(make_client, chair).get(path).text
    details = page.index("具体情况")
    assert details < page.index("三单元门口路灯坏了一个月。")
    for action in ("accept", "reject"):
        assert details < page.index(f'action="{path}/{action}"')
    # a resident reads the progress first (no review buttons for them)
    seen = login(make_client, resident).get(path).text
    assert f'action="{path}/accept"' not in seen
    assert seen.index('class="card stage-panel"') < seen.index("具体情况")
    # the review queue shows the start of each issue's details
    queue = login(make_client, chair).get(f"/halls/{world.hall.id}/review").text
    assert "三单元门口路灯坏了一个月。" in queue


def test_the_merge_list_offers_exactly_the_issues_the_service_merges_into(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    resident, _ = f.make_member(db, world, chair=chair)
    access = f.chair_access(db, world, chair)
    duplicate = _on_behalf(db, world, chair, "路灯不亮（重复）")
    waiting = _on_behalf(db, world, chair, "楼道灯不亮")
    collecting = f.make_issue(db, world, resident)
    deliberating = f.make_deliberating_issue(db, world, chair)
    deciding, _ = f.make_deciding_issue(db, world, chair)
    rejected = _on_behalf(db, world, chair, "不予受理的")
    withdrawn = f.make_issue(db, world, resident)
    merged = _on_behalf(db, world, chair, "合并了的")
    with db.session() as s:
        issue_service.reject_issue(
            session=s,
            access=access,
            actor=chair,
            issue_id=rejected.id or 0,
            form=issue_schemas.ReasonForm(reason="不属于社区事务"),
        )
    with db.session() as s:
        issue_service.withdraw_issue(
            session=s,
            access=f.member_access(db, world, resident),
            actor=resident,
            issue_id=withdrawn.id or 0,
        )
    with db.session() as s:
        issue_service.merge_issue(
            session=s,
            access=access,
            actor=chair,
            issue_id=merged.id or 0,
            form=issue_schemas.MergeForm(target_id=waiting.id),
        )
    other = f.make_hall(db)
    elsewhere = f.make_deliberating_issue(db, other, f.make_chair(db, other))

    boss = login(make_client, chair)
    path = f"/halls/{world.hall.id}/issues/{duplicate.id}"
    page = boss.get(path).text
    offered = {int(v) for v in re.findall(r'name="target_id" value="(\d+)"', page)}
    takes = {waiting.id, collecting.id, deliberating.id, deciding.id}
    assert offered == takes

    # the service refuses every other: 422 next to the field, the duplicate unchanged
    for target in (duplicate, rejected, withdrawn, merged, elsewhere):
        refused = boss.post_form(f"{path}/merge", {"target_id": str(target.id)}, token_from=path)
        assert refused.status_code == 422, target.title
        assert 'id="e-target_id"' in refused.text
        with db.session(read_only=True) as s:
            assert s.get(Issue, duplicate.id).stage == Stage.UNDER_REVIEW  # type: ignore[union-attr]
        with db.session() as s, pytest.raises(ValidationFailed) as refusal:
            issue_service.merge_issue(
                session=s,
                access=access,
                actor=chair,
                issue_id=duplicate.id or 0,
                form=issue_schemas.MergeForm(target_id=target.id),
            )
        assert refusal.value.errors == {"target_id": "merge_target_invalid"}
    # and takes one it offered
    done = boss.post_form(
        f"{path}/merge",
        {"target_id": str(deliberating.id)},
        token_from=path,
        follow_redirects=False,
    )
    assert done.status_code == 303
    with db.session(read_only=True) as s:
        after = s.get(Issue, duplicate.id)
        assert after is not None
        assert (after.stage, after.merged_into_id) == (Stage.MERGED, deliberating.id)


def test_the_deliberation_deadline_shows_and_is_overdue_only_once_past(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    resident, _ = f.make_member(db, world, chair=chair)
    issue = _on_behalf(db, world, chair, "路灯不亮")
    accepted_at = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    path = f"/halls/{world.hall.id}/issues/{issue.id}"
    clock.freeze(accepted_at)
    try:
        boss = login(make_client, chair)
        done = boss.post_form(
            f"{path}/accept", {"deliberation_days": "14"}, token_from=path, follow_redirects=False
        )
        assert done.status_code == 303
        deadline = accepted_at + timedelta(days=14)
        for at, overdue in (
            (deadline - timedelta(seconds=1), False),
            (deadline, False),
            (deadline + timedelta(seconds=1), True),
        ):
            clock.freeze(at)  # (a session left idle 14 days has ended: log in again)
            for who in (chair, resident):
                page = login(make_client, who).get(path).text
                assert "协商期限：2026-03-16 09:30" in page, at
                assert ("协商已超期" in page) is overdue, at
    finally:
        clock.freeze(None)


# --- a resident's way in: one hall, straight into it ----------------------------------------


def test_a_resident_with_one_hall_goes_straight_into_it(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    resident, _ = f.make_member(db, world, chair=chair)
    hall_page = f"/halls/{world.hall.id}"
    c = make_client()
    c.login(resident.phone or "", f.PASSWORD)
    home = c.get("/", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"] == hall_page
    # logging in lands on the hall's home page (login → / → the hall)
    fresh = make_client()
    token = fresh.csrf("/login")
    landed = fresh.post(
        "/login", data={"csrf_token": token, "phone": resident.phone, "password": f.PASSWORD}
    )
    assert landed.status_code == 200
    assert str(landed.url).endswith(hall_page)
    assert f"<h1>{world.hall.name}</h1>" in landed.text
    # the chair of one hall too
    assert login(make_client, chair).get("/", follow_redirects=False).headers["location"] == (
        hall_page
    )


def test_home_stays_for_whoever_it_shows_more(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    # two halls (one pending): home lists both
    two, _ = f.make_member(db, world, chair=chair)
    f.join_pending(db, f.make_hall(db), two)
    # only a pending request: home says it waits for the chair
    waiting = f.make_user(db, name="等审核")
    f.join_pending(db, world, waiting)
    # one hall and a department's desk; one hall and a street to look after
    desk, _ = f.make_member(db, world, chair=chair)
    official = eh.street_admin(db, world)
    eh.department(db, world, official, "城管科", (desk,))
    street, _ = f.make_member(db, world, chair=chair)
    with db.session() as s:
        hall_service.add_street_admin(
            session=s, street=world.street, user=street, actor_id=world.admin.id
        )
    for user, shows in (
        (two, "我的议事厅"),
        (waiting, "已提交申请，正在等待居委会审核。"),
        (desk, "部门待办"),
        (street, "吹哨派单"),
        (official, "吹哨派单"),
    ):
        home = login(make_client, user).get("/", follow_redirects=False)
        assert home.status_code == 200, user.name
        assert shows in home.text, user.name
    # nobody logged in: the welcome page
    assert "社区的事，大家商量着办" in make_client().get("/", follow_redirects=False).text


# --- 大字模式 at the top of every page ----------------------------------------------------------


def _header(html: str) -> str:
    return html[html.index('<header class="topbar">') : html.index("</header>")]


def test_large_text_is_switched_from_the_header_and_returns_to_the_same_page(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    issue = _on_behalf(db, world, chair, "路灯不亮")
    anonymous = make_client()
    for page in ("/", "/login", "/privacy"):
        text = anonymous.get(page).text
        assert 'action="/prefs/elder"' in _header(text), page
        assert text.count('action="/prefs/elder"') == 1, page  # not again in the footer
    boss = login(make_client, chair)
    issue_page = f"/halls/{world.hall.id}/issues/{issue.id}"
    before = boss.get(issue_page).text
    header = _header(before)
    assert '<input type="hidden" name="on" value="1">' in header
    assert 'aria-pressed="false"' in header
    assert '<span class="sr-only">大字模式：关</span>' in header
    # a plain form POST (no JavaScript): back to the page it was pressed on, now in large text
    token = re.search(r'name="csrf_token" value="([^"]+)"', before)
    assert token
    switched = boss.post(
        "/prefs/elder",
        data={"csrf_token": token.group(1), "on": "1"},
        headers={"Referer": f"http://testserver{issue_page}"},
        follow_redirects=False,
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == issue_page
    after = boss.get(issue_page).text
    assert '<html lang="zh-CN" class="elder">' in after
    header = _header(after)
    assert 'aria-pressed="true"' in header
    assert '<input type="hidden" name="on" value="0">' in header
    assert '<span class="sr-only">大字模式：开</span>' in header


# --- the hall page: the stages being worked on first, the ended ones folded ----------------


def test_the_hall_page_folds_the_issues_not_taken_up(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    resident, _ = f.make_member(db, world, chair=chair)
    f.make_issue(db, world, resident)
    f.make_deliberating_issue(db, world, chair)
    hall_page = f"/halls/{world.hall.id}"
    page = login(make_client, resident).get(hall_page).text
    assert "ended-counts" not in page  # nothing ended: no fold
    rejected = _on_behalf(db, world, chair, "不予受理的")
    withdrawn = f.make_issue(db, world, resident)
    with db.session() as s:
        issue_service.reject_issue(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            issue_id=rejected.id or 0,
            form=issue_schemas.ReasonForm(reason="不属于社区事务"),
        )
    with db.session() as s:
        issue_service.withdraw_issue(
            session=s,
            access=f.member_access(db, world, resident),
            actor=resident,
            issue_id=withdrawn.id or 0,
        )
    page = login(make_client, resident).get(hall_page).text
    active = page[
        page.index('<ul class="stage-counts">') : page.index('<details class="ended-counts">')
    ]
    assert re.findall(r"\?stage=(\w+)", active) == ["collecting", "deliberating"]
    fold = page[
        page.index('<details class="ended-counts">') : page.index(
            "</details>", page.index('<details class="ended-counts">')
        )
    ]
    assert "<summary>不予受理、已合并、已撤回（2）</summary>" in fold
    assert re.findall(r"\?stage=(\w+)\"><span>(\S+)</span><strong>(\d+)", fold) == [
        ("rejected", "不予受理", "1"),
        ("withdrawn", "已撤回", "1"),
    ]


# --- the other person pickers: 主持人 / 记录人, 代为签到, 负责的社区成员 --------------------------


def test_the_meeting_and_task_pickers_show_where_people_live(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=2, entrances=2, rooms=2)
    chair = f.make_chair(db, world)
    first, one = f.make_member(db, world, household_index=0, chair=chair, name="吕洋")
    second, two = f.make_member(db, world, household_index=6, chair=chair, name="吕洋")
    boss = login(make_client, chair)
    hall = world.hall.id
    # 主持人 and 记录人: one person each (radios); the chair hosts, no 记录人 yet
    page = boss.get(f"/halls/{hall}/meetings/new").text
    host = picker(page, "f-chair")
    assert '<input type="radio" name="chair_id" value=""> <span>我自己</span>' in host
    assert f'name="chair_id" value="{chair.id}" checked> <span>王主任</span>' in host  # the default
    assert re.search(
        rf'<input type="radio" name="chair_id" value="{second.id}"> '
        r'<span>吕洋 <span class="meta">· 2号楼2单元</span>',
        host,
    )
    recorder = picker(page, "f-recorder")
    assert (
        '<input type="radio" name="recorder_id" value="" checked> <span>暂不指定</span>' in recorder
    )
    assert not re.search(r"10[12]", host + recorder)
    # the chosen 记录人 is the meeting's, and 代为签到 picks members by membership
    meeting = mh.schedule(
        db, world, chair, mh.form(starts_in=timedelta(minutes=30), short_notice_reason="情况紧急")
    )
    made = boss.post_form(
        f"/halls/{hall}/meetings",
        {
            "kind": "council",
            "title": "议事会",
            "starts_at": mh.local(clock.now() + timedelta(days=8)),
            "ends_at": mh.local(clock.now() + timedelta(days=8, hours=2)),
            "place": "社区议事厅",
            "free_items_text": "楼道堆物清理",
            "recorder_id": str(first.id),
        },
        token_from=f"/halls/{hall}/meetings/new",
        follow_redirects=False,
    )
    assert made.status_code == 303, re.findall(r"class=\"error\"[^>]*>[^<]*", made.text)
    with db.session(read_only=True) as s:
        newest = s.exec(
            select(Meeting).where(Meeting.hall_id == hall).order_by(col(Meeting.id).desc())
        ).first()
        assert newest is not None
        assert newest.recorder_id == first.id
    detail = boss.get(f"/halls/{hall}/meetings/{meeting.id}").text
    signer = picker(detail, "f-membership")
    assert re.search(
        rf'<input type="radio" name="membership_id" value="{two.id}"> '
        r'<span>吕洋 <span class="meta">· 2号楼2单元</span>',
        signer,
    )
    assert f'value="{one.id}"> <span>吕洋 <span class="meta">· 1号楼1单元' in signer
    # 负责的社区成员 of a task
    issue = implementing_issue(db, world, chair)
    tasks = boss.get(f"/halls/{hall}/issues/{issue.id}/tasks").text
    responsible = picker(tasks, "f-responsible_user_id")
    assert (
        '<input type="radio" name="responsible_user_id" value="" checked> <span>不指定</span>'
        in (responsible)
    )
    assert f'value="{first.id}"> <span>吕洋 <span class="meta">· 1号楼1单元' in responsible
