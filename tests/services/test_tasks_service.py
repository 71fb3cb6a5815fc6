"""任务分工 (issue #13) on SQLite and PostgreSQL: adding and editing tasks (the chair, 办理中
only, a stale edit refused), progress updates (受阻 needs a reason, 已完成 is 100%, photos
without EXIF), the issue's weighted progress (exact, rounded down), 认领 with its cap, the
overdue job on both sides of the deadline, once per deadline, and every action audited."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from fractions import Fraction

import pytest
from PIL import Image
from sqlmodel import col, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.db import Database
from app.halls.models import PropertyCompany, StreetAdmin
from app.issues.models import Issue, Notification
from app.tasks import queries, schemas, service
from app.tasks.models import PartyType, Task, TaskPhoto, TaskStatus
from tests import factories as f
from tests import task_helpers as th
from tests.implementation_helpers import frozen, implementing_issue
from tests.web.issue_helpers import jpeg_with_exif


@pytest.fixture
def world(db: Database) -> f.HallWorld:
    return f.make_hall(db, buildings=1, entrances=1, rooms=4)


@pytest.fixture
def chair(db: Database, world: f.HallWorld) -> User:
    return f.make_chair(db, world)


@pytest.fixture
def issue(db: Database, world: f.HallWorld, chair: User) -> Issue:
    return implementing_issue(db, world, chair)


@pytest.fixture(autouse=True)
def _release_clock() -> Iterator[None]:
    yield
    clock.freeze(None)


def audit_actions(db: Database, hall_id: int) -> list[str]:
    with db.session(read_only=True) as s:
        return list(
            s.exec(
                select(AuditEvent.action)
                .where(AuditEvent.hall_id == hall_id, col(AuditEvent.action).startswith("tasks."))
                .order_by(col(AuditEvent.id))
            ).all()
        )


# --- adding and editing --------------------------------------------------------------------


def test_the_chair_adds_a_property_task_for_the_halls_company_and_it_is_audited(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    with db.session() as s:
        company = PropertyCompany(street_id=world.street.id or 0, name=f.unique("安居物业"))
        s.add(company)
        s.commit()
        s.refresh(company)
    f.set_hall_rules(db, world, property_company_id=company.id or 0)
    task = th.add_task(db, world, chair, issue, helpers="居委会", weight="3", is_milestone=True)
    assert (task.company_id, task.party_name) == (company.id, company.name)
    assert (task.weight, task.is_milestone, task.status, task.progress) == (
        3,
        True,
        TaskStatus.NOT_STARTED,
        0,
    )
    other = th.add_task(
        db, world, chair, issue, party_type=PartyType.COMMITTEE, party_name="张主任"
    )
    assert other.company_id is None
    assert other.weight == 1  # the default
    assert audit_actions(db, world.hall.id or 0) == ["tasks.add_task", "tasks.add_task"]


def test_a_task_is_checked_field_by_field(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    outsider = f.make_user(db, name="外人")
    with pytest.raises(ValidationFailed) as caught:
        th.add_task(
            db,
            world,
            chair,
            issue,
            title="",
            party_type="nobody",
            due_at=(clock.now() - timedelta(minutes=1)).isoformat(),
            weight="0",
            responsible_user_id=outsider.id,
        )
    assert caught.value.errors == {
        "title": "required",
        "party_type": "party_type_required",
        "due_at": "due_in_past",
        "weight": "weight_invalid",
        "responsible_user_id": "responsible_not_member",
    }
    with pytest.raises(ValidationFailed) as caught:
        th.add_task(db, world, chair, issue, due_at="明天", weight="二", title="x" * 81)
    assert caught.value.errors == {
        "title": "too_long",
        "due_at": "due_invalid",
        "weight": "weight_invalid",
    }
    with pytest.raises(ValidationFailed) as caught:
        th.add_task(db, world, chair, issue, party_type=PartyType.VOLUNTEERS, volunteer_cap="0")
    assert caught.value.errors == {"volunteer_cap": "cap_invalid"}
    # the weight's bounds, both sides
    assert th.add_task(db, world, chair, issue, weight="100").weight == 100
    with pytest.raises(ValidationFailed):
        th.add_task(db, world, chair, issue, weight="101")


def test_a_date_alone_is_due_at_the_end_of_that_day_in_beijing() -> None:
    due = schemas.parse_due("2026-12-20")
    assert due is not None
    assert due.isoformat() == "2026-12-21T00:00:00+08:00"


def test_only_the_chair_adds_tasks_and_only_in_implementing(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    resident, _ = f.make_member(db, world, chair=chair)
    with db.session() as s, pytest.raises(NotFound):
        service.add_task(
            session=s,
            access=f.member_access(db, world, resident),
            actor=resident,
            issue_id=issue.id or 0,
            form=th.task_form(),
        )
    early, _ = f.make_deciding_issue(db, world, chair)
    with pytest.raises(Conflict) as caught:
        th.add_task(db, world, chair, early)
    assert caught.value.code == "stage_action_not_allowed"


def test_a_stale_edit_is_refused_and_a_new_deadline_clears_the_overdue_notice(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    task = th.add_task(db, world, chair, issue)
    access = f.chair_access(db, world, chair)

    def edit(version: int, **values: object) -> Task:
        form = th.task_form(version=version, **values)
        with db.session() as s:
            return service.edit_task(
                session=s,
                access=access,
                actor=chair,
                issue_id=issue.id or 0,
                task_id=task.id or 0,
                form=form,
            )

    with db.session() as s:  # as if the overdue job had told the chairs
        row = s.get(Task, task.id)
        assert row is not None
        row.overdue_notified_at = clock.now()
        s.add(row)
        s.commit()
    edited = edit(1, title="更换全部路灯", due_at=task.due_at.isoformat())
    assert (edited.title, edited.version) == ("更换全部路灯", 2)
    assert edited.overdue_notified_at is not None  # the same deadline: still told
    with pytest.raises(Conflict) as caught:
        edit(1, title="旧页面上的修改")  # made on version 1
    assert caught.value.code == "task_changed"
    assert th.stored(db, task).title == "更换全部路灯"  # nothing of the other's lost
    moved = edit(2, title="更换全部路灯", due_at=th.due_in(20))
    assert moved.overdue_notified_at is None
    assert moved.version == 3
    assert audit_actions(db, world.hall.id or 0)[-1] == "tasks.edit_task"


# --- progress updates ------------------------------------------------------------------------


def test_blocked_needs_a_reason_done_is_full_and_full_is_done(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    task = th.add_task(db, world, chair, issue)
    with pytest.raises(ValidationFailed) as caught:
        th.report(db, world, chair, task, status="blocked")
    assert caught.value.errors == {"blocked_reason": "blocked_reason_required"}
    th.report(db, world, chair, task, status="blocked", blocked_reason="物业未回复")
    assert (th.stored(db, task).status, th.stored(db, task).blocked_reason) == (
        TaskStatus.BLOCKED,
        "物业未回复",
    )
    th.report(db, world, chair, task, progress="40")
    after = th.stored(db, task)
    assert (after.status, after.progress, after.blocked_reason) == (
        TaskStatus.BLOCKED,
        40,
        "物业未回复",
    )
    with pytest.raises(ValidationFailed) as caught:
        th.report(db, world, chair, task, progress="101")
    assert caught.value.errors == {"progress": "progress_invalid"}
    with pytest.raises(ValidationFailed) as caught:
        th.report(db, world, chair, task, status="in_progress", progress="100")
    assert caught.value.errors == {"progress": "full_is_done"}
    th.report(db, world, chair, task, status="in_progress", progress="99")
    assert th.stored(db, task).progress == 99
    th.report(db, world, chair, task, progress="100")
    done = th.stored(db, task)
    assert (done.status, done.progress) == (TaskStatus.DONE, 100)
    assert done.done_at is not None


def test_the_responsible_member_reports_progress_and_others_may_not(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    keeper, _ = f.make_member(db, world, chair=chair, name="李师傅")
    other, _ = f.make_member(db, world, household_index=1, chair=chair)
    task = th.add_task(db, world, chair, issue, responsible_user_id=keeper.id)
    update = th.report(db, world, keeper, task, status="done", text="已完工")
    assert (update.status, update.progress) == (TaskStatus.DONE, 100)
    with pytest.raises(NotFound):
        th.report(db, world, other, task)


def test_photos_are_stored_without_exif_and_at_most_six(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    task = th.add_task(db, world, chair, issue)
    update = th.report(db, world, chair, task, uploads=[jpeg_with_exif()] * 2)
    with db.session(read_only=True) as s:
        rows = s.exec(select(TaskPhoto).where(TaskPhoto.update_id == update.id)).all()
    assert len(rows) == 2
    for row in rows:
        assert b"TestCam" not in row.data
        assert not Image.open(io.BytesIO(row.data)).getexif()
    with pytest.raises(ValidationFailed) as caught:
        th.report(db, world, chair, task, uploads=[jpeg_with_exif()] * 7)
    assert caught.value.errors == {"photos": "too_many_photos"}
    with pytest.raises(ValidationFailed) as caught:
        th.report(db, world, chair, task, uploads=[b"not an image"])
    assert caught.value.errors == {"photos": "photo_invalid"}


def test_the_issue_progress_is_the_weighted_mean_rounded_down(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    tasks = [th.add_task(db, world, chair, issue, title=f"任务{i}") for i in range(3)]
    th.report(db, world, chair, tasks[0], status="done")
    th.report(db, world, chair, tasks[1], status="done")
    with db.session(read_only=True) as s:
        rows = queries.list_tasks(s, hall_id=world.hall.id or 0, issue_id=issue.id or 0)
        summary = queries.summary_of(r.task for r in rows)
        assert queries.open_task_count(s, world.hall.id or 0, issue.id or 0) == 1
        home = queries.implementing_progress(s, hall_id=world.hall.id or 0)
    assert (summary.total, summary.done) == (3, 2)
    assert summary.progress == Fraction(200, 3)
    assert summary.percent == 66  # never 67: it would overstate
    assert [(r.issue_id, r.summary) for r in home] == [(issue.id, summary)]
    th.report(db, world, chair, tasks[2], status="done")
    with db.session(read_only=True) as s:
        assert queries.open_task_count(s, world.hall.id or 0, issue.id or 0) == 0


# --- 认领 ------------------------------------------------------------------------------------


def test_volunteers_claim_up_to_the_cap_once_each_and_may_withdraw(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    task = th.add_task(db, world, chair, issue, party_type=PartyType.VOLUNTEERS, volunteer_cap="2")
    people = [f.make_member(db, world, household_index=i, chair=chair)[0] for i in range(3)]

    def claim(user: User) -> None:
        with db.session() as s:
            service.claim_task(
                session=s,
                access=f.member_access(db, world, user),
                actor=user,
                issue_id=issue.id or 0,
                task_id=task.id or 0,
            )

    claim(people[0])
    with pytest.raises(Conflict) as caught:
        claim(people[0])
    assert caught.value.code == "already_claimed"
    claim(people[1])
    with pytest.raises(Conflict) as caught:
        claim(people[2])
    assert caught.value.code == "volunteers_full"
    assert th.stored(db, task).volunteer_count == 2
    with db.session() as s:
        service.withdraw_claim(
            session=s,
            access=f.member_access(db, world, people[0]),
            actor=people[0],
            issue_id=issue.id or 0,
            task_id=task.id or 0,
        )
    claim(people[2])  # the place given back is taken
    with db.session(read_only=True) as s:
        names = queries.list_volunteers(s, hall_id=world.hall.id or 0, issue_id=issue.id or 0)
    assert sorted(v.user_id for v in names) == sorted([people[1].id or 0, people[2].id or 0])
    assert th.stored(db, task).volunteer_count == 2
    other = th.add_task(db, world, chair, issue)
    with db.session() as s, pytest.raises(Conflict) as caught:
        service.claim_task(
            session=s,
            access=f.member_access(db, world, people[0]),
            actor=people[0],
            issue_id=issue.id or 0,
            task_id=other.id or 0,
        )
    assert caught.value.code == "not_volunteer_task"
    assert audit_actions(db, world.hall.id or 0).count("tasks.claim_task") == 3


# --- the overdue job -------------------------------------------------------------------------


def notices(db: Database, issue: Issue) -> list[tuple[int, str]]:
    with db.session(read_only=True) as s:
        rows = s.exec(
            select(Notification.user_id, Notification.kind).where(
                Notification.issue_id == issue.id, Notification.kind == "task_overdue"
            )
        ).all()
    return sorted((u, k) for u, k in rows)


def run_job(db: Database, world: f.HallWorld) -> list[Task]:
    with db.session() as s:
        told = service.notify_overdue(session=s, now=clock.now())
        s.commit()
    return [t for t in told if t.hall_id == world.hall.id]


def test_the_overdue_job_tells_chairs_and_street_officials_once_per_deadline(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    official = f.make_user(db, name="街道干部")
    with db.session() as s:
        s.add(StreetAdmin(street_id=world.street.id or 0, user_id=official.id or 0))
        s.commit()
    task = th.add_task(db, world, chair, issue)
    finished = th.add_task(db, world, chair, issue, title="已完成的")
    th.report(db, world, chair, finished, status="done")
    with frozen(task.due_at - timedelta(seconds=1)):
        assert run_job(db, world) == []  # one second before: not overdue
    assert notices(db, issue) == []
    with frozen(task.due_at):
        assert [t.id for t in run_job(db, world)] == [task.id]  # at the deadline: overdue
        assert run_job(db, world) == []  # a second run does nothing
    told = sorted([(chair.id or 0, "task_overdue"), (official.id or 0, "task_overdue")])
    assert notices(db, issue) == told
    with db.session(read_only=True) as s:
        events = s.exec(
            select(AuditEvent.data).where(
                AuditEvent.action == "tasks.notify_overdue", AuditEvent.subject_id == task.id
            )
        ).all()
    assert [json.loads(e)["told"] for e in events] == [2]
    # a new deadline: told again once that one passes
    with db.session() as s:
        service.edit_task(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            issue_id=issue.id or 0,
            task_id=task.id or 0,
            form=th.task_form(version=1, due_at=th.due_in(30)),
        )
    moved = th.stored(db, task)
    with frozen(moved.due_at + timedelta(days=1)):
        assert [t.id for t in run_job(db, world)] == [task.id]
    assert len(notices(db, issue)) == 4


@pytest.mark.parametrize(
    "typed", ["2026-12-20", "2026-12-20T18:30", "2026-12-20T18:30:15", "2026-12-20T00:00:01"]
)
def test_a_deadline_reads_back_from_the_edit_form_to_the_same_instant(typed: str) -> None:
    due = schemas.parse_due(typed)
    assert due is not None
    assert schemas.typed_due(due) == typed
    assert schemas.parse_due(schemas.typed_due(due)) == due


# --- the second reading's findings -----------------------------------------------------------


def test_a_note_on_a_finished_task_keeps_the_day_it_was_finished(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    """三率's 按期办结 and the 结果公示 read done_at: a later note must not move it."""
    task = th.add_task(db, world, chair, issue)
    start = clock.now()
    with frozen(start + timedelta(days=1)):
        th.report(db, world, chair, task, text="完工", status="done")
    finished = th.stored(db, task).done_at
    assert finished == start + timedelta(days=1)
    with frozen(start + timedelta(days=30)):  # after the deadline: a photo of the result
        th.report(db, world, chair, task, text="补一张完工照片")
    again = th.stored(db, task)
    assert again.status == TaskStatus.DONE
    assert again.done_at == finished
    with frozen(start + timedelta(days=31)):  # set back: no longer done, no date
        th.report(db, world, chair, task, text="验收发现问题", progress="80")
    assert th.stored(db, task).done_at is None


