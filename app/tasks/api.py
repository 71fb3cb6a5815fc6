"""JSON API for 任务分工 (民办): an issue's tasks with its progress, add a task, report and read
progress updates. The same services as the pages.

Photos are uploaded through the task page's form only (multipart); the JSON update carries
text, progress and status, and an update's `photo_urls` point at the page route that serves
its photos to whoever sees the hall."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict

from app.accounts.deps import CurrentUser
from app.core import clock, fields
from app.halls.deps import AccessDep
from app.issues.deps import IssueDep
from app.tasks import policies, progress, queries, schemas, service
from app.tasks.deps import TaskDep
from app.tasks.models import PartyType, TaskStatus
from app.web.deps import DbDep, SessionDep
from app.web.links import url
from app.web.openapi import errors, session_cookie
from app.web.routing import GuardedRoute

# Every operation is in a hall; writes may also answer 409 (the issue is not 办理中).
router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1/halls/{hall_id}/issues/{issue_id}",
    tags=["api"],
    dependencies=[Depends(session_cookie)],
    responses=errors(401, 403, 404, 422),
)

IdPath = Annotated[fields.Id, Path()]


class TaskPublic(BaseModel):
    """A task. `progress` is a whole percent; `days_overdue` is 0 unless the deadline has
    passed with the task not done (then the days begun since). Volunteers are named, never
    with a phone."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    issue_id: int
    title: str
    party_type: PartyType
    party_name: str
    responsible_user_id: int | None
    company_id: int | None
    helpers: str
    due_at: datetime
    status: TaskStatus
    blocked_reason: str
    progress: int
    weight: int
    is_milestone: bool
    volunteer_cap: int | None
    volunteer_count: int
    version: int
    days_overdue: int = 0
    volunteers: list[str] = []


class ProgressPublic(BaseModel):
    """The issue's progress: Σ(weight × progress) / Σ weight as an exact fraction
    (`numerator`/`denominator`, of a percent) and as `percent`, a whole percent rounded down."""

    tasks: int
    done: int
    percent: int
    numerator: int
    denominator: int

    @classmethod
    def of(cls, summary: progress.Summary) -> ProgressPublic:
        value = summary.progress
        return cls(
            tasks=summary.total,
            done=summary.done,
            percent=summary.percent,
            numerator=value.numerator,
            denominator=value.denominator,
        )


class TaskListPublic(BaseModel):
    progress: ProgressPublic
    tasks: list[TaskPublic]


class UpdatePublic(BaseModel):
    id: int
    task_id: int
    task_title: str
    is_milestone: bool
    author_name: str
    text: str
    progress: int | None
    status: TaskStatus | None
    created_at: datetime
    photo_urls: list[str]


class UpdateListPublic(BaseModel):
    updates: list[UpdatePublic]


def _task_list(db: DbDep, access: AccessDep, issue_id: int) -> TaskListPublic:
    with db.session(read_only=True) as session:
        rows = queries.list_tasks(session, hall_id=access.hall_id, issue_id=issue_id)
        volunteers = queries.list_volunteers(session, hall_id=access.hall_id, issue_id=issue_id)
    now = clock.now()
    tasks = []
    for row in rows:
        task = row.task
        public = TaskPublic.model_validate(task)
        public.days_overdue = progress.days_overdue(
            task.due_at, now, done=task.status == TaskStatus.DONE
        )
        public.volunteers = [v.name for v in volunteers if v.task_id == task.id]
        tasks.append(public)
    summary = queries.summary_of(r.task for r in rows)
    return TaskListPublic(progress=ProgressPublic.of(summary), tasks=tasks)


def _update_public(hall_id: int, row: queries.UpdateRow) -> UpdatePublic:
    u = row.update
    return UpdatePublic(
        id=u.id or 0,
        task_id=u.task_id,
        task_title=row.task_title,
        is_milestone=row.is_milestone,
        author_name=row.author_name,
        text=u.text,
        progress=u.progress,
        status=u.status,
        created_at=u.created_at,
        photo_urls=[
            url("tasks.photo", hall_id=hall_id, issue_id=u.issue_id, photo_id=p)
            for p in row.photo_ids
        ],
    )


@router.get("/tasks", name="api.tasks", response_model=TaskListPublic)
def list_tasks(db: DbDep, access: AccessDep, issue: IssueDep) -> TaskListPublic:
    """The issue's tasks (by deadline) and its progress (weighted, exact; shown rounded down)."""
    policies.require(policies.can_see(access))
    return _task_list(db, access, issue.id or 0)


@router.post(
    "/tasks",
    name="api.add_task",
    response_model=TaskPublic,
    status_code=201,
    responses=errors(409),
)
def add_task(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
    body: schemas.TaskForm,
) -> TaskPublic:
    """Add a task (the chair; the issue 办理中, else 409 `stage_action_not_allowed`).
    `due_at`: a date (the whole of that day, Beijing time) or ISO 8601; `weight` ≥ 1
    (default 1); `volunteer_cap` for a `volunteers` task. A `property` task is the hall's
    物业公司's (`company_id`, and its name when `party_name` is empty)."""
    task = service.add_task(
        session=session, access=access, actor=user, issue_id=issue.id or 0, form=body
    )
    return TaskPublic.model_validate(task)


@router.get("/tasks/{task_id}/updates", name="api.task_updates", response_model=UpdateListPublic)
def list_updates(
    session: SessionDep, access: AccessDep, issue: IssueDep, task: TaskDep
) -> UpdateListPublic:
    """The task's progress updates (进展), newest first (up to 50)."""
    policies.require(policies.can_see(access))
    rows = queries.list_updates(
        session, hall_id=access.hall_id, issue_id=issue.id or 0, task_id=task.id
    )
    return UpdateListPublic(updates=[_update_public(access.hall_id, r) for r in rows])


@router.post(
    "/tasks/{task_id}/updates",
    name="api.report_progress",
    response_model=UpdatePublic,
    status_code=201,
    responses=errors(409),
)
def report_progress(
    db: DbDep,
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
    task: TaskDep,
    body: schemas.UpdateForm,
) -> UpdatePublic:
    """A progress update by the chair or the task's responsible member: `text`, optionally
    `progress` (0–100) and `status` (`blocked` needs `blocked_reason`; `done` is 100; 100 is
    `done`). Photos: through the task page's form only."""
    row = service.report_progress(
        session=session,
        access=access,
        actor=user,
        issue_id=issue.id or 0,
        task_id=task.id or 0,
        form=body,
    )
    with db.session(read_only=True) as reading:  # the write session's transaction is over
        found = queries.list_updates(
            reading, hall_id=access.hall_id, issue_id=issue.id or 0, update_id=row.id
        )
    return _update_public(access.hall_id, found[0])
