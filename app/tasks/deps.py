"""The task in the path, scoped to the hall and issue in the path: 404 otherwise."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from app.core import fields
from app.core.errors import NotFound
from app.halls.deps import AccessDep
from app.tasks import queries
from app.tasks.models import Task
from app.web.deps import DbDep

Id = Annotated[fields.Id, Path()]


def get_task_or_404(db: DbDep, access: AccessDep, issue_id: Id, task_id: Id) -> Task:
    """Read through a read session of its own (as app/issues/deps.py): a POST's write
    transaction begins in its use case, which reads the task again, locked."""
    with db.session(read_only=True) as session:
        task = queries.get_task(session, hall_id=access.hall_id, issue_id=issue_id, task_id=task_id)
    if task is None:
        raise NotFound("not_found")
    return task


TaskDep = Annotated[Task, Depends(get_task_or_404)]
