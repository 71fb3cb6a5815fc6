"""The 会议纪要 through the app on SQLite and PostgreSQL: the page for its officers and, once
signed, for the hall; a stale edit comes back with the text kept; sign-off from the page; the
PDF read back with pypdf (the Chinese fields, 草稿 on a draft, the hash once signed, rooms
masked); the JSON API; what the page costs in statements."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from app.db import Database
from app.halls.models import Household
from app.halls.service import add_street_admin
from app.meetings.models import Minutes
from tests import factories as f
from tests import minutes_helpers as minh
from tests import print_helpers as ph
from tests.conftest import Client, ClientAs


def _url(held: minh.Held, tail: str = "minutes") -> str:
    return f"/halls/{held.world.hall.id}/meetings/{held.meeting.id}/{tail}"


def _sign_from_page(client: Client, held: minh.Held, line: str) -> None:
    response = client.post_form(
        _url(held, "minutes/sign"),
        {"line": line},
        token_from=_url(held),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]


def _signed(db: Database, laptop: ClientAs) -> tuple[minh.Held, Client]:
    held = minh.held_meeting(db)
    chair = laptop(held.chair)
    _sign_from_page(chair, held, "chair")
    _sign_from_page(laptop(held.recorder), held, "recorder")
    return held, chair


def test_the_draft_page_is_its_officers_and_shows_every_part(
    db: Database, laptop: ClientAs
) -> None:
    held = minh.held_meeting(db)
    page = laptop(held.chair).get(_url(held))
    assert page.status_code == 200
    text = page.text
    for expected in (
        "楼道堆物清理议事会",
        "应到 3 人，实到 2 人",
        'data-check="attendance_heads"',
        "缺席人员及原因",
        "孙立华",
        "未说明",  # the recorder is absent without a recorded reason
        "张经理（某某物业公司）",  # 列席 who came
        "受邀未到：陈代表（区人大）",
        "一、会议议程",
        "二、发言摘要",
        "居民代表",
        "三、表决情况",
        held.ballots[0].head_hash or "",
        "四、决议事项",
        "经表决通过",  # prefilled from the 决议
        "五、任务分工",
        "六、公示与反馈安排",
        "七、其他事项",
        "编辑纪要",
        "我是主持人，签署纪要",
        'name="version" value="0"',
    ):
        assert expected in text, expected
    assert "我是记录人" not in text  # the chair signs only their own line
    resident, _ = f.make_member(db, held.world, household_index=3, chair=held.chair)
    assert laptop(resident).get(_url(held)).status_code == 404  # a draft: officers only
    assert laptop(held.members[0]).get(_url(held, "print/minutes")).status_code == 404
    detail = laptop(resident).get(f"/halls/{held.world.hall.id}/meetings/{held.meeting.id}")
    assert "查看会议纪要" not in detail.text
    assert "查看会议纪要" in laptop(held.chair).get(detail.url.path).text


def test_a_stale_edit_keeps_the_text_and_says_why(db: Database, laptop: ClientAs) -> None:
    held = minh.held_meeting(db)
    chair, recorder = laptop(held.chair), laptop(held.recorder)
    saved = recorder.post_form(
        _url(held), {"version": "0", "notes": "记录人写的"}, token_from=_url(held)
    )
    assert saved.status_code == 200  # followed the 303 back to the page
    assert "记录人写的" in saved.text
    stale = chair.post_form(
        _url(held), {"version": "0", "notes": "主持人同时写的"}, token_from=_url(held)
    )
    assert stale.status_code == 409
    assert "已被他人修改" in stale.text
    assert "主持人同时写的" in stale.text  # the text typed, kept
    too_long = chair.post_form(
        _url(held), {"version": "1", "notes": "长" * 5001}, token_from=_url(held)
    )
    assert too_long.status_code == 422
    assert "内容太长" in too_long.text
    with db.session(read_only=True) as session:
        row = session.exec(select(Minutes).where(Minutes.meeting_id == held.meeting.id)).one()
    assert row.notes == "记录人写的"


def test_signed_minutes_are_the_halls_and_locked(db: Database, laptop: ClientAs) -> None:
    held, chair = _signed(db, laptop)
    with db.session(read_only=True) as session:
        row = session.exec(select(Minutes).where(Minutes.meeting_id == held.meeting.id)).one()
    assert row.content_hash
    resident, _ = f.make_member(db, held.world, household_index=3, chair=held.chair)
    page = laptop(resident).get(_url(held))
    assert page.status_code == 200
    assert "已签署" in page.text
    assert row.content_hash in page.text
    assert "编辑纪要" not in page.text
    assert "添加更正" not in page.text  # a plain resident reads, does not correct
    street = f.make_user(db, name="街道干部")
    with db.session() as session:
        add_street_admin(
            session=session, street=held.world.street, user=street, actor_id=held.world.admin.id
        )
    assert laptop(street).get(_url(held)).status_code == 200
    other = f.make_hall(db)
    outsider, _ = f.make_member(db, other)
    assert laptop(outsider).get(_url(held)).status_code == 404
    # a 更正 from the page, listed with its hash; an edit is refused (409)
    added = chair.post_form(
        _url(held, "minutes/corrections"),
        {"text": "第二位发言人应为张经理。"},
        token_from=_url(held),
    )
    assert added.status_code == 200
    assert "第二位发言人应为张经理。" in added.text
    refused = chair.post_form(
        _url(held), {"version": str(row.version), "notes": "改"}, token_from=_url(held),
        follow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 409  # the page again, with why
    assert "会议纪要已签署，不能再修改" in refused.text


def _pdf_text(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    assert all(ph.fonts(response.content).values())
    return "".join(ph.page_texts(response.content))


def test_the_pdf_carries_the_fields_in_chinese(db: Database, laptop: ClientAs) -> None:
    held = minh.held_meeting(db, speeches=6)
    chair = laptop(held.chair)
    draft = _pdf_text(chair, _url(held, "print/minutes.pdf"))
    assert "草稿" in draft
    _sign_from_page(chair, held, "chair")
    _sign_from_page(laptop(held.recorder), held, "recorder")
    with db.session(read_only=True) as session:
        row = session.exec(select(Minutes).where(Minutes.meeting_id == held.meeting.id)).one()
        rooms = set(
            session.exec(select(Household.room).where(Household.hall_id == held.world.hall.id))
        )
    text = _pdf_text(laptop(held.members[0]), _url(held, "print/minutes.pdf"))
    for expected in (
        f"{held.world.hall.name}协商会议纪要",
        "会议名称",
        "楼道堆物清理议事会",
        "社区议事厅",
        "主持人王秀英",
        f"记录人{held.recorder.name}",
        "应到3人，实到2人",
        "实到人数2人",  # the quorum check in words, with what was needed
        "缺席人员及原因",
        "未说明",
        "列席人员",
        "张经理（某某物业公司）",
        "一、会议议程",
        "二、发言摘要",
        "李建国（居民代表）",
        "三、表决情况",
        "同意2",
        "结果：通过",
        "四、决议事项",
        "五、任务分工",
        "六、公示与反馈安排",
        "主持人（签字）",
        "记录人（签字）",
        "盖章处",
        "内容哈希（SHA-256）",
        "附：应到人员名单",
        "第1页共",
    ):
        assert ph.squeeze(expected) in text, expected
    assert "草稿" not in text
    assert row.content_hash
    assert row.content_hash[:32] in text
    for name in ("李建国", "赵春梅"):
        assert name in text  # residents are named
    # Rooms masked: no "单元102" (a bare "102" may well occur inside a hash).
    for room in rooms:
        if len(room) > 1:
            assert f"单元{room}" not in text
    assert "单元1**" in text


def test_the_api(db: Database, make_client: Any) -> None:
    held = minh.held_meeting(db)
    base = f"/api/v1{_url(held)}"

    def client_of(user: Any) -> tuple[Client, dict[str, str]]:
        client: Client = make_client()
        client.login(user.phone or "", f.PASSWORD)
        return client, {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}

    chair, chair_h = client_of(held.chair)
    recorder, recorder_h = client_of(held.recorder)
    got = chair.get(base).json()
    assert got["version"] == 0
    assert got["signed"] is False
    assert got["document"]["attendance"]["check"]["needed"] == 2
    edited = chair.put(base, json={"version": 0, "tasks": "清理 | 物业 | 周六"}, headers=chair_h)
    assert edited.status_code == 200, edited.text
    assert edited.json()["document"]["tasks"][0]["owner"] == "物业"
    stale = recorder.put(base, json={"version": 0}, headers=recorder_h)
    assert stale.status_code == 409
    early = chair.post(f"{base}/corrections", json={"text": "早"}, headers=chair_h)
    assert early.status_code == 409
    assert chair.post(f"{base}/sign", json={"line": "chair"}, headers=chair_h).status_code == 200
    done = recorder.post(f"{base}/sign", json={"line": "recorder"}, headers=recorder_h).json()
    assert done["signed"] is True
    assert re.fullmatch(r"[0-9a-f]{64}", done["content_hash"])
    fix = chair.post(f"{base}/corrections", json={"text": "更正一处"}, headers=chair_h)
    assert fix.status_code == 201
    assert fix.json()["position"] == 1
    assert chair.get(base).json()["corrections"][0]["text"] == "更正一处"


class _Count:
    def __init__(self, db: Database) -> None:
        self.engines = {id(e): e for e in (db.write_engine, db.read_engine)}.values()
        self.count = 0

    def _on(self, *_: object) -> None:
        self.count += 1

    def __enter__(self) -> _Count:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._on)


def _statements(client: Client, db: Database, url: str) -> int:
    client.get(url)  # warm up (session touch, caches)
    for name, memo in db.memos.items():
        if name.startswith(("fragment:", "kept:")):
            memo.clear()
    with _Count(db) as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_the_page_costs_the_same_statements_for_4_and_40_speeches(
    db: Database, laptop: ClientAs
) -> None:
    small = minh.held_meeting(db, speeches=4, ballots=1)
    large = minh.held_meeting(db, items=6, speeches=40, ballots=3, council=6, present=5)
    few = _statements(laptop(small.chair), db, _url(small))
    many = _statements(laptop(large.chair), db, _url(large))
    assert few == many
    assert many <= 25, many
