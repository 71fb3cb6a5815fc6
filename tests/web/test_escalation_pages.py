"""吹哨报到 pages over real HTTP on both databases: the whole path from the chair's whistle to
the department's 办结 without JS (303 PRG), with htmx, 422 next to the field in Chinese, 409
with the reason, the issue card, the home links, and statement counts for the inboxes."""

from __future__ import annotations

import re
from typing import Any

from app.db import Database
from app.escalations.deadlines import Urgency
from tests import escalation_helpers as eh
from tests.conftest import Client
from tests.factories import PASSWORD
from tests.web.test_hall_pages import count_statements

HX = {"HX-Request": "true"}


def _as(make_client: Any, user: Any) -> Client:
    client: Client = make_client()
    client.login(user.phone, PASSWORD)
    return client


def _post(client: Client, path: str, data: dict[str, object], *, token_from: str, **kw: Any) -> Any:
    return client.post_form(path, data, token_from=token_from, follow_redirects=False, **kw)


def test_the_whole_path_without_js(db: Database, make_client: Any) -> None:
    st = eh.story(db)
    hall, issue = st.world.hall.id, st.issue.id
    chair = _as(make_client, st.chair)
    issue_url = f"/halls/{hall}/issues/{issue}"
    page = chair.get(issue_url)
    assert "吹哨报到" in page.text
    assert f"/halls/{hall}/issues/{issue}/escalations/new" in page.text
    new = f"/halls/{hall}/issues/{issue}/escalations/new"
    form = chair.get(new)
    assert form.status_code == 200
    assert "报到 30 分钟，办结 2 小时" in form.text  # 紧急's defaults, shown with the choice
    # 422 next to the field, in Chinese, with what was typed kept.
    bad = _post(
        chair,
        f"/halls/{hall}/issues/{issue}/escalations",
        {"category": "demand", "urgency": "", "summary": "北门路面塌陷", "work_order_no": "工单#1"},
        token_from=new,
    )
    assert bad.status_code == 422
    assert re.search(r'id="e-urgency"[^>]*>此项必填', bad.text)
    assert re.search(r'id="e-work_order_no"[^>]*>工单号只能包含字母和数字', bad.text)
    assert "北门路面塌陷" in bad.text
    done = _post(
        chair,
        f"/halls/{hall}/issues/{issue}/escalations",
        {
            "category": "demand",
            "urgency": Urgency.UTILITIES.value,
            "summary": "北门路面塌陷",
            "work_order_no": "GD2026120701",
        },
        token_from=new,
    )
    assert done.status_code == 303
    assert done.headers["location"] == issue_url
    card = chair.get(issue_url).text
    assert "已吹哨，待派单" in card
    assert "撤回吹哨" in card
    # The street official: the home link, the inbox, 派单.
    admin = _as(make_client, st.admin)
    home = admin.get("/").text
    street_inbox = f"/streets/{st.world.street.id}/escalations"
    assert street_inbox in home
    inbox = admin.get(street_inbox)
    assert "北门路面塌陷" in inbox.text
    escalation_id = int(re.findall(rf"{street_inbox}/(\d+)", inbox.text)[0])
    detail = f"{street_inbox}/{escalation_id}"
    missing = _post(admin, f"{detail}/dispatch", {"department_id": ""}, token_from=detail)
    assert missing.status_code == 422
    assert re.search(r'id="e-department_id"[^>]*>此项必填', missing.text)
    sent = _post(admin, f"{detail}/dispatch", {"department_id": st.lead.id}, token_from=detail)
    assert sent.status_code == 303
    again = _post(admin, f"{detail}/dispatch", {"department_id": st.lead.id}, token_from=detail)
    assert again.status_code == 409  # a conflict without JS: the reason under 派单
    assert re.search(r'id="e-refused"[^>]*>[^<]*已经派单', again.text)
    # The department: home link with its count, inbox, 报到, reply, help, 办结.
    member = _as(make_client, st.lead_user)
    dep_inbox = f"/departments/{st.lead.id}/escalations"
    home = member.get("/").text
    assert dep_inbox in home
    assert "部门待办" in home
    assert "北门路面塌陷" in member.get(dep_inbox).text
    mine = f"{dep_inbox}/{escalation_id}"
    early = _post(member, f"{mine}/replies", {"text": "先答复"}, token_from=mine, headers=HX)
    assert early.status_code == 409
    assert "请先报到" in early.text
    assert _post(member, f"{mine}/acknowledge", {}, token_from=mine).status_code == 303
    twice = _post(member, f"{mine}/acknowledge", {}, token_from=mine, headers=HX)
    assert twice.status_code == 409
    assert "已经报到过了" in twice.text
    empty = _post(member, f"{mine}/replies", {"text": " "}, token_from=mine)
    assert empty.status_code == 422
    assert re.search(r'id="e-text"[^>]*>此项必填', empty.text)
    assert (
        _post(member, f"{mine}/replies", {"text": "已到现场"}, token_from=mine).status_code == 303
    )
    asked = _post(member, f"{mine}/helpers", {"department_id": st.helper.id}, token_from=mine)
    assert asked.status_code == 303
    helper = _as(make_client, st.helper_user)
    helper_view = f"/departments/{st.helper.id}/escalations/{escalation_id}"
    assert "协办" in helper.get(helper_view).text
    assert (
        _post(
            helper, f"{helper_view}/replies", {"text": "市政所配合"}, token_from=helper_view
        ).status_code
        == 303
    )
    # htmx: a success answers 303 (htmx follows it and swaps the page it lands on).
    resolved = _post(member, f"{mine}/resolve", {"text": "路面已修复"}, token_from=mine, headers=HX)
    assert resolved.status_code == 303
    trail = chair.get(issue_url).text
    for word in (
        "吹哨",
        "派单",
        "报到",
        "答复",
        "请求协办",
        "办结",
        "已到现场",
        "市政所配合",
        "路面已修复",
    ):
        assert word in trail, word
    assert "已办结" in trail


