"""Inputs for meetings.

Strings are `Text` and ids `Id` (app/core/fields.py): what no column can hold is refused at the
edge. Otherwise strings stay raw, so that a bad length or format comes back to its field with a
message from the service. Times are typed in Beijing time ("2026-12-10T19:00", what a
datetime-local input sends) or as ISO 8601 with an offset (the API)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, field_validator

from app.core.fields import Id, Text, parse_id
from app.halls.models import Role
from app.meetings.models import GuestKind
from app.meetings.rules import MeetingKind

BEIJING = ZoneInfo("Asia/Shanghai")
TITLE_MAX = 80
PLACE_MAX = 80
REASON_MAX = 200
ITEMS_MAX = 30
GUESTS_MAX = 40
GUEST_NAME_MAX = 40
GUEST_ORG_MAX = 60

# How a guest's kind is typed on the page (one guest a line: 姓名，类别，单位).
GUEST_KIND_WORDS: dict[str, GuestKind] = {
    "物业": GuestKind.PROPERTY,
    "业委会": GuestKind.OWNERS_COMMITTEE,
    "驻区单位": GuestKind.UNIT,
    "街道部门": GuestKind.DEPARTMENT,
    "街道": GuestKind.DEPARTMENT,
    "部门": GuestKind.DEPARTMENT,
    "人大代表政协委员": GuestKind.DEPUTY,
    "人大代表": GuestKind.DEPUTY,
    "政协委员": GuestKind.DEPUTY,
}


def parse_time(raw: str) -> datetime | None:
    """A time as typed: Beijing time without an offset, or ISO 8601 with one; None if neither."""
    raw = raw.strip()
    if not raw or len(raw) > 40:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value.replace(tzinfo=BEIJING) if value.tzinfo is None else value


class GuestIn(BaseModel):
    """列席 by name: 物业, 业委会, 驻区单位, 街道 / 部门, 人大代表 / 政协委员."""

    model_config = ConfigDict(extra="ignore")

    name: Text = ""
    organisation: Text = ""
    kind: GuestKind | None = None


class MeetingForm(BaseModel):
    """The chair schedules a meeting (协商会议)."""

    model_config = ConfigDict(extra="ignore")

    kind: MeetingKind | None = None
    title: Text = ""
    starts_at: Text = ""
    ends_at: Text = ""
    place: Text = ""
    chair_id: Id | None = None  # user id of the 主持人 (default: who schedules it)
    recorder_id: Id | None = None  # user id of the 记录人
    short_notice_reason: Text = ""  # required when the notice is shorter than the hall's
    issue_ids: list[Id] = []  # agenda: the hall's issues, in this order
    free_items: list[Text] = []  # then free agenda items, in this order
    invite_roles: list[Role] = []  # members holding these roles are invited (参会 / 列席)
    guests: list[GuestIn] = []


class MeetingPageForm(MeetingForm):
    """The schedule form as a browser sends it: free items and guests one a line (guests as
    "姓名，类别，单位"), an empty select as no choice."""

    free_items_text: Text = ""
    guests_text: Text = ""

    @field_validator("kind", mode="before")
    @classmethod
    def _known_kind(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in MeetingKind._value2member_map_:
            return None
        return value

    @field_validator("chair_id", "recorder_id", mode="before")
    @classmethod
    def _id_or_none(cls, value: Any) -> Any:
        return parse_id(value) if isinstance(value, str) else value

    @field_validator("invite_roles", mode="before")
    @classmethod
    def _known_roles(cls, value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        return [v for v in values if not isinstance(v, str) or v in Role._value2member_map_]


def guest_lines(text: str) -> tuple[list[GuestIn], int | None]:
    """The guests of the page's text box, one a line ("张经理，物业，某某物业公司"), and the
    number of the first line that cannot be read (None if every line can)."""
    guests: list[GuestIn] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace(",", "，").split("，")]
        if len(parts) != 3 or parts[1] not in GUEST_KIND_WORDS:
            return guests, number
        guests.append(
            GuestIn(name=parts[0], kind=GUEST_KIND_WORDS[parts[1]], organisation=parts[2])
        )
    return guests, None


class CancelForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reason: Text = ""


class SignInForm(BaseModel):
    """签到: yourself with the meeting's token (from its QR), or — the chair or recorder — a
    member of the hall (optionally through a proxy holder, where the kind allows) or a guest."""

    model_config = ConfigDict(extra="ignore")

    token: Text = ""
    membership_id: Id | None = None
    proxy_membership_id: Id | None = None
    guest: GuestIn | None = None


class ChairSignInPageForm(BaseModel):
    """The chair's sign-in form on the meeting page: a member (by membership), or a guest."""

    model_config = ConfigDict(extra="ignore")

    membership_id: Id | None = None
    proxy_membership_id: Id | None = None
    guest_name: Text = ""
    guest_org: Text = ""
    guest_kind: GuestKind | None = None

    @field_validator("membership_id", "proxy_membership_id", mode="before")
    @classmethod
    def _id_or_none(cls, value: Any) -> Any:
        return parse_id(value) if isinstance(value, str) else value

    @field_validator("guest_kind", mode="before")
    @classmethod
    def _known_kind(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in GuestKind._value2member_map_:
            return None
        return value

    def sign_in(self) -> SignInForm:
        guest = None
        if self.membership_id is None:
            guest = GuestIn(name=self.guest_name, organisation=self.guest_org, kind=self.guest_kind)
        return SignInForm(
            membership_id=self.membership_id,
            proxy_membership_id=self.proxy_membership_id,
            guest=guest,
        )


class SelfSignInPageForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    t: Text = ""


class RescheduleForm(BaseModel):
    """The chair moves a meeting (改期 / 改地点): the new start and end (as typed, Beijing time
    or ISO 8601), the new place; an empty field keeps what the meeting has (a new start alone
    keeps the meeting's length). `reason` is told to the invitees; a notice shorter than the
    hall's needs `short_notice_reason` too, as when scheduling."""

    model_config = ConfigDict(extra="ignore")

    starts_at: Text = ""
    ends_at: Text = ""
    place: Text = ""
    reason: Text = ""
    short_notice_reason: Text = ""


# --- the meeting as it is held (live mode) ------------------------------------------------------

SPEAKER_NAME_MAX = 40
IDENTITY_MAX = 40
SUMMARY_MAX = 500


def _form_id(value: Any) -> Any:
    """An id typed into (or chosen in) a page's form: '' and anything else no id column holds →
    None (the API takes ids as they are: a bad one is refused at the edge)."""
    return parse_id(value) if isinstance(value, str) else value


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class SpeakerForm(BaseModel):
    """举手 (no fields: yourself), or — the chair — a member of the hall or a guest by name,
    with their 身份 (居民代表 / 物业 / 街道城管科 …)."""

    model_config = ConfigDict(extra="ignore")

    membership_id: Id | None = None
    name: Text = ""
    identity: Text = ""


class SpeakerPageForm(SpeakerForm):
    @field_validator("membership_id", mode="before")
    @classmethod
    def _id_or_none(cls, value: Any) -> Any:
        return _form_id(value)


class MoveForm(BaseModel):
    """Reorder the queue: one place up or down, or to a position (1 = next to speak)."""

    model_config = ConfigDict(extra="ignore")

    direction: Direction | None = None
    position: Id | None = None


class MovePageForm(MoveForm):
    @field_validator("direction", mode="before")
    @classmethod
    def _known_direction(cls, value: Any) -> Any:
        return value if value in ("up", "down") else None

    @field_validator("position", mode="before")
    @classmethod
    def _id_or_none(cls, value: Any) -> Any:
        return _form_id(value)


class CurrentItemForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    item_id: Id | None = None


class CurrentItemPageForm(CurrentItemForm):
    @field_validator("item_id", mode="before")
    @classmethod
    def _id_or_none(cls, value: Any) -> Any:
        return _form_id(value)


class SpeechForm(BaseModel):
    """发言摘要 as the recorder notes it: the speaker from the queue (`speaker_id`) or typed
    (`speaker_name`), their 身份, the summary (at most 500 characters). The item is the
    meeting's current one unless `item_id` says another of its agenda."""

    model_config = ConfigDict(extra="ignore")

    speaker_id: Id | None = None
    speaker_name: Text = ""
    identity: Text = ""
    summary: Text = ""
    item_id: Id | None = None


class SpeechPageForm(SpeechForm):
    @field_validator("speaker_id", "item_id", mode="before")
    @classmethod
    def _id_or_none(cls, value: Any) -> Any:
        return _form_id(value)


class SpeechEditForm(BaseModel):
    """Correct a noted speech (before the minutes are signed)."""

    model_config = ConfigDict(extra="ignore")

    speaker_name: Text = ""
    identity: Text = ""
    summary: Text = ""


# --- the minutes (会议纪要) ---------------------------------------------------------------------

Version = Annotated[int, Ge(0), Le(2**31 - 1)]


class MinutesForm(BaseModel):
    """The typed parts of the minutes, with the `version` the form was read at (0: none yet):
    决议事项, 任务分工 (one task a line: 任务 | 责任方 | 期限), 公示安排, 其他."""

    model_config = ConfigDict(extra="ignore")

    version: Version = 0
    resolutions: Text = ""
    tasks: Text = ""
    publicity: Text = ""
    notes: Text = ""


class AbsenceForm(BaseModel):
    """缺席 with a reason (请假, 出差 …) for a member 应到 who did not sign in."""

    model_config = ConfigDict(extra="ignore")

    membership_id: Id | None = None
    reason: Text = ""

    @field_validator("membership_id", mode="before")
    @classmethod
    def _id_or_none(cls, value: Any) -> Any:
        return parse_id(value) if isinstance(value, str) else value


class MinutesLine(StrEnum):
    CHAIR = "chair"  # 主持人
    RECORDER = "recorder"  # 记录人


class SignMinutesForm(BaseModel):
    """Which line the caller signs: "chair" (主持人) or "recorder" (记录人)."""

    model_config = ConfigDict(extra="ignore")

    line: MinutesLine | None = None

    @field_validator("line", mode="before")
    @classmethod
    def _known_line(cls, value: Any) -> Any:
        return value if isinstance(value, str) and value in MinutesLine._value2member_map_ else None


class CorrectionForm(BaseModel):
    """更正: appended to signed minutes, at most 1000 characters."""

    model_config = ConfigDict(extra="ignore")

    text: Text = ""
