"""Reads for 任务分工: an issue's tasks, their updates and volunteers, and issue progress."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.issues.lifecycle import Stage
from app.issues.models import Issue
from app.tasks import progress
from app.tasks.models import Task, TaskPhoto, TaskStatus, TaskUpdate, TaskVolunteer

PAGE = 50


@dataclass(frozen=True)
class TaskCounts:
    total: int
    open: int  # not 已完成


def task_counts(session: Session, *, hall_id: int, issue_id: int) -> TaskCounts:
    """How many tasks the issue has and how many are not done (one statement): 开启民评 needs
    at least one and none open."""
    total, open_ = session.exec(
        select(
            func.count(),
            func.count().filter(col(Task.status) != TaskStatus.DONE),
        ).where(Task.hall_id == hall_id, Task.issue_id == issue_id)
    ).one()
    return TaskCounts(int(total), int(open_))


def open_task_count(session: Session, hall_id: int, issue_id: int) -> int:
    """How many of the issue's tasks are not 已完成 (0 when it has none: see `task_counts`)."""
    return task_counts(session, hall_id=hall_id, issue_id=issue_id).open


# --- an issue's tasks -----------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    task: Task
    responsible_name: str | None  # the hall member responsible, if one is named


@dataclass(frozen=True)
class UpdateRow:
    update: TaskUpdate
    task_title: str
    is_milestone: bool
    author_name: str
    photo_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class VolunteerRow:
    task_id: int
    user_id: int
    name: str


@dataclass(frozen=True)
class HomeRow:
    """A 办理中 issue on the hall home, with its tasks in short."""

    issue_id: int
    title: str
    summary: progress.Summary


def get_task(
    session: Session, *, hall_id: int, issue_id: int, task_id: int, lock: bool = False
) -> Task | None:
    query = select(Task).where(
        Task.id == task_id, Task.hall_id == hall_id, Task.issue_id == issue_id
    )
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def list_tasks(session: Session, *, hall_id: int, issue_id: int) -> list[TaskRow]:
    """The issue's tasks, by deadline then as added (one query)."""
    rows = session.exec(
        select(Task, User.name)
        .outerjoin(User, col(User.id) == Task.responsible_user_id)
        .where(Task.hall_id == hall_id, Task.issue_id == issue_id)
        .order_by(col(Task.due_at), col(Task.id))
    ).all()
    return [TaskRow(task, name) for task, name in rows]


def summary_of(tasks: Iterable[Task]) -> progress.Summary:
    return progress.summarize((t.weight, t.progress, t.status == TaskStatus.DONE) for t in tasks)


def list_updates(
    session: Session,
    *,
    hall_id: int,
    issue_id: int,
    task_id: int | None = None,
    update_id: int | None = None,
    limit: int = PAGE,
) -> list[UpdateRow]:
    """The progress updates (进展), newest first, with their photos' ids (two queries)."""
    query = (
        select(TaskUpdate, Task.title, Task.is_milestone, User.name)
        .join(Task, (col(Task.id) == TaskUpdate.task_id) & (col(Task.hall_id) == hall_id))
        .join(User, col(User.id) == TaskUpdate.author_id)
        .where(TaskUpdate.hall_id == hall_id, TaskUpdate.issue_id == issue_id)
    )
    if task_id is not None:
        query = query.where(TaskUpdate.task_id == task_id)
    if update_id is not None:
        query = query.where(TaskUpdate.id == update_id)
    found = session.exec(
        query.order_by(col(TaskUpdate.created_at).desc(), col(TaskUpdate.id).desc()).limit(limit)
    ).all()
    ids = [u.id for u, *_ in found if u.id is not None]
    photos: dict[int, list[int]] = {}
    if ids:
        for photo_id, update_id in session.exec(
            select(TaskPhoto.id, TaskPhoto.update_id)
            .where(TaskPhoto.hall_id == hall_id, col(TaskPhoto.update_id).in_(ids))
            .order_by(col(TaskPhoto.id))
        ).all():
            photos.setdefault(update_id, []).append(photo_id or 0)
    return [
        UpdateRow(u, title, milestone, name, photos.get(u.id or 0, []))
        for u, title, milestone, name in found
    ]


def list_volunteers(session: Session, *, hall_id: int, issue_id: int) -> list[VolunteerRow]:
    """Who 认领 the issue's tasks (names only: never a phone), as they came (one query)."""
    rows = session.exec(
        select(TaskVolunteer.task_id, TaskVolunteer.user_id, User.name)
        .join(Task, (col(Task.id) == TaskVolunteer.task_id) & (col(Task.hall_id) == hall_id))
        .join(User, col(User.id) == TaskVolunteer.user_id)
        .where(TaskVolunteer.hall_id == hall_id, Task.issue_id == issue_id)
        .order_by(col(TaskVolunteer.id))
    ).all()
    return [VolunteerRow(t, u, n) for t, u, n in rows]


def get_photo(session: Session, *, hall_id: int, issue_id: int, photo_id: int) -> TaskPhoto | None:
    return session.exec(
        select(TaskPhoto)
        .join(
            TaskUpdate,
            (col(TaskUpdate.id) == TaskPhoto.update_id)
            & (col(TaskUpdate.hall_id) == TaskPhoto.hall_id),
        )
        .where(
            TaskPhoto.id == photo_id,
            TaskPhoto.hall_id == hall_id,
            TaskUpdate.issue_id == issue_id,
        )
    ).first()


def implementing_progress(session: Session, *, hall_id: int) -> list[HomeRow]:
    """The hall's 办理中 issues with their tasks summed up: one query for all of them."""
    done = sa.case((col(Task.status) == TaskStatus.DONE, 1), else_=0)
    rows = session.execute(
        sa.select(
            col(Issue.id),
            col(Issue.title),
            func.count(col(Task.id)),
            func.coalesce(func.sum(done), 0),
            func.coalesce(func.sum(col(Task.weight) * col(Task.progress)), 0),
            func.coalesce(func.sum(col(Task.weight)), 0),
        )
        .outerjoin(Task, (col(Task.issue_id) == Issue.id) & (col(Task.hall_id) == Issue.hall_id))
        .where(col(Issue.hall_id) == hall_id, col(Issue.stage) == Stage.IMPLEMENTING)
        .group_by(col(Issue.id), col(Issue.title))
        .order_by(col(Issue.id).desc())
        .limit(PAGE)
    ).all()
    return [
        HomeRow(
            issue_id or 0,
            title,
            progress.from_sums(
                total=int(total), done=int(n_done), weighted_sum=int(ws), weight_sum=int(w)
            ),
        )
        for issue_id, title, total, n_done, ws, w in rows
    ]


def overdue_tasks(session: Session, *, now: datetime, limit: int = 500) -> list[Task]:
    """Tasks past their deadline, not done, of issues 办理中, whose chairs have not been told
    about this deadline yet (the overdue job)."""
    return list(
        session.exec(
            select(Task)
            .join(Issue, (col(Issue.id) == Task.issue_id) & (col(Issue.hall_id) == Task.hall_id))
            .where(
                col(Task.due_at) <= now,
                col(Task.status) != TaskStatus.DONE,
                col(Task.overdue_notified_at).is_(None),
                Issue.stage == Stage.IMPLEMENTING,
            )
            .order_by(col(Task.id))
            .limit(limit)
        ).all()
    )
