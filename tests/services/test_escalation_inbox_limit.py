"""The street's dispatch inbox and a department's inbox list at most INBOX_LIMIT escalations,
and the database chooses which, in the list's order: an overdue one is never left out for
newer ones, and the 逾期 filter finds every overdue one, however old. On SQLite and PostgreSQL.

At NOW, with the limit lowered to 3, department D has (oldest first):
  old  dispatched 01-02, 报到 due 01-02 02:00, never reported: overdue
  late dispatched 01-03, reported one second after its due: open, flagged (报到 late)
  n1…n4 dispatched 03-01…03-04, due after NOW: not overdue
The inbox lists old and late (overdue, newest first), then n4: 3 of 6, and says there are more.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from app.core import clock
from app.db import Database
from app.escalations import queries
from app.escalations.models import DepartmentMember
from app.escalations.queries import InboxFilter
from tests import factories as f
from tests import rates_helpers as rh
from tests.factories import PASSWORD
from tests.rates_helpers import utc

NOW = utc(2026, 3, 5)


@pytest.fixture
def world(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[rh.StreetWorld]:
    monkeypatch.setattr(queries, "INBOX_LIMIT", 3)
    w = rh.street_world(db, halls=1, departments=1, companies=0)
    hall, d = w.halls[0], w.departments[0]
    of = rh.issue(w, hall)
    t = utc(2026, 1, 2)
    rh.escalation(w, of, d, dispatched_at=t, respond_due_at=t + timedelta(hours=2))  # old
    t = utc(2026, 1, 3)
    rh.escalation(
        w,
        of,
        d,
        dispatched_at=t,
        respond_due_at=t + timedelta(hours=2),
        acknowledged_at=t + timedelta(hours=2, seconds=1),
    )  # late
    for day in (1, 2, 3, 4):
        t = utc(2026, 3, day)
        rh.escalation(w, of, d, dispatched_at=t, respond_due_at=NOW + timedelta(days=1))
    clock.freeze(NOW)
    yield w
    clock.freeze(None)


def _summaries(db: Database, w: rh.StreetWorld, status: str) -> tuple[list[bool], bool]:
    with db.session(read_only=True) as s:
        inbox = queries.street_inbox(s, street_id=w.street.id or 0, status=status)
    return [r.overdue_open for r in inbox.rows], inbox.more


def test_the_overdue_are_listed_first_whatever_their_age(
    db: Database, world: rh.StreetWorld
) -> None:
    with db.session(read_only=True) as s:
        ids = sorted(
            r.escalation.id or 0
            for r in queries.street_inbox(s, street_id=world.street.id or 0, status="all").rows
        )
        inbox = queries.department_inbox(s, department_id=world.departments[0].id or 0)
    assert [r.overdue_open for r in inbox.rows] == [True, True, False]
    # the two overdue (newest first), then the newest of the others
    assert [r.escalation.id for r in inbox.rows][:2] == sorted(ids[:2], reverse=True)
    assert inbox.more
    assert _summaries(db, world, InboxFilter.OPEN) == ([True, True, False], True)


def test_the_overdue_filter_finds_every_overdue_one(db: Database, world: rh.StreetWorld) -> None:
    assert _summaries(db, world, InboxFilter.OVERDUE) == ([True, True], False)


def test_no_note_when_everything_fits(
    db: Database, world: rh.StreetWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "INBOX_LIMIT", 6)
    flags, more = _summaries(db, world, InboxFilter.ALL)
    assert (flags, more) == ([True, True, False, False, False, False], False)


def test_the_pages_say_there_are_more(
    db: Database, world: rh.StreetWorld, make_client: Any
) -> None:
    official = make_client()
    official.login(world.official.phone, PASSWORD)
    note = "只列出前 3 件：逾期的在前，然后是最新的。"
    page = official.get(f"/streets/{world.street.id}/escalations")
    assert page.status_code == 200
    assert note in page.text
    assert page.text.count('class="flagged"') == 2
    overdue = official.get(f"/streets/{world.street.id}/escalations?status=overdue")
    assert note not in overdue.text
    assert overdue.text.count('class="flagged"') == 2


def test_the_api_says_there_are_more(db: Database, world: rh.StreetWorld, make_client: Any) -> None:
    user = f.make_user(db, name="市政所张工")
    with db.session() as s:
        s.add(DepartmentMember(department_id=world.departments[0].id or 0, user_id=user.id or 0))
        s.commit()
    member = make_client()
    member.login(user.phone, PASSWORD)
    got = member.get(f"/api/v1/departments/{world.departments[0].id}/escalations").json()
    assert [e["respond"]["state"] for e in got["escalations"]] == ["late", "overdue", "not_due"]
    assert len(got["escalations"]) == 3
    assert got["more"] is True
