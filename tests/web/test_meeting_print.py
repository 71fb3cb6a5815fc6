"""A meeting on paper (issue #12, the print pack), on SQLite and PostgreSQL: the 会议通知 and
the 签到表, each downloaded as a PDF through the app on the chair's laptop (loopback) with the
public origin configured, read back with pypdf; and who may print which."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from app.core.privacy import mask_name, mask_room
from app.db import Database
from app.halls.labels import issuer_of
from app.halls.models import Household
from app.meetings import schemas
from app.meetings.rules import MeetingKind
from app.web.templating import cn_date
from tests import factories as f
from tests import meeting_helpers as mh
from tests import print_helpers as ph
from tests.conftest import PUBLIC, Client, ClientAs


def _council(db: Database) -> tuple[f.HallWorld, Any, list[Any], Any]:
    world = f.make_hall(db)
    chair = f.make_chair(db, world, name="王秀英")
    members = []
    for i, name in enumerate(("李建国", "赵春梅", "孙立华")):
        user, _ = f.make_member(db, world, household_index=i, chair=chair, name=name)
        mh.give_roles(db, world, chair, user, "council")
        members.append(user)
    f.make_member(db, world, household_index=5, chair=chair, name="周大海")
    meeting = mh.schedule(
        db,
        world,
        chair,
        mh.form(
            MeetingKind.COUNCIL,
            title="楼道堆物清理议事会",
            place="社区议事厅",
            free_items=["楼道堆物清理方案", "清理时间安排"],
            guests=[schemas.GuestIn(name="张经理", organisation="某某物业公司", kind="property")],
        ),
    )
    return world, chair, members, meeting


def _pdf(client: Client, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, response.text[:400]
    assert response.headers["content-type"] == "application/pdf"
    fonts = ph.fonts(response.content)
    assert fonts
    assert all(fonts.values()), fonts  # every font embedded: real, selectable text
    return ph.page_texts(response.content)


def test_the_notice_pdf_carries_what_a_notice_must(db: Database, laptop: ClientAs) -> None:
    world, _, members, meeting = _council(db)
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}/print"
    resident = laptop(members[0])  # any member of the hall may print the notice
    (text,) = _pdf(resident, f"{base}/notice.pdf")
    for expected in (
        "关于召开「楼道堆物清理议事会」的通知",
        "各位议事会成员：",
        "一、会议时间",
        "二、会议地点",
        "社区议事厅",
        "三、会议议程",
        "楼道堆物清理方案",
        "清理时间安排",
        "四、参会人员",
        "议事会成员（应到3人）",
        "列席：张经理（某某物业公司）",
        "主持人：王秀英",
        "五、其他事项",
        "盖章处",
        issuer_of(world.hall) + cn_date(meeting.notice_sent_at),
        f"{PUBLIC}/halls/{world.hall.id}/meetings/{meeting.id}",  # the page, on the public origin
        "第1页共1页",
    ):
        assert ph.squeeze(expected) in text, expected
    assert "127.0.0.1" not in text
    assert meeting.signin_token not in text  # the sign-in QR is shown at the door only
    assert "委托" not in text  # no proxies at a 议事会


def test_a_short_notice_prints_its_reason(db: Database, laptop: ClientAs) -> None:
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    meeting = mh.now_meeting(db, world, chair, MeetingKind.RESIDENTS)
    (text,) = _pdf(laptop(chair), f"/halls/{world.hall.id}/meetings/{meeting.id}/print/notice.pdf")
    assert ph.squeeze("本次会议通知时间不足3天，原因：情况紧急") in text
    assert "各位本社区居民：" in text
    assert "可书面委托本社区其他居民代为出席" in text  # a 居民会议 takes proxies


def test_the_signin_sheet_lists_who_is_expected_with_rooms_masked(
    db: Database, laptop: ClientAs
) -> None:
    world, chair, members, meeting = _council(db)
    url = f"/halls/{world.hall.id}/meetings/{meeting.id}/print/signin.pdf"
    pages = _pdf(laptop(chair), url)
    text = "".join(pages)
    assert ph.squeeze("楼道堆物清理议事会 签到表") in text
    assert "应到3人" in text
    assert "主持人（签字）" in text
    assert "记录人（签字）" in text
    assert ph.squeeze("张经理某某物业公司") in text
    with db.session(read_only=True) as session:
        rooms = set(
            session.exec(select(Household.room).where(Household.hall_id == world.hall.id)).all()
        )
    for user in members:
        assert user.name in text
    assert "周大海" not in text  # not a council member: not 应到
    unnamed = f.without_place_names(text, world)
    for room in rooms:
        if len(room) > 1:
            assert room not in unnamed  # rooms are masked …
    assert any(mask_room(room) in text for room in rooms)  # … the floor stays readable
    masked = "".join(_pdf(laptop(chair), url + "?names=masked"))
    for user in members:
        assert user.name not in masked
        assert mask_name(user.name) in masked


def test_who_may_print_which(db: Database, laptop: ClientAs) -> None:
    world, chair, members, meeting = _council(db)
    base = f"/halls/{world.hall.id}/meetings/{meeting.id}/print"
    resident = laptop(members[1])
    assert resident.get(f"{base}/notice").status_code == 200
    assert resident.get(f"{base}/signin").status_code == 404  # the chair's sheet
    assert resident.get(f"{base}/signin.pdf").status_code == 404
    other = f.make_hall(db)
    stranger_chair = f.make_chair(db, other)
    outsider = laptop(stranger_chair)
    assert outsider.get(f"{base}/notice").status_code == 404  # another hall: no such meeting
    page = laptop(chair).get(f"{base}/signin")
    assert page.status_code == 200
    assert "下载 PDF" in page.text
    assert "姓名打码" in page.text
