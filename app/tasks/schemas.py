"""Inputs for 任务分工: a task (the chair adds or edits it) and a progress update (进展).

Strings are `Text` and ids `Id` (app/core/fields.py). Numbers typed on a page (weight, cap,
progress) arrive as text: an empty field is "not given", anything else that is not a whole
number is kept as an impossible value (-1) so the service answers next to its field. The
deadline is a date ("2026-12-20", the whole of that day in Beijing time: due at the next
midnight) or a time in Beijing time / ISO 8601 with an offset (the API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, field_validator

from app.core.fields import Id, Text, parse_id
from app.tasks.models import PartyType, TaskStatus

BEIJING = ZoneInfo("Asia/Shanghai")
TITLE_MAX = 80
PARTY_NAME_MAX = 60
HELPERS_MAX = 200
REASON_MAX = 200
TEXT_MAX = 2000
WEIGHT_MAX = 100
CAP_MAX = 1000
MAX_PHOTOS = 6
INVALID = -1
WHOLE_MAX = 999_999
# A whole number as a field holds it: -1 for what was typed and is not one (see above).
Whole = Annotated[int, Ge(INVALID), Le(WHOLE_MAX)]


def parse_due(raw: str) -> datetime | None:
    """A deadline as typed: a date means the end of that day in Beijing (the next midnight)."""
    raw = raw.strip()
    if not raw or len(raw) > 40:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if len(raw) == 10:  # a date alone: the whole day
        try:
            value = value + timedelta(days=1)
        except OverflowError:  # 9999-12-31: no next day to end it at
            return None
    value = value.replace(tzinfo=BEIJING) if value.tzinfo is None else value
    try:
        value.astimezone(UTC)  # stored in UTC: a time past year 9999 there is no date
    except OverflowError:
        return None
    return value


def _number(value: Any) -> Any:
    """A whole number typed into a field: "" is None, anything else not a number is -1."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else INVALID
    if isinstance(value, bool) or (isinstance(value, int) and not 0 <= value <= WHOLE_MAX):
        return INVALID
    return value


class TaskForm(BaseModel):
    """A task (任务): what, who (party type, name, optionally a hall member), by when, how much
    it weighs in the issue's progress, whether it is a 里程碑, and for 居民志愿者 how many may
    认领. `version` is the version the edit was made on (edits only)."""

    model_config = ConfigDict(extra="ignore")

    title: Text = ""
    party_type: PartyType | None = None
    party_name: Text = ""
    responsible_user_id: Id | None = None
    helpers: Text = ""  # 协办
    due_at: Text = ""
    weight: Whole | None = None  # default 1
    is_milestone: bool = False
    volunteer_cap: Whole | None = None
    version: Whole | None = None


class TaskPageForm(TaskForm):
    """The task form as a browser sends it: an empty select or number field is no choice, a
    number that is not one comes back to its field."""

    @field_validator("party_type", mode="before")
    @classmethod
    def _known_party(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in PartyType._value2member_map_:
            return None
        return value

    @field_validator("responsible_user_id", mode="before")
    @classmethod
    def _id_or_none(cls, value: Any) -> Any:
        return parse_id(value) if isinstance(value, str) else value

    @field_validator("weight", "volunteer_cap", "version", mode="before")
    @classmethod
    def _whole(cls, value: Any) -> Any:
        return _number(value)


class UpdateForm(BaseModel):
    """A progress update (进展): what was done, optionally the new progress (0–100) and status;
    受阻 needs `blocked_reason`."""

    model_config = ConfigDict(extra="ignore")

    text: Text = ""
    progress: Whole | None = None
    status: TaskStatus | None = None
    blocked_reason: Text = ""


class UpdatePageForm(UpdateForm):
    """The update form as a browser sends it (an empty select or number field: unchanged)."""

    @field_validator("status", mode="before")
    @classmethod
    def _known_status(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in TaskStatus._value2member_map_:
            return None
        return value

    @field_validator("progress", mode="before")
    @classmethod
    def _whole(cls, value: Any) -> Any:
        return _number(value)


def shown_due(due_at: datetime) -> str:
    """A deadline as a person reads and types it: the day when it falls at a Beijing midnight
    (the end of the day before), else the day and time."""
    local = due_at.astimezone(BEIJING)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return (local - timedelta(days=1)).strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%d %H:%M")


def typed_due(due_at: datetime) -> str:
    """A deadline as the edit form holds it, reading back to the same instant (parse_due): the
    day (a date input) when it falls at a Beijing midnight, else the Beijing time to the minute,
    or to the second when it has seconds (a datetime-local input)."""
    local = due_at.astimezone(BEIJING)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return (local - timedelta(days=1)).strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")
