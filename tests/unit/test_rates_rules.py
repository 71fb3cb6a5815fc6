"""三率's pure parts: the arithmetic, the period's bounds and months, the chart's geometry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rates import chart, period
from app.rates.rules import Tally, Weights, coefficient, percent, points, rates, weight_problems


def test_rates_are_exact_and_rounded_down() -> None:
    # 满意 2, 基本 1, 不满意 0 → (2 + 9/10)/3 = 29/30 = 0.96666… → 0.9666 (not 0.9667)
    # 解决 2 of 3 → 0.6666; 响应 1 of 3 → 0.3333
    # 综合 (10 × 1/3 + 45 × 2/3 + 45 × 29/30)/100 = (10/3 + 30 + 87/2)/100
    #      = ((20 + 180 + 261)/6)/100 = 461/600 = 0.768333… → 0.7683
    t = Tally(
        rounds=1,
        valid=3,
        satisfied=2,
        basic=1,
        resolved_yes=2,
        resolved_no=1,
        assessed=3,
        in_time=1,
    )
    r = rates(t, Weights())
    assert r.satisfaction is not None
    assert (r.satisfaction.fraction, r.satisfaction.value) == (Fraction(29, 30), "0.9666")
    assert r.resolution is not None
    assert r.resolution.value == "0.6666"
    assert r.score is not None
    assert (r.score.fraction, r.score.value) == (Fraction(461, 600), "0.7683")
    assert (percent(r.satisfaction), points(r.score)) == ("96.66%", "76.83")
    assert r.data()["satisfaction_rate"] == {"numerator": 29, "denominator": 30, "value": "0.9666"}


def test_no_data_is_none_never_zero() -> None:
    r = rates(Tally(), Weights())
    assert (r.response, r.resolution, r.satisfaction, r.score) == (None, None, None, None)
    assert percent(r.response) == "—"
    assert points(r.score) == "—"


def test_a_tally_refuses_counts_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="valid"):
        Tally(valid=2, satisfied=1)
    with pytest.raises(ValueError, match="in time"):
        Tally(assessed=1, in_time=2)
    with pytest.raises(ValueError, match="non-negative"):
        Tally(rounds=-1)


def test_weights_sum_to_100_each_0_to_100() -> None:
    assert weight_problems(10, 45, 45) == {}
    assert weight_problems(0, 0, 100) == {}
    assert weight_problems(10, 45, 46) == {"rate_weight_response": "rate_weights_not_100"}
    assert weight_problems(-1, 51, 50) == {"rate_weight_response": "out_of_range"}
    assert weight_problems(0, 0, 101) == {"rate_weight_satisfaction": "out_of_range"}
    with pytest.raises(ValueError, match="基本满意"):
        Weights(basic=Fraction(11, 10))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Fraction(9, 10), "0.9"),
        (Fraction(1), "1"),
        (Fraction(0), "0"),
        (Fraction(1, 3), "1/3"),
        (Fraction(7, 8), "0.875"),
    ],
)
def test_coefficient(value: Fraction, shown: str) -> None:
    assert coefficient(value) == shown


@given(
    st.integers(0, 500),
    st.integers(0, 500),
    st.integers(0, 500),
    st.integers(0, 500),
    st.integers(0, 500),
    st.fractions(min_value=0, max_value=1, max_denominator=100),
)
def test_the_value_never_overstates(
    sat: int, basic: int, dis: int, yes: int, no: int, w: Fraction
) -> None:
    t = Tally(
        valid=sat + basic + dis,
        satisfied=sat,
        basic=basic,
        dissatisfied=dis,
        resolved_yes=yes,
        resolved_no=no,
    )
    r = rates(t, Weights(basic=w))
    for ratio in (r.satisfaction, r.resolution):
        if ratio is not None:
            shown = Fraction(ratio.value)
            assert shown <= ratio.fraction < shown + Fraction(1, 10_000)


def test_a_period_is_whole_beijing_days() -> None:
    p = period.Period(date(2026, 1, 1), date(2026, 3, 31))
    assert p.start == datetime(2025, 12, 31, 16, tzinfo=UTC)
    assert p.end == datetime(2026, 3, 31, 16, tzinfo=UTC)
    months = p.months()
    assert [m.key for m in months] == ["2026-01", "2026-02", "2026-03"]
    assert months[1].start == datetime(2026, 1, 31, 16, tzinfo=UTC)
    assert months[-1].end == p.end


def test_parsing_a_period() -> None:
    now = datetime(2026, 4, 15, 17, tzinfo=UTC)  # 04-16 01:00 in Beijing
    default = period.default_period(now)
    assert (default.first, default.last) == (date(2025, 5, 1), date(2026, 4, 16))
    assert period.parse("", "", now) == (default, {})
    assert period.parse("2026-02-01", "2026-01-31", now)[1] == {"to": "period_reversed"}
    assert period.parse("x", "", now)[1] == {"from": "date_required"}
    assert period.parse("1999-12-31", "", now)[1] == {"from": "out_of_range"}
    assert period.parse("2020-01-01", "2024-12-31", now)[1] == {}  # 60 months
    assert period.parse("2020-01-01", "2025-01-01", now)[1] == {"to": "period_too_long"}
    one_day = period.parse("2026-01-31", "2026-01-31", now)[0]
    assert len(one_day.months()) == 1


def test_the_chart_leaves_a_gap_for_a_month_without_data() -> None:
    full = rates(Tally(valid=1, satisfied=1), Weights()).satisfaction
    half = rates(Tally(valid=2, satisfied=1, dissatisfied=1), Weights()).satisfaction
    months = [("2025-12", "12月"), ("2026-01", "1月"), ("2026-02", "2月"), ("2026-03", "3月")]
    c = chart.build(months, {"satisfaction": [full, None, half, full]})
    (line,) = c.lines
    assert len(line.segments) == 2  # December alone, then February–March
    assert [p.percent for p in line.points] == ["100.00%", "50.00%", "100.00%"]
    top, middle = c.ticks[-1].y, c.ticks[2].y
    assert line.points[0].y == top
    assert line.points[1].y == middle
    assert [m.year for m in c.months] == ["2025", "2026", "", ""]
