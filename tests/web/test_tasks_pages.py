"""任务分工 pages and API (issue #13) on SQLite and PostgreSQL, over real HTTP: the chair adds a
task (422 next to the field in Chinese, PRG without JS), edits it (a stale edit refused, what
was typed kept), reports progress with a photo (served without EXIF, to the hall only), the
issue page's 民办 card and the hall home's progress (no N+1), 认领 with htmx partials, the
residents' limits, another hall's 404, the 任务分工表 PDF read back, and the JSON API."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from app.accounts.models import User
from app.core import clock
from app.core.privacy import mask_phone
from app.db import Database
from app.issues.models import Issue
from app.tasks.models import PartyType
from tests import factories as f
from tests import task_helpers as th
from tests.conftest import Client
from tests.factories import PASSWORD
from tests.implementation_helpers import frozen, implementing_issue
from tests.web.issue_helpers import jpeg_with_exif
from tests.web.test_hall_pages import count_statements


@dataclass
class Hall:
    db: Database
    world: f.HallWorld
    chair: User
    resident: User
    issue: Issue
    clients: dict[str, Client]

    @property
    def hall_id(self) -> int:
        return self.world.hall.id or 0

    @property
    def base(self) -> str:
        return f"/halls/{self.hall_id}/issues/{self.issue.id}"

    def as_(self, who: str) -> Client:
        return self.clients[who]


@pytest.fixture(autouse=True)
def _release_clock() -> Iterator[None]:
    yield
    clock.freeze(None)


@pytest.fixture
def hall(db: Database, make_client: Any) -> Hall:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    resident, _ = f.make_member(db, world, chair=chair, name="张阿姨")
    issue = implementing_issue(db, world, chair)
    clients = {}
    for name, user in (("chair", chair), ("resident", resident)):
        c: Client = make_client()
        c.login(user.phone or "", PASSWORD)
        clients[name] = c
    return Hall(db, world, chair, resident, issue, clients)


def due_date(days: int) -> str:
    return (clock.now() + timedelta(days=days)).date().isoformat()


def post(hall: Hall, who: str, path: str, data: Mapping[str, object], **kw: Any) -> Any:
    client = hall.as_(who)
    return client.post_form(path, dict(data), token_from=hall.base + "/tasks", **kw)


# --- adding, errors, PRG ---------------------------------------------------------------------


def test_the_chair_adds_a_task_and_errors_come_back_next_to_the_field(hall: Hall) -> None:
    bad = post(hall, "chair", hall.base + "/tasks", {"title": "", "party_type": "property"})
    assert bad.status_code == 422
    assert re.search(r'id="e-title"[^>]*>此项必填<', bad.text)
    assert re.search(r'id="e-due_at"[^>]*>此项必填<', bad.text)
    assert 'value="property" selected' in bad.text  # what was typed stays
    good = post(
        hall,
        "chair",
        hall.base + "/tasks",
        {"title": "修补2号楼屋面", "party_type": "property", "due_at": due_date(5)},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert good.headers["location"] == hall.base + "/tasks"
    page = hall.as_("resident").get(hall.base)
    assert "修补2号楼屋面" in page.text
    assert "完成 0/1 项任务，总进度 0%" in page.text


def test_residents_cannot_add_tasks_and_another_halls_user_gets_404(
    hall: Hall, db: Database, make_client: Any
) -> None:
    data = {"title": "x", "party_type": "committee", "due_at": due_date(3)}
    assert post(hall, "resident", hall.base + "/tasks", data).status_code == 404
    assert 'id="add"' not in hall.as_("resident").get(hall.base + "/tasks").text
    task = th.add_task(db, hall.world, hall.chair, hall.issue)
    other_world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    stranger, _ = f.make_member(db, other_world)
    outsider: Client = make_client()
    outsider.login(stranger.phone or "", PASSWORD)
    for path in (
        hall.base + "/tasks",
        f"{hall.base}/tasks/{task.id}",
        hall.base + "/tasks/print",
        f"/api/v1/halls/{hall.hall_id}/issues/{hall.issue.id}/tasks",
    ):
        assert outsider.get(path).status_code == 404, path


# --- progress updates, photos, the timeline ----------------------------------------------------


def test_a_progress_update_with_a_photo_and_the_timeline(hall: Hall, db: Database) -> None:
    task = th.add_task(db, hall.world, hall.chair, hall.issue, is_milestone=True)
    url = f"{hall.base}/tasks/{task.id}/updates"
    blocked = post(hall, "chair", url, {"text": "材料未到", "status": "blocked"})
    assert blocked.status_code == 422
    assert re.search(r'id="e-blocked_reason"[^>]*>请填写受阻原因<', blocked.text)
    assert "材料未到" in blocked.text  # the text typed is kept
    done = post(
        hall,
        "chair",
        url,
        {"text": "屋面已修补完毕", "status": "done"},
        files=[("photos", ("p.jpg", jpeg_with_exif(), "image/jpeg"))],
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = hall.as_("resident").get(hall.base)
    assert "屋面已修补完毕" in page.text
    assert "完成 1/1 项任务，总进度 100%" in page.text
    assert "里程碑" in page.text
    assert "全部任务已完成，可以开启民评" not in page.text  # for the chair only
    assert "全部任务已完成，可以开启民评" in hall.as_("chair").get(hall.base).text
    match = re.search(rf'src="({hall.base}/tasks/photos/\d+)"', page.text)
    assert match
    served = hall.as_("resident").get(match.group(1))
    assert served.status_code == 200
    assert b"TestCam" not in served.content
    assert not Image.open(io.BytesIO(served.content)).getexif()


def test_a_stale_edit_is_refused_and_what_was_typed_is_kept(hall: Hall, db: Database) -> None:
    task = th.add_task(db, hall.world, hall.chair, hall.issue, title="原任务")
    url = f"{hall.base}/tasks/{task.id}"
    data = {"title": "先改的", "party_type": "property", "due_at": due_date(8), "version": "1"}
    assert post(hall, "chair", url, data, follow_redirects=False).status_code == 303
    stale = post(hall, "chair", url, data | {"title": "后改的"})
    assert stale.status_code == 409
    assert "这项任务刚被别人修改过" in stale.text
    assert 'value="后改的"' in stale.text  # nothing typed is lost
    assert 'name="version" value="2"' in stale.text  # sending again applies it
    assert th.stored(db, task).title == "先改的"


def test_the_responsible_member_reports_but_a_resident_may_not(hall: Hall, db: Database) -> None:
    task = th.add_task(db, hall.world, hall.chair, hall.issue)
    url = f"{hall.base}/tasks/{task.id}/updates"
    assert post(hall, "resident", url, {"text": "我来报"}).status_code == 404
    assert "发布进展" not in hall.as_("resident").get(f"{hall.base}/tasks/{task.id}").text


# --- 认领 --------------------------------------------------------------------------------------


def test_claim_with_htmx_swaps_the_volunteers_and_never_shows_phones(
    hall: Hall, db: Database
) -> None:
    task = th.add_task(
        db, hall.world, hall.chair, hall.issue, party_type=PartyType.VOLUNTEERS, volunteer_cap="1"
    )
    url = f"{hall.base}/tasks/{task.id}/claim"
    client = hall.as_("resident")
    token = client.csrf(hall.base)
    claimed = client.post(url, data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert claimed.status_code == 200
    assert claimed.text.lstrip().startswith(f'<div class="task-volunteers" id="vol-{task.id}"')
    assert "张阿姨" in claimed.text
    assert "认领成功" in claimed.text
    again = client.post(url, data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert again.status_code == 409
    assert "您已经认领了这项任务" in again.text
    full = post(hall, "chair", url, {}, headers={"HX-Request": "true"})
    assert full.status_code == 409
    assert "名额已满" in full.text
    page = hall.as_("chair").get(hall.base)
    assert "张阿姨" in page.text
    phone = hall.resident.phone or ""
    assert phone
    assert phone not in page.text
    assert mask_phone(phone) not in page.text  # not even masked
    plain = client.post(
        f"{hall.base}/tasks/{task.id}/withdraw",
        data={"csrf_token": token},
        headers={"Referer": f"http://evil.example{hall.base}/tasks/{task.id}"},
        follow_redirects=False,
    )
    assert plain.status_code == 303  # without JS: back to the page it was sent from
    assert plain.headers["location"] == f"{hall.base}/tasks/{task.id}"  # its path only
    assert th.stored(db, task).volunteer_count == 0


# --- overdue, the home, the statement counts ---------------------------------------------------


def test_an_overdue_task_is_flagged_on_the_issue_page_and_the_list(
    hall: Hall, db: Database
) -> None:
    # the resident looks (a chair's session ends after 30 idle minutes, and the clock jumps)
    task = th.add_task(db, hall.world, hall.chair, hall.issue, due_at=th.due_in(1))
    with frozen(task.due_at - timedelta(seconds=1)):
        assert "已逾期" not in hall.as_("resident").get(hall.base).text
    with frozen(task.due_at):
        assert "已逾期 1 天" in hall.as_("resident").get(hall.base).text
    with frozen(task.due_at + timedelta(days=2, hours=1)):
        assert "已逾期 3 天" in hall.as_("resident").get(hall.base).text
        assert "已逾期 3 天" in hall.as_("resident").get(hall.base + "/tasks").text


def more_implementing(db: Database, world: f.HallWorld, chair: User, like: Issue, n: int) -> None:
    """`n` more issues 办理中 with a task each: proposed, then set to the stage directly (the
    home reads only the stage and the tasks; the real way there is implementing_issue's)."""
    for _ in range(n):
        issue = f.make_issue(db, world, chair)
        with db.session() as s:
            row = s.get(Issue, issue.id)
            assert row is not None
            row.stage = like.stage
            s.add(row)
            s.commit()
            s.refresh(row)
        th.add_task(db, world, chair, row)


def test_the_hall_home_shows_progress_with_one_query_for_all_issues(
    db: Database, make_client: Any
) -> None:
    counts = []
    for n in (1, 20):
        world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
        chair = f.make_chair(db, world)
        issue = implementing_issue(db, world, chair)
        th.add_task(db, world, chair, issue)
        more_implementing(db, world, chair, issue, n - 1)
        client: Client = make_client()
        client.login(chair.phone or "", PASSWORD)
        home = f"/halls/{world.hall.id}"
        assert client.get(home).status_code == 200
        with count_statements(db) as statements:
            page = client.get(home)
        assert page.text.count("完成 0/1 项任务，总进度 0%") == n
        counts.append(len(statements))
    assert counts[0] == counts[1], counts  # as many statements for 20 issues as for 1


def test_the_issue_page_reads_the_same_number_of_statements_for_1_or_20_tasks(
    hall: Hall, db: Database
) -> None:
    counts = []
    for total in (1, 20):
        while len(th_tasks(db, hall)) < total:
            task = th.add_task(db, hall.world, hall.chair, hall.issue)
            th.report(db, hall.world, hall.chair, task, progress="10")
        hall.as_("chair").get(hall.base)
        with count_statements(db) as statements:
            page = hall.as_("chair").get(hall.base)
        assert page.text.count('class="task task-') == total
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def th_tasks(db: Database, hall: Hall) -> list[Any]:
    from app.tasks import queries

    with db.session(read_only=True) as s:
        return queries.list_tasks(s, hall_id=hall.hall_id, issue_id=hall.issue.id or 0)


# --- the printed 任务分工表 ---------------------------------------------------------------------


def test_the_task_sheet_reads_back_from_the_pdf(hall: Hall, db: Database) -> None:
    th.add_task(db, hall.world, hall.chair, hall.issue, title="清理楼道杂物", helpers="楼门长")
    view = hall.as_("resident").get(hall.base + "/tasks/print")
    assert view.status_code == 200
    assert "清理楼道杂物" in view.text
    got = hall.as_("resident").get(hall.base + "/tasks/print.pdf")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(got.content)).pages)
    for words in ("任务分工表", "清理楼道杂物", "楼门长", "未开始", "负责人"):
        assert words in text, words


