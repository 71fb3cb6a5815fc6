"""Edges of the notices (issue #14) found by a second reading, both databases: the 公示 job tells
the objectors as the chair's button does; a merge that takes its target to review tells a
carried co-signer once; hiding a hidden comment again for the same reason tells its author
nothing new; a member of two departments of one street is sent home, where both inboxes are; a
meeting's notices name their meeting (and only one of its hall), those written before they did
go to the hall's meeting list; a failed 协商一致 asks the hall's other chairs to settle it, once,
and tells its followers; a late 报到 / 办结 reaches the chair who blew the whistle, once each; an issue
entered for a resident asks the hall's other chairs to review it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from app.db import Database
from app.escalations import schemas as esc_schemas
from app.escalations import service as esc_service
from app.issues import notices
from app.issues import queries as issue_queries
from app.issues import schemas as issue_schemas
from app.issues import service as issue_service
from app.issues.models import Notification
from app.jobs import runner
from app.jobs.registry import JOBS
from app.voting import schemas as vote_schemas
from app.voting import service as vote_service
from tests import escalation_helpers as eh
from tests import factories as f
from tests import meeting_helpers as mh
from tests.conftest import Client
from tests.implementation_helpers import frozen
from tests.jobs_helpers import object_to, publicizing_issue
from tests.web import issue_helpers as ih


@pytest.fixture
def fresh_db(fresh_database_url: str) -> Iterator[Database]:
    """A database of its own: the 公示 job looks at every hall's issues."""
    database = Database.connect(fresh_database_url)
    yield database
    database.dispose()


def kinds_of(db: Database, user_id: int | None, issue_id: int | None = None) -> list[str]:
    with db.session(read_only=True) as s:
        query = select(Notification.kind).where(Notification.user_id == user_id)
        if issue_id is not None:
            query = query.where(Notification.issue_id == issue_id)
        return sorted(s.exec(query).all())


def test_the_publicity_job_tells_the_objector_where_the_issue_went(fresh_db: Database) -> None:
    db = fresh_db
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    objector = f.make_member(db, world, household_index=1, chair=chair, name="异议人")[0]
    issue, resolution = publicizing_issue(db, world, chair)
    object_to(db, world, objector, issue, answer_by=chair, upheld=False)
    assert "stage:implementing" not in kinds_of(db, objector.id, issue.id)
    assert resolution.publicity_ends_at is not None
    with frozen(resolution.publicity_ends_at + timedelta(seconds=1)):
        (run,) = runner.run_once(db, jobs=[JOBS["publicity.end_due"]])
    assert (run.status, run.count) == ("ran", 1)
    assert kinds_of(db, objector.id, issue.id).count("stage:implementing") == 1


def test_a_merge_that_reaches_the_threshold_tells_a_carried_cosigner_once(db: Database) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=6)
    chair = f.make_chair(db, world)
    f.set_hall_rules(db, world, cosign_threshold=2)
    a = f.make_member(db, world, household_index=0, chair=chair, name="甲")[0]
    b = f.make_member(db, world, household_index=1, chair=chair, name="乙")[0]
    c = f.make_member(db, world, household_index=2, chair=chair, name="丙")[0]
    target = ih.propose(db, world, a, title="北门增设车棚")
    ih.cosign(db, world, b, target.id or 0)  # 1 of 2
    duplicate = ih.propose(db, world, b, title="北门车棚")
    ih.cosign(db, world, c, duplicate.id or 0)
    with db.session() as s:
        issue_service.merge_issue(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            issue_id=duplicate.id or 0,
            form=issue_schemas.MergeForm(target_id=target.id or 0),
        )
    # c's co-signature is carried: 2 of 2, the target goes to review; c hears of it once
    assert kinds_of(db, c.id, target.id) == ["merged"]
    assert "stage:under_review" in kinds_of(db, a.id, target.id)  # its proposer, as ever


def test_hiding_a_hidden_comment_again_tells_its_author_nothing_new(db: Database) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    author = f.make_member(db, world, household_index=0, chair=chair, name="作者")[0]
    issue = ih.deliberating(db, world, chair)
    said = ih.comment(db, world, author, issue.id or 0)

    def hide(reason: str) -> None:
        with db.session() as s:
            issue_service.hide_comment(
                session=s,
                access=f.chair_access(db, world, chair),
                actor=chair,
                comment_id=said.id or 0,
                form=issue_schemas.ReasonForm(reason=reason),
            )

    hide("离题")
    hide("离题")  # a double submit
    assert kinds_of(db, author.id, issue.id).count("comment_hidden") == 1
    hide("人身攻击")  # a new reason is news
    assert kinds_of(db, author.id, issue.id).count("comment_hidden") == 2


