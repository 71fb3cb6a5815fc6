"""Three gaps of the notices (issue #14), through the real services, both databases: a failed
vote asks the hall's other chairs to settle it (all of them when no chair closed it), once per
ballot, on the issue page that offers 去处理; a late 吹哨 sends a chair who is also in another
department of the street to the issue's 吹哨报到 card, not to that department's 部门待办; and it
reaches the hall's current chairs only, not the chair who blew the whistle and has since
stepped down."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlmodel import select

from app.accounts.models import User
from app.core.errors import Conflict
from app.db import Database
from app.escalations import schemas as esc_schemas
from app.escalations import service as esc_service
from app.escalations.deadlines import Urgency
from app.escalations.models import Department, WhistleCategory
from app.halls import queries as hall_queries
from app.halls.policies import HallAccess
from app.issues import queries as issue_queries
from app.issues.models import Issue, Notification
from app.jobs.registry import JOBS
from app.voting import schemas as vote_schemas
from app.voting import service as vote_service
from app.voting.models import Ballot
from app.voting.service import closing
from tests import escalation_helpers as eh
from tests import factories as f
from tests import meeting_helpers as mh
from tests.ballot_helpers import cast
from tests.conftest import Client
from tests.implementation_helpers import frozen
from tests.web import issue_helpers as ih


def notices_of(db: Database, user: User, issue_id: int | None) -> list[str]:
    """The kinds of the person's notices about the issue (a 吹哨 notice to a department's
    members names no issue: those are asked for with `issue_id=None` and a hall)."""
    with db.session(read_only=True) as s:
        query = select(Notification.kind).where(Notification.user_id == user.id)
        query = query.where(Notification.issue_id == issue_id)
        return sorted(s.exec(query).all())


def links_of(db: Database, user: User, kind_ends: str) -> set[str | None]:
    with db.session(read_only=True) as s:
        rows = issue_queries.list_notifications(s, user_id=user.id or 0, limit=500)
    return {r.link for r in rows if r.notification.kind.endswith(kind_ends)}


# --- 1. a failed vote ---------------------------------------------------------------------------


def failing_vote(db: Database) -> tuple[f.HallWorld, dict[str, User], Issue, Ballot]:
    """A hall with three chairs (the vice also commented on the issue) and a resident who
    commented; the issue's residents' ballot is open and the resident has voted 不同意."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    people = {
        "chair": chair,
        "vice": f.make_chair(db, world, name="副主任"),
        "third": f.make_chair(db, world, name="委员"),
        "resident": f.make_member(db, world, household_index=0, chair=chair, name="居民")[0],
    }
    issue = f.make_deliberating_issue(db, world, chair)
    issue_id = issue.id or 0
    ih.comment(db, world, people["vice"], issue_id)
    ih.comment(db, world, people["resident"], issue_id)
    ih.close_deliberation(
        db, world, chair, issue_id, ih.solution(db, world, chair, issue_id).id or 0
    )
    ballot = ih.ballot(db, world, chair, issue_id)
    cast(db, world, people["resident"], ballot.id or 0, "no")
    return world, people, issue, ballot


CLOSE_KINDS = {"ballot_settle", "ballot_failed", "ballot_passed"}  # what closing it writes


def on_close(db: Database, user: User, issue: Issue) -> list[str]:
    return [k for k in notices_of(db, user, issue.id) if k in CLOSE_KINDS]


