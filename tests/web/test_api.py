"""The JSON API (/api/v1): same services as the pages, JSON in and out, cookie + CSRF header."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from sqlmodel import col, func, select

from app.accounts.models import User
from app.db import Database
from app.halls import service
from app.halls.models import Household, Membership, MembershipStatus, Role
from app.halls.roster import COLUMNS
from tests.factories import (
    PASSWORD,
    HallWorld,
    make_chair,
    make_hall,
    make_member,
    make_user,
    unique_phone,
)

JSON_HEADERS = {"Accept": "application/json"}


def _login(make_client: Any, user: User) -> tuple[Any, dict[str, str]]:
    """A logged-in API client and the headers for writes (the CSRF token from /api/v1/me)."""
    client = make_client()
    client.login(user.phone, PASSWORD)
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    return client, {"X-CSRF-Token": me.json()["csrf_token"]}


def _chair(db: Database, make_client: Any) -> tuple[HallWorld, User, Any, dict[str, str]]:
    world = make_hall(db, buildings=2, entrances=2, rooms=2)
    chair = make_chair(db, world)
    client, headers = _login(make_client, chair)
    return world, chair, client, headers


def _count(db: Database, model: Any) -> int:
    with db.session(read_only=True) as session:
        return session.exec(select(func.count()).select_from(model)).one()


# --- who am I, where do I belong ---------------------------------------------------------


def test_me_returns_my_full_phone_and_a_csrf_token(db: Database, make_client: Any) -> None:
    user = make_user(db, name="陈桂兰")
    client = make_client()
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").json()["error"] == "not_logged_in"
    client.login(user.phone, PASSWORD)
    body = client.get("/api/v1/me").json()
    assert body["id"] == user.id
    assert body["name"] == "陈桂兰"
    assert body["phone"] == user.phone
    assert body["phone_masked"] == f"{user.phone[:3]}****{user.phone[7:]}"
    assert body["is_platform_admin"] is False
    assert len(body["csrf_token"]) >= 32
    # The token is bound to this session: another login gets another token.
    other = make_client()
    other.login(user.phone, PASSWORD)
    assert other.get("/api/v1/me").json()["csrf_token"] != body["csrf_token"]


def test_my_halls_lists_status_and_roles(db: Database, make_client: Any) -> None:
    world = make_hall(db)
    chair = make_chair(db, world)
    resident, _ = make_member(db, world, chair=chair)
    pending, _ = make_member(db, world, verified=False)

    chair_client, _ = _login(make_client, chair)
    halls = chair_client.get("/api/v1/halls").json()
    mine = [h for h in halls if h["id"] == world.hall.id]
    assert mine == [
        {
            "id": world.hall.id,
            "name": world.hall.name,
            "street": world.street.name,
            "status": "verified",
            "roles": sorted([Role.CHAIR.value, Role.RESIDENT.value]),
        }
    ]
    resident_client, _ = _login(make_client, resident)
    assert resident_client.get("/api/v1/halls").json()[0]["roles"] == ["resident"]
    pending_client, _ = _login(make_client, pending)
    assert pending_client.get("/api/v1/halls").json()[0]["status"] == "pending"
    assert make_client().get("/api/v1/halls").status_code == 401


# --- joining ------------------------------------------------------------------------------


def test_invite_shows_the_buildings_tree(db: Database, make_client: Any) -> None:
    world = make_hall(db, buildings=2, entrances=2, rooms=3)
    client, _ = _login(make_client, make_user(db))
    body = client.get(f"/api/v1/join/{world.hall.invite_token}").json()
    assert body["hall_id"] == world.hall.id
    assert body["hall_name"] == world.hall.name
    assert [b["name"] for b in body["buildings"]] == ["1号楼", "2号楼"]
    assert [e["name"] for e in body["buildings"][0]["entrances"]] == ["1单元", "2单元"]
    rooms = body["buildings"][1]["entrances"][1]["households"]
    assert [h["room"] for h in rooms] == ["101", "102", "103"]
    ids = {h["id"] for b in body["buildings"] for e in b["entrances"] for h in e["households"]}
    assert ids == {h.id for h in world.households}
    assert client.get("/api/v1/join/not-a-token").status_code == 404
    assert client.get("/api/v1/join/not-a-token").json()["message"].startswith("邀请链接无效")


def test_join_by_json_then_again_is_a_conflict(db: Database, make_client: Any) -> None:
    world = make_hall(db)
    user = make_user(db)
    client, headers = _login(make_client, user)
    url = f"/api/v1/join/{world.hall.invite_token}"
    body = {"household_id": world.households[2].id, "relation": "tenant"}
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["hall_id"] == world.hall.id
    assert created["status"] == "pending"

    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/json")
    assert again.json() == {"error": "already_member", "message": "您已经申请或加入了这个议事厅"}


def test_join_with_bad_fields_is_a_422_with_fields(db: Database, make_client: Any) -> None:
    world = make_hall(db)
    other = make_hall(db)
    client, headers = _login(make_client, make_user(db))
    url = f"/api/v1/join/{world.hall.invite_token}"
    response = client.post(url, json={}, headers=headers)
    assert response.status_code == 422
    assert response.json()["codes"] == {"relation": "required", "household_id": "required"}
    # A household of another hall is refused: the invite decides the hall.
    response = client.post(
        url, json={"household_id": other.households[0].id, "relation": "owner"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"household_id": "请选择本社区的房屋"}
    response = client.post(url, json={"household_id": "abc", "relation": "king"}, headers=headers)
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"household_id", "relation"}


def test_mass_assignment_in_join_is_ignored(db: Database, make_client: Any) -> None:
    world = make_hall(db)
    other = make_hall(db)
    user = make_user(db)
    client, headers = _login(make_client, user)
    response = client.post(
        f"/api/v1/join/{world.hall.invite_token}",
        json={
            "household_id": world.households[0].id,
            "relation": "owner",
            "status": "verified",
            "hall_id": other.hall.id,
            "user_id": other.admin.id,
            "entered_by_id": other.admin.id,
            "is_platform_admin": True,
            "roles": ["chair"],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending"
    assert response.json()["hall_id"] == world.hall.id
    with db.session(read_only=True) as session:
        memberships = session.exec(select(Membership).where(Membership.user_id == user.id)).all()
        stored = session.get(User, user.id)
    assert [(m.hall_id, m.status, m.entered_by_id) for m in memberships] == [
        (world.hall.id, MembershipStatus.PENDING, None)
    ]
    assert stored is not None
    assert stored.is_platform_admin is False
    assert client.get(f"/api/v1/halls/{world.hall.id}/members").status_code == 404


def test_mass_assignment_in_register_is_ignored(db: Database, make_client: Any) -> None:
    client = make_client()
    phone = unique_phone()
    response = client.post_form(
        "/register",
        {
            "phone": phone,
            "name": "钱多多",
            "password": PASSWORD,
            "consent": "true",
            "is_platform_admin": "true",
            "must_change_password": "true",
            "password_hash": "x",
            "id": "1",
        },
        token_from="/register",
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    me = client.get("/api/v1/me").json()
    assert me["is_platform_admin"] is False
    assert me["phone"] == phone
    with db.session(read_only=True) as session:
        user = session.exec(select(User).where(User.phone == phone)).one()
    assert user.is_platform_admin is False
    assert user.must_change_password is False
    assert user.password_hash != "x"


# --- the chair ----------------------------------------------------------------------------


def test_chair_lists_members_with_full_phones(db: Database, make_client: Any) -> None:
    world, chair, client, _ = _chair(db, make_client)
    resident, membership = make_member(db, world, chair=chair, household_index=3, name="刘大妈")
    rows = client.get(f"/api/v1/halls/{world.hall.id}/members").json()
    row = next(r for r in rows if r["membership_id"] == membership.id)
    assert row["phone"] == resident.phone
    assert row["name"] == "刘大妈"
    assert row["status"] == "verified"
    assert row["relation"] == "owner"
    assert row["address"]["room"] == world.households[3].room
    assert row["address"]["area_centi_m2"] == world.households[3].area_centi_m2
    assert row["roles"] == ["resident"]
    assert row["entered_by_chair"] is False
    assert {
        r["status"]
        for r in client.get(f"/api/v1/halls/{world.hall.id}/members?status=verified").json()
    } == {"verified"}

    # A street official sees the list, masked; a resident does not see it at all.
    official = make_user(db, name="街道干部")
    with db.session() as session:
        service.add_street_admin(
            session=session, street=world.street, user=official, actor_id=world.admin.id
        )
    official_client, _ = _login(make_client, official)
    masked = next(
        r
        for r in official_client.get(f"/api/v1/halls/{world.hall.id}/members").json()
        if r["membership_id"] == membership.id
    )
    assert masked["phone"] == f"{resident.phone[:3]}****{resident.phone[7:]}"
    assert masked["address"]["room"] == world.households[3].room[0] + "**"
    assert masked["address"]["area_centi_m2"] is None
    resident_client, _ = _login(make_client, resident)
    assert resident_client.get(f"/api/v1/halls/{world.hall.id}/members").status_code == 404
    assert (
        resident_client.get(f"/api/v1/halls/{world.hall.id}/members").json()["error"] == "not_found"
    )


def test_chair_verifies_and_rejects(db: Database, make_client: Any) -> None:
    world, _, client, headers = _chair(db, make_client)
    _, first = make_member(db, world, verified=False)
    _, second = make_member(db, world, verified=False, household_index=1)
    base = f"/api/v1/halls/{world.hall.id}/members"

    response = client.post(f"{base}/{first.id}/verify", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "membership_id": first.id,
        "hall_id": world.hall.id,
        "status": "verified",
    }
    again = client.post(f"{base}/{first.id}/verify", headers=headers)
    assert again.status_code == 409
    assert again.json()["message"] == "这条申请已经处理过了"

    response = client.post(f"{base}/{second.id}/reject", json={}, headers=headers)
    assert response.status_code == 422
    assert response.json()["fields"] == {"reason": "此项必填"}
    assert response.json()["codes"] == {"reason": "required"}
    response = client.post(f"{base}/{second.id}/reject", json={"reason": "   "}, headers=headers)
    assert response.status_code == 422
    response = client.post(
        f"{base}/{second.id}/reject", json={"reason": "长" * 201}, headers=headers
    )
    assert response.json()["codes"] == {"reason": "too_long"}
    response = client.post(
        f"{base}/{second.id}/reject", json={"reason": "房号与登记不符"}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    rows = client.get(f"{base}?status=rejected").json()
    assert [r["reject_reason"] for r in rows if r["membership_id"] == second.id] == [
        "房号与登记不符"
    ]

    # A membership of another hall is not found through this hall.
    other = make_hall(db)
    _, foreign = make_member(db, other, verified=False)
    assert client.post(f"{base}/{foreign.id}/verify", headers=headers).status_code == 404
    with db.session(read_only=True) as session:
        stored = session.get(Membership, foreign.id)
    assert stored is not None
    assert stored.status == MembershipStatus.PENDING


def test_a_resident_cannot_verify(db: Database, make_client: Any) -> None:
    world = make_hall(db)
    resident, _ = make_member(db, world)
    _, pending = make_member(db, world, verified=False, household_index=2)
    client, headers = _login(make_client, resident)
    base = f"/api/v1/halls/{world.hall.id}"
    # Inside a hall they can see, what a resident may not do does not exist (AUTHZ-03).
    for response in (
        client.post(f"{base}/members/{pending.id}/verify", headers=headers),
        client.post(f"{base}/members/{pending.id}/reject", json={"reason": "x"}, headers=headers),
        client.post(
            f"{base}/roster",
            files={"file": ("r.csv", ",".join(COLUMNS).encode() + b"\n1,1,1,,,,\n", "text/csv")},
            headers=headers,
        ),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    with db.session(read_only=True) as session:
        stored = session.get(Membership, pending.id)
    assert stored is not None
    assert stored.status == MembershipStatus.PENDING


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_roster_import_by_api(db: Database, make_client: Any) -> None:
    world, _, client, headers = _chair(db, make_client)
    households = _count(db, Household)
    data = _xlsx(
        [
            ["12号楼", "1单元", 101, 88.88, "马红梅", int(unique_phone()), "业主"],
            ["12号楼", "1单元", 102, 77, None, None, None],
        ]
    )
    preview = client.post(
        f"/api/v1/halls/{world.hall.id}/roster",
        files={"file": ("roster.xlsx", data, "application/octet-stream")},
        headers=headers,
    )
    assert preview.status_code == 200, preview.text
    assert [row["status"] for row in preview.json()["rows"]] == ["new", "new"]
    assert _count(db, Household) == households  # nothing imported before the confirm
    response = client.post(
        f"/api/v1/halls/{world.hall.id}/roster/confirm",
        json={"token": preview.json()["token"]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "rows": 2,
        "buildings_created": 1,
        "entrances_created": 1,
        "households_created": 2,
        "areas_updated": 0,
        "members_created": 1,
        "members_existing": 0,
    }
    with db.session(read_only=True) as session:
        areas = session.exec(
            select(Household.area_centi_m2)
            .where(Household.hall_id == world.hall.id, col(Household.room).in_(["101", "102"]))
            .order_by(col(Household.area_centi_m2))
        ).all()
    assert 8888 in areas
    assert 7700 in areas


def test_bad_roster_by_api_lists_every_row(db: Database, make_client: Any) -> None:
    world, _, client, headers = _chair(db, make_client)
    text = (
        "楼栋,单元,房号,面积,姓名,电话,身份\n1号楼,1单元,101,-3,,,\n1号楼,1单元,,60,张三,123,房东\n"
    )
    households = _count(db, Household)
    response = client.post(
        f"/api/v1/halls/{world.hall.id}/roster",
        files={"file": ("roster.csv", text.encode("gbk"), "text/csv")},
        headers=headers,
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_failed"
    assert body["codes"] == {"file": "roster_has_errors"}
    assert body["fields"]["file"].startswith("名册有错误")
    assert body["rows"] == [
        {"line": 2, "column": "面积", "code": "area_invalid", "value": "-3"},
        {"line": 3, "column": "房号", "code": "required", "value": ""},
        {"line": 3, "column": "电话", "code": "phone_invalid", "value": "123"},
        {"line": 3, "column": "身份", "code": "relation_invalid", "value": "房东"},
    ]
    assert _count(db, Household) == households

    response = client.post(
        f"/api/v1/halls/{world.hall.id}/roster",
        files={"file": ("photo.xlsx", b"\x89PNG\r\n\x1a\n", "image/png")},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["codes"] == {"file": "file_unreadable"}


# --- CSRF, OpenAPI ------------------------------------------------------------------------


def test_writes_without_the_csrf_header_are_refused(db: Database, make_client: Any) -> None:
    world, _, client, headers = _chair(db, make_client)
    _, pending = make_member(db, world, verified=False)
    user = make_user(db)
    joiner, joiner_headers = _login(make_client, user)
    join_url = f"/api/v1/join/{world.hall.invite_token}"
    body = {"household_id": world.households[0].id, "relation": "owner"}

    for response in (
        joiner.post(join_url, json=body),
        joiner.post(join_url, json=body, headers={"X-CSRF-Token": "forged"}),
        joiner.post(join_url, json=body, headers=headers),  # the chair's token, not mine
        client.post(f"/api/v1/halls/{world.hall.id}/members/{pending.id}/verify"),
        client.post(
            f"/api/v1/halls/{world.hall.id}/roster",
            files={"file": ("r.csv", b"\xef\xbb\xbf" + ",".join(COLUMNS).encode(), "text/csv")},
        ),
    ):
        assert response.status_code == 403
        assert response.json()["error"] == "csrf_failed"
    # From another site, even the right token is refused.
    forged = joiner.post(
        join_url, json=body, headers={**joiner_headers, "Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    with db.session(read_only=True) as session:
        assert session.exec(select(Membership).where(Membership.user_id == user.id)).first() is None
        stored = session.get(Membership, pending.id)
    assert stored is not None
    assert stored.status == MembershipStatus.PENDING
    assert joiner.post(join_url, json=body, headers=joiner_headers).status_code == 201


def test_openapi_declares_the_cookie_scheme_and_the_operations(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["APIKeyCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "yst_sid",
        "description": "Session cookie set at login",
    }
    operations = {
        (method, path): op
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in item.items()
    }
    assert set(operations) == {
        ("get", "/api/v1/me"),
        ("get", "/api/v1/halls"),
        ("get", "/api/v1/halls/{hall_id}/members"),
        ("get", "/api/v1/join/{token}"),
        ("post", "/api/v1/join/{token}"),
        ("post", "/api/v1/halls/{hall_id}/members/{membership_id}/verify"),
        ("post", "/api/v1/halls/{hall_id}/members/{membership_id}/reject"),
        ("post", "/api/v1/halls/{hall_id}/roster"),
        ("post", "/api/v1/halls/{hall_id}/roster/confirm"),
        # issues (民提 · 民议)
        ("get", "/api/v1/halls/{hall_id}/issues"),
        ("get", "/api/v1/halls/{hall_id}/issues/{issue_id}"),
        ("post", "/api/v1/halls/{hall_id}/issues"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/cosign"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/cosign/withdraw"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/withdraw"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/accept"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/reject"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/merge"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/comments"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/solutions"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/close"),
        ("post", "/api/v1/halls/{hall_id}/comments/{comment_id}/report"),
        ("post", "/api/v1/halls/{hall_id}/comments/{comment_id}/hide"),
        # ballots (民决)
        ("get", "/api/v1/halls/{hall_id}/ballots"),
        ("get", "/api/v1/halls/{hall_id}/ballots/{ballot_id}"),
        ("post", "/api/v1/halls/{hall_id}/ballots/{ballot_id}/votes"),
        # 民评 (evaluation rounds)
        ("get", "/api/v1/halls/{hall_id}/issues/{issue_id}/evaluations"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/evaluations"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/evaluations/rounds"),
        # meetings (协商会议)
        ("get", "/api/v1/halls/{hall_id}/meetings"),
        ("post", "/api/v1/halls/{hall_id}/meetings"),
        ("get", "/api/v1/halls/{hall_id}/meetings/{meeting_id}"),
        ("post", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/attendance"),
        ("get", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/minutes"),
        ("put", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/minutes"),
        ("post", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/minutes/sign"),
        ("post", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/minutes/corrections"),
        # the meeting as it is held: the speaker queue, speeches, the current item
        ("get", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speakers"),
        ("post", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speakers"),
        ("post", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speakers/{speaker_id}/floor"),
        ("post", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speakers/{speaker_id}/move"),
        ("post", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speakers/{speaker_id}/withdraw"),
        ("get", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speeches"),
        ("post", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/speeches"),
        ("post", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/current-item"),
        ("post", "/api/v1/halls/{hall_id}/meetings/{meeting_id}/reschedule"),
        # 吹哨报到 (escalations)
        ("get", "/api/v1/halls/{hall_id}/issues/{issue_id}/escalations"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/escalations"),
        ("get", "/api/v1/departments/{department_id}/escalations"),
        ("post", "/api/v1/departments/{department_id}/escalations/{escalation_id}/acknowledge"),
        ("post", "/api/v1/departments/{department_id}/escalations/{escalation_id}/replies"),
        ("post", "/api/v1/departments/{department_id}/escalations/{escalation_id}/resolve"),
        # 任务分工 (民办)
        ("get", "/api/v1/halls/{hall_id}/issues/{issue_id}/tasks"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/tasks"),
        ("get", "/api/v1/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/updates"),
        ("post", "/api/v1/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/updates"),
        # 三率 (the street's officials)
        ("get", "/api/v1/streets/{street_id}/rates"),
    }
    for key, op in operations.items():
        assert op["security"] == [{"APIKeyCookie": []}], key
    assert "201" in operations[("post", "/api/v1/join/{token}")]["responses"]
    roster_body = operations[("post", "/api/v1/halls/{hall_id}/roster")]["requestBody"]
    assert "multipart/form-data" in roster_body["content"]
    assert all(op["tags"] == ["api"] for op in operations.values())


def test_api_never_redirects_to_the_login_page(db: Database, make_client: Any) -> None:
    world = make_hall(db)
    client = make_client()
    for path in (
        "/api/v1/halls",
        f"/api/v1/halls/{world.hall.id}/members",
        f"/api/v1/join/{world.hall.invite_token}",
    ):
        response = client.get(path, headers=JSON_HEADERS, follow_redirects=False)
        assert response.status_code == 401
        assert response.json()["error"] == "not_logged_in"
