"""Roster import through HTTP as the chair: CSV and XLSX, all-or-nothing, re-import, claiming."""

from __future__ import annotations

import html
import io
import json
import re
from typing import Any

from openpyxl import Workbook
from sqlmodel import col, func, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.db import Database
from app.halls.models import (
    Building,
    Entrance,
    Household,
    Membership,
    MembershipRole,
    MembershipStatus,
    Relation,
    Role,
    UnitOwnership,
)
from app.halls.roster import COLUMNS
from tests.factories import (
    PASSWORD,
    HallWorld,
    make_chair,
    make_hall,
    make_member,
    make_user,
    unique,
    unique_phone,
)

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- helpers ------------------------------------------------------------------------------


def _chair(db: Database, make_client: Any) -> tuple[HallWorld, User, Any]:
    world = make_hall(db, buildings=1, entrances=1, rooms=1)
    chair = make_chair(db, world)
    client = make_client()
    client.login(chair.phone, PASSWORD)
    return world, chair, client


def _upload(
    client: Any, hall_id: int | None, filename: str, data: bytes, content_type: str = CSV
) -> Any:
    token = client.csrf(f"/halls/{hall_id}/roster")
    return client.post(
        f"/halls/{hall_id}/roster",
        data={"csrf_token": token},
        files={"file": (filename, data, content_type)},
    )


def _token(page: str) -> str:
    match = re.search(r'<input type="hidden" name="token" value="([A-Za-z0-9_-]+)">', page)
    assert match, "no confirm form in the preview"
    return match.group(1)


def _confirm(client: Any, hall_id: int | None, token: str) -> Any:
    return client.post(
        f"/halls/{hall_id}/roster/confirm",
        data={"csrf_token": client.csrf(f"/halls/{hall_id}/roster"), "token": token},
    )


def _import(
    client: Any, hall_id: int | None, filename: str, data: bytes, content_type: str = CSV
) -> Any:
    """Upload, see the preview, confirm: the import as the chair does it."""
    preview = _upload(client, hall_id, filename, data, content_type)
    assert preview.status_code == 200, preview.text
    assert 'id="roster-preview"' in preview.text
    return _confirm(client, hall_id, _token(preview.text))


def _csv(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    lines = [",".join(COLUMNS), *(",".join(r) for r in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


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


def _stat(page: str, label: str) -> int:
    match = re.search(rf"<dt>{label}</dt><dd>(\d+)</dd>", page)
    assert match, f"no {label} in the result"
    return int(match.group(1))


def _stats(page: str) -> dict[str, int]:
    labels = ("新建楼栋", "新建单元", "新建住户", "更新面积", "新认证成员", "已是成员")
    return {label: _stat(page, label) for label in labels}


def _field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="e-{field}" role="alert">([^<]*)</p>', page)
    assert match, f"no error next to {field}"
    return html.unescape(match.group(1))


def _table_counts(db: Database) -> dict[str, int]:
    with db.session(read_only=True) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (
                Household,
                Membership,
                User,
                Building,
                Entrance,
                UnitOwnership,
                MembershipRole,
            )
        }


def _households(db: Database, hall_id: int | None) -> dict[tuple[str, str, str], int | None]:
    with db.session(read_only=True) as session:
        rows = session.exec(
            select(Building.name, Entrance.name, Household.room, Household.area_centi_m2)
            .join(Entrance, col(Entrance.id) == Household.entrance_id)
            .join(Building, col(Building.id) == Entrance.building_id)
            .where(Household.hall_id == hall_id)
        ).all()
    return {(b, e, r): a for b, e, r, a in rows}


def _members(db: Database, hall_id: int | None) -> dict[str, tuple[Membership, User]]:
    with db.session(read_only=True) as session:
        rows = session.exec(
            select(Membership, User)
            .join(User, col(User.id) == Membership.user_id)
            .where(Membership.hall_id == hall_id)
        ).all()
    return {u.name: (m, u) for m, u in rows}


def _import_events(db: Database, hall_id: int | None) -> list[AuditEvent]:
    with db.session(read_only=True) as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.hall_id == hall_id, AuditEvent.action == "halls.import_roster")
                .order_by(col(AuditEvent.id))
            ).all()
        )


# --- a good import ------------------------------------------------------------------------


