"""Inputs for ballots.

Strings are `Text` and ids `Id` (app/core/fields.py): what no column can hold is refused at the
edge. Otherwise strings stay raw, so that a bad length or format comes back to its field with a
message from the service."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from app.core.fields import Id, Text, parse_id
from app.issues.models import Scope
from app.voting.models import OptionsKind, PaperResult, VoterUnit
from app.voting.rules import RuleKind

TITLE_MAX = 80
NOTE_MAX = 200
BODY_MAX = 2000


class BallotForm(BaseModel):
    """The chair drafts a ballot for an issue in 民决."""

    model_config = ConfigDict(extra="ignore")

    title: Text = ""
    rule: RuleKind | None = None
    voter_unit: VoterUnit | None = None
    options_kind: OptionsKind = OptionsKind.YES_NO
    subject_solution_id: Id | None = None
    scope: Scope = Scope.HALL
    scope_building_id: Id | None = None
    scope_entrance_id: Id | None = None
    secret: bool = True
    live_results: bool = False
    closes_in_hours: Text = ""  # optional planned close, in hours from opening
    remind_before_hours: Text = ""  # remind who has not voted; blank: 24, 0: no reminder
    quorum: Text = ""  # council / representatives: e.g. "2/3"
    counter_ids: list[Id] = []  # 计票人 (user ids)
    scrutineer_ids: list[Id] = []  # 监票人 (user ids)
    # The meeting it is held at (its sign-in is the attendance, its rule and time the ballot's).
    meeting_id: Id | None = None
    meeting_note: Text = ""


class BallotPageForm(BallotForm):
    """The draft form of the page (voting/new.html) as a browser sends it: a box not ticked is
    not sent at all, an empty select is "", and a choice that names nothing is read as no
    choice, for the service to report next to its field (what the options are follows from
    the rule, in the service)."""

    secret: bool = False
    live_results: bool = False

    @field_validator("secret", "live_results", mode="before")
    @classmethod
    def _ticked(cls, value: Any) -> Any:
        return value in ("on", "true") if isinstance(value, str) else value

    @field_validator("rule", "voter_unit", "scope", mode="before")
    @classmethod
    def _known(cls, value: Any, info: ValidationInfo) -> Any:
        kind: type[StrEnum] = {"rule": RuleKind, "voter_unit": VoterUnit, "scope": Scope}[
            info.field_name or ""
        ]
        if not isinstance(value, str) or value in kind._value2member_map_:
            return value
        return Scope.HALL if kind is Scope else None

    @field_validator(
        "subject_solution_id", "scope_building_id", "scope_entrance_id", "meeting_id", mode="before"
    )
    @classmethod
    def _id_or_none(cls, value: Any) -> Any:
        return parse_id(value) if isinstance(value, str) else value


class VoteForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    option: Text = ""  # an option code: yes / no / abstain / s<solution id>
    submission_id: Text = ""  # a UUID4 from the form, so a double tap records one vote
    # 记名投票: the voter's separate consent to their choice being public (PIPL art. 25)
    consent: bool = False


class InPersonForm(VoteForm):
    """The chair records a spoken vote or a show of hands for one voter of the roll."""

    roll_id: Id | None = None


class PaperEntryForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: Text = ""  # the code printed on the paper ballot
    result: PaperResult = PaperResult.VOTE
    option: Text = ""
    submission_id: Text = ""


class AttendanceForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    present_ids: list[Id] = []  # roll entries present at the meeting


class VoidForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reason: Text = ""


class ConsensusForm(BaseModel):
    """协商一致: no vote; the chair records the outcome."""

    model_config = ConfigDict(extra="ignore")

    passed: bool | None = None
    text: Text = ""


class FailedOutcomeForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    outcome: Text = ""  # "not_passed" (未通过, closed) or "deliberate" (back to 民议)


class ObjectionForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    body: Text = ""


class AnswerForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    answer: Text = ""
    upheld: bool = False


def parse_quorum(raw: str) -> tuple[int, int] | None:
    """'2/3' → (2, 3); None unless 0 < num ≤ den ≤ 100."""
    num, sep, den = raw.strip().replace("／", "/").partition("/")
    if not sep or not num.isascii() or not den.isascii() or not num.isdigit() or not den.isdigit():
        return None
    if len(num) > 3 or len(den) > 3:  # int() of thousands of digits raises
        return None
    n, d = int(num), int(den)
    return (n, d) if 0 < n <= d <= 100 else None


def is_submission_id(value: str) -> bool:
    """A client-made idempotency key: 8–36 characters of hex digits and dashes (a UUID4)."""
    return 8 <= len(value) <= 36 and all(c in "0123456789abcdefABCDEF-" for c in value)
