"""The chair's pages: settings, 代录, roles, the invite link and QR code, the members list."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import qrcode
from PIL import Image
from sqlalchemy import event
from sqlmodel import col, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core import clock
from app.db import Database
from app.halls import queries, roster, service
from app.halls.models import (
    Entrance,
    Hall,
    Household,
    Membership,
    MembershipRole,
    MembershipStatus,
    Role,
    UnitOwnership,
)
from app.halls.policies import HallAccess
from tests.factories import (
    PASSWORD,
    HallWorld,
    make_chair,
    make_hall,
    make_member,
    make_user,
    unique_phone,
)

DEFAULTS = {
    "cosign_threshold": "10",
    "review_sla_days": "5",
    "meeting_notice_days": "3",
    "council_quorum_num": "2",
    "council_quorum_den": "3",
    "publicity_days": "7",
    "evaluation_window_days": "14",
    "basic_satisfied_weight_num": "9",
    "basic_satisfied_weight_den": "10",
    "reopen_threshold_num": "1",
    "reopen_threshold_den": "3",
}


def _chair(db: Database, make_client: Any, **hall: int) -> tuple[HallWorld, User, Any]:
    world = make_hall(db, **hall)
    chair = make_chair(db, world)
    client = make_client()
    client.login(chair.phone, PASSWORD)
    return world, chair, client


def _value(page: str, name: str) -> str:
    match = re.search(rf'<input id="f-{name}" name="{name}" type="[a-z]+" value="([^"]*)"', page)
    assert match, f"no input {name}"
    return html.unescape(match.group(1))


def _field_error(page: str, name: str) -> str | None:
    match = re.search(rf'<p class="error" id="e-{name}" role="alert">([^<]*)</p>', page)
    return html.unescape(match.group(1)) if match else None


def _events(db: Database, hall_id: int | None, action: str) -> list[AuditEvent]:
    with db.session(read_only=True) as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.hall_id == hall_id, AuditEvent.action == action)
                .order_by(col(AuditEvent.id))
            ).all()
        )


def _hall(db: Database, hall_id: int | None) -> Hall:
    with db.session(read_only=True) as session:
        hall = session.get(Hall, hall_id)
    assert hall is not None
    return hall


# --- settings -----------------------------------------------------------------------------


def test_settings_form_shows_the_domain_defaults(db: Database, make_client: Any) -> None:
    world, _, client = _chair(db, make_client)
    page = client.get(f"/halls/{world.hall.id}/settings")
    assert page.status_code == 200
    assert {name: _value(page.text, name) for name in DEFAULTS} == DEFAULTS
    for name in DEFAULTS:
        assert _field_error(page.text, name) is None


@pytest.mark.parametrize(
    ("field", "raw", "text"),
    [
        ("cosign_threshold", "abc", "请输入整数"),
        ("review_sla_days", "-1", "数值超出允许范围"),
        ("publicity_days", "0", "数值超出允许范围"),
        ("evaluation_window_days", "3.5", "请输入整数"),
        ("basic_satisfied_weight_num", "101", "数值超出允许范围"),
        ("basic_satisfied_weight_num", "11", "分子不能大于分母"),  # weight 11/10 > 1
        ("basic_satisfied_weight_num", "0.9", "请输入整数"),
        ("basic_satisfied_weight_den", "0", "数值超出允许范围"),
        ("reopen_threshold_num", "", "请输入整数"),
        ("reopen_threshold_num", "-1", "数值超出允许范围"),
        ("reopen_threshold_num", "4", "分子必须小于分母（不满意不可能超过全部有效评价）"),
        ("reopen_threshold_num", "3", "分子必须小于分母（不满意不可能超过全部有效评价）"),
        ("reopen_threshold_den", "1/3", "请输入整数"),
        ("reopen_threshold_den", "0", "数值超出允许范围"),
        ("meeting_notice_days", "²", "请输入整数"),  # a "digit" that int() refuses
        ("council_quorum_num", "4", "分子不能大于分母"),
    ],
)
def test_a_bad_setting_is_refused_next_to_its_field(
    db: Database, make_client: Any, field: str, raw: str, text: str
) -> None:
    world, _, client = _chair(db, make_client)
    url = f"/halls/{world.hall.id}/settings"
    before = len(_events(db, world.hall.id, "halls.update_hall_settings"))
    form = {**DEFAULTS, "cosign_threshold": "12", field: raw}
    response = client.post_form(url, form, token_from=url)
    assert response.status_code == 422
    assert _field_error(response.text, field) == text
    assert [n for n in DEFAULTS if _field_error(response.text, n)] == [field]
    assert _value(response.text, field) == raw  # what was typed comes back to be corrected
    assert 'aria-invalid="true"' in response.text
    # Nothing saved, not even the valid change next to it.
    hall = _hall(db, world.hall.id)
    assert hall.cosign_threshold == 10
    assert getattr(hall, field) == int(DEFAULTS[field])
    assert len(_events(db, world.hall.id, "halls.update_hall_settings")) == before


def test_a_valid_change_is_saved_and_audited_with_old_and_new_values(
    db: Database, make_client: Any
) -> None:
    world, chair, client = _chair(db, make_client)
    url = f"/halls/{world.hall.id}/settings"
    form = {
        **DEFAULTS,
        "cosign_threshold": "15",
        "council_quorum_num": "1",
        "council_quorum_den": "2",
        "publicity_days": " 10 ",
        "basic_satisfied_weight_num": "８",  # full-width digits from a Chinese IME
        "reopen_threshold_num": "0",  # any 不满意 reopens
        "reopen_threshold_den": "1",
    }
    response = client.post_form(url, form, token_from=url, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == url
    hall = _hall(db, world.hall.id)
    assert (hall.cosign_threshold, hall.council_quorum_num, hall.council_quorum_den) == (15, 1, 2)
    assert hall.publicity_days == 10
    assert (hall.basic_satisfied_weight_num, hall.basic_satisfied_weight_den) == (8, 10)
    assert (hall.reopen_threshold_num, hall.reopen_threshold_den) == (0, 1)
    assert hall.review_sla_days == 5

    events = _events(db, world.hall.id, "halls.update_hall_settings")
    assert len(events) == 1
    assert events[0].actor_id == chair.id
    assert json.loads(events[0].data) == {
        "changed": {
            "cosign_threshold": [10, 15],
            "council_quorum_num": [2, 1],
            "council_quorum_den": [3, 2],
            "publicity_days": [7, 10],
            "basic_satisfied_weight_num": [9, 8],
            "reopen_threshold_num": [1, 0],
            "reopen_threshold_den": [3, 1],
        }
    }
    page = client.get(url)
    assert "议事规则已保存" in page.text
    assert _value(page.text, "cosign_threshold") == "15"
    assert _value(page.text, "publicity_days") == "10"


def test_the_evaluation_rules_are_saved_as_fractions_and_shown_on_the_hall_page(
    db: Database, make_client: Any
) -> None:
    world, _, client = _chair(db, make_client)
    url = f"/halls/{world.hall.id}/settings"
    detail = client.get(f"/halls/{world.hall.id}")
    assert "满意率中“基本满意”按 9/10 个“满意”计算" in detail.text
    assert "“不满意”超过有效评价的 1/3 时，议题重新办理" in detail.text
    form = {
        **DEFAULTS,
        "basic_satisfied_weight_num": "1",  # 基本满意 counts fully: the bounds are inclusive
        "basic_satisfied_weight_den": "1",
        "reopen_threshold_num": "1",
        "reopen_threshold_den": "2",
    }
    response = client.post_form(url, form, token_from=url, follow_redirects=False)
    assert response.status_code == 303
    hall = _hall(db, world.hall.id)
    assert (hall.basic_satisfied_weight_num, hall.basic_satisfied_weight_den) == (1, 1)
    assert (hall.reopen_threshold_num, hall.reopen_threshold_den) == (1, 2)
    page = client.get(url)
    assert [_value(page.text, n) for n in ("reopen_threshold_num", "reopen_threshold_den")] == [
        "1",
        "2",
    ]
    detail = client.get(f"/halls/{world.hall.id}")
    assert "满意率中“基本满意”按 1/1 个“满意”计算" in detail.text
    assert "“不满意”超过有效评价的 1/2 时，议题重新办理" in detail.text


def test_both_halves_of_a_bad_fraction_are_named_at_once(db: Database, make_client: Any) -> None:
    world, _, client = _chair(db, make_client)
    url = f"/halls/{world.hall.id}/settings"
    form = {**DEFAULTS, "basic_satisfied_weight_num": "x", "reopen_threshold_den": "0"}
    response = client.post_form(url, form, token_from=url)
    assert response.status_code == 422
    assert {
        n: _field_error(response.text, n) for n in DEFAULTS if _field_error(response.text, n)
    } == {
        "basic_satisfied_weight_num": "请输入整数",
        "reopen_threshold_den": "数值超出允许范围",
    }
    hall = _hall(db, world.hall.id)
    assert (hall.basic_satisfied_weight_num, hall.reopen_threshold_den) == (9, 3)


def test_only_the_chair_sees_the_settings(db: Database, make_client: Any) -> None:
    world = make_hall(db)
    resident, _ = make_member(db, world)
    client = make_client()
    client.login(resident.phone, PASSWORD)
    url = f"/halls/{world.hall.id}/settings"
    assert client.get(url).status_code == 404
    response = client.post_form(url, {**DEFAULTS, "cosign_threshold": "1"})
    assert response.status_code == 404
    assert _hall(db, world.hall.id).cosign_threshold == 10


# --- 代录 ----------------------------------------------------------------------------------


def _picker_ids(db: Database, household: Household) -> dict[str, int]:
    with db.session(read_only=True) as session:
        entrance = session.get(Entrance, household.entrance_id)
    assert entrance is not None
    return {"building_id": entrance.building_id, "entrance_id": household.entrance_id}


def test_add_member_on_behalf(db: Database, make_client: Any) -> None:
    world, chair, client = _chair(db, make_client)
    url = f"/halls/{world.hall.id}/members/new"
    household = world.households[2]
    ids = _picker_ids(db, household)

    page = client.get(url)
    assert page.status_code == 200
    assert 'name="building_id"' in page.text
    page = client.get(url, params=ids)
    assert f'name="household_id" value="{household.id}"' in page.text
    assert 'name="name"' in page.text

    base = {**ids, "household_id": household.id, "relation": "owner"}
    response = client.post_form(url, {**base, "name": "  "}, token_from=url)
    assert response.status_code == 422
    assert _field_error(response.text, "name") == "此项必填"

    response = client.post_form(url, {**base, "name": "老王", "phone": "12345"}, token_from=url)
    assert response.status_code == 422
    assert _field_error(response.text, "phone") == "请输入11位大陆手机号，如 13812345678"
    assert _field_error(response.text, "name") is None
    assert _value(response.text, "name") == "老王"

    response = client.post_form(url, {**ids, "name": "老王"}, token_from=url)
    assert response.status_code == 422
    assert "此项必填" in response.text  # room and relation

    before = len(_events(db, world.hall.id, "halls.add_member_on_behalf"))
    response = client.post_form(
        url, {**base, "name": "王秀兰", "phone": ""}, token_from=url, follow_redirects=False
    )
    assert response.status_code == 303
    with db.session(read_only=True) as session:
        membership, user = session.exec(
            select(Membership, User)
            .join(User, col(User.id) == Membership.user_id)
            .where(Membership.hall_id == world.hall.id, User.name == "王秀兰")
        ).one()
        owned = session.exec(
            select(UnitOwnership.household_id).where(UnitOwnership.membership_id == membership.id)
        ).all()
    assert membership.status == MembershipStatus.VERIFIED
    assert membership.entered_by_id == chair.id
    assert membership.household_id == household.id
    assert user.phone is None
    assert user.password_hash is None
    assert list(owned) == [household.id]
    events = _events(db, world.hall.id, "halls.add_member_on_behalf")[before:]
    assert len(events) == 1
    assert events[0].actor_id == chair.id
    assert events[0].subject_id == membership.id

    listing = client.get(f"/halls/{world.hall.id}/members?status=verified")
    row = re.search(rf'<li class="member" id="member-{membership.id}">.*?</li>', listing.text, re.S)
    assert row
    assert "王秀兰" in row.group(0)
    assert '<span class="badge">代录</span>' in row.group(0)
    assert "无手机号" in row.group(0)
    assert "已代为登记" in listing.text


def test_add_member_with_a_phone_and_the_duplicate(db: Database, make_client: Any) -> None:
    world, chair, client = _chair(db, make_client)
    url = f"/halls/{world.hall.id}/members/new"
    household = world.households[1]
    form = {
        **_picker_ids(db, household),
        "household_id": household.id,
        "relation": "tenant",
        "name": "赵大爷",
        "phone": unique_phone(),
    }
    response = client.post_form(url, form, token_from=url, follow_redirects=False)
    assert response.status_code == 303
    events = _events(db, world.hall.id, "halls.add_member_on_behalf")
    data = json.loads(events[-1].data)
    assert data["phone"] == f"{form['phone'][:3]}****{form['phone'][7:]}"  # masked in the trail

    with db.session(read_only=True) as session:
        count = len(
            session.exec(select(Membership).where(Membership.hall_id == world.hall.id)).all()
        )
    response = client.post_form(url, {**form, "name": "赵大爷"}, token_from=url)
    assert response.status_code == 422
    assert "这位居民已经是本议事厅的成员" in response.text
    assert "Traceback" not in response.text
    with db.session(read_only=True) as session:
        assert (
            len(session.exec(select(Membership).where(Membership.hall_id == world.hall.id)).all())
            == count
        )

    # A registered resident's phone links to them instead of making a second account.
    resident = make_user(db, name="钱阿姨")
    response = client.post_form(
        url,
        {**form, "name": "钱阿姨", "phone": resident.phone},
        token_from=url,
        follow_redirects=False,
    )
    assert response.status_code == 303
    with db.session(read_only=True) as session:
        linked = session.exec(
            select(Membership).where(
                Membership.hall_id == world.hall.id, Membership.user_id == resident.id
            )
        ).one()
    assert linked.status == MembershipStatus.VERIFIED
    assert linked.entered_by_id == chair.id


def test_a_resident_cannot_add_members(db: Database, make_client: Any) -> None:
    world = make_hall(db)
    resident, _ = make_member(db, world)
    client = make_client()
    client.login(resident.phone, PASSWORD)
    url = f"/halls/{world.hall.id}/members/new"
    assert client.get(url).status_code == 404
    household = world.households[0]
    response = client.post_form(
        url, {"household_id": household.id, "relation": "owner", "name": "冒充"}
    )
    assert response.status_code == 404


# --- roles --------------------------------------------------------------------------------


def _roles(db: Database, membership_id: int | None) -> set[Role]:
    with db.session(read_only=True) as session:
        return {
            Role(r)
            for r in session.exec(
                select(MembershipRole.role).where(MembershipRole.membership_id == membership_id)
            ).all()
        }


def test_chair_assigns_roles(db: Database, make_client: Any) -> None:
    world, chair, client = _chair(db, make_client)
    _, membership = make_member(db, world, chair=chair, name="孙代表")
    url = f"/halls/{world.hall.id}/members/{membership.id}"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="roles" value="resident_rep"' in page.text
    assert 'value="resident" checked disabled' in page.text

    response = client.post_form(
        f"{url}/roles",
        {"roles": ["resident_rep", "council"]},
        token_from=url,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == url
    assert _roles(db, membership.id) == {Role.RESIDENT, Role.RESIDENT_REP, Role.COUNCIL}
    page = client.get(url)
    assert "身份已更新" in page.text
    assert 'value="council" checked' in page.text
    events = _events(db, world.hall.id, "halls.set_member_roles")
    assert json.loads(events[-1].data) == {"roles": ["council", "resident", "resident_rep"]}

    # Dropping a role, and an unknown one is refused as a whole.
    client.post_form(f"{url}/roles", {"roles": ["council"]}, token_from=url)
    assert _roles(db, membership.id) == {Role.RESIDENT, Role.COUNCIL}
    response = client.post_form(f"{url}/roles", {"roles": ["king"]}, token_from=url)
    assert response.status_code == 422
    assert _roles(db, membership.id) == {Role.RESIDENT, Role.COUNCIL}


def test_chair_cannot_drop_their_own_chair_role(db: Database, make_client: Any) -> None:
    world, chair, client = _chair(db, make_client)
    with db.session(read_only=True) as session:
        access = queries.hall_access(session, user=chair, hall=world.hall)
    url = f"/halls/{world.hall.id}/members/{access.membership_id}"
    response = client.post_form(
        f"{url}/roles", {"roles": ["council"]}, token_from=url, follow_redirects=False
    )
    assert response.status_code == 303
    assert _roles(db, access.membership_id) == {Role.RESIDENT, Role.CHAIR}
    assert "不能取消自己的主持人身份" in client.get(url).text
    # Adding a role to oneself while staying chair is fine.
    client.post_form(f"{url}/roles", {"roles": ["chair", "recorder"]}, token_from=url)
    assert _roles(db, access.membership_id) == {Role.RESIDENT, Role.CHAIR, Role.RECORDER}


def test_roles_need_a_verified_member_of_this_hall(db: Database, make_client: Any) -> None:
    world, _, client = _chair(db, make_client)
    _, pending = make_member(db, world, verified=False)
    url = f"/halls/{world.hall.id}/members/{pending.id}"
    client.post_form(f"{url}/roles", {"roles": ["council"]}, token_from=f"/halls/{world.hall.id}")
    assert _roles(db, pending.id) == set()
    other = make_hall(db)
    _, foreign = make_member(db, other)
    assert client.get(f"/halls/{world.hall.id}/members/{foreign.id}").status_code == 404
    response = client.post_form(
        f"/halls/{world.hall.id}/members/{foreign.id}/roles",
        {"roles": ["council"]},
        token_from=f"/halls/{world.hall.id}",
    )
    assert response.status_code == 404
    assert Role.COUNCIL not in _roles(db, foreign.id)


# --- invite -------------------------------------------------------------------------------


def test_invite_page_and_qr_code(db: Database, make_client: Any) -> None:
    world, _, client = _chair(db, make_client)
    link = f"http://testserver/join/{world.hall.invite_token}"
    page = client.get(f"/halls/{world.hall.id}/invite")
    assert page.status_code == 200
    assert f'value="{link}"' in page.text

    response = client.get(f"/halls/{world.hall.id}/invite.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert image.format == "PNG"
    width, height = image.size
    assert width == height
    assert width >= 21 * 10  # at least a version-1 QR code at 10 px a module
    gray = image.convert("L")
    assert gray.getpixel((5, 5)) == 255  # the quiet zone
    assert gray.getpixel((25, 25)) == 0  # the finder pattern's dark ring, top left
    assert gray.getpixel((width - 26, 25)) == 0  # top right
    assert gray.getpixel((25, height - 26)) == 0  # bottom left
    # The very QR code of the invite link (qrcode is deterministic).
    expected = qrcode.make(link, box_size=10, border=2)
    buffer = io.BytesIO()
    expected.save(buffer)
    assert gray.tobytes() == Image.open(buffer).convert("L").tobytes()


def test_rotating_the_invite_kills_the_old_link(db: Database, make_client: Any) -> None:
    world, chair, client = _chair(db, make_client)
    resident, _ = make_member(db, world, chair=chair)
    old = world.hall.invite_token
    visitor = make_client()
    assert visitor.get(f"/join/{old}").status_code == 200
    url = f"/halls/{world.hall.id}/invite"
    response = client.post_form(f"{url}/rotate", token_from=url, follow_redirects=False)
    assert response.status_code == 303
    new = _hall(db, world.hall.id).invite_token
    assert new != old
    gone = visitor.get(f"/join/{old}")
    assert gone.status_code == 404
    assert "邀请链接无效或已过期" in gone.text
    assert visitor.get(f"/join/{new}").status_code == 200
    page = client.get(url)
    assert f"/join/{new}" in page.text
    assert "旧链接和二维码已失效" in page.text
    events = _events(db, world.hall.id, "halls.rotate_invite")
    assert [e.actor_id for e in events] == [chair.id]
    # A resident cannot rotate it.
    other = make_client()
    other.login(resident.phone, PASSWORD)
    assert other.post_form(f"{url}/rotate").status_code == 404
    assert _hall(db, world.hall.id).invite_token == new


@contextmanager
def frozen(at: Any) -> Iterator[None]:
    clock.freeze(at)
    try:
        yield
    finally:
        clock.freeze(None)


def test_an_expired_invite_is_a_404_with_a_chinese_message(db: Database, make_client: Any) -> None:
    world = make_hall(db)
    with db.session() as session:  # a link valid for one day, so sessions outlive it
        access = HallAccess(
            user_id=world.admin.id, hall_id=world.hall.id or 0, is_platform_admin=True
        )
        hall = service.rotate_invite(
            session=session, access=access, actor=world.admin, hall=world.hall, days=1
        )
    token, expires = hall.invite_token, hall.invite_expires_at
    visitor = make_client()
    with frozen(expires - timedelta(seconds=1)):
        assert visitor.get(f"/join/{token}").status_code == 200
    with frozen(expires + timedelta(seconds=1)):
        response = visitor.get(f"/join/{token}")
    assert clock._frozen is None
    assert response.status_code == 404
    assert "邀请链接无效或已过期，请向居委会索取新的链接" in response.text
    # Joining through it is refused too.
    user = make_user(db)
    joiner = make_client()
    joiner.login(user.phone, PASSWORD)
    token = joiner.csrf("/")
    with frozen(expires + timedelta(hours=1)):
        response = joiner.post(
            f"/join/{token}",
            data={"csrf_token": token, "household_id": world.households[0].id, "relation": "owner"},
        )
    assert response.status_code == 404
    with db.session(read_only=True) as session:
        assert session.exec(select(Membership).where(Membership.user_id == user.id)).first() is None


# --- no N+1 on the members page -----------------------------------------------------------


def _hall_with_members(db: Database, count: int) -> tuple[HallWorld, User]:
    world = make_hall(db, buildings=1, entrances=1, rooms=1)
    chair = make_chair(db, world)
    relations = ["业主", "租户", "家庭成员"]
    table = [list(roster.COLUMNS)]
    table.extend(
        [
            "N号楼",
            f"{i % 3 + 1}单元",
            str(100 + i),
            "80.5",
            f"成员{i}",
            unique_phone(),
            relations[i % 3],
        ]
        for i in range(count)
    )
    with db.session() as session:
        access = queries.hall_access(session, user=chair, hall=world.hall)
        service.import_roster(
            session=session, access=access, actor=chair, roster=roster.parse_rows(table)
        )
    return world, chair


@contextmanager
def count_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def on_execute(*args: Any) -> None:
        statements.append(args[2])

    engines = {db.write_engine, db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", on_execute)


def test_members_page_runs_a_fixed_number_of_queries(db: Database, make_client: Any) -> None:
    counts = []
    for size in (5, 60):
        world, chair = _hall_with_members(db, size)
        client = make_client()
        client.login(chair.phone, PASSWORD)
        url = f"/halls/{world.hall.id}/members"
        assert client.get(url).status_code == 200  # warm-up
        with count_statements(db) as statements:
            page = client.get(url)
        assert page.status_code == 200
        assert page.text.count('class="member"') == min(size + 1, 50)  # + the chair
        counts.append(len(statements))
        with count_statements(db) as statements:
            assert client.get(f"{url}?status=verified").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[2], counts
    assert counts[1] == counts[3], counts
    assert counts[0] < 20, counts  # SQLite: 13, BEGINs included