def test_csv_import_creates_households_areas_and_verified_members(
    db: Database, make_client: Any
) -> None:
    world, chair, client = _chair(db, make_client)
    owner_phone, tenant_phone = unique_phone(), unique_phone()
    data = _csv(
        [
            ["9号楼", "1单元", "501", "89.5", "张桂芳", owner_phone, "业主"],
            ["9号楼", "1单元", "501", "", "张小明", "", "家庭成员"],
            ["9号楼", "2单元", "502", "120.05", "王建国", tenant_phone, "租户"],
            ["10号楼", "1单元", "101", "60", "", "", ""],
            ["10号楼", "1单元", "102", "", "", "", ""],
        ],
        encoding="gbk",  # as Excel saves a CSV in China
    )
    events_before = len(_import_events(db, world.hall.id))  # make_hall imported the bare rooms
    response = _import(client, world.hall.id, "名册.csv", data)
    assert response.status_code == 200, response.text
    assert "导入完成" in response.text
    assert "5 行全部导入" in response.text
    assert _stats(response.text) == {
        "新建楼栋": 2,
        "新建单元": 3,
        "新建住户": 4,
        "更新面积": 0,
        "新认证成员": 3,
        "已是成员": 0,
    }

    households = _households(db, world.hall.id)
    assert households[("9号楼", "1单元", "501")] == 8950
    assert households[("9号楼", "2单元", "502")] == 12005
    assert households[("10号楼", "1单元", "101")] == 6000
    assert households[("10号楼", "1单元", "102")] is None
    assert all(isinstance(a, int) for a in households.values() if a is not None)

    members = _members(db, world.hall.id)
    for name, relation, phone in [
        ("张桂芳", Relation.OWNER, owner_phone),
        ("张小明", Relation.FAMILY, None),
        ("王建国", Relation.TENANT, tenant_phone),
    ]:
        membership, user = members[name]
        assert membership.status == MembershipStatus.VERIFIED
        assert membership.entered_by_id == chair.id
        assert membership.decided_by_id == chair.id
        assert membership.relation == relation
        assert user.phone == phone
        assert user.password_hash is None  # cannot log in until they claim the account

    with db.session(read_only=True) as session:
        owner = members["张桂芳"][0]
        owned = session.exec(
            select(UnitOwnership).where(UnitOwnership.membership_id == owner.id)
        ).all()
        assert [o.household_id for o in owned] == [owner.household_id]
        others = [members["张小明"][0].id, members["王建国"][0].id]
        assert (
            session.exec(
                select(func.count())
                .select_from(UnitOwnership)
                .where(col(UnitOwnership.membership_id).in_(others))
            ).one()
            == 0
        )
        roles = session.exec(
            select(MembershipRole.role).where(MembershipRole.membership_id == owner.id)
        ).all()
        assert list(roles) == [Role.RESIDENT]

    events = _import_events(db, world.hall.id)[events_before:]
    assert len(events) == 1
    assert events[0].actor_id == chair.id
    assert json.loads(events[0].data)["members_created"] == 3
    assert owner_phone not in events[0].data  # no unmasked phone in the audit trail

    # The chair sees the new members with the 代录 badge.
    page = client.get(f"/halls/{world.hall.id}/members?status=verified")
    assert "张桂芳" in page.text
    assert owner_phone in page.text


def test_xlsx_import_with_numeric_cells(db: Database, make_client: Any) -> None:
    world, chair, client = _chair(db, make_client)
    phone = unique_phone()
    data = _xlsx(
        [
            ["7号楼", "3单元", 501.0, 89.5, "刘淑珍", int(phone), "业主"],
            ["7号楼", "3单元", 502, 100, None, None, None],
            ["7号楼", "3单元", 503, 60.25, "赵志强", None, "租户"],
        ]
    )
    events_before = len(_import_events(db, world.hall.id))
    response = _import(client, world.hall.id, "名册.xlsx", data, XLSX)
    assert response.status_code == 200, response.text
    assert _stats(response.text) == {
        "新建楼栋": 1,
        "新建单元": 1,
        "新建住户": 3,
        "更新面积": 0,
        "新认证成员": 2,
        "已是成员": 0,
    }
    households = _households(db, world.hall.id)
    assert households[("7号楼", "3单元", "501")] == 8950
    assert households[("7号楼", "3单元", "502")] == 10000
    assert households[("7号楼", "3单元", "503")] == 6025
    membership, user = _members(db, world.hall.id)["刘淑珍"]
    assert user.phone == phone
    assert membership.status == MembershipStatus.VERIFIED
    assert membership.entered_by_id == chair.id
    with db.session(read_only=True) as session:
        assert (
            session.exec(
                select(func.count())
                .select_from(UnitOwnership)
                .where(UnitOwnership.membership_id == membership.id)
            ).one()
            == 1
        )
    assert len(_import_events(db, world.hall.id)) == events_before + 1


# --- a bad file changes nothing -----------------------------------------------------------