def test_a_member_of_two_departments_of_the_street_is_sent_home(app: FastAPI, db: Database) -> None:
    """(`app`: the links are the app's routes, registered when it is made.)"""
    st = eh.story(db)
    both = f.make_user(db, name="两科兼职")
    for dep in (st.lead, st.helper):
        with db.session() as s:
            esc_service.add_department_member(
                session=s,
                access=eh.street_access(st.world, st.admin),
                actor=st.admin,
                department_id=dep.id or 0,
                form=esc_schemas.MemberForm(phone=both.phone or ""),
            )
    e = eh.raise_on(db, st.world, st.chair, st.issue)
    eh.dispatch(db, st.world, st.admin, e, st.helper)  # the second department (higher id)
    with db.session(read_only=True) as s:
        mine = issue_queries.list_notifications(s, user_id=both.id or 0)
        theirs = issue_queries.list_notifications(s, user_id=st.helper_user.id or 0)
    (dispatched,) = [r for r in mine if r.notification.kind == "escalation_dispatched"]
    assert dispatched.link == "/"  # home lists both inboxes; never the wrong one
    (single,) = [r for r in theirs if r.notification.kind == "escalation_dispatched"]
    assert single.link == f"/departments/{st.helper.id}/escalations"


def test_a_meetings_notices_name_it_and_the_old_ones_go_to_the_list(
    app: FastAPI, db: Database
) -> None:
    """(`app`: the links are the app's routes.)"""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    recorder = f.make_member(db, world, household_index=0, chair=chair, name="记录人")[0]
    meeting = mh.schedule(db, world, chair, mh.form(recorder_id=recorder.id))
    mh.cancel(db, world, chair, meeting)
    hall_id = world.hall.id or 0
    with db.session(read_only=True) as s:
        mine = issue_queries.list_notifications(s, user_id=recorder.id or 0)
    assert sorted(r.notification.kind for r in mine) == ["meeting_cancelled", "meeting_scheduled"]
    assert {r.notification.meeting_id for r in mine} == {meeting.id}
    assert {r.link for r in mine} == {f"/halls/{hall_id}/meetings/{meeting.id}"}
    # A notice written before notices named their meeting: the hall's list still shows it.
    with db.session() as s:
        s.add(
            Notification(
                hall_id=hall_id, user_id=recorder.id or 0, kind="meeting_agenda", text="旧"
            )
        )
        s.commit()
    with db.session(read_only=True) as s:
        (old,) = [
            r
            for r in issue_queries.list_notifications(s, user_id=recorder.id or 0)
            if r.notification.text == "旧"
        ]
    assert old.link == f"/halls/{hall_id}/meetings"


def test_a_meeting_notice_needs_its_meeting_of_its_own_hall(db: Database) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    other = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    theirs = mh.schedule(db, other, f.make_chair(db, other))
    hall_id = world.hall.id or 0
    with db.session() as s, pytest.raises(notices.UnknownNotice):
        notices.send(s, hall_id=hall_id, user_ids=[chair.id], kind="meeting_cancelled", text="x")
    with db.session() as s:
        notices.send(
            s,
            hall_id=hall_id,
            user_ids=[chair.id],
            kind="meeting_cancelled",
            text="x",
            meeting_id=theirs.id,
        )
        with pytest.raises(IntegrityError):
            s.flush()  # the composite key: another hall's meeting is not this hall's
        s.rollback()


