"""三率 (issue #13; DOMAIN.md §5.4): 响应率, 解决率, 满意率 and the 综合得分, exactly, from raw counts.

No official formula was found (DOMAIN.md §5.4 [U]/[C]); these are the working definitions, shown
as the formula beside each rate on the page:

- 解决率 = Σ 已解决 ÷ Σ (已解决 + 未解决) over the evaluation rounds closed in the period (a
  paper form may leave 是否解决 blank: such an answer is in neither count).
- 满意率 = Σ (满意 + w × 基本满意) ÷ Σ 有效评价 over the same rounds, w the *street's* 基本满意
  coefficient (Street.basic_satisfied_weight_num/den, default 9/10, the 12345 convention). Not
  each round's own weight (the hall's, copied when the round opened, which decided that round's
  reopening): a street-wide comparison must weigh every 基本满意 alike.
- 响应率 = answered in time ÷ assessed, where "assessed" depends on who is rated:
  - a hall (社区议事厅): proposals with a review deadline that its chair answered in the period
    (Issue.reviewed_at), or left unanswered past a deadline that fell in the period (not
    withdrawn); in time when reviewed_at ≤ review_due_at (审核按时), so an ignored proposal
    counts as late;
  - a department (部门): escalations dispatched to it in the period (dispatched_at); in time when
    it reported (报到, acknowledged_at) at or before respond_due_at; assessed when it reported,
    or when respond_due_at has passed without a report (one still inside its window and not yet
    reported is not assessed yet);
  - a property company (物业公司): its tasks (Task.company_id) due in the period and already
    due, or done in the period; in time when done_at ≤ due_at (按期办结).
- Rounds are attributed to a hall by the round's hall; to a department when an escalation of
  the round's issue was dispatched to it; to a company when a task of the round's issue is its.
  A round counts once per hall / department / company it is attributed to, and once in the
  street's total (so by department or company the rows may add up to more than the total).
- 综合得分 = (w响应 × 响应率 + w解决 × 解决率 + w满意 × 满意率) ÷ 100, with the street's weights in
  whole percent (default 10 / 45 / 45; they sum to 100); only when all three rates exist.
- A deadline met exactly (at the same instant) is in time; one second later is not.
- The period is [from 00:00, to + 1 day 00:00) Beijing time: both dates count whole.

Every rate is a `Ratio` of app.evaluations.rules: the exact reduced fraction and its value to
4 places rounded down (ROUND_DOWN: a published rate never overstates). No data → None, shown as
"—", never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from fractions import Fraction
from typing import Any

from app.evaluations.rules import Ratio, rounded_down, weight_ok

DEFAULT_WEIGHTS = (10, 45, 45)  # 响应 / 解决 / 满意, whole percent (DOMAIN.md §5.4 [U])
DEFAULT_BASIC = Fraction(9, 10)
WEIGHT_TOTAL = 100


@dataclass(frozen=True)
class Tally:
    """The raw counts of one row (a hall, department or company) in one month or period."""

    rounds: int = 0  # closed evaluation rounds
    valid: int = 0  # 有效评价
    satisfied: int = 0  # 满意
    basic: int = 0  # 基本满意
    dissatisfied: int = 0  # 不满意
    resolved_yes: int = 0  # 已解决
    resolved_no: int = 0  # 未解决
    assessed: int = 0  # 响应率's denominator (answered / reported or overdue / due or done)
    in_time: int = 0  # 响应率's numerator

    def __post_init__(self) -> None:
        for name in TALLY_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, not {value!r}")
        if self.in_time > self.assessed:
            raise ValueError("more in time than assessed")
        if self.satisfied + self.basic + self.dissatisfied != self.valid:
            raise ValueError("valid must be 满意 + 基本满意 + 不满意")

    def __add__(self, other: Tally) -> Tally:
        return total([self, other])

    def data(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in TALLY_FIELDS}


TALLY_FIELDS = tuple(f.name for f in fields(Tally))
# What the evaluation rounds give (the rest, assessed and in_time, is 响应率's).
ROUND_FIELDS = (
    "rounds",
    "valid",
    "satisfied",
    "basic",
    "dissatisfied",
    "resolved_yes",
    "resolved_no",
)
ZERO = Tally()


def total(tallies: list[Tally]) -> Tally:
    """The counts added up (one Tally built, however many are added)."""
    if not tallies:
        return ZERO
    return Tally(**{name: sum(getattr(t, name) for t in tallies) for name in TALLY_FIELDS})


@dataclass(frozen=True)
class Weights:
    """The street's weights (whole percent, summing to 100) and 基本满意 coefficient."""

    response: int = DEFAULT_WEIGHTS[0]
    resolution: int = DEFAULT_WEIGHTS[1]
    satisfaction: int = DEFAULT_WEIGHTS[2]
    basic: Fraction = DEFAULT_BASIC

    def __post_init__(self) -> None:
        problems = weight_problems(self.response, self.resolution, self.satisfaction)
        if problems:
            raise ValueError(f"weights: {problems}")
        if not weight_ok(self.basic.numerator, self.basic.denominator):
            raise ValueError(f"基本满意 coefficient {self.basic} is not in [0, 1]")