def test_two_bad_rows_among_fifty_refuse_the_whole_file(db: Database, make_client: Any) -> None:
    world, _, client = _chair(db, make_client)
    rows = [
        ["8号楼", "1单元", str(100 + i), "70.5", f"居民{i}", unique_phone(), "业主"]
        for i in range(50)
    ]
    rows[16][3] = "七十"  # line 18: bad area
    rows[41][5] = "1380000"  # line 43: bad phone
    before = _table_counts(db)
    events_before = len(_import_events(db, world.hall.id))

    response = _upload(client, world.hall.id, "roster.csv", _csv(rows))
    assert response.status_code == 422
    assert "名册有错误，未导入任何数据" in _field_error(response.text, "file")
    assert "已检查 50 行" in response.text
    assert "2 处错误" in response.text
    report = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td>", response.text)
    assert report == [
        ("18", "面积", "面积应为正数，最多两位小数，如 89.50"),
        ("43", "电话", "请输入11位大陆手机号，如 13812345678"),
    ]
    assert "七十" in response.text
    assert "导入完成" not in response.text

    assert _table_counts(db) == before
    assert len(_import_events(db, world.hall.id)) == events_before
    assert not any(b == "8号楼" for b, _, _ in _households(db, world.hall.id))


def test_not_a_spreadsheet_is_refused_next_to_the_field(db: Database, make_client: Any) -> None:
    from PIL import Image

    world, _, client = _chair(db, make_client)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    before = _table_counts(db)
    response = _upload(client, world.hall.id, "photo.png", buffer.getvalue(), "image/png")
    assert response.status_code == 422
    assert _field_error(response.text, "file") == "无法读取文件，请上传 CSV 或 XLSX 格式的名册"
    assert "has-error" in response.text

    response = _upload(client, world.hall.id, "broken.xlsx", b"PK\x03\x04not a workbook", XLSX)
    assert response.status_code == 422
    assert _field_error(response.text, "file") == "无法读取文件，请上传 CSV 或 XLSX 格式的名册"
    assert _table_counts(db) == before


def test_empty_and_missing_uploads_are_refused(db: Database, make_client: Any) -> None:
    world, _, client = _chair(db, make_client)
    response = _upload(client, world.hall.id, "empty.csv", b"")
    assert response.status_code == 422
    assert _field_error(response.text, "file") == "请选择要上传的文件"

    token = client.csrf(f"/halls/{world.hall.id}/roster")
    response = client.post(f"/halls/{world.hall.id}/roster", data={"csrf_token": token})
    assert response.status_code == 422
    assert _field_error(response.text, "file") == "请选择要上传的文件"

    # A header only: a readable file without a single row.
    response = _upload(client, world.hall.id, "header.csv", _csv([]))
    assert response.status_code == 422
    assert "名册是空的" in response.text


