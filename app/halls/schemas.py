"""Inputs for halls: join, verify, 代录, settings, roster rows."""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from app.accounts.schemas import Phone
from app.core.fields import Id, Text
from app.evaluations.rules import threshold_ok, weight_ok
from app.halls.models import Relation, Role


class JoinForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    household_id: Id | None = None
    relation: Relation | None = None


class RejectForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reason: Text = ""


class OnBehalfForm(BaseModel):
    """A resident without a smartphone, entered by the chair (代录)."""

    model_config = ConfigDict(extra="ignore")

    name: Text = ""
    phone: Phone = ""
    household_id: Id | None = None
    relation: Relation | None = None


class RolesForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    roles: list[Role] = []


# (field, lower bound, upper bound) for each setting the chair may edit.
SETTING_BOUNDS: dict[str, tuple[int, int]] = {
    "cosign_threshold": (1, 1000),
    "review_sla_days": (1, 60),
    "meeting_notice_days": (0, 60),
    "council_quorum_num": (1, 100),
    "council_quorum_den": (1, 100),
    "publicity_days": (1, 60),
    "evaluation_window_days": (1, 120),
    "basic_satisfied_weight_num": (0, 100),
    "basic_satisfied_weight_den": (1, 100),
    "reopen_threshold_num": (0, 100),
    "reopen_threshold_den": (1, 100),
}


def _at_most_one(num: int, den: int) -> bool:
    return num <= den


# (numerator field, denominator field, whether the pair is allowed, the error code if not).
FRACTION_SETTINGS: tuple[tuple[str, str, Callable[[int, int], bool], str], ...] = (
    ("council_quorum_num", "council_quorum_den", _at_most_one, "fraction_above_one"),
    ("basic_satisfied_weight_num", "basic_satisfied_weight_den", weight_ok, "fraction_above_one"),
    ("reopen_threshold_num", "reopen_threshold_den", threshold_ok, "threshold_not_below_one"),
)


class SettingsForm(BaseModel):
    """Raw strings: a bad number must come back to the field with a message, not a 500."""

    model_config = ConfigDict(extra="ignore")

    cosign_threshold: Text = ""
    review_sla_days: Text = ""
    meeting_notice_days: Text = ""
    council_quorum_num: Text = ""
    council_quorum_den: Text = ""
    publicity_days: Text = ""
    evaluation_window_days: Text = ""
    basic_satisfied_weight_num: Text = ""
    basic_satisfied_weight_den: Text = ""
    reopen_threshold_num: Text = ""
    reopen_threshold_den: Text = ""
    office_phone: Text = ""


# The 居委会's public number, printed whole on the 公示 (issue #14): a landline with its area
# code, or a mobile; spaces, dashes, brackets and a leading + are kept as the chair typed them.
_OFFICE_PHONE = re.compile(r"\+?[0-9 ()\-]+")
OFFICE_PHONE_DIGITS = (7, 15)


def parse_office_phone(raw: str) -> tuple[str, str | None]:
    """The number as it will be printed ("" for none), and an error code if it is not one."""
    value = " ".join(raw.split())
    if not value:
        return "", None
    digits = sum(c.isdigit() for c in value)
    low, high = OFFICE_PHONE_DIGITS
    if len(value) > 20 or not _OFFICE_PHONE.fullmatch(value) or not low <= digits <= high:
        return value, "office_phone_invalid"
    return value, None


def parse_settings(form: SettingsForm) -> tuple[dict[str, int], dict[str, str]]:
    """Validated integers per field, and error codes per field."""
    values: dict[str, int] = {}
    errors: dict[str, str] = {}
    for field, (low, high) in SETTING_BOUNDS.items():
        raw = str(getattr(form, field)).strip()
        try:
            # int(), not str.isdigit(): "²" is a digit that int() refuses, and "-1" is an
            # integer that is out of range rather than not a number.
            number = int(raw)
        except ValueError:
            errors[field] = "integer_required"
            continue
        if not low <= number <= high:
            errors[field] = "out_of_range"
            continue
        values[field] = number
    # A fraction across its two fields, checked once both parse: the quorum and the 基本满意
    # weight at most 1, the reopen threshold below 1 (不满意 can never be more than all the
    # valid answers; app.evaluations.rules).
    for num, den, fits, code in FRACTION_SETTINGS:
        if num in values and den in values and not fits(values[num], values[den]):
            errors[num] = code
    return values, errors


class RosterConfirmForm(BaseModel):
    """Confirm a previewed roster by the token its preview gave."""

    model_config = ConfigDict(extra="ignore")

    token: Text = ""