def weight_problems(response: int, resolution: int, satisfaction: int) -> dict[str, str]:
    """Error codes per weight: each a whole percent 0–100, and the three summing to 100."""
    errors: dict[str, str] = {}
    for name, value in (
        ("rate_weight_response", response),
        ("rate_weight_resolution", resolution),
        ("rate_weight_satisfaction", satisfaction),
    ):
        if not 0 <= value <= WEIGHT_TOTAL:
            errors[name] = "out_of_range"
    if not errors and response + resolution + satisfaction != WEIGHT_TOTAL:
        errors["rate_weight_response"] = "rate_weights_not_100"
    return errors


def ratio(value: Fraction) -> Ratio:
    return Ratio(value, rounded_down(value))


@dataclass(frozen=True)
class Rates:
    """A row's three rates and its 综合得分, each None without data."""

    tally: Tally
    response: Ratio | None
    resolution: Ratio | None
    satisfaction: Ratio | None
    score: Ratio | None  # in [0, 1]; shown as points out of 100

    def data(self) -> dict[str, Any]:
        def one(r: Ratio | None) -> dict[str, Any] | None:
            return None if r is None else r.data()

        return {
            "counts": self.tally.data(),
            "response_rate": one(self.response),
            "resolution_rate": one(self.resolution),
            "satisfaction_rate": one(self.satisfaction),
            "score": one(self.score),
        }


def rates(tally: Tally, weights: Weights) -> Rates:
    response = ratio(Fraction(tally.in_time, tally.assessed)) if tally.assessed else None
    answered = tally.resolved_yes + tally.resolved_no
    resolution = ratio(Fraction(tally.resolved_yes, answered)) if answered else None
    satisfaction = (
        ratio((tally.satisfied + weights.basic * tally.basic) / tally.valid)
        if tally.valid
        else None
    )
    score = None
    if response is not None and resolution is not None and satisfaction is not None:
        score = ratio(
            (
                weights.response * response.fraction
                + weights.resolution * resolution.fraction
                + weights.satisfaction * satisfaction.fraction
            )
            / WEIGHT_TOTAL
        )
    return Rates(tally, response, resolution, satisfaction, score)


def percent(r: Ratio | None) -> str:
    """'0.9125' → '91.25%' (the value string is already rounded down to 4 places); None → —."""
    if r is None:
        return "—"
    return f"{Decimal(r.value) * 100:.2f}%"


def points(r: Ratio | None) -> str:
    """The 综合得分 in points out of 100: '0.8731' → '87.31'; None → —."""
    if r is None:
        return "—"
    return f"{Decimal(r.value) * 100:.2f}"


def coefficient(value: Fraction) -> str:
    """9/10 → '0.9', 1 → '1', 1/3 → '1/3' (a coefficient that is no short decimal stays a fraction)."""
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
