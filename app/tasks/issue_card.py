"""The 民办 card of the issue page (tasks/_issue_card.html) and the 任务分工 page: the tasks
with their progress, overdue flags and volunteers, the issue's progress, and the timeline of
updates. Read here so the issue page need not reach into the tasks routes.

A fixed number of queries whatever the number of tasks: the tasks (1), their volunteers (1),
the updates with their photos (2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from app.core import clock
from app.halls.policies import HallAccess
from app.issues import lifecycle
from app.issues.lifecycle import Action
from app.issues.models import Issue
from app.tasks import policies, progress, queries
from app.tasks.models import PartyType, Task, TaskStatus

TIMELINE = 20


@dataclass(frozen=True)
class TaskView:
    """One task as shown: its row, how late it is, who volunteered, what the reader may do."""

    task: Task
    responsible_name: str | None
    days_overdue: int
    volunteers: list[str] = field(default_factory=list)
    claimed: bool = False
    can_claim: bool = False
    can_report: bool = False

    @property
    def places_left(self) -> int | None:
        cap = self.task.volunteer_cap
        return None if cap is None else max(0, cap - self.task.volunteer_count)


@dataclass(frozen=True)
class Card:
    issue: Issue
    tasks: list[TaskView]
    summary: progress.Summary
    updates: list[queries.UpdateRow]
    can_manage: bool  # the chair: add and edit tasks, the 任务分工表
    can_add: bool  # and the issue is 办理中
    open: bool  # 办理中: updates and 认领 are taken

    @property
    def all_done(self) -> bool:
        return self.summary.all_done


def task_view(
    access: HallAccess,
    row: queries.TaskRow,
    volunteers: list[queries.VolunteerRow],
    *,
    open_: bool,
) -> TaskView:
    task = row.task
    done = task.status == TaskStatus.DONE
    mine = [v for v in volunteers if v.task_id == task.id]
    claimed = any(v.user_id == access.user_id for v in mine)
    places = task.volunteer_cap is None or task.volunteer_count < task.volunteer_cap
    return TaskView(
        task=task,
        responsible_name=row.responsible_name,
        days_overdue=progress.days_overdue(task.due_at, clock.now(), done=done),
        volunteers=[v.name for v in mine],
        claimed=claimed,
        can_claim=open_
        and not done
        and task.party_type == PartyType.VOLUNTEERS
        and policies.can_volunteer(access)
        and not claimed
        and places,
        can_report=open_
        and policies.can_report(access, responsible_user_id=task.responsible_user_id),
    )


def issue_task_card(session: Session, access: HallAccess, issue: Issue) -> Card:
    """Everything the 民办 card and the 任务分工 page show."""
    hall_id, issue_id = access.hall_id, issue.id or 0
    rows = queries.list_tasks(session, hall_id=hall_id, issue_id=issue_id)
    volunteers = queries.list_volunteers(session, hall_id=hall_id, issue_id=issue_id)
    open_ = lifecycle.is_allowed(issue.stage, Action.REPORT_PROGRESS)
    manage = policies.can_manage(access)
    return Card(
        issue=issue,
        tasks=[task_view(access, row, volunteers, open_=open_) for row in rows],
        summary=queries.summary_of(row.task for row in rows),
        updates=queries.list_updates(session, hall_id=hall_id, issue_id=issue_id, limit=TIMELINE),
        can_manage=manage,
        can_add=manage and lifecycle.is_allowed(issue.stage, Action.ADD_TASK),
        open=open_,
    )


def issue_tasks_context(session: Session, access: HallAccess, issue: Issue) -> dict[str, Any]:
    """What tasks/_issue_card.html needs on the issue page."""
    return {"task_card": issue_task_card(session, access, issue)}
