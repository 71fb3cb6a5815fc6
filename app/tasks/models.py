"""任务分工: the tasks a passed decision is carried out by, their progress and volunteers.

Every row carries its hall, and composite foreign keys keep a task inside its issue and hall, an
update inside its task, a volunteer inside its task (AUTHZ-02).

- `progress` is a whole percentage 0–100 (CHECK); the issue's progress is the mean of its tasks'
  progress weighted by `weight` (app.tasks.progress, exact).
- 受阻 needs a reason (CHECK). 已完成 means progress 100 (CHECK).
- Volunteers (认领): one row per person and task (UNIQUE), and `volunteer_count` is kept in step in
  the same transaction with `volunteer_count <= volunteer_cap` as a CHECK, so two residents
  racing for the last place cannot both get it, on either database.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.types import Int64, str_enum


class PartyType(StrEnum):
    """Who carries a task out (issue #13)."""

    COMMITTEE = "committee"  # 居委会
    PROPERTY = "property"  # 物业
    OWNERS_COMMITTEE = "owners_committee"  # 业委会
    VOLUNTEERS = "volunteers"  # 居民志愿者
    STREET_OFFICE = "street_office"  # 街道科室
    DEPARTMENT = "department"  # 职能部门
    UNIT = "unit"  # 驻区单位


class TaskStatus(StrEnum):
    NOT_STARTED = "not_started"  # 未开始
    IN_PROGRESS = "in_progress"  # 进行中
    BLOCKED = "blocked"  # 受阻 (with a reason)
    DONE = "done"  # 已完成


class Task(SQLModel, table=True):
    __tablename__ = "task"
    __table_args__ = (
        sa.UniqueConstraint("id", "hall_id"),
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_percent"),
        sa.CheckConstraint("weight >= 1", name="weight_positive"),
        sa.CheckConstraint(
            "status <> 'blocked' OR blocked_reason <> ''", name="blocked_has_reason"
        ),
        sa.CheckConstraint("status <> 'done' OR progress = 100", name="done_is_complete"),
        sa.CheckConstraint("volunteer_cap IS NULL OR volunteer_cap >= 1", name="cap_positive"),
        sa.CheckConstraint(
            "volunteer_count >= 0 AND (volunteer_cap IS NULL OR volunteer_count <= volunteer_cap)",
            name="volunteers_within_cap",
        ),
        sa.Index("ix_task_issue", "issue_id", "id"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    issue_id: int = Field(sa_type=Int64)
    title: str = Field(max_length=80)
    party_type: PartyType = Field(sa_type=str_enum(PartyType))
    party_name: str = Field(default="", max_length=60)  # the responsible person or organisation
    responsible_user_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    department_id: int | None = Field(sa_type=Int64, default=None, foreign_key="department.id")
    company_id: int | None = Field(
        sa_type=Int64, default=None, foreign_key="property_company.id", index=True
    )
    helpers: str = Field(default="", max_length=200)  # 协办: free text
    due_at: datetime = Field(index=True)
    status: TaskStatus = Field(default=TaskStatus.NOT_STARTED, sa_type=str_enum(TaskStatus))
    blocked_reason: str = Field(default="", max_length=200)
    progress: int = 0
    weight: int = 1
    is_milestone: bool = False  # 里程碑: shown as a step on the residents' timeline
    volunteer_cap: int | None = None  # set on a 居民志愿者 task: how many may 认领
    volunteer_count: int = 0
    created_by_id: int = Field(sa_type=Int64, foreign_key="user.id")
    created_at: datetime = Field(default_factory=clock.now)
    started_at: datetime | None = None
    done_at: datetime | None = None
    # The overdue job notifies once per task and deadline: set when it has (cleared on a new
    # deadline).
    overdue_notified_at: datetime | None = None
    version: int = 1  # bumped by every change: an edit made on a stale page is refused


class TaskUpdate(SQLModel, table=True):
    """A progress update (进展): text, optionally a new progress / status, and photos."""

    __tablename__ = "task_update"
    __table_args__ = (
        sa.UniqueConstraint("id", "hall_id"),
        sa.ForeignKeyConstraint(["task_id", "hall_id"], ["task.id", "task.hall_id"]),
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
        sa.CheckConstraint(
            "progress IS NULL OR (progress >= 0 AND progress <= 100)", name="progress_percent"
        ),
        sa.Index("ix_task_update_issue", "issue_id", "id"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    issue_id: int = Field(sa_type=Int64)
    task_id: int = Field(sa_type=Int64, index=True)
    author_id: int = Field(sa_type=Int64, foreign_key="user.id")
    text: str = Field(default="", sa_type=sa.Text)
    progress: int | None = None  # the progress this update set, if it set one
    status: TaskStatus | None = Field(default=None, sa_type=str_enum(TaskStatus))
    created_at: datetime = Field(default_factory=clock.now)


class TaskPhoto(SQLModel, table=True):
    """A photo of an update, re-encoded without EXIF as issue photos are (app.issues.photos)."""

    __tablename__ = "task_photo"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["update_id", "hall_id"], ["task_update.id", "task_update.hall_id"]
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    update_id: int = Field(sa_type=Int64, index=True)
    content_type: str = Field(max_length=20)
    data: bytes = Field(sa_type=sa.LargeBinary)
    width: int
    height: int
    created_at: datetime = Field(default_factory=clock.now)


class TaskVolunteer(SQLModel, table=True):
    """认领: a resident volunteers for a 居民志愿者 task, once."""

    __tablename__ = "task_volunteer"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "user_id"),
        sa.ForeignKeyConstraint(["task_id", "hall_id"], ["task.id", "task.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    task_id: int = Field(sa_type=Int64, index=True)
    user_id: int = Field(sa_type=Int64, foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=clock.now)