def test_giving_a_place_back_twice_takes_one_off_the_count(
    db: Database, world: f.HallWorld, chair: User, issue: Issue
) -> None:
    task = th.add_task(db, world, chair, issue, party_type=PartyType.VOLUNTEERS, volunteer_cap="3")
    people = [f.make_member(db, world, household_index=i, chair=chair)[0] for i in range(2)]
    for person in people:
        with db.session() as s:
            service.claim_task(
                session=s,
                access=f.member_access(db, world, person),
                actor=person,
                issue_id=issue.id or 0,
                task_id=task.id or 0,
            )

    def give_back() -> None:
        with db.session() as s:
            service.withdraw_claim(
                session=s,
                access=f.member_access(db, world, people[0]),
                actor=people[0],
                issue_id=issue.id or 0,
                task_id=task.id or 0,
            )

    give_back()
    with pytest.raises(Conflict) as caught:
        give_back()
    assert caught.value.code == "not_claimed"
    assert th.stored(db, task).volunteer_count == 1  # the other volunteer's place stays


@pytest.mark.parametrize("typed", ["9999-12-31", "9999-12-31T23:00:00-12:00", "0001-01-01"])
def test_a_deadline_no_calendar_can_hold_is_refused_next_to_its_field(
    db: Database, world: f.HallWorld, chair: User, issue: Issue, typed: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        th.add_task(db, world, chair, issue, due_at=typed)
    assert caught.value.errors["due_at"] in {"due_invalid", "due_in_past", "due_too_far"}
