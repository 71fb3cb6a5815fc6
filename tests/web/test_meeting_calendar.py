"""改期 and 加入手机日历 through the app, on SQLite and PostgreSQL: the page's 改期 form (422
with the message next to its field), the JSON API, and the meeting's .ics file read back with
icalendar — every field, the same UID with SEQUENCE one higher after a reschedule, and
METHOD:CANCEL / STATUS:CANCELLED once cancelled; links on the public origin only."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import icalendar
from sqlmodel import select

from app.core import clock
from app.db import Database
from app.issues.models import Notification
from app.meetings.models import Meeting
from app.meetings.rules import MeetingKind
from tests import factories as f
from tests import meeting_helpers as mh
from tests.conftest import PUBLIC, ClientAs
from tests.web.test_meetings import json_client


def _world(db: Database) -> tuple[f.HallWorld, Any, list[Any], Meeting]:
    world = f.make_hall(db)
    chair = f.make_chair(db, world, name="王秀英")
    members = []
    for i in range(2):
        user, _ = f.make_member(db, world, household_index=i, chair=chair, name=f"委员{i}")
        mh.give_roles(db, world, chair, user, "council")
        members.append(user)
    meeting = mh.schedule(
        db,
        world,
        chair,
        mh.form(
            MeetingKind.COUNCIL,
            title="电梯加装议事会",
            starts_in=timedelta(days=5),
            free_items=["加装电梯费用分摊", "施工时间"],
        ),
    )
    return world, chair, members, meeting


def _event(client: Any, path: str) -> tuple[icalendar.Calendar, icalendar.Event]:
    response = client.get(path)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/calendar")
    assert "attachment" in response.headers["content-disposition"]
    assert b"127.0.0.1" not in response.content
    calendar = icalendar.Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def _stored(db: Database, meeting: Meeting) -> Meeting:
    with db.session(read_only=True) as session:
        row = session.get(Meeting, meeting.id)
        assert row is not None
        return row


def test_the_calendar_file_follows_the_meeting(db: Database, laptop: ClientAs) -> None:
    world, chair, members, meeting = _world(db)
    hall = world.hall.id
    page = f"/halls/{hall}/meetings/{meeting.id}"
    ics = f"{page}/meeting.ics"
    resident = laptop(members[0])  # any member of the hall
    assert f'href="{ics}"' in resident.get(page).text
    assert "加入手机日历" in resident.get(page).text
    assert f'href="{ics}"' in resident.get(f"{page}/print/notice").text

    calendar, event = _event(resident, ics)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["VERSION"]) == "2.0"
    uid = str(event["UID"])
    assert uid.startswith(f"meeting-{meeting.id}-")
    assert int(event["SEQUENCE"]) == 0  # notice_count 1
    assert event.decoded("DTSTART") == meeting.starts_at.replace(microsecond=0)  # to the second
    assert event.decoded("DTEND") == meeting.ends_at.replace(microsecond=0)
    assert event.decoded("DTSTART").tzinfo is not None
    assert str(event["SUMMARY"]) == "电梯加装议事会"
    assert str(event["LOCATION"]) == "社区议事厅"
    description = str(event["DESCRIPTION"])
    assert "1. 加装电梯费用分摊" in description
    assert "2. 施工时间" in description
    assert f"{PUBLIC}{page}" in description
    assert str(event["URL"]) == f"{PUBLIC}{page}"
    assert str(event["STATUS"]) == "CONFIRMED"
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -timedelta(days=1)
    assert str(alarm["ACTION"]) == "DISPLAY"

    # The chair moves it (the page's form): same UID, SEQUENCE 1, the new time and place.
    boss = laptop(chair)
    new_start = (
        (clock.now() + timedelta(days=8)).astimezone(mh.BEIJING).replace(second=0, microsecond=0)
    )
    moved = boss.post_form(
        f"{page}/reschedule",
        {"starts_at": mh.local(new_start), "place": "3号楼活动室", "reason": "议事厅维修"},
        token_from=page,
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text[:500]  # type: ignore[attr-defined]
    shown = boss.get(page).text
    assert 'data-rescheduled="2"' in shown
    _, event = _event(resident, ics)
    assert str(event["UID"]) == uid
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == new_start.astimezone(UTC)
    assert event.decoded("DTEND") == new_start.astimezone(UTC) + timedelta(hours=2)
    assert str(event["LOCATION"]) == "3号楼活动室"
    notice = resident.get(f"{page}/print/notice").text
    assert "改期通知（第 2 次通知）" in notice

    # Cancelled: METHOD:CANCEL, STATUS:CANCELLED, the same UID, no alarm.
    cancelled = boss.post_form(
        f"{page}/cancel", {"reason": "施工推迟"}, token_from=page, follow_redirects=False
    )
    assert cancelled.status_code == 303  # type: ignore[attr-defined]
    calendar, event = _event(resident, ics)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == uid
    assert int(event["SEQUENCE"]) == 1
    assert "施工推迟" in str(event["DESCRIPTION"])
    assert not event.walk("VALARM")
    assert 'id="reschedule"' not in boss.get(page).text  # nothing left to move

    other = f.make_hall(db)
    outsider = laptop(f.make_chair(db, other))
    assert outsider.get(ics).status_code == 404


def test_the_reschedule_form_answers_next_to_its_fields(db: Database, laptop: ClientAs) -> None:
    world, chair, members, meeting = _world(db)
    page = f"/halls/{world.hall.id}/meetings/{meeting.id}"
    boss = laptop(chair)
    form = boss.get(page).text
    assert 'id="reschedule"' in form
    assert 'name="short_notice_reason"' in form
    soon = clock.now() + timedelta(days=1)
    bad = boss.post_form(
        f"{page}/reschedule", {"starts_at": mh.local(soon), "reason": ""}, token_from=page
    )
    assert bad.status_code == 422  # type: ignore[attr-defined]
    text = bad.text  # type: ignore[attr-defined]
    # Each form of the meeting page names its own slots (取消会议 has a 原因 too: e-c-reason).
    assert 'id="e-r-reason"' in text
    assert 'aria-describedby="e-r-reason"' in text
    assert 'id="e-reason"' not in text
    assert "此项必填" in text
    assert 'id="e-r-short_notice_reason"' in text
    assert "距开会不足本社区规定的 3 天通知期" in text
    assert f'value="{mh.local(soon)}"' in text  # what was typed comes back
    nothing = boss.post_form(f"{page}/reschedule", {"reason": "没变"}, token_from=page)
    assert nothing.status_code == 422  # type: ignore[attr-defined]
    assert "改期须改变时间或地点" in nothing.text  # type: ignore[attr-defined]
    unsaid = boss.post_form(f"{page}/cancel", {"reason": ""}, token_from=page)
    assert unsaid.status_code == 422  # type: ignore[attr-defined]
    said = unsaid.text  # type: ignore[attr-defined]
    assert 'id="e-c-reason"' in said
    assert 'aria-describedby="e-c-reason"' in said
    assert 'id="e-reason"' not in said
    assert 'id="e-r-reason"' not in said
    assert _stored(db, meeting).notice_count == 1
    resident = laptop(members[0])
    assert 'id="reschedule"' not in resident.get(page).text
    refused = resident.post_form(
        f"{page}/reschedule", {"place": "别处", "reason": "想换"}, token_from=page
    )
    assert refused.status_code == 404  # type: ignore[attr-defined]
    done = boss.post_form(
        f"{page}/reschedule",
        {"starts_at": mh.local(soon), "reason": "暖气抢修", "short_notice_reason": "情况紧急"},
        token_from=page,
    )
    assert done.status_code == 200  # type: ignore[attr-defined]
    assert "会议已改期，新的通知已发给受邀成员" in done.text  # type: ignore[attr-defined]
    stored = _stored(db, meeting)
    assert (stored.notice_count, stored.short_notice_reason) == (2, "情况紧急")
    with db.session(read_only=True) as session:
        told = session.exec(
            select(Notification.user_id).where(
                Notification.kind == "meeting_rescheduled", Notification.hall_id == world.hall.id
            )
        ).all()
    assert sorted(told) == sorted(u.id for u in members)


def test_reschedule_over_json(db: Database, make_client: Any) -> None:
    world, chair, members, meeting = _world(db)
    url = f"/api/v1/halls/{world.hall.id}/meetings/{meeting.id}/reschedule"
    boss, headers = json_client(make_client, chair.phone)
    start = clock.now() + timedelta(days=6)
    body = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()}
    missing = boss.post(url, headers=headers, json=body)
    assert missing.status_code == 422
    assert missing.json()["fields"]["reason"] == "此项必填"
    done = boss.post(url, headers=headers, json=body | {"reason": "与社区活动冲突"})
    assert done.status_code == 200, done.text
    assert done.json()["notice_count"] == 2
    assert done.json()["rescheduled_at"] is not None
    assert done.json()["ends_at"].startswith(
        (start + timedelta(hours=1)).astimezone(UTC).date().isoformat()
    )
    one, one_headers = json_client(make_client, members[0].phone)
    assert one.post(url, headers=one_headers, json=body | {"reason": "x"}).status_code == 404
    cancel_page = f"/halls/{world.hall.id}/meetings/{meeting.id}"
    boss.post_form(f"{cancel_page}/cancel", {"reason": "取消"}, token_from=cancel_page)
    late = boss.post(url, headers=headers, json={"place": "别处", "reason": "x"})
    assert late.status_code == 409
    assert late.json()["error"] == "meeting_cancelled"
