"""Meetings over the JSON API and the pages, on SQLite and PostgreSQL: schedule (the notice
period), the meeting with its attendance answer, signing in with the QR's token (its window,
a wrong token, twice, and a double tap sent as concurrent requests), the chair's sign-in, who
gets 404, and the QR on the public origin."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import select

from app.config import Settings
from app.core import clock
from app.db import Database
from app.main import create_app
from app.meetings.models import Attendance, Meeting
from app.meetings.rules import MeetingKind
from app.web import qr
from tests import meeting_helpers as mh
from tests.conftest import ORIGIN, Client
from tests.factories import PASSWORD, HallWorld, make_chair, make_hall, make_member

LAN = "http://192.168.1.20:8000"


@pytest.fixture(autouse=True)
def _release_clock() -> Iterator[None]:
    yield
    clock.freeze(None)


def json_client(make_client: Any, phone: str | None) -> tuple[Client, dict[str, str]]:
    client: Client = make_client()
    client.login(phone or "", PASSWORD)
    token = client.get("/api/v1/me").json()["csrf_token"]
    return client, {"X-CSRF-Token": token}


def council_hall(db: Database, n: int = 2) -> tuple[HallWorld, Any, list[Any]]:
    world = make_hall(db)
    chair = make_chair(db, world, name="王主任")
    members = []
    for i in range(n):
        user, _ = make_member(db, world, household_index=i, chair=chair, name=f"委员{i}")
        mh.give_roles(db, world, chair, user, "council")
        members.append(user)
    return world, chair, members


def test_schedule_and_sign_in_over_json(db: Database, make_client: Any) -> None:
    world, chair, members = council_hall(db)
    base = f"/api/v1/halls/{world.hall.id}/meetings"
    boss, headers = json_client(make_client, chair.phone)
    starts = clock.now() + timedelta(minutes=30)
    body = {
        "kind": "council",
        "title": "停车管理议事会",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "place": "社区议事厅",
        "free_items": ["地面停车位分配"],
        "guests": [{"name": "张经理", "organisation": "某某物业", "kind": "property"}],
    }
    short = boss.post(base, headers=headers, json=body)
    assert short.status_code == 422
    assert short.json()["fields"]["short_notice_reason"].startswith("距开会不足本社区规定的 3 天")
    created = boss.post(
        base, headers=headers, json=body | {"short_notice_reason": "车位纠纷急需协商"}
    )
    assert created.status_code == 201, created.text
    meeting = created.json()
    assert meeting["rule"] == "council_majority"
    assert meeting["short_notice_reason"] == "车位纠纷急需协商"
    assert meeting["attendance"] == {
        "expected": 2,
        "present": 0,
        "quorum_needed": 2,
        "quorum_met": False,
        "check": {
            "id": "attendance_heads",
            "value": 0,
            "whole": 2,
            "threshold": "2/3",
            "comparison": ">=",
            "passed": False,
            "needed": 2,
            "margin": -2,
        },
    }
    assert [i["title"] for i in meeting["agenda"]] == ["地面停车位分配"]
    assert {i["name"] for i in meeting["invitees"]} == {"委员0", "委员1", "张经理"}
    assert "signin_token" not in created.text
    listed = boss.get(base).json()["meetings"]
    assert [m["id"] for m in listed] == [meeting["id"]]

    with db.session(read_only=True) as session:
        stored = session.get(Meeting, meeting["id"])
        assert stored is not None
        signin_token = stored.signin_token
    url = f"{base}/{meeting['id']}/attendance"
    one, one_headers = json_client(make_client, members[0].phone)
    wrong = one.post(url, headers=one_headers, json={"token": "x" * 43})
    assert wrong.status_code == 403
    assert wrong.json()["error"] == "signin_token_invalid"
    first = one.post(url, headers=one_headers, json={"token": signin_token})
    assert first.status_code == 201, first.text
    assert first.json()["present"] == 1
    again = one.post(url, headers=one_headers, json={"token": signin_token})
    assert again.status_code == 200
    assert again.json()["present"] == 1
    # The chair signs in the other member (no phone): the quorum is met, margin 0.
    other_id = mh.membership(db, world, members[1]).id
    ticked = boss.post(url, headers=headers, json={"membership_id": other_id})
    assert ticked.status_code == 201
    assert ticked.json()["quorum_met"] is True
    assert ticked.json()["check"]["margin"] == 0
    # A plain member may not sign others in.
    refused = one.post(url, headers=one_headers, json={"membership_id": other_id})
    assert refused.status_code == 404
    detail = one.get(f"{base}/{meeting['id']}").json()
    assert detail["my_sign_in"] is not None
    assert [s["name"] for s in detail["sign_ins"]] == ["委员0", "委员1"]


def test_a_resident_of_another_hall_and_an_applicant_get_404(
    db: Database, make_client: Any
) -> None:
    world, chair, _ = council_hall(db, 1)
    meeting = mh.now_meeting(db, world, chair)
    other = make_hall(db)
    outsider, _ = make_member(db, other, name="别处居民")
    applicant, _ = make_member(db, world, household_index=3, verified=False)
    base = f"/api/v1/halls/{world.hall.id}/meetings"
    for person in (outsider, applicant):
        client, headers = json_client(make_client, person.phone)
        assert client.get(base).status_code == 404
        assert client.get(f"{base}/{meeting.id}").status_code == 404
        response = client.post(
            f"{base}/{meeting.id}/attendance", headers=headers, json={"token": meeting.signin_token}
        )
        assert response.status_code == 404
        page = client.get(f"/halls/{world.hall.id}/meetings/{meeting.id}/signin?t=x")
        assert page.status_code == 404
    # The other hall's own path with this hall's meeting: not found either.
    client, headers = json_client(make_client, outsider.phone)
    cross = f"/api/v1/halls/{other.hall.id}/meetings/{meeting.id}"
    assert client.get(cross).status_code == 404
    assert (
        client.post(
            f"{cross}/attendance", headers=headers, json={"token": meeting.signin_token}
        ).status_code
        == 404
    )
    with db.session(read_only=True) as session:
        assert not session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)).all()


def test_a_double_tap_sent_as_concurrent_requests_signs_in_once(
    db: Database, make_client: Any
) -> None:
    world, chair, members = council_hall(db, 1)
    meeting = mh.now_meeting(db, world, chair)
    url = f"/api/v1/halls/{world.hall.id}/meetings/{meeting.id}/attendance"
    phones = [json_client(make_client, members[0].phone) for _ in range(6)]
    barrier = threading.Barrier(len(phones))
    statuses: list[int] = []

    def tap(client: Client, headers: dict[str, str]) -> None:
        barrier.wait()
        response = client.post(url, headers=headers, json={"token": meeting.signin_token})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=tap, args=phone) for phone in phones]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [200] * 5 + [201]
    with db.session(read_only=True) as session:
        rows = session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)).all()
    assert len(rows) == 1


def test_sign_in_outside_the_window_is_refused(db: Database, make_client: Any) -> None:
    world, chair, members = council_hall(db, 1)
    meeting = mh.schedule(db, world, chair, mh.form(starts_in=timedelta(days=4)))
    url = f"/api/v1/halls/{world.hall.id}/meetings/{meeting.id}/attendance"
    client, headers = json_client(make_client, members[0].phone)
    early = client.post(url, headers=headers, json={"token": meeting.signin_token})
    assert early.status_code == 409
    assert early.json()["error"] == "signin_closed"


# --- pages --------------------------------------------------------------------------------------

ClientFor = Callable[..., Client]


@pytest.fixture
def client_for(settings: Settings, db: Database) -> Iterator[ClientFor]:
    clients: list[Client] = []

    def make(**overrides: Any) -> Client:
        app: FastAPI = create_app(settings.model_copy(update=overrides), database=db)
        # CSRF checks the Origin against the public origin when one is set.
        origin = overrides.get("public_origin", ORIGIN)
        c = Client(app, base_url=ORIGIN, headers={"Origin": origin})
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def test_the_pages_schedule_show_the_quorum_and_sign_in(
    db: Database, client_for: ClientFor
) -> None:
    world, chair, members = council_hall(db, 3)
    hall = world.hall.id
    boss = client_for(public_origin=LAN)
    boss.login(chair.phone or "", PASSWORD)
    home = boss.get(f"/halls/{hall}")
    assert f'href="/halls/{hall}/meetings"' in home.text
    assert boss.get(f"/halls/{hall}/meetings/new").status_code == 200
    starts = clock.now() + timedelta(minutes=30)  # the sign-in opens an hour before
    form = {
        "kind": "council",
        "title": "电梯加装议事会",
        "starts_at": mh.local(starts),
        "ends_at": mh.local(starts + timedelta(hours=2)),
        "place": "小院议事厅",
        "free_items_text": "加装电梯费用分摊\n施工时间",
        "guests_text": "张经理，物业，某某物业公司\n乱写一行",
    }
    bad = boss.post_form(f"/halls/{hall}/meetings", form, follow_redirects=False)
    assert bad.status_code == 422  # type: ignore[attr-defined]
    text = bad.text  # type: ignore[attr-defined]
    assert 'id="e-short_notice_reason"' in text
    assert 'id="e-guests_text"' in text
    assert "电梯加装议事会" in text  # what was typed comes back
    form |= {"guests_text": "张经理，物业，某某物业公司", "short_notice_reason": "施工队下周进场"}
    done = boss.post_form(f"/halls/{hall}/meetings", form, follow_redirects=False)
    assert done.status_code == 303  # type: ignore[attr-defined]
    page_url = done.headers["location"]  # type: ignore[attr-defined]
    page = boss.get(page_url).text
    assert "加装电梯费用分摊" in page
    assert "施工队下周进场" in page
    assert 'data-figure="expected">3<' in page
    assert 'data-figure="present">0<' in page
    assert 'data-quorum="not_met"' in page
    assert 'data-check="attendance_heads"' in page
    meeting_id = int(page_url.rsplit("/", 1)[1])
    with db.session(read_only=True) as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
    link = f"{LAN}/halls/{hall}/meetings/{meeting_id}/signin?t={meeting.signin_token}"
    assert f'value="{link}"' in page
    assert qr.path(link).d in page  # the QR opens on a phone: the public origin

    # A member scans the QR: the page has one big button, and signing in comes back to the
    # meeting page with the count.
    for person in members[:2]:
        phone = client_for()
        phone.login(person.phone or "", PASSWORD)
        signin_path = link.removeprefix(LAN)
        opened = phone.get(signin_path)
        assert opened.status_code == 200
        card = opened.text.split('<section class="card signin">', 1)[1].split("</section>", 1)[0]
        assert card.count('type="submit"') == 1
        assert "我已到会，签到" in card
        signed = phone.post_form(
            f"/halls/{hall}/meetings/{meeting_id}/signin",
            {"t": meeting.signin_token},
            token_from=signin_path,
            follow_redirects=True,
        )
        assert signed.status_code == 200  # type: ignore[attr-defined]
        assert "签到成功" in signed.text  # type: ignore[attr-defined]
        resident_view = phone.get(page_url).text
        assert qr.path(link).d not in resident_view  # the QR is the chair's to show
    page = boss.get(page_url).text
    assert 'data-figure="present">2<' in page
    assert 'data-quorum="met"' in page
    # The chair signs in a guest from the meeting page.
    guest = boss.post_form(
        page_url + "/attendance",
        {"guest_name": "刘代表", "guest_org": "区人大", "guest_kind": "deputy"},
        token_from=page_url,
        follow_redirects=True,
    )
    assert "刘代表" in guest.text  # type: ignore[attr-defined]
    assert 'data-figure="present">2<' in guest.text  # type: ignore[attr-defined]
    incomplete = boss.post_form(
        page_url + "/attendance", {"guest_name": "无单位"}, token_from=page_url
    )
    assert incomplete.status_code == 422  # type: ignore[attr-defined]
    assert 'id="e-guest_org"' in incomplete.text  # type: ignore[attr-defined]


def test_forum_page_has_no_quorum(db: Database, make_client: Any) -> None:
    world, chair, _ = council_hall(db, 1)
    meeting = mh.schedule(db, world, chair, mh.form(MeetingKind.FORUM))
    client: Client = make_client()
    client.login(chair.phone or "", PASSWORD)
    page = client.get(f"/halls/{world.hall.id}/meetings/{meeting.id}").text
    assert "这类会议不计法定人数" in page
    assert "data-quorum" not in page