def test_a_failed_vote_asks_the_other_chairs_once(
    app: FastAPI, db: Database, make_client: Callable[[], Client]
) -> None:
    """The chair who closes it hears nothing; each other chair is asked to settle it, once (the
    vice, who also commented, is not also told it as a follower), with a link to the issue,
    whose page offers 去处理; the resident hears the result. Closing it again is refused and
    writes nothing; settling it asks no one again. (`app`: links.)"""
    world, people, issue, ballot = failing_vote(db)
    issue_id = issue.id or 0
    ih.close_ballot(db, world, people["chair"], ballot.id or 0)

    def about_it() -> dict[str, list[str]]:
        return {name: on_close(db, user, issue) for name, user in people.items()}

    asked = {
        "chair": [],
        "vice": ["ballot_settle"],
        "third": ["ballot_settle"],
        "resident": ["ballot_failed"],
    }
    assert about_it() == asked
    page = f"/halls/{world.hall.id}/issues/{issue_id}"
    for name in ("vice", "third"):
        assert links_of(db, people[name], "ballot_settle") == {page}
    client = make_client()
    client.login(people["third"].phone or "", f.PASSWORD)
    settle = f'href="/halls/{world.hall.id}/ballots/{ballot.id}">去处理：表决 未通过'
    assert settle in client.get(page).text
    with pytest.raises(Conflict):
        ih.close_ballot(db, world, people["vice"], ballot.id or 0)
    assert about_it() == asked
    with db.session() as s:
        vote_service.settle_failed(
            session=s,
            access=f.chair_access(db, world, people["third"]),
            actor=people["third"],
            ballot_id=ballot.id or 0,
            form=vote_schemas.FailedOutcomeForm(outcome="deliberate"),
        )
    assert about_it() == asked
    assert "去处理" not in client.get(page).text


def test_a_failed_vote_with_no_acting_chair_asks_every_chair(db: Database) -> None:
    """Closed by no one (as a scheduled close would: no actor), every chair is asked, the chair
    who opened the ballot too; the roll hears the result."""
    _, people, issue, ballot = failing_vote(db)
    with db.session() as s:
        told = closing._tell_failed(
            s, ballot, issue, None, heard={people["resident"].id or 0, people["vice"].id or 0}
        )
        s.commit()
    assert told == {u.id for u in people.values()}
    for name in ("chair", "vice", "third"):
        assert on_close(db, people[name], issue) == ["ballot_settle"], name
    assert on_close(db, people["resident"], issue) == ["ballot_failed"]


# --- 2 and 3. a late 吹哨 -------------------------------------------------------------------------


def run_overdue(db: Database, at: datetime) -> None:
    with frozen(at), db.session() as s:
        JOBS["escalations.overdue"].run(s, at)
        s.commit()


def join(db: Database, st: eh.Story, user: User, department: Department) -> None:
    with db.session() as s:
        esc_service.add_department_member(
            session=s,
            access=eh.street_access(st.world, st.admin),
            actor=st.admin,
            department_id=department.id or 0,
            form=esc_schemas.MemberForm(phone=user.phone or ""),
        )


def test_a_late_escalation_sends_a_chair_in_another_department_to_the_issue(
    app: FastAPI, db: Database, make_client: Callable[[], Client]
) -> None:
    """The vice chair is a member of the helper department (not the one dispatched), the chair
    of the helper and a third department: both are sent to the issue's 吹哨报到 card for the
    late 报到 (and for the 报到 itself, later), where this escalation is; the dispatched
    department's member to its 部门待办; the helper department's member hears nothing."""
    st = eh.story(db)
    vice = f.make_chair(db, st.world, name="副主任")
    third = eh.department(db, st.world, st.admin, f.unique("房管所"))
    join(db, st, vice, st.helper)
    join(db, st, st.chair, st.helper)
    join(db, st, st.chair, third)
    e = eh.dispatch(db, st.world, st.admin, eh.raise_on(db, st.world, st.chair, st.issue), st.lead)
    assert e.respond_due_at is not None
    run_overdue(db, e.respond_due_at + timedelta(minutes=1))
    card = f"/halls/{st.world.hall.id}/issues/{st.issue.id}#issue-{st.issue.id}-escalations"
    for chair in (vice, st.chair):
        assert notices_of(db, chair, st.issue.id) == ["escalation_respond_overdue"]
        assert links_of(db, chair, "_overdue") == {card}
    assert notices_of(db, st.lead_user, None) == [
        "escalation_dispatched",
        "escalation_respond_overdue",
    ]
    assert links_of(db, st.lead_user, "_overdue") == {f"/departments/{st.lead.id}/escalations"}
    assert links_of(db, st.admin, "_overdue") == {f"/streets/{st.world.street.id}/escalations"}
    assert notices_of(db, st.helper_user, None) == []
    eh.acknowledge(db, st.lead_user, st.lead, e)
    assert links_of(db, vice, "_acknowledged") == {card}
    client = make_client()
    client.login(vice.phone or "", f.PASSWORD)
    page = client.get(card.split("#")[0])
    assert page.status_code == 200
    assert f'id="issue-{st.issue.id}-escalations"' in page.text
    assert e.summary in page.text