def test_a_file_over_the_size_limit_is_refused(
    db: Database, make_client: Any, settings: Any
) -> None:
    world, _, client = _chair(db, make_client)
    before = _table_counts(db)
    line = "6号楼,1单元,101,60,,,\r\n".encode()
    data = _csv([]) + line * (settings.upload_max_bytes // len(line) + 1)
    assert len(data) > settings.upload_max_bytes
    response = _upload(client, world.hall.id, "big.csv", data)
    assert response.status_code == 422
    assert _field_error(response.text, "file") == "文件太大"
    assert _table_counts(db) == before


def test_a_resident_cannot_see_or_use_the_import(db: Database, make_client: Any) -> None:
    world = make_hall(db, buildings=1, entrances=1, rooms=2)
    resident, _ = make_member(db, world)
    client = make_client()
    client.login(resident.phone, PASSWORD)
    assert client.get(f"/halls/{world.hall.id}").status_code == 200  # a verified member
    assert client.get(f"/halls/{world.hall.id}/roster").status_code == 404
    assert client.get(f"/halls/{world.hall.id}/roster/template.csv").status_code == 404
    before = _table_counts(db)
    response = client.post(
        f"/halls/{world.hall.id}/roster",
        data={"csrf_token": client.csrf("/")},
        files={"file": ("roster.csv", _csv([["5号楼", "1单元", "101", "60", "", "", ""]]), CSV)},
    )
    assert response.status_code == 404
    assert _table_counts(db) == before


# --- importing again ----------------------------------------------------------------------


def test_reimport_creates_no_duplicates_and_updates_a_changed_area(
    db: Database, make_client: Any
) -> None:
    world, _, client = _chair(db, make_client)
    phone = unique_phone()
    rows = [
        ["4号楼", "1单元", "301", "88.8", "孙丽", phone, "业主"],
        # No phone: the same person is recognised by household and name.
        ["4号楼", "1单元", "301", "", "孙奶奶", "", "家庭成员"],
        ["4号楼", "1单元", "302", "66", "", "", ""],
    ]
    events_before = len(_import_events(db, world.hall.id))
    first = _import(client, world.hall.id, "roster.csv", _csv(rows))
    assert first.status_code == 200, first.text
    assert _stat(first.text, "新认证成员") == 2
    before = _table_counts(db)

    again = _import(client, world.hall.id, "roster.csv", _csv(rows))
    assert again.status_code == 200, again.text
    assert _stats(again.text) == {
        "新建楼栋": 0,
        "新建单元": 0,
        "新建住户": 0,
        "更新面积": 0,
        "新认证成员": 0,
        "已是成员": 2,
    }
    assert _table_counts(db) == before

    rows[2][3] = "66.5"
    changed = _import(client, world.hall.id, "roster.csv", _csv(rows))
    assert changed.status_code == 200, changed.text
    assert _stat(changed.text, "更新面积") == 1
    assert _stat(changed.text, "新建住户") == 0
    assert _households(db, world.hall.id)[("4号楼", "1单元", "302")] == 6650
    assert _households(db, world.hall.id)[("4号楼", "1单元", "301")] == 8880
    assert _table_counts(db) == before
    assert len(_import_events(db, world.hall.id)) == events_before + 3


def test_a_phone_with_an_account_links_to_that_person(db: Database, make_client: Any) -> None:
    world, chair, client = _chair(db, make_client)
    existing = make_user(db, name="周立新")
    users_before = _table_counts(db)["User"]
    data = _csv([["3号楼", "1单元", "201", "70", "周立新（名册）", existing.phone or "", "业主"]])
    response = _import(client, world.hall.id, "roster.csv", data)
    assert response.status_code == 200, response.text
    assert _stat(response.text, "新认证成员") == 1
    assert _table_counts(db)["User"] == users_before  # no second account for the same phone
    with db.session(read_only=True) as session:
        membership = session.exec(
            select(Membership).where(
                Membership.hall_id == world.hall.id, Membership.user_id == existing.id
            )
        ).one()
        user = session.get(User, existing.id)
    assert membership.status == MembershipStatus.VERIFIED
    assert membership.entered_by_id == chair.id
    assert user is not None
    assert user.name == "周立新"  # the person's own name is kept
    assert user.password_hash == existing.password_hash

    # They log in and are a verified member of the hall at once.
    person = make_client()
    person.login(existing.phone, PASSWORD)
    assert person.get(f"/halls/{world.hall.id}").status_code == 200


def test_a_roster_person_claims_the_account_and_waits_for_the_chair_again(
    db: Database, make_client: Any
) -> None:
    world, _, client = _chair(db, make_client)
    phone = unique_phone()
    name = unique("吴秀英")
    data = _csv([["2号楼", "1单元", "601", "95", name, phone, "业主"]])
    assert _import(client, world.hall.id, "roster.csv", data).status_code == 200
    membership, user = _members(db, world.hall.id)[name]
    assert membership.status == MembershipStatus.VERIFIED
    assert user.password_hash is None

    # Without a password no one can log in with that phone.
    stranger = make_client()
    response = stranger.post_form(
        "/login",
        {"phone": phone, "password": PASSWORD},
        token_from="/login",
        follow_redirects=False,
    )
    assert response.status_code == 422

    person = make_client()
    response = person.post_form(
        "/register",
        {"phone": phone, "name": "吴秀英本人", "password": PASSWORD, "consent": "true"},
        token_from="/register",
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    claimed_membership, claimed_user = _members(db, world.hall.id)[name]
    assert claimed_user.id == user.id  # the same account, now with a password
    assert claimed_user.password_hash is not None
    assert claimed_membership.id == membership.id
    assert claimed_membership.status == MembershipStatus.PENDING
    assert claimed_membership.decided_by_id is None
    # Knowing a neighbour's number is not enough: the hall stays closed until the chair confirms.
    assert person.get(f"/halls/{world.hall.id}").status_code == 404
    with db.session(read_only=True) as session:
        event = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "accounts.register_user", AuditEvent.subject_id == user.id
            )
        ).one()
    assert json.loads(event.data)["claimed_memberships"] == 1

    pending = client.get(f"/halls/{world.hall.id}/members?status=pending")
    assert name in pending.text
    response = client.post_form(
        f"/halls/{world.hall.id}/members/{membership.id}/verify",
        token_from=f"/halls/{world.hall.id}",
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert person.get(f"/halls/{world.hall.id}").status_code == 200

    # A registered account with a password is not claimable a second time.
    other = make_client()
    response = other.post_form(
        "/register",
        {"phone": phone, "name": "冒名者", "password": PASSWORD + "x", "consent": "true"},
        token_from="/register",
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "该手机号已注册" in response.text
