"""Tasks (任务分工) of an issue 办理中, for the tests of app/tasks (issue #13)."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.accounts.models import User
from app.core import clock
from app.db import Database
from app.issues.models import Issue
from app.tasks import schemas, service
from app.tasks.models import PartyType, Task, TaskUpdate, TaskVolunteer
from tests import factories as f


def due_in(days: int) -> str:
    """A deadline `days` ahead, as the API types it (ISO 8601 with an offset)."""
    return (clock.now() + timedelta(days=days)).replace(microsecond=0).isoformat()


def task_form(**values: object) -> schemas.TaskForm:
    data: dict[str, object] = {
        "title": "更换3号楼路灯",
        "party_type": PartyType.PROPERTY,
        "party_name": "",
        "due_at": due_in(7),
    }
    data.update(values)
    return schemas.TaskPageForm.model_validate(data)


def add_task(db: Database, world: f.HallWorld, chair: User, issue: Issue, **values: object) -> Task:
    with db.session() as s:
        return service.add_task(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            issue_id=issue.id or 0,
            form=task_form(**values),
        )


def report(
    db: Database,
    world: f.HallWorld,
    who: User,
    task: Task,
    *,
    uploads: list[bytes] | None = None,
    **values: object,
) -> TaskUpdate:
    data: dict[str, object] = {"text": "已联系物业，材料已到"}
    data.update(values)
    with db.session() as s:
        return service.report_progress(
            session=s,
            access=f.member_access(db, world, who),
            actor=who,
            issue_id=task.issue_id,
            task_id=task.id or 0,
            form=schemas.UpdatePageForm.model_validate(data),
            uploads=uploads or [],
        )


def stored(db: Database, task: Task) -> Task:
    with db.session(read_only=True) as s:
        found = s.get(Task, task.id)
        assert found is not None
        return found


def due(task: Task) -> datetime:
    return task.due_at


def standing_task(
    db: Database, world: f.HallWorld, chair: User, issue_id: int, volunteer: User | None = None
) -> Task:
    """A 居民志愿者 task written straight to an issue of any stage (for the crawlers, which read
    every page of one standing issue), with `volunteer` on it if given."""
    with db.session() as s:
        task = Task(
            hall_id=world.hall.id or 0,
            issue_id=issue_id,
            title="清理楼道杂物",
            party_type=PartyType.VOLUNTEERS,
            due_at=clock.now() + timedelta(days=7),
            volunteer_cap=5,
            volunteer_count=1 if volunteer else 0,
            created_by_id=chair.id or 0,
        )
        s.add(task)
        s.flush()
        if volunteer is not None:
            s.add(
                TaskVolunteer(hall_id=task.hall_id, task_id=task.id or 0, user_id=volunteer.id or 0)
            )
        s.commit()
        s.refresh(task)
        return task
