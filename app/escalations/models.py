"""吹哨报到: departments as accounts, the street's deadlines per urgency class, escalations and
their timestamped trail (DOMAIN.md §5.1–5.3).

- A `Department` (部门: 城管科, 房管所, 市政 …) belongs to a street and has members (users).
- `StreetDeadline`: per street and urgency class, the response (报到) and resolution windows
  in minutes. A street without rows uses `app.escalations.deadlines.DEFAULTS`.
- An `Escalation` is raised by a hall's chair on an issue (and optionally one of its tasks),
  with the windows copied from the street's settings at that moment, so a later change of the
  settings does not move an old deadline:
  - `resolve_due_at` = raised_at + resolve window (the resident's clock: from the whistle);
  - `respond_due_at` = dispatched_at + respond window (the department's clock: from dispatch).
- `EscalationHelper`: a department asked for help (协办) also sees the escalation.
- `EscalationStep`: every step (raised, dispatched, 报到, reply, help asked, resolved …) with
  who, which department and when; the hall sees the whole trail.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.types import Int64, str_enum
from app.escalations.deadlines import EscalationStatus, StepKind, Urgency

__all__ = [
    "Department",
    "DepartmentMember",
    "Escalation",
    "EscalationHelper",
    "EscalationStatus",
    "EscalationStep",
    "StepKind",
    "StreetDeadline",
    "Urgency",
    "WhistleCategory",
]


class WhistleCategory(StrEnum):
    """What the 街道 is asked to 统筹 (街道办事处条例 art. 5; DOMAIN.md §5.1)."""

    DEMAND = "demand"  # 群众诉求
    KEY_WORK = "key_work"  # 重点工作
    ENFORCEMENT = "enforcement"  # 综合执法
    EMERGENCY = "emergency"  # 应急处置


class Department(SQLModel, table=True):
    __tablename__ = "department"
    __table_args__ = (
        sa.UniqueConstraint("street_id", "name"),
        sa.UniqueConstraint("id", "street_id"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    street_id: int = Field(sa_type=Int64, foreign_key="street.id", index=True)
    name: str = Field(max_length=60)  # 城管科, 房管所 …
    created_at: datetime = Field(default_factory=clock.now)


class DepartmentMember(SQLModel, table=True):
    __tablename__ = "department_member"
    __table_args__ = (sa.UniqueConstraint("department_id", "user_id"),)

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    department_id: int = Field(sa_type=Int64, foreign_key="department.id", index=True)
    user_id: int = Field(sa_type=Int64, foreign_key="user.id", index=True)


class StreetDeadline(SQLModel, table=True):
    __tablename__ = "street_deadline"
    __table_args__ = (
        sa.UniqueConstraint("street_id", "urgency"),
        sa.CheckConstraint("respond_minutes >= 1", name="respond_positive"),
        sa.CheckConstraint("resolve_minutes >= respond_minutes", name="resolve_after_respond"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    street_id: int = Field(sa_type=Int64, foreign_key="street.id", index=True)
    urgency: Urgency = Field(sa_type=str_enum(Urgency))
    respond_minutes: int
    resolve_minutes: int


class Escalation(SQLModel, table=True):
    __tablename__ = "escalation"
    __table_args__ = (
        sa.UniqueConstraint("id", "hall_id"),
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
        sa.ForeignKeyConstraint(["task_id", "hall_id"], ["task.id", "task.hall_id"]),
        sa.ForeignKeyConstraint(
            ["department_id", "street_id"], ["department.id", "department.street_id"]
        ),
        sa.CheckConstraint("respond_minutes >= 1", name="respond_positive"),
        sa.CheckConstraint("resolve_minutes >= respond_minutes", name="resolve_after_respond"),
        sa.CheckConstraint(
            "status = 'raised' OR (department_id IS NOT NULL AND dispatched_at IS NOT NULL"
            " AND respond_due_at IS NOT NULL)",
            name="dispatched_has_department",
        ),
        sa.Index("ix_escalation_department", "department_id", "status"),
        sa.Index("ix_escalation_street", "street_id", "status"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    street_id: int = Field(sa_type=Int64, foreign_key="street.id")
    issue_id: int = Field(sa_type=Int64, index=True)
    task_id: int | None = Field(sa_type=Int64, default=None)
    category: WhistleCategory = Field(sa_type=str_enum(WhistleCategory))
    urgency: Urgency = Field(sa_type=str_enum(Urgency))
    summary: str = Field(sa_type=sa.Text)  # what the 街道 is asked to do
    work_order_no: str | None = Field(default=None, max_length=40)  # 12345 工单号
    status: EscalationStatus = Field(
        default=EscalationStatus.RAISED, sa_type=str_enum(EscalationStatus)
    )
    raised_by_id: int = Field(sa_type=Int64, foreign_key="user.id")
    raised_at: datetime = Field(default_factory=clock.now)
    respond_minutes: int  # copied from the street's settings when raised
    resolve_minutes: int
    resolve_due_at: datetime  # raised_at + resolve window
    department_id: int | None = Field(sa_type=Int64, default=None)
    dispatched_at: datetime | None = None
    dispatched_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    respond_due_at: datetime | None = None  # dispatched_at + respond window
    acknowledged_at: datetime | None = None  # 报到
    acknowledged_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    resolved_at: datetime | None = None
    resolved_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    resolution: str = Field(default="", sa_type=sa.Text)
    # The overdue job notifies once per escalation and deadline kind.
    respond_overdue_notified_at: datetime | None = None
    resolve_overdue_notified_at: datetime | None = None
    version: int = 1


class EscalationHelper(SQLModel, table=True):
    """A department asked for help (协办): it sees the escalation and may reply on it."""

    __tablename__ = "escalation_helper"
    __table_args__ = (sa.UniqueConstraint("escalation_id", "department_id"),)

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    escalation_id: int = Field(sa_type=Int64, foreign_key="escalation.id", index=True)
    department_id: int = Field(sa_type=Int64, foreign_key="department.id", index=True)
    asked_by_id: int = Field(sa_type=Int64, foreign_key="user.id")
    asked_at: datetime = Field(default_factory=clock.now)


class EscalationStep(SQLModel, table=True):
    __tablename__ = "escalation_step"

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    escalation_id: int = Field(sa_type=Int64, foreign_key="escalation.id", index=True)
    kind: StepKind = Field(sa_type=str_enum(StepKind))
    actor_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    department_id: int | None = Field(sa_type=Int64, default=None, foreign_key="department.id")
    text: str = Field(default="", sa_type=sa.Text)
    at: datetime = Field(default_factory=clock.now)
