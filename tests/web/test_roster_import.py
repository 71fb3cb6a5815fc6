"""Roster import through HTTP as the chair: CSV and XLSX, all-or-nothing, re-import, claiming."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import Workbook
from sqlmodel import col, func, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core import clock
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
    RosterUpload,
    UnitOwnership,
)
from app.halls.roster import COLUMNS
from app.voting.models import Ballot, RollEntry
from tests import roster_files
from tests.ballot_helpers import make_owners_hall, owners_ballot
from tests.factories import (
    PASSWORD,
    HallWorld,
    make_chair,
    make_deciding_issue,
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


# --- hostile files: 422 with one clear message, page and API, nothing changes -------------

HOSTILE = {
    "no-sheet": (roster_files.no_sheet_xlsx, "Excel 文件里没有工作表"),
    "truncated-sheet": (
        roster_files.truncated_sheet_xlsx,
        "Excel 文件已损坏或不完整，请在 Excel 中重新保存后上传",
    ),
    "bad-crc": (
        roster_files.bad_crc_xlsx,
        "Excel 文件已损坏或不完整，请在 Excel 中重新保存后上传",
    ),
    "cut-zip": (roster_files.cut_zip_xlsx, "无法读取文件，请上传 CSV 或 XLSX 格式的名册"),
    "zip-bomb": (
        roster_files.zip_bomb_xlsx,
        "Excel 文件解压后过大（上限 64 MB），请只保留名册这一张表后重新上传",
    ),
    "25000-rows": (
        lambda: roster_files.million_rows_xlsx(25_000),
        "名册超过 20000 行，请分批导入",
    ),
    "1e6-rows-csv": (roster_files.million_rows_csv, "文件太大"),
}


def _stored_uploads(db: Database) -> int:
    with db.session(read_only=True) as session:
        return session.exec(select(func.count()).select_from(RosterUpload)).one()


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_file_is_refused_with_one_clear_message_on_page_and_api(
    db: Database, make_client: Any, case: str
) -> None:
    build, text = HOSTILE[case]
    data = build()
    world, _, client = _chair(db, make_client)
    before = (_table_counts(db), _households(db, world.hall.id), _stored_uploads(db))
    name, kind = ("roster.xlsx", XLSX) if data[:2] == b"PK" else ("roster.csv", CSV)

    page = _upload(client, world.hall.id, name, data, kind)
    assert page.status_code == 422
    assert _field_error(page.text, "file") == text
    assert 'id="roster-preview"' not in page.text

    me = client.get("/api/v1/me").json()
    api = client.post(
        f"/api/v1/halls/{world.hall.id}/roster",
        files={"file": (name, data, kind)},
        headers={"X-CSRF-Token": me["csrf_token"]},
    )
    assert api.status_code == 422
    assert api.json()["fields"]["file"] == text
    assert "token" not in api.json()

    assert (_table_counts(db), _households(db, world.hall.id), _stored_uploads(db)) == before


@pytest.mark.parametrize("area", ["1_000", "1e3", "８９.５", "89.505", "NaN", "-60"])
def test_an_area_not_plainly_written_is_refused(db: Database, make_client: Any, area: str) -> None:
    world, _, client = _chair(db, make_client)
    before = _table_counts(db)
    response = _upload(
        client, world.hall.id, "r.csv", _csv([["8号楼", "1单元", "101", area, "", "", ""]])
    )
    assert response.status_code == 422
    assert "面积应为正数，最多两位小数，如 89.50" in response.text
    assert _table_counts(db) == before


# --- preview before write -----------------------------------------------------------------


def _hall_snapshot(db: Database, hall_id: int | None) -> tuple[object, ...]:
    return (
        _table_counts(db),
        _households(db, hall_id),
        sorted((m.id, m.status, m.relation) for m, _ in _members(db, hall_id).values()),
        len(_import_events(db, hall_id)),
    )


def _preview_rows(page: str) -> dict[str, str]:
    """'第N行' → the text of its preview item."""
    items = re.findall(r'<li class="diff[^"]*"[^>]*>(.*?)</li>', page, flags=re.S)
    rows = {}
    for item in items:
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", item)).split())
        line = re.search(r"第(\d+)行", text)
        assert line
        rows[line.group(1)] = text
    return rows


def test_upload_shows_new_changed_and_unchanged_and_writes_nothing(
    db: Database, make_client: Any
) -> None:
    world, chair, client = _chair(db, make_client)  # 1号楼1单元101, 61.25 m²
    phone = unique_phone()
    first = [
        ["3号楼", "1单元", "301", "88.80", "孙丽", phone, "业主"],
        ["3号楼", "1单元", "302", "66", "", "", ""],
    ]
    assert _import(client, world.hall.id, "r.csv", _csv(first)).status_code == 200
    before = _hall_snapshot(db, world.hall.id)

    rows = [
        ["3号楼", "1单元", "301", "88.80", "孙丽", phone, "业主"],  # unchanged, a member
        ["3号楼", "1单元", "302", "66.50", "", "", ""],  # area 66.00 → 66.50
        ["3号楼", "2单元", "401", "70", "钱多多", unique_phone(), "租户"],  # new
        ["1号楼", "1单元", "101", "", "", "", ""],  # unchanged, no area given
    ]
    response = _upload(client, world.hall.id, "r.csv", _csv(rows))
    assert response.status_code == 200, response.text
    assert "还没有导入任何数据" in response.text
    assert "导入完成" not in response.text
    assert re.search(r"<dt>新增</dt><dd>1</dd>", response.text)
    assert re.search(r'<div class="changed"><dt>有变化</dt><dd>1</dd>', response.text)
    assert re.search(r"<dt>无变化</dt><dd>2</dd>", response.text)
    shown = _preview_rows(response.text)
    assert "3号楼1单元302 面积 66.00 → 66.50 ㎡" in shown["3"]
    assert "<ins>66.50</ins>" in response.text  # the new area stands out
    for part in ("3号楼2单元401", "新房屋", "新成员"):
        assert part in shown["4"]
    for part in ("孙丽", "已是成员"):
        assert part in shown["2"]
    assert "确认导入 4 行" in response.text

    # Nothing written: every household value, every count, no audit event.
    assert _hall_snapshot(db, world.hall.id) == before
    # The same preview with htmx: the page fragment swaps in, still nothing written.
    again = client.post(
        f"/halls/{world.hall.id}/roster",
        data={"csrf_token": client.csrf(f"/halls/{world.hall.id}/roster")},
        files={"file": ("r.csv", _csv(rows), CSV)},
        headers={"HX-Request": "true"},
    )
    assert again.status_code == 200
    assert 'id="roster-preview"' in again.text
    assert _hall_snapshot(db, world.hall.id) == before

    confirmed = _confirm(client, world.hall.id, _token(response.text))
    assert confirmed.status_code == 200, confirmed.text
    assert "导入完成" in confirmed.text
    assert _stats(confirmed.text) == {
        "新建楼栋": 0,
        "新建单元": 1,
        "新建住户": 1,
        "更新面积": 1,
        "新认证成员": 1,
        "已是成员": 1,
    }
    households = _households(db, world.hall.id)
    assert households[("3号楼", "1单元", "302")] == 6650
    assert households[("3号楼", "2单元", "401")] == 7000
    assert households[("1号楼", "1单元", "101")] == 6125
    events = _import_events(db, world.hall.id)
    assert len(events) == before[3] + 1  # type: ignore[operator]
    assert events[-1].actor_id == chair.id
    assert json.loads(events[-1].data)["areas_updated"] == 1

    # A token confirms once.
    twice = _confirm(client, world.hall.id, _token(response.text))
    assert twice.status_code == 422
    assert "这次预览已失效" in _field_error(twice.text, "file")
    assert len(_import_events(db, world.hall.id)) == before[3] + 1  # type: ignore[operator]


def test_confirm_refuses_when_the_hall_changed_since_the_preview(
    db: Database, make_client: Any
) -> None:
    world, _, client = _chair(db, make_client)
    rows = [["5号楼", "1单元", "501", "80", "", "", ""]]
    assert _import(client, world.hall.id, "r.csv", _csv(rows)).status_code == 200

    rows[0][3] = "81"
    preview = _upload(client, world.hall.id, "r.csv", _csv(rows))
    assert "80.00 → 81.00" in _preview_rows(preview.text)["2"]
    token = _token(preview.text)

    # Meanwhile someone else's import sets the area to 90.
    other = [["5号楼", "1单元", "501", "90", "", "", ""]]
    assert _import(client, world.hall.id, "other.csv", _csv(other)).status_code == 200
    before = _hall_snapshot(db, world.hall.id)

    stale = _confirm(client, world.hall.id, token)
    assert stale.status_code == 409
    assert "预览之后本社区的住户数据有变化" in stale.text
    assert "90.00 → 81.00" in _preview_rows(stale.text)["2"]  # the preview as it is now
    assert "导入完成" not in stale.text
    assert _hall_snapshot(db, world.hall.id) == before

    # Confirming the preview shown now imports it.
    done = _confirm(client, world.hall.id, _token(stale.text))
    assert done.status_code == 200, done.text
    assert _households(db, world.hall.id)[("5号楼", "1单元", "501")] == 8100


def test_a_preview_expires_after_an_hour_and_is_the_uploaders_only(
    db: Database, make_client: Any
) -> None:
    world, _, client = _chair(db, make_client)
    rows = [["6号楼", "1单元", "601", "80", "", "", ""]]
    token = _token(_upload(client, world.hall.id, "r.csv", _csv(rows)).text)

    other_chair = make_chair(db, world, name="另一位主任")
    other = make_client()
    other.login(other_chair.phone, PASSWORD)
    before = _hall_snapshot(db, world.hall.id)
    refused = _confirm(other, world.hall.id, token)
    assert refused.status_code == 422
    for bad in ("", "x" * 43, "\x00" * 43, "a" * 500):
        assert _confirm(client, world.hall.id, bad).status_code == 422

    with db.session() as session:  # the upload was kept 61 minutes ago
        upload = session.exec(select(RosterUpload).where(RosterUpload.token == token)).one()
        upload.created_at = clock.now() - timedelta(minutes=61)
        session.add(upload)
        session.commit()
    late = _confirm(client, world.hall.id, token)
    assert late.status_code == 422
    assert "这次预览已失效" in _field_error(late.text, "file")
    assert _hall_snapshot(db, world.hall.id) == before


def test_an_open_ballot_keeps_its_frozen_areas_and_the_preview_says_so(
    db: Database, make_client: Any
) -> None:
    world, _ = make_owners_hall(db, owners=3)  # 1号楼1单元101/102/103: 60.00 61.07 62.14
    chair = make_chair(db, world)
    issue, _ = make_deciding_issue(db, world, chair)
    ballot = owners_ballot(db, world, chair, issue, title="是否同意更换电梯")
    with db.session(read_only=True) as session:
        roll_before = sorted(
            (r.voter_key, r.label, r.weight_centi_m2, r.units)
            for r in session.exec(select(RollEntry).where(RollEntry.ballot_id == ballot.id)).all()
        )
    assert (f"o:{world.households[1].id}", "1号楼1单元102", 6107, 1) in roll_before
    client = make_client()
    client.login(chair.phone, PASSWORD)

    rows = [["1号楼", "1单元", "102", "75.50", "", "", ""]]
    preview = _upload(client, world.hall.id, "r.csv", _csv(rows))
    assert preview.status_code == 200, preview.text
    item = _preview_rows(preview.text)["2"]
    assert "61.07 → 75.50" in item
    assert "该户在进行中的表决「是否同意更换电梯」名册中，本次表决仍按冻结时的面积 61.07 ㎡" in item

    done = _confirm(client, world.hall.id, _token(preview.text))
    assert done.status_code == 200, done.text
    assert _households(db, world.hall.id)[("1号楼", "1单元", "102")] == 7550
    with db.session(read_only=True) as session:
        roll_after = sorted(
            (r.voter_key, r.label, r.weight_centi_m2, r.units)
            for r in session.exec(select(RollEntry).where(RollEntry.ballot_id == ballot.id)).all()
        )
        stored = session.get(Ballot, ballot.id)
    assert roll_after == roll_before  # the frozen roll is untouched
    assert stored is not None
    assert (stored.roll_hash, stored.roll_area_centi_m2) == (
        ballot.roll_hash,
        ballot.roll_area_centi_m2,
    )
    assert stored.roll_area_centi_m2 == 6000 + 6107 + 6214


def test_page_and_api_preview_agree_and_the_api_confirms(db: Database, make_client: Any) -> None:
    world, _, client = _chair(db, make_client)
    phone = unique_phone()
    base = [["7号楼", "1单元", "701", "60", "周一", phone, "业主"]]
    assert _import(client, world.hall.id, "r.csv", _csv(base)).status_code == 200
    rows = [
        ["7号楼", "1单元", "701", "60.5", "周一", phone, "业主"],
        ["7号楼", "1单元", "702", "61", "", "", ""],
        ["1号楼", "1单元", "101", "61.25", "", "", ""],
    ]
    data = _xlsx(rows)
    before = _hall_snapshot(db, world.hall.id)
    page = _upload(client, world.hall.id, "r.xlsx", data, XLSX)
    headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
    api = client.post(
        f"/api/v1/halls/{world.hall.id}/roster",
        files={"file": ("r.xlsx", data, XLSX)},
        headers=headers,
    )
    assert api.status_code == 200, api.text
    body = api.json()
    assert _hall_snapshot(db, world.hall.id) == before
    assert body["counts"] == {
        "new": 1,
        "changed": 1,
        "unchanged": 1,
        "buildings_created": 0,
        "entrances_created": 0,
        "households_created": 1,
        "areas_updated": 1,
        "members_created": 0,
        "members_existing": 1,
    }
    assert [(r["line"], r["status"]) for r in body["rows"]] == [
        (2, "changed"),
        (3, "new"),
        (4, "unchanged"),
    ]
    assert body["rows"][0]["area_old_centi_m2"] == 6000
    assert body["rows"][0]["area_new_centi_m2"] == 6050
    assert body["rows"][0]["person"] == "member"
    shown = _preview_rows(page.text)
    for row in body["rows"]:
        text = shown[str(row["line"])]
        assert f"{row['building']}{row['entrance']}{row['room']}" in text
    assert "60.00 → 60.50" in shown["2"]
    assert re.search(r"<dt>新增</dt><dd>1</dd>", page.text)
    assert re.search(r"<dt>无变化</dt><dd>1</dd>", page.text)

    confirmed = client.post(
        f"/api/v1/halls/{world.hall.id}/roster/confirm",
        json={"token": body["token"]},
        headers=headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["areas_updated"] == 1
    assert confirmed.json()["households_created"] == 1
    assert _households(db, world.hall.id)[("7号楼", "1单元", "701")] == 6050

    # The page's token is stale now (the area it previewed as 60.00 is 60.50): 409.
    stale = _confirm(client, world.hall.id, _token(page.text))
    assert stale.status_code == 409
    again = client.post(
        f"/api/v1/halls/{world.hall.id}/roster/confirm",
        json={"token": body["token"]},
        headers=headers,
    )
    assert again.status_code == 422
    assert again.json()["codes"] == {"file": "roster_preview_expired"}


def test_nul_in_a_cell_or_the_file_name_is_a_clear_refusal_not_a_500(
    db: Database, make_client: Any
) -> None:
    world, _, client = _chair(db, make_client)
    before = _table_counts(db)
    bad = _upload(
        client, world.hall.id, "r.csv", _csv([["8号楼\x00", "1单元", "101", "60", "", "", ""]])
    )
    assert bad.status_code == 422
    assert "含有控制字符（如换行、NUL），请删除后重新上传" in bad.text
    assert _table_counts(db) == before

    good = _csv([["8号楼", "1单元", "101", "60", "", "", ""]])
    preview = _upload(client, world.hall.id, "名册\x00\x1b.csv", good)
    assert preview.status_code == 200, preview.text
    with db.session(read_only=True) as session:
        stored = session.exec(
            select(RosterUpload).where(RosterUpload.token == _token(preview.text))
        ).one()
    assert stored.filename == "名册%00.csv"  # the client escapes NUL; ESC is dropped
    assert _confirm(client, world.hall.id, _token(preview.text)).status_code == 200
    assert _households(db, world.hall.id)[("8号楼", "1单元", "101")] == 6000


def test_the_preview_does_not_tell_which_phones_have_an_account(
    db: Database, make_client: Any
) -> None:
    """A preview writes nothing, so a chair could upload guessed phones again and again: it must
    not tell a phone registered anywhere (another hall's resident) from one nobody has."""
    world, _, client = _chair(db, make_client)
    elsewhere = make_user(db, name="外社区居民")
    unknown = "139" + str(elsewhere.id or 0).zfill(8)[-8:]
    assert unknown != elsewhere.phone
    rows = [
        ["3号楼", "1单元", "201", "70", "甲", elsewhere.phone or "", "业主"],
        ["3号楼", "1单元", "202", "70", "乙", unknown, "业主"],
    ]
    page = _upload(client, world.hall.id, "r.csv", _csv(rows))
    assert page.status_code == 200, page.text
    assert "已有账号" not in page.text
    headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
    api = client.post(
        f"/api/v1/halls/{world.hall.id}/roster",
        files={"file": ("r.csv", _csv(rows), CSV)},
        headers=headers,
    )
    assert api.status_code == 200, api.text
    assert [r["person"] for r in api.json()["rows"]] == ["new", "new"]


def test_a_preview_sweeps_every_halls_expired_uploads(db: Database, make_client: Any) -> None:
    """An abandoned upload holds residents' names and phones: the next preview anywhere removes
    it once it has expired, not only a preview in the same hall."""
    world, _, client = _chair(db, make_client)
    other_world, _, other = _chair(db, make_client)
    data = _csv([["3号楼", "1单元", "201", "70", "甲", "", "业主"]])
    token = _token(_upload(client, world.hall.id, "r.csv", data).text)
    with db.session() as session:  # abandoned 61 minutes ago
        upload = session.exec(select(RosterUpload).where(RosterUpload.token == token)).one()
        upload.created_at = clock.now() - timedelta(minutes=61)
        session.add(upload)
        session.commit()
    assert _upload(other, other_world.hall.id, "r.csv", data).status_code == 200
    with db.session(read_only=True) as session:
        left = session.exec(select(RosterUpload).where(RosterUpload.token == token)).first()
    assert left is None
