"""The street's 三率 settings form and the report's query, as raw strings checked here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from app.core.fields import Text
from app.evaluations.rules import weight_ok
from app.rates.rules import weight_problems

# Whole percent for the weights; the 基本满意 coefficient as num/den (as the hall's settings).
SETTING_BOUNDS: dict[str, tuple[int, int]] = {
    "rate_weight_response": (0, 100),
    "rate_weight_resolution": (0, 100),
    "rate_weight_satisfaction": (0, 100),
    "basic_satisfied_weight_num": (0, 100),
    "basic_satisfied_weight_den": (1, 100),
}


WEIGHT_FIELDS = ("rate_weight_response", "rate_weight_resolution", "rate_weight_satisfaction")


class RateSettingsForm(BaseModel):
    """Raw strings: a bad number comes back to its field with a message, not a 500."""

    model_config = ConfigDict(extra="ignore")

    rate_weight_response: Text = ""
    rate_weight_resolution: Text = ""
    rate_weight_satisfaction: Text = ""
    basic_satisfied_weight_num: Text = ""
    basic_satisfied_weight_den: Text = ""


def parse_settings(form: RateSettingsForm) -> tuple[dict[str, int], dict[str, str]]:
    """Validated integers per field, and error codes per field."""
    values: dict[str, int] = {}
    errors: dict[str, str] = {}
    for field, (low, high) in SETTING_BOUNDS.items():
        try:
            number = int(str(getattr(form, field)).strip())
        except ValueError:
            errors[field] = "integer_required"
            continue
        if not low <= number <= high:
            errors[field] = "out_of_range"
            continue
        values[field] = number
    if all(w in values for w in WEIGHT_FIELDS):
        errors.update(weight_problems(*(values[w] for w in WEIGHT_FIELDS)))
    num, den = "basic_satisfied_weight_num", "basic_satisfied_weight_den"
    if num in values and den in values and not weight_ok(values[num], values[den]):
        errors[num] = "fraction_above_one"
    return values, errors