def test_a_late_escalation_reaches_only_the_current_chairs(app: FastAPI, db: Database) -> None:
    """The chair who blew the whistle and then stepped down hears of neither the late 报到 nor
    the late 办结, nor of the 报到 itself; the hall's chairs now do, once each."""
    st = eh.story(db)
    vice = f.make_chair(db, st.world, name="副主任")
    e = eh.dispatch(db, st.world, st.admin, eh.raise_on(db, st.world, st.chair, st.issue), st.lead)
    mh.give_roles(db, st.world, vice, st.chair)  # no longer a chair of the hall
    with db.session(read_only=True) as s:
        assert hall_queries.chair_ids(s, hall_id=st.world.hall.id or 0) == {vice.id}
    assert e.respond_due_at is not None
    assert e.resolve_due_at is not None
    for _ in range(2):
        run_overdue(db, e.respond_due_at + timedelta(minutes=1))
    eh.acknowledge(db, st.lead_user, st.lead, e)
    for _ in range(2):
        run_overdue(db, e.resolve_due_at + timedelta(minutes=1))
    assert [k for k in notices_of(db, st.chair, st.issue.id) if k.endswith("_overdue")] == []
    assert "escalation_acknowledged" not in notices_of(db, st.chair, st.issue.id)
    assert "escalation_acknowledged" in notices_of(db, vice, st.issue.id)
    assert [k for k in notices_of(db, vice, st.issue.id) if k.endswith("_overdue")] == [
        "escalation_resolve_overdue",
        "escalation_respond_overdue",
    ]


def test_a_platform_admin_who_blew_the_whistle_hears_of_it(db: Database) -> None:
    """A platform admin may blow the whistle for a hall (can_raise): they hear of its 报到 with
    the hall's chair, though they are no chair of the hall."""
    st = eh.story(db)
    admin = st.world.admin
    with db.session() as s:
        e = esc_service.raise_escalation(
            session=s,
            access=HallAccess(
                user_id=admin.id, hall_id=st.world.hall.id or 0, is_platform_admin=True
            ),
            actor=admin,
            issue_id=st.issue.id or 0,
            form=esc_schemas.EscalationForm(
                category=WhistleCategory.DEMAND, urgency=Urgency.GENERAL, summary="路灯不亮"
            ),
        )
    e = eh.dispatch(db, st.world, st.admin, e, st.lead)
    eh.acknowledge(db, st.lead_user, st.lead, e)
    assert "escalation_acknowledged" in notices_of(db, admin, st.issue.id)
    assert "escalation_acknowledged" in notices_of(db, st.chair, st.issue.id)


def test_a_hall_without_a_chair_tells_the_one_who_blew_the_whistle(db: Database) -> None:
    """The chair blew the whistle and stepped down with no successor yet: someone on the hall's
    side still hears of the 报到 — the one who blew it."""
    st = eh.story(db)
    e = eh.dispatch(db, st.world, st.admin, eh.raise_on(db, st.world, st.chair, st.issue), st.lead)
    mh.give_roles(db, st.world, st.world.admin, st.chair)  # no chair role left
    with db.session(read_only=True) as s:
        assert hall_queries.chair_ids(s, hall_id=st.world.hall.id or 0) == set()
    eh.acknowledge(db, st.lead_user, st.lead, e)
    assert "escalation_acknowledged" in notices_of(db, st.chair, st.issue.id)
