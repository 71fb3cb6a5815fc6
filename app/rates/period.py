"""The period of a 三率 report, and its months, in Beijing time.

A period is two dates, both counted whole: [from 00:00, to + 1 day 00:00) Beijing time (UTC+8,
no daylight saving since 1991), so "2026-01-01 to 2026-12-31" is the calendar year 2026. The
default is the last 12 months: from the first day of the month eleven months back to today.
Its months, each [first day 00:00, next first day 00:00) Beijing time clipped to the period,
are the chart's buckets; their boundaries in UTC are what the SQL compares stored instants
with (a CASE over the boundaries: the same SQL on SQLite and PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
MAX_MONTHS = 60  # five years at most in one report
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class Month:
    key: str  # 'YYYY-MM'
    label: str  # '1月' … (the chart puts the year under January and the first month)
    start: datetime  # UTC, clipped to the period
    end: datetime  # UTC, exclusive


@dataclass(frozen=True)
class Period:
    first: date  # from (inclusive)
    last: date  # to (inclusive)

    @property
    def start(self) -> datetime:
        return beijing_midnight(self.first)

    @property
    def end(self) -> datetime:
        return beijing_midnight(self.last + timedelta(days=1))

    def months(self) -> list[Month]:
        out: list[Month] = []
        y, m = self.first.year, self.first.month
        while (y, m) <= (self.last.year, self.last.month):
            ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
            start = max(beijing_midnight(date(y, m, 1)), self.start)
            end = min(beijing_midnight(date(ny, nm, 1)), self.end)
            out.append(Month(f"{y:04d}-{m:02d}", f"{m}月", start, end))
            y, m = ny, nm
        return out


def beijing_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BEIJING).astimezone(UTC)


def today(now: datetime) -> date:
    return now.astimezone(BEIJING).date()


def default_period(now: datetime) -> Period:
    last = today(now)
    y, m = last.year, last.month - 11
    if m < 1:
        y, m = y - 1, m + 12
    return Period(date(y, m, 1), last)


def parse(raw_from: str, raw_to: str, now: datetime) -> tuple[Period, dict[str, str]]:
    """The period asked for (blank fields take the default's), and error codes per field; on
    an error the default period is returned with the codes."""
    default = default_period(now)
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for name, raw, fallback in (("from", raw_from, default.first), ("to", raw_to, default.last)):
        raw = raw.strip()
        if not raw:
            days[name] = fallback
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            errors[name] = "date_required"
            continue
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            errors[name] = "out_of_range"
            continue
        days[name] = day
    if errors:
        return default, errors
    period = Period(days["from"], days["to"])
    if period.last < period.first:
        return default, {"to": "period_reversed"}
    months = (period.last.year - period.first.year) * 12 + period.last.month - period.first.month
    if months + 1 > MAX_MONTHS:
        return default, {"to": "period_too_long"}
    return period, {}