def test_a_failed_consensus_asks_the_other_chairs_once_and_tells_the_followers(
    db: Database, make_client: Callable[[], Client]
) -> None:
    """The chair who records it hears nothing (though they entered the issue); a chair who also
    commented is asked to settle it, once, not also told it as a follower; once settled, the
    issue page no longer asks."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = f.make_chair(db, world)
    vice = f.make_chair(db, world, name="副主任")
    member = f.make_member(db, world, household_index=0, chair=chair, name="评论人")[0]
    issue = f.make_deliberating_issue(db, world, chair)
    issue_id = issue.id or 0
    ih.comment(db, world, vice, issue_id)
    ih.comment(db, world, member, issue_id)
    ih.close_deliberation(
        db, world, chair, issue_id, ih.solution(db, world, chair, issue_id).id or 0
    )
    made = ih.ballot(db, world, chair, issue_id, rule="consensus", opened=False)
    with db.session() as s:
        vote_service.record_consensus(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=made.id or 0,
            form=vote_schemas.ConsensusForm(passed=False, text="费用分摊谈不拢"),
        )

    def about_it(user_id: int | None) -> list[str]:
        return [k for k in kinds_of(db, user_id, issue_id) if k.startswith("consensus")]

    assert about_it(chair.id) == []
    assert about_it(vice.id) == ["consensus_settle"]
    assert about_it(member.id) == ["consensus_failed"]
    client = make_client()
    client.login(vice.phone or "", f.PASSWORD)
    page = f"/halls/{world.hall.id}/issues/{issue_id}"
    assert f'href="/halls/{world.hall.id}/ballots/{made.id}">去处理' in client.get(page).text
    with db.session() as s:
        vote_service.settle_failed(
            session=s,
            access=f.chair_access(db, world, vice),
            actor=vice,
            ballot_id=made.id or 0,
            form=vote_schemas.FailedOutcomeForm(outcome="deliberate"),
        )
    assert "去处理" not in client.get(page).text
    assert about_it(vice.id) == ["consensus_settle"]  # settling it tells no one again


def test_overdue_tells_the_whistling_chair_once_per_deadline(app: FastAPI, db: Database) -> None:
    """The chair who blew the whistle hears of the late 报到 and, separately, of the late 办结,
    each once however often the job runs, at the issue page's 吹哨报到 card; a chair who is
    also in the department hears it once, as a member (in the 部门待办). (`app`: links.)"""
    st = eh.story(db)
    other = f.make_chair(db, st.world, name="副主任")
    with db.session() as s:
        esc_service.add_department_member(
            session=s,
            access=eh.street_access(st.world, st.admin),
            actor=st.admin,
            department_id=st.lead.id or 0,
            form=esc_schemas.MemberForm(phone=other.phone or ""),
        )
    e = eh.dispatch(db, st.world, st.admin, eh.raise_on(db, st.world, st.chair, st.issue), st.lead)
    assert e.respond_due_at is not None
    assert e.resolve_due_at is not None

    def run_at(at: datetime) -> None:
        with frozen(at), db.session() as s:
            JOBS["escalations.overdue"].run(s, at)
            s.commit()

    def overdue(user_id: int | None) -> list[str]:
        return [k for k in kinds_of(db, user_id, st.issue.id) if k.endswith("_overdue")]

    for _ in range(2):
        run_at(e.respond_due_at + timedelta(minutes=1))
    assert overdue(st.chair.id) == ["escalation_respond_overdue"]
    for _ in range(2):
        run_at(e.resolve_due_at + timedelta(minutes=1))
    assert overdue(st.chair.id) == ["escalation_resolve_overdue", "escalation_respond_overdue"]
    assert overdue(other.id) == []  # not as a chair: a member's notice names no issue
    with db.session(read_only=True) as s:
        chairs = issue_queries.list_notifications(s, user_id=st.chair.id or 0)
        members = issue_queries.list_notifications(s, user_id=other.id or 0)
    card = f"/halls/{st.world.hall.id}/issues/{st.issue.id}#issue-{st.issue.id}-escalations"
    assert {r.link for r in chairs if r.notification.kind.endswith("_overdue")} == {card}
    late = [r for r in members if r.notification.kind.endswith("_overdue")]
    assert sorted(r.notification.kind for r in late) == [
        "escalation_resolve_overdue",
        "escalation_respond_overdue",
    ]
    assert {r.link for r in late} == {f"/departments/{st.lead.id}/escalations"}


def test_an_issue_entered_for_a_resident_asks_only_the_other_chairs(db: Database) -> None:
    """The chair who entered it is not asked to review it; the hall's only chair: no one is;
    another chair: once (accepting it then tells them nothing more about review)."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    alone = ih.enter(db, world, chair, title="独自代录")
    assert kinds_of(db, chair.id, alone.id) == []
    other = f.make_chair(db, world, name="副主任")
    issue = ih.enter(db, world, chair, title="电话反映路灯坏了")
    assert kinds_of(db, chair.id, issue.id) == []
    assert kinds_of(db, other.id, issue.id) == ["review_needed"]
    ih.accept(db, world, chair, issue.id or 0)
    assert kinds_of(db, other.id, issue.id) == ["review_needed"]
