"""民评 rules: the summary of a round from its counts, exact; the reopen decision on both sides
of every threshold; the value strings never read the other way of the decision."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.evaluations import rules
from app.evaluations.rules import Counts, summarize, summary_data

weights = st.builds(lambda d, n: Fraction(min(n, d), d), st.integers(1, 100), st.integers(0, 100))
thresholds = st.builds(
    lambda d, n: Fraction(min(n, d - 1), d), st.integers(1, 100), st.integers(0, 100)
)
counts = st.builds(
    Counts,
    satisfied=st.integers(0, 400),
    basically_satisfied=st.integers(0, 400),
    dissatisfied=st.integers(0, 400),
)


def shown_threshold(threshold: Fraction) -> Decimal:
    """The threshold as a reader rounds it to 4 places."""
    exact = Decimal(threshold.numerator) / Decimal(threshold.denominator)
    return exact.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@given(counts, weights, thresholds)
def test_reopen_iff_dissatisfied_times_den_exceeds_num_times_valid(
    c: Counts, weight: Fraction, threshold: Fraction
) -> None:
    s = summarize(c, weight=weight, threshold=threshold)
    p, q = threshold.numerator, threshold.denominator
    assert s.reopen is (c.dissatisfied * q > p * c.valid)
    assert s.check.passed is s.reopen
    assert s.check.needed >= 1
    assert s.check.margin == c.dissatisfied - s.check.needed
    assert (s.check.margin >= 0) is s.reopen


@given(counts, weights, thresholds)
def test_rates_are_exact_and_their_strings_never_read_the_other_way(
    c: Counts, weight: Fraction, threshold: Fraction
) -> None:
    s = summarize(c, weight=weight, threshold=threshold)
    if c.valid == 0:
        assert s.satisfaction_rate is None
        assert s.dissatisfied_share is None
        assert not s.reopen
        return
    assert s.satisfaction_rate is not None
    assert s.dissatisfied_share is not None
    rate = Fraction(c.satisfied) / c.valid + weight * Fraction(c.basically_satisfied, c.valid)
    assert s.satisfaction_rate.fraction == rate
    assert Fraction(s.satisfaction_rate.numerator, s.satisfaction_rate.denominator) == rate
    shown_rate = Fraction(Decimal(s.satisfaction_rate.value))
    assert rate - Fraction(1, 10_000) < shown_rate <= rate  # rounded down, never overstated
    assert (shown_rate == 1) is (rate == 1)
    share = Fraction(c.dissatisfied, c.valid)
    assert s.dissatisfied_share.fraction == share
    for ratio in (s.satisfaction_rate, s.dissatisfied_share):
        whole, _, places = ratio.value.partition(".")
        assert whole.isdigit()
        assert len(places) == rules.PLACES
        assert places.isdigit()
    shown_share = Decimal(s.dissatisfied_share.value)
    assert abs(Fraction(shown_share) - share) <= Fraction(2, 10_000)
    if s.reopen:  # reads above the threshold, exactly and as the threshold reads rounded
        assert Fraction(shown_share) > threshold
        assert shown_share > shown_threshold(threshold)
    else:
        assert Fraction(shown_share) <= threshold
        assert shown_share <= shown_threshold(threshold)


@given(st.integers(1, 2000), thresholds)
def test_exactly_at_the_threshold_does_not_reopen_and_one_more_does(
    k: int, threshold: Fraction
) -> None:
    """For valid = k·den, 不满意 = k·num is exactly on the threshold: not more than it."""
    p, q = threshold.numerator, threshold.denominator
    valid, at = k * q, k * p
    rest = valid - at

    def reopen(dissatisfied: int, others: int) -> bool:
        return summarize(
            Counts(satisfied=others, dissatisfied=dissatisfied), threshold=threshold
        ).reopen

    assert not reopen(at, rest)
    assert reopen(at + 1, rest - 1)  # one answer moves from 满意 to 不满意
    assert not reopen(at, rest + 1)  # one more valid answer lowers the share
    check = summarize(Counts(satisfied=rest, dissatisfied=at), threshold=threshold).check
    assert (check.needed, check.margin) == (at + 1, -1)


@pytest.mark.parametrize(
    ("dissatisfied", "valid", "reopen", "value", "needed"),
    [
        (3, 9, False, "0.3333", 4),  # exactly 1/3: not more than 1/3
        (4, 9, True, "0.4444", 4),
        (1, 3, False, "0.3333", 2),
        (2, 6, False, "0.3333", 3),
        (3, 10, False, "0.3000", 4),
        (4, 10, True, "0.4000", 4),
        (33_333, 100_000, False, "0.3332", 33_334),  # 0.33333 under 1/3 reads under 0.3333
        (33_334, 100_000, True, "0.3334", 33_334),
        (100_000, 300_000, False, "0.3333", 100_001),
        (100_001, 300_000, True, "0.3334", 100_001),  # 0.333337 would round to 0.3333
        (0, 5, False, "0.0000", 2),
        (5, 5, True, "1.0000", 2),
    ],
)
def test_the_default_threshold_on_both_sides(
    dissatisfied: int, valid: int, reopen: bool, value: str, needed: int
) -> None:
    s = summarize(Counts(satisfied=valid - dissatisfied, dissatisfied=dissatisfied))
    assert s.threshold == Fraction(1, 3)
    assert s.reopen is reopen
    assert s.dissatisfied_share is not None
    assert s.dissatisfied_share.value == value
    assert (s.check.needed, s.check.margin) == (needed, dissatisfied - needed)


def test_a_share_next_to_a_half_never_rounds_onto_it() -> None:
    half = Fraction(1, 2)
    # 99,999 of 200,000 = 0.499995 would round half up to 0.5000: it does not reopen.
    s = summarize(Counts(satisfied=100_001, dissatisfied=99_999), threshold=half)
    assert not s.reopen
    assert s.dissatisfied_share is not None
    assert s.dissatisfied_share.value == "0.4999"
    # 50,001 of 100,000 = 0.50001 would round to 0.5000: it reopens, so it reads 0.5001.
    s = summarize(Counts(satisfied=49_999, dissatisfied=50_001), threshold=half)
    assert s.reopen
    assert s.dissatisfied_share is not None
    assert s.dissatisfied_share.value == "0.5001"
    # Exactly a half does not reopen and reads 0.5000.
    s = summarize(Counts(satisfied=5, dissatisfied=5), threshold=half)
    assert not s.reopen
    assert s.dissatisfied_share is not None
    assert s.dissatisfied_share.value == "0.5000"


def test_the_summary_as_the_api_answers_it() -> None:
    counts = Counts(
        satisfied=5, basically_satisfied=3, dissatisfied=4, resolved_yes=7, resolved_no=4
    )
    data = summary_data(summarize(counts))
    # (5 + 9/10 × 3) / 12 = 7.7/12 = 77/120 = 0.641666… → 0.6416 (rounded down)
    assert data["satisfaction_rate"] == {"numerator": 77, "denominator": 120, "value": "0.6416"}
    # 4/12 = 1/3 exactly: not more than 1/3
    assert data["dissatisfied_share"] == {"numerator": 1, "denominator": 3, "value": "0.3333"}
    assert data["reopen"] is False
    assert {k: data[k] for k in ("valid", "satisfied", "basically_satisfied", "dissatisfied")} == {
        "valid": 12,
        "satisfied": 5,
        "basically_satisfied": 3,
        "dissatisfied": 4,
    }
    assert (data["resolved_yes"], data["resolved_no"]) == (7, 4)
    assert (data["weight"], data["threshold"]) == ("9/10", "1/3")
    check = data["check"]
    assert check["id"] == "dissatisfied_heads"
    assert (check["value"], check["whole"], check["threshold"], check["comparison"]) == (
        4,
        12,
        "1/3",
        ">",
    )
    assert (check["passed"], check["needed"], check["margin"]) == (False, 5, -1)


def test_the_weight_counts_basically_satisfied_from_nothing_to_fully() -> None:
    c = Counts(satisfied=1, basically_satisfied=2, dissatisfied=1)
    values = {
        w: summarize(c, weight=w).satisfaction_rate
        for w in (Fraction(0), Fraction(9, 10), Fraction(1))
    }
    assert {w: (r.fraction, r.value) for w, r in values.items() if r} == {
        Fraction(0): (Fraction(1, 4), "0.2500"),
        Fraction(9, 10): (Fraction(7, 10), "0.7000"),
        Fraction(1): (Fraction(3, 4), "0.7500"),
    }
    # Everyone 基本满意 at weight 9/10 is 0.9, not 100 %; at weight 1 it is 100 %.
    all_basic = Counts(basically_satisfied=7)
    rate = summarize(all_basic).satisfaction_rate
    assert rate is not None
    assert rate.value == "0.9000"
    rate = summarize(all_basic, weight=Fraction(1)).satisfaction_rate
    assert rate is not None
    assert rate.value == "1.0000"
    # 9,999 満意 and one 基本满意 at 9/10: 0.99999 must not read 1.0000.
    rate = summarize(Counts(satisfied=9_999, basically_satisfied=1)).satisfaction_rate
    assert rate is not None
    assert rate.value == "0.9999"


def test_no_valid_answer_reopens_nothing_and_has_no_rates() -> None:
    s = summarize(Counts())
    assert not s.reopen
    assert s.satisfaction_rate is None
    assert s.dissatisfied_share is None
    assert (s.check.value, s.check.whole, s.check.needed) == (0, 0, 1)
    data = summary_data(s)
    assert data["valid"] == 0
    assert data["satisfaction_rate"] is None
    assert data["dissatisfied_share"] is None
    assert data["reopen"] is False


def test_a_zero_threshold_reopens_on_any_dissatisfied_answer() -> None:
    zero = Fraction(0)
    assert not summarize(Counts(satisfied=1000), threshold=zero).reopen
    s = summarize(Counts(satisfied=100_000, dissatisfied=1), threshold=zero)
    assert s.reopen
    assert s.dissatisfied_share is not None
    assert s.dissatisfied_share.value == "0.0001"  # 0.00000999…: never reads 0 when it reopens


@pytest.mark.parametrize(
    ("num", "den", "weight", "threshold"),
    [
        (0, 1, True, True),
        (1, 3, True, True),
        (9, 10, True, True),
        (1, 1, True, False),  # a threshold of 1 could never be exceeded
        (3, 3, True, False),
        (4, 3, False, False),
        (-1, 3, False, False),
        (1, 0, False, False),
        (0, 0, False, False),
    ],
)
def test_which_fractions_a_hall_may_set(num: int, den: int, weight: bool, threshold: bool) -> None:
    assert rules.weight_ok(num, den) is weight
    assert rules.threshold_ok(num, den) is threshold


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="weight"):
        summarize(Counts(), weight=Fraction(11, 10))
    with pytest.raises(ValueError, match="threshold"):
        summarize(Counts(), threshold=Fraction(1))
    with pytest.raises(ValueError, match="dissatisfied"):
        Counts(dissatisfied=-1)
    with pytest.raises(ValueError, match="satisfied"):
        Counts(satisfied=True)
    with pytest.raises(ValueError, match="是否解决"):
        Counts(satisfied=1, resolved_yes=1, resolved_no=1)


def test_decimal_string() -> None:
    assert [rules.decimal_string(n) for n in (0, 1, 3333, 10_000, 12_345)] == [
        "0.0000",
        "0.0001",
        "0.3333",
        "1.0000",
        "1.2345",
    ]
    assert rules.rounded_down(Fraction(2, 3)) == "0.6666"
    assert rules.rounded_down(Fraction(1)) == "1.0000"
    assert rules.rounded_down(Fraction(0)) == "0.0000"
