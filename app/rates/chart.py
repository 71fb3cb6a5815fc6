"""The month-by-month 三率 chart as geometry for a server-rendered SVG (no JS library).

Pure: months and rates in, coordinates out; app/templates/rates/_chart.html draws them. The
y axis is 0–100 % whole (an honest scale: a 5-point drop looks like 5 points); a month without
data is a gap in its line, not a zero. The SVG's viewBox is 360 wide, so it fits a 390 px
phone at 1:1 and scales up on wider screens. Each series differs by dash and marker shape as
well as colour (readable in print and without colour vision).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.evaluations.rules import Ratio

WIDTH = 360
HEIGHT = 230
LEFT = 40  # room for the y labels
RIGHT = 10
TOP = 12
BOTTOM = 46  # room for the month and year labels and the axis title
TICKS = (0, 25, 50, 75, 100)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    month: str
    percent: str


@dataclass(frozen=True)
class Line:
    key: str  # response | resolution | satisfaction
    segments: tuple[str, ...]  # SVG path data, one per run of months with data
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class MonthLabel:
    x: float
    label: str
    year: str  # under the first month shown and under each January, else ''


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    ticks: tuple[Tick, ...]
    months: tuple[MonthLabel, ...]
    lines: tuple[Line, ...]


def _y(r: Ratio) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return round(TOP + plot * (1 - float(Decimal(r.value))), 1)


def build(months: list[tuple[str, str]], series: dict[str, list[Ratio | None]]) -> Chart:
    """`months`: (key 'YYYY-MM', short label) in order; `series`: per key, a rate per month."""
    plot_w = WIDTH - LEFT - RIGHT
    n = len(months)
    step = plot_w / n if n else plot_w
    xs = [round(LEFT + step * (i + 0.5), 1) for i in range(n)]
    every = max(1, -(-n // 12))  # at most 12 month labels
    shown = [i for i in range(n) if i % every == 0 or i == n - 1]
    labels = tuple(
        MonthLabel(
            xs[i],
            months[i][1],
            months[i][0][:4] if i == shown[0] or months[i][0].endswith("-01") else "",
        )
        for i in shown
    )
    ticks = tuple(
        Tick(round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - t / 100), 1), f"{t}%") for t in TICKS
    )
    lines = []
    for key, values in series.items():
        segments: list[str] = []
        points: list[Point] = []
        run: list[str] = []
        for i, value in enumerate(values):
            if value is None:
                if run:
                    segments.append(" ".join(run))
                run = []
                continue
            y = _y(value)
            run.append(f"{'M' if not run else 'L'}{xs[i]} {y}")
            pct = f"{Decimal(value.value) * 100:.2f}%"
            points.append(Point(xs[i], y, months[i][0], pct))
        if run:
            segments.append(" ".join(run))
        lines.append(Line(key, tuple(segments), tuple(points)))
    return Chart(
        WIDTH,
        HEIGHT,
        LEFT,
        WIDTH - RIGHT,
        TOP,
        HEIGHT - BOTTOM,
        ticks,
        labels,
        tuple(lines),
    )
