"""民评 (evaluation), as one pure module with exact arithmetic: the summary of a round.

A round's answers are counted per person (one answer per person per round, on a phone or
entered from a paper form). An answer is *valid* when it has a satisfaction choice
(满意 / 基本满意 / 不满意); 是否解决 is counted apart (a paper form may leave it blank), as
12345 records 解决 and 满意 separately (DOMAIN.md §5.4, §8).

- 满意率 `satisfaction_rate` = (满意 + weight × 基本满意) / valid, weight the hall's 基本满意
  coefficient (default 9/10, the 12345 convention of DOMAIN.md §5.4; 1 counts 基本满意 as fully
  satisfied, 0 not at all). Weight in [0, 1].
- 不满意占比 `dissatisfied_share` = 不满意 / valid.
- `reopen`: the issue goes back to 民办 when 不满意 is *more than* the hall's threshold of the
  valid answers (default 1/3): dissatisfied / valid > num / den, decided by cross-multiplying
  integers (dissatisfied × den > num × valid), never by a rounded figure. Threshold in [0, 1):
  0 reopens on any 不满意; 1 would never reopen, so it is refused (a hall that wants no
  automatic reopening is not what issue #13 describes).
- The decision is a `Check` of app.voting.rules (id `dissatisfied_heads`: 不满意人数 of
  有效评价人数, strictly more than the threshold), so a page shows what was needed and the
  margin as it shows a vote's checks: `check.passed` is `reopen`, `check.needed` the fewest
  不满意 that reopen, `check.margin` how many over (≥ 0) or short (< 0).
- No valid answer: nothing to decide by. `reopen` is false (nobody said 不满意; the check is not
  met, as a vote's share of an empty base), both rates are None (shown as "—"), not 0.

Each rate is exposed as {numerator, denominator, value}: the reduced exact fraction and a
decimal string with `PLACES` (4) places, i.e. hundredths of a percent as the vote checks show:

- `dissatisfied_share.value` is the reopen check's shown share (Check.shown_basis_points):
  rounded half up as usual, unless that would read the other way of the decision; then rounded
  toward it. So a share that reopens always reads above the threshold (exact, and as the
  threshold reads rounded to 4 places) and one that does not never does: 1/3 exactly reads
  0.3333 (no reopen), 100,001 of 300,000 reads 0.3334 (reopen) rather than 0.3333, and
  33,333 of 100,000 (under 1/3) reads 0.3332, not the threshold's own 0.3333. It is within
  0.0002 of the exact share, and the same figure the check's percentage shows (33.32 %).
- `satisfaction_rate.value` decides nothing; it is rounded down (ROUND_DOWN), so it never
  overstates satisfaction: 1.0000 only when every valid answer counts fully, and it is within
  0.0001 below the exact rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from typing import Any

from app.voting.rules import Check, Share, Unit, check_data

PLACES = 4  # decimal places of every value string
DEFAULT_WEIGHT = Fraction(9, 10)  # 基本满意 counts 0.9 of 满意 (DOMAIN.md §5.4)
DEFAULT_THRESHOLD = Fraction(1, 3)  # reopen when 不满意 is more than 1/3 of valid answers
CHECK_ID = "dissatisfied_heads"
CHECK_LABEL = "不满意人数"
CHECK_BASE_LABEL = "有效评价人数"


def weight_ok(num: int, den: int) -> bool:
    """A 基本满意 weight num/den is a fraction in [0, 1]."""
    return den >= 1 and 0 <= num <= den


def threshold_ok(num: int, den: int) -> bool:
    """A reopen threshold num/den is a fraction in [0, 1)."""
    return den >= 1 and 0 <= num < den


@dataclass(frozen=True)
class Ratio:
    """An exact rate: the reduced fraction and its decimal string (see the module docstring)."""

    fraction: Fraction
    value: str

    @property
    def numerator(self) -> int:
        return self.fraction.numerator

    @property
    def denominator(self) -> int:
        return self.fraction.denominator

    def data(self) -> dict[str, Any]:
        return {"numerator": self.numerator, "denominator": self.denominator, "value": self.value}


@dataclass(frozen=True)
class Counts:
    """The raw counts of a round. valid = satisfied + basically_satisfied + dissatisfied."""

    satisfied: int = 0  # 满意
    basically_satisfied: int = 0  # 基本满意
    dissatisfied: int = 0  # 不满意
    resolved_yes: int = 0  # 是否解决: 已解决
    resolved_no: int = 0  # 是否解决: 未解决

    def __post_init__(self) -> None:
        for name in (
            "satisfied",
            "basically_satisfied",
            "dissatisfied",
            "resolved_yes",
            "resolved_no",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, not {value!r}")
        if self.resolved_yes + self.resolved_no > self.valid:
            raise ValueError("more 是否解决 answers than valid answers")

    @property
    def valid(self) -> int:
        return self.satisfied + self.basically_satisfied + self.dissatisfied


@dataclass(frozen=True)
class Summary:
    counts: Counts
    weight: Fraction
    threshold: Fraction
    satisfaction_rate: Ratio | None  # None when there is no valid answer
    dissatisfied_share: Ratio | None
    check: Check  # the reopen check: passed ⇔ reopen

    @property
    def reopen(self) -> bool:
        return self.check.passed


def decimal_string(basis_points: int) -> str:
    """Hundredths of a percent as a decimal string with PLACES places: 3334 → '0.3334'."""
    sign = "-" if basis_points < 0 else ""
    whole, part = divmod(abs(basis_points), 10**PLACES)
    return f"{sign}{whole}.{part:0{PLACES}d}"


def rounded_down(fraction: Fraction) -> str:
    """A non-negative fraction to PLACES places, rounded down (never overstated)."""
    exact = Decimal(fraction.numerator) / Decimal(fraction.denominator)
    return str(exact.quantize(Decimal(1).scaleb(-PLACES), rounding=ROUND_DOWN))


def reopen_check(dissatisfied: int, valid: int, threshold: Fraction) -> Check:
    """不满意人数 of 有效评价人数, strictly more than `threshold`."""
    return Check(
        id=CHECK_ID,
        label=CHECK_LABEL,
        base_label=CHECK_BASE_LABEL,
        unit=Unit.HEADS,
        value=dissatisfied,
        whole=valid,
        share=Share(threshold, inclusive=False),
    )


def summarize(
    counts: Counts, *, weight: Fraction = DEFAULT_WEIGHT, threshold: Fraction = DEFAULT_THRESHOLD
) -> Summary:
    """The summary of a round from its counts, the hall's weight and its reopen threshold.

    Raises ValueError for a weight outside [0, 1] or a threshold outside [0, 1)."""
    if not weight_ok(weight.numerator, weight.denominator):
        raise ValueError(f"weight {weight} is not in [0, 1]")
    if not threshold_ok(threshold.numerator, threshold.denominator):
        raise ValueError(f"threshold {threshold} is not in [0, 1)")
    valid = counts.valid
    check = reopen_check(counts.dissatisfied, valid, threshold)
    satisfaction: Ratio | None = None
    dissatisfied: Ratio | None = None
    if valid > 0:
        rate = (counts.satisfied + weight * counts.basically_satisfied) / valid
        satisfaction = Ratio(rate, rounded_down(rate))
        shown = check.shown_basis_points()
        assert shown is not None  # valid > 0
        dissatisfied = Ratio(Fraction(counts.dissatisfied, valid), decimal_string(shown))
    return Summary(counts, weight, threshold, satisfaction, dissatisfied, check)


def summary_data(summary: Summary) -> dict[str, Any]:
    """The summary as the API and the page answer it (issue #13)."""
    c = summary.counts

    def ratio(r: Ratio | None) -> dict[str, Any] | None:
        return None if r is None else r.data()

    return {
        "valid": c.valid,
        "satisfied": c.satisfied,
        "basically_satisfied": c.basically_satisfied,
        "dissatisfied": c.dissatisfied,
        "resolved_yes": c.resolved_yes,
        "resolved_no": c.resolved_no,
        "satisfaction_rate": ratio(summary.satisfaction_rate),
        "dissatisfied_share": ratio(summary.dissatisfied_share),
        "reopen": summary.reopen,
        "weight": f"{summary.weight.numerator}/{summary.weight.denominator}",
        "threshold": f"{summary.threshold.numerator}/{summary.threshold.denominator}",
        "check": check_data(summary.check),
    }
