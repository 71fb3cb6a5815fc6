"""How far an issue's tasks have come, and how late a task is. Pure and exact.

- The issue's progress is the mean of its tasks' progress weighted by their weights:
  Σ(weight × progress) / Σ weight, a Fraction of a percent. It is shown as a whole percent
  rounded DOWN, so that it never says more is done than is (2 of 3 equal tasks done: 66%, not
  67%); 100% only when every task is complete.
- A task is overdue once the clock reaches its deadline (`now >= due_at`) while it is not
  done; it is "N 天" late with N the days begun since the deadline (1 from the first second:
  a task due yesterday at 24:00 is 1 day late all of today).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

DAY = timedelta(days=1)
FULL = 100


@dataclass(frozen=True)
class Summary:
    """An issue's tasks in short: how many, how many done, and the weighted progress."""

    total: int
    done: int
    progress: Fraction  # a percentage, exact; 0 when there is no task

    @property
    def percent(self) -> int:
        """The whole percent shown: rounded down, never overstating."""
        return floor_percent(self.progress)

    @property
    def all_done(self) -> bool:
        return self.total > 0 and self.done == self.total


def floor_percent(value: Fraction) -> int:
    return int(value.numerator // value.denominator)


def weighted(tasks: Iterable[tuple[int, int]]) -> Fraction:
    """Σ(weight × progress) / Σ weight over (weight, progress) pairs; 0 for none."""
    total_weight = 0
    total = 0
    for weight, progress in tasks:
        if weight < 1 or not 0 <= progress <= FULL:
            raise ValueError("weight >= 1 and 0 <= progress <= 100")
        total_weight += weight
        total += weight * progress
    return Fraction(total, total_weight) if total_weight else Fraction(0)


def summarize(tasks: Iterable[tuple[int, int, bool]]) -> Summary:
    """(weight, progress, done) of each task of an issue."""
    rows = list(tasks)
    return Summary(
        total=len(rows),
        done=sum(1 for _, _, done in rows if done),
        progress=weighted((w, p) for w, p, _ in rows),
    )


def from_sums(*, total: int, done: int, weighted_sum: int, weight_sum: int) -> Summary:
    """The same summary from sums read by the database (Σ weight × progress, Σ weight)."""
    progress = Fraction(weighted_sum, weight_sum) if weight_sum else Fraction(0)
    return Summary(total=total, done=done, progress=progress)


def is_overdue(due_at: datetime, now: datetime, *, done: bool) -> bool:
    return not done and now >= due_at


def days_overdue(due_at: datetime, now: datetime, *, done: bool) -> int:
    """0 when not overdue; else the days begun since the deadline (≥ 1)."""
    if not is_overdue(due_at, now, done=done):
        return 0
    late = now - due_at
    return max(1, -(-late // DAY))
