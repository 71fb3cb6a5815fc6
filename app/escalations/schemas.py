"""Inputs and outputs of 吹哨报到.

Strings are `Text` and ids `Id` (app/core/fields.py); lengths, formats and numbers are checked
by the service, so that each comes back next to its field with a message."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from app.core.fields import Id, Text
from app.escalations.deadlines import DeadlineState, EscalationStatus, StepKind, Urgency
from app.escalations.models import WhistleCategory

NAME_MAX = 60
SUMMARY_MAX = 1000
TEXT_MAX = 2000
WORK_ORDER_MAX = 40


class Unit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


UNIT_MINUTES = {Unit.MINUTES: 1, Unit.HOURS: 60, Unit.DAYS: 24 * 60}


class DepartmentForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Text = ""


class MemberForm(BaseModel):
    """A department member, by the phone they registered with."""

    model_config = ConfigDict(extra="ignore")

    phone: Text = ""


class DeadlineForm(BaseModel):
    """One urgency class's windows, typed as a number and a unit each."""

    model_config = ConfigDict(extra="ignore")

    urgency: Urgency | None = None
    respond: Text = ""
    respond_unit: Unit = Unit.MINUTES
    resolve: Text = ""
    resolve_unit: Unit = Unit.HOURS


class EscalationForm(BaseModel):
    """The hall's chair blows the whistle on an issue (and optionally one of its tasks)."""

    model_config = ConfigDict(extra="ignore")

    category: WhistleCategory | None = None
    urgency: Urgency | None = None
    summary: Text = ""
    work_order_no: Text = ""  # 12345 工单号, optional
    task_id: Id | None = None


class DispatchForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    department_id: Id | None = None


class TextForm(BaseModel):
    """A reply (答复 / 进展), or the resolution (办结)."""

    model_config = ConfigDict(extra="ignore")

    text: Text = ""


class HelpForm(BaseModel):
    """Ask another department of the street to help (协办)."""

    model_config = ConfigDict(extra="ignore")

    department_id: Id | None = None
    text: Text = ""


# --- the API's answers ------------------------------------------------------------------------


class DeadlineOut(BaseModel):
    state: DeadlineState
    due_at: datetime
    in_time: bool | None  # None while not done
    over_seconds: int | None
    left_seconds: int | None


class StepOut(BaseModel):
    kind: StepKind
    at: datetime
    actor_name: str | None
    department_name: str | None
    text: str


class EscalationOut(BaseModel):
    id: int
    hall_id: int
    issue_id: int
    issue_title: str
    task_id: int | None
    category: WhistleCategory
    urgency: Urgency
    summary: str
    work_order_no: str | None
    status: EscalationStatus
    raised_at: datetime
    department_id: int | None
    department_name: str | None
    dispatched_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolution: str
    respond: DeadlineOut | None
    resolve: DeadlineOut
    part: str | None = None  # in a department's inbox: "lead" or "helper"
    steps: list[StepOut] | None = None