def test_withdraw_before_dispatch(db: Database, make_client: Any) -> None:
    st = eh.story(db)
    e = eh.raise_on(db, st.world, st.chair, st.issue)
    chair = _as(make_client, st.chair)
    issue_url = f"/halls/{st.world.hall.id}/issues/{st.issue.id}"
    path = f"{issue_url}/escalations/{e.id}/withdraw"
    assert _post(chair, path, {}, token_from=issue_url).status_code == 303
    assert "撤回吹哨" not in chair.get(issue_url).text
    assert _post(chair, path, {}, token_from=issue_url).status_code == 404


def test_departments_and_deadlines_pages(db: Database, make_client: Any) -> None:
    st = eh.story(db)
    admin = _as(make_client, st.admin)
    street = st.world.street.id
    deps = f"/streets/{street}/departments"
    page = admin.get(deps)
    assert st.lead.name in page.text
    # Phones of department members are masked (the official is not one of them).
    phone = st.lead_user.phone or ""
    assert phone not in page.text
    assert f"{phone[:3]}****{phone[7:]}" in page.text
    taken = _post(admin, deps, {"name": st.lead.name}, token_from=deps)
    assert taken.status_code == 422
    assert "本街道已有同名部门" in taken.text
    unknown = _post(
        admin, f"{deps}/{st.lead.id}/members", {"phone": "13000000000"}, token_from=deps
    )
    assert unknown.status_code == 422
    assert re.search(r'id="e-phone"[^>]*>这个手机号还没有注册', unknown.text)
    added = _post(admin, deps, {"name": "房管所"}, token_from=deps)
    assert added.status_code == 303
    assert "房管所" in admin.get(deps).text
    deadlines = f"/streets/{street}/deadlines"
    assert "30" in admin.get(deadlines).text
    wrong = _post(
        admin,
        deadlines,
        {
            "urgency": "emergency",
            "respond": "3",
            "respond_unit": "hours",
            "resolve": "2",
            "resolve_unit": "hours",
        },
        token_from=deadlines,
    )
    assert wrong.status_code == 422
    assert re.search(r'id="e-resolve"[^>]*>办结时限不能短于报到时限', wrong.text)
    zero = _post(
        admin,
        deadlines,
        {
            "urgency": "emergency",
            "respond": "0",
            "respond_unit": "minutes",
            "resolve": "2",
            "resolve_unit": "hours",
        },
        token_from=deadlines,
    )
    assert re.search(r'id="e-respond"[^>]*>时限必须大于0', zero.text)
    ok = _post(
        admin,
        deadlines,
        {
            "urgency": "emergency",
            "respond": "20",
            "respond_unit": "minutes",
            "resolve": "1",
            "resolve_unit": "days",
        },
        token_from=deadlines,
    )
    assert ok.status_code == 303
    eh.raise_on(db, st.world, st.chair, st.issue, urgency=Urgency.EMERGENCY)
    inbox = admin.get(f"/streets/{street}/escalations?status=raised", headers=HX)
    assert inbox.status_code == 200
    assert inbox.text.lstrip().startswith('<div id="escalation-rows">')


def test_inboxes_run_a_fixed_number_of_statements(db: Database, make_client: Any) -> None:
    counts: dict[str, list[int]] = {"street": [], "department": []}
    for size in (1, 20):
        st = eh.story(db)
        for i in range(size):
            e = eh.raise_on(db, st.world, st.chair, st.issue, summary=f"事项{i}")
            if i % 2 == 0:
                eh.dispatch(db, st.world, st.admin, e, st.lead)
        admin = _as(make_client, st.admin)
        member = _as(make_client, st.lead_user)
        for who, client, url, expected in (
            ("street", admin, f"/streets/{st.world.street.id}/escalations", size),
            ("department", member, f"/departments/{st.lead.id}/escalations", (size + 1) // 2),
        ):
            assert client.get(url).status_code == 200  # warm-up
            with count_statements(db) as statements:
                page = client.get(url)
            assert page.status_code == 200
            assert page.text.count("deadline-") >= expected
            counts[who].append(len(statements))
    assert counts["street"][0] == counts["street"][1], counts
    assert counts["department"][0] == counts["department"][1], counts
    assert max(counts["street"] + counts["department"]) < 15, counts