# --- the JSON API ----------------------------------------------------------------------------


def test_the_api_adds_lists_and_reports(hall: Hall, db: Database) -> None:
    client = hall.as_("chair")
    headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
    base = f"/api/v1/halls/{hall.hall_id}/issues/{hall.issue.id}/tasks"
    bad = client.post(base, headers=headers, json={"title": "", "due_at": th.due_in(3)})
    assert bad.status_code == 422
    assert bad.json()["fields"]["party_type"] == "请选择责任方"
    made = client.post(
        base,
        headers=headers,
        json={"title": "安装充电桩", "party_type": "unit", "due_at": th.due_in(3), "weight": 2},
    )
    assert made.status_code == 201, made.text
    task = made.json()
    assert (task["weight"], task["status"], task["days_overdue"]) == (2, "not_started", 0)
    second = client.post(
        base,
        headers=headers,
        json={"title": "验收", "party_type": "committee", "due_at": due_date(10)},
    ).json()
    update = client.post(
        f"{base}/{task['id']}/updates", headers=headers, json={"text": "已完工", "status": "done"}
    )
    assert update.status_code == 201, update.text
    assert (update.json()["progress"], update.json()["status"]) == (100, "done")
    listed = client.get(base).json()
    assert listed["progress"] == {
        "tasks": 2,
        "done": 1,
        "percent": 66,
        "numerator": 200,
        "denominator": 3,
    }
    assert [t["id"] for t in listed["tasks"]] == [task["id"], second["id"]]
    updates = client.get(f"{base}/{task['id']}/updates").json()["updates"]
    assert [u["text"] for u in updates] == ["已完工"]
    resident = hall.as_("resident")
    r_headers = {"X-CSRF-Token": resident.get("/api/v1/me").json()["csrf_token"]}
    refused = resident.post(
        base, headers=r_headers, json={"title": "x", "party_type": "unit", "due_at": th.due_in(3)}
    )
    assert refused.status_code == 404
