"""Reads for 任务分工: an issue's tasks, their updates and volunteers, and issue progress."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from app.tasks.models import Task, TaskStatus


def open_task_count(session: Session, hall_id: int, issue_id: int) -> int:
    """How many of the issue's tasks are not 已完成 (0 when it has none: check `task_count`)."""
    found = session.exec(
        select(func.count())
        .select_from(Task)
        .where(
            Task.hall_id == hall_id,
            Task.issue_id == issue_id,
            col(Task.status) != TaskStatus.DONE,
        )
    ).one()
    return int(found)


def task_count(session: Session, hall_id: int, issue_id: int) -> int:
    """How many tasks the issue has."""
    found = session.exec(
        select(func.count())
        .select_from(Task)
        .where(Task.hall_id == hall_id, Task.issue_id == issue_id)
    ).one()
    return int(found)
