"""Checks never read as the opposite of their result (issue #10 §4): every check of every rule
has a stable id, the value needed in its own unit and the margin, and its wording and its
percentage agree with the exact comparison on both sides of every threshold."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.voting.labels import check_line
from app.voting.rules import (
    Check,
    Choice,
    Rule,
    RuleKind,
    Share,
    Unit,
    Voter,
    check_data,
    check_from_data,
    decide,
    legacy_text,
)

Y, N, A = Choice.YES.value, Choice.NO.value, Choice.ABSTAIN.value

# Every threshold a rule can have: the legal ones, and any configurable quorum n/d (d ≤ 100).
LEGAL = [
    Share(Fraction(1, 2), inclusive=False),
    Share(Fraction(2, 3), inclusive=True),
    Share(Fraction(3, 4), inclusive=True),
    Share(Fraction(1), inclusive=True),
]
shares = st.one_of(
    st.sampled_from(LEGAL),
    st.builds(
        lambda d, n, inclusive: Share(Fraction(min(n, d), d), inclusive=inclusive),
        st.integers(1, 100),
        st.integers(1, 100),
        st.booleans(),
    ),
)
units = st.sampled_from(list(Unit))


def exact(share: Share, value: int, whole: int) -> bool:
    """The reference comparison, in Fractions."""
    if whole <= 0:
        return False
    ratio = Fraction(value, whole)
    return ratio >= share.fraction if share.inclusive else ratio > share.fraction


def make(share: Share, value: int, whole: int, unit: Unit = Unit.AREA) -> Check:
    return Check("yes_area", "同意的专有部分面积", "参与表决面积", unit, value, whole, share)


# --- needed and margin ------------------------------------------------------------------------


@settings(max_examples=1500, deadline=None)
@given(shares, st.integers(0, 10**12), st.data())
def test_needed_is_the_least_value_that_passes_and_the_margin_says_by_how_much(
    share: Share, whole: int, data: st.DataObject
) -> None:
    needed = share.needed(whole)
    # both sides of the threshold, and anywhere else
    value = data.draw(
        st.one_of(
            st.sampled_from([min(max(v, 0), whole) for v in (needed - 1, needed, needed + 1)]),
            st.integers(0, whole),
        )
    )
    check = make(share, value, whole)
    assert check.passed == exact(share, value, whole)
    assert check.passed == (check.margin >= 0)
    assert check.margin == value - needed
    if whole > 0:
        assert exact(share, needed, whole)
        assert needed == 1 or not exact(share, needed - 1, whole)


def test_the_examples_of_the_issue_need_what_the_law_says() -> None:
    three_quarters, half, two_thirds = LEGAL[2], LEGAL[0], LEGAL[1]
    assert three_quarters.needed(30000) == 22500  # 225.00 ㎡ of 300.00 ㎡
    assert half.needed(200000) == 100001  # more than 1,000.00 ㎡ of 2,000.00 ㎡
    assert two_thirds.needed(1000000) == 666667  # 6,666.67 ㎡ of 10,000.00 ㎡
    assert half.needed(432) == 217  # more than half of 432 people
    assert half.needed(0) == 1  # nothing of nothing never passes


# --- percentages that never read the other way --------------------------------------------


def threshold_basis_points(share: Share) -> tuple[Fraction, int]:
    """The threshold exactly and as a reader would round it (half up), in 0.01 %."""
    exact_bp = share.fraction * 10000
    return exact_bp, int(exact_bp + Fraction(1, 2))


def assert_percent_agrees(share: Share, value: int, whole: int) -> None:
    check = make(share, value, whole)
    shown = check.shown_basis_points()
    assert shown is not None
    exact_bp, rounded_bp = threshold_basis_points(share)
    for threshold in (exact_bp, rounded_bp):
        reads_met = shown >= threshold if share.inclusive else shown > threshold
        assert reads_met == check.passed, (shown, threshold, check)
    assert abs(shown - Fraction(value * 10000, whole)) < 2  # off by under 0.02 %
    assert 0 <= shown <= 10000
    if Fraction(value, whole) < share.fraction:  # never shows an unmet share as the threshold
        assert shown < rounded_bp
    if Fraction(value, whole) > share.fraction:  # nor one over it as exactly the threshold
        assert shown > exact_bp


@settings(max_examples=3000, deadline=None)
@given(shares, st.integers(1, 10**9), st.data())
def test_a_shown_percentage_never_contradicts_the_result(
    share: Share, whole: int, data: st.DataObject
) -> None:
    needed = share.needed(whole)
    value = data.draw(
        st.one_of(
            st.sampled_from([v for v in (needed - 1, needed, needed + 1) if 0 <= v <= whole]),
            st.integers(0, whole),
        )
    )
    assert_percent_agrees(share, value, whole)


@pytest.mark.parametrize(
    ("share", "whole", "value", "shown"),
    [
        (LEGAL[2], 30000, 22499, 7499),  # 224.99 of 300.00 ≥ 3/4: was 75.00% ✗
        (LEGAL[0], 200000, 100001, 5001),  # 1,000.01 of 2,000.00 > 1/2: was 50.00% ✓
        (LEGAL[0], 200000, 100000, 5000),  # exactly half is not more than half
        (LEGAL[1], 1000000, 666650, 6666),  # 6,666.50 of 10,000.00 ≥ 2/3: was 66.67% ✗
        (LEGAL[1], 1000000, 666667, 6667),
        (LEGAL[1], 1000000, 666668, 6667),  # 66.6668 %: 66.67 % is over 2/3 = 66.666… %
        (LEGAL[2], 30000, 22501, 7501),  # 75.0033 %: not 75.00 %
        (LEGAL[2], 30000, 22500, 7500),  # exactly 3/4
        (LEGAL[0], 200000, 99999, 4999),  # 49.9995 %: not 50.00 %
        (LEGAL[0], 432, 3, 69),  # 实到 3 of 432 > 1/2
        (Share(Fraction(5, 6), inclusive=True), 300000, 249999, 8332),  # not 83.33 % = 5/6
        (LEGAL[1], 18, 15, 8333),  # far from the threshold: rounded as usual (83.333 %)
        (LEGAL[1], 150880, 123980, 8217),  # 82.171 %
    ],
)
def test_the_percentages_of_the_issue(share: Share, whole: int, value: int, shown: int) -> None:
    assert make(share, value, whole).shown_basis_points() == shown
    assert_percent_agrees(share, value, whole)


# --- the wording ------------------------------------------------------------------------------


def parse_amount(text: str) -> int:
    return int(text.replace(",", "").replace(".", "").removesuffix("㎡").removesuffix(" 人"))


LINE = re.compile(
    r"^(?P<label>\S+) (?P<value>[\d,.]+(?:㎡| 人))，占(?P<base>\S+) (?P<whole>[\d,.]+(?:㎡| 人))"
    r"的 (?P<pct>\d+\.\d{2})%；需 ≥ (?P<needed>[\d,.]+(?:㎡| 人))（(?P<rule>[^）]+)），"
    r"(?:(?P<short>差) (?P<by>[\d,.]+(?:㎡| 人))，未达到|(?:超出 (?P<over>[\d,.]+(?:㎡| 人))，)?达到"
    r"|恰好达到)$"
)


@settings(max_examples=1500, deadline=None)
@given(shares, st.integers(1, 10**9), units, st.data())
def test_the_line_says_what_was_needed_and_by_how_much_in_the_unit(
    share: Share, whole: int, unit: Unit, data: st.DataObject
) -> None:
    needed = share.needed(whole)
    value = data.draw(
        st.one_of(
            st.sampled_from([v for v in (needed - 1, needed, needed + 1) if 0 <= v <= whole]),
            st.integers(0, whole),
        )
    )
    check = make(share, value, whole, unit)
    line = check_line(check)
    match = LINE.match(line)
    assert match, line
    assert parse_amount(match["value"]) == value
    assert parse_amount(match["whole"]) == whole
    assert parse_amount(match["needed"]) == needed
    assert line.endswith("未达到") == (not check.passed)
    if check.passed:
        assert match["short"] is None
        assert parse_amount(match["over"] or "0") == check.margin
    else:
        assert parse_amount(match["by"]) == -check.margin
    pct = int(match["pct"].replace(".", ""))
    assert pct == check.shown_basis_points()
    exact_bp, rounded_bp = threshold_basis_points(share)
    for threshold in (exact_bp, rounded_bp):
        assert (pct >= threshold if share.inclusive else pct > threshold) == check.passed
    if share.fraction == 1:
        assert match["rule"] == "全体"
    else:
        words = "及以上" if share.inclusive else "超过"
        assert words in match["rule"]
        assert check.threshold in match["rule"]


@pytest.mark.parametrize(
    ("share", "value", "whole", "unit", "line"),
    [
        (
            LEGAL[2],
            22499,
            30000,
            Unit.AREA,
            "同意的专有部分面积 224.99㎡，占参与表决面积 300.00㎡的 74.99%；"
            "需 ≥ 225.00㎡（3/4 及以上），差 0.01㎡，未达到",
        ),
        (
            LEGAL[2],
            22500,
            30000,
            Unit.AREA,
            "同意的专有部分面积 225.00㎡，占参与表决面积 300.00㎡的 75.00%；"
            "需 ≥ 225.00㎡（3/4 及以上），恰好达到",
        ),
        (
            LEGAL[0],
            100001,
            200000,
            Unit.AREA,
            "同意的专有部分面积 1,000.01㎡，占参与表决面积 2,000.00㎡的 50.01%；"
            "需 ≥ 1,000.01㎡（超过 1/2），恰好达到",
        ),
        (
            LEGAL[0],
            100000,
            200000,
            Unit.AREA,
            "同意的专有部分面积 1,000.00㎡，占参与表决面积 2,000.00㎡的 50.00%；"
            "需 ≥ 1,000.01㎡（超过 1/2），差 0.01㎡，未达到",
        ),
        (
            LEGAL[1],
            666650,
            1000000,
            Unit.AREA,
            "同意的专有部分面积 6,666.50㎡，占参与表决面积 10,000.00㎡的 66.66%；"
            "需 ≥ 6,666.67㎡（2/3 及以上），差 0.17㎡，未达到",
        ),
        (
            LEGAL[1],
            666667,
            1000000,
            Unit.AREA,
            "同意的专有部分面积 6,666.67㎡，占参与表决面积 10,000.00㎡的 66.67%；"
            "需 ≥ 6,666.67㎡（2/3 及以上），恰好达到",
        ),
        (
            LEGAL[0],
            3,
            432,
            Unit.HEADS,
            "同意的专有部分面积 3 人，占参与表决面积 432 人的 0.69%；"
            "需 ≥ 217 人（超过 1/2），差 214 人，未达到",
        ),
        (
            LEGAL[0],
            218,
            432,
            Unit.HEADS,
            "同意的专有部分面积 218 人，占参与表决面积 432 人的 50.46%；"
            "需 ≥ 217 人（超过 1/2），超出 1 人，达到",
        ),
    ],
)
def test_the_examples_of_the_issue_read_the_right_way(
    share: Share, value: int, whole: int, unit: Unit, line: str
) -> None:
    assert check_line(make(share, value, whole, unit)) == line


def test_households_are_counted_as_households() -> None:
    check = Check("attendance_heads", "实到人数", "应到人数", Unit.HEADS, 3, 432, LEGAL[0])
    assert check_line(check, households=True) == (
        "实到户数 3 户，占应到户数 432 户的 0.69%；需 ≥ 217 户（超过 1/2），差 214 户，未达到"
    )


def test_no_base_reads_as_not_met() -> None:
    check = Check("yes_heads", "同意的业主人数", "参与表决人数", Unit.HEADS, 0, 0, LEGAL[0])
    assert not check.passed
    assert check.shown_basis_points() is None
    assert (
        check_line(check) == "同意的业主人数 0 人（参与表决人数 0 人）；需 ≥ 1 人，差 1 人，未达到"
    )


# --- ids: every rule, both sides of every threshold ---------------------------------------

IDS = {
    RuleKind.CONSENSUS: [],
    RuleKind.OWNERS_ORDINARY: [
        "participation_area",
        "participation_heads",
        "yes_area",
        "yes_heads",
    ],
    RuleKind.OWNERS_MAJOR: ["participation_area", "participation_heads", "yes_area", "yes_heads"],
    RuleKind.INTERESTED_UNANIMOUS: ["unanimous_heads"],
    RuleKind.PLURALITY: ["participation_heads"],
    RuleKind.COUNCIL_MAJORITY: ["attendance_heads", "yes_heads"],
    RuleKind.RESIDENTS_MEETING: ["attendance_heads", "yes_heads"],
    RuleKind.REPRESENTATIVES_MEETING: ["attendance_heads", "yes_heads"],
}
MEETINGS = {
    RuleKind.COUNCIL_MAJORITY,
    RuleKind.RESIDENTS_MEETING,
    RuleKind.REPRESENTATIVES_MEETING,
}


def reference_checks(
    rule: Rule, electorate: list[Voter], votes: dict[str, str], present: list[str] | None
) -> dict[str, tuple[int, int, Share]]:
    """Each check's (value, whole, share), worked out independently of app.voting.rules."""
    taking_part = set(votes) | set(present or ())
    area = {v.key: v.area_centi_m2 for v in electorate}
    yes = [k for k, c in votes.items() if c == Y]
    heads = len(electorate)
    match rule.kind:
        case RuleKind.OWNERS_ORDINARY | RuleKind.OWNERS_MAJOR:
            part_area = sum(area[k] for k in taking_part)
            return {
                "participation_area": (part_area, sum(area.values()), rule.quorum),
                "participation_heads": (len(taking_part), heads, rule.quorum),
                "yes_area": (sum(area[k] for k in yes), part_area, rule.passing),
                "yes_heads": (len(yes), len(taking_part), rule.passing),
            }
        case RuleKind.INTERESTED_UNANIMOUS:
            return {"unanimous_heads": (len(yes), heads, rule.passing)}
        case RuleKind.PLURALITY:
            return {"participation_heads": (len(taking_part), heads, rule.quorum)}
        case RuleKind.CONSENSUS:
            return {}
        case _:
            return {
                "attendance_heads": (len(taking_part), heads, rule.quorum),
                "yes_heads": (len(yes), len(taking_part), rule.passing),
            }


@settings(max_examples=1500, deadline=None)
@given(
    st.sampled_from(list(RuleKind)),
    st.lists(st.integers(1, 2_000_000), min_size=1, max_size=14),
    st.data(),
)
def test_every_rule_reports_its_checks_by_id_and_each_agrees_with_fractions(
    kind: RuleKind, areas: list[int], data: st.DataObject
) -> None:
    quorum = data.draw(st.sampled_from([None, Fraction(1, 2), Fraction(3, 4), Fraction(4, 7)]))
    rule = Rule.of(kind, quorum=quorum)
    electorate = [Voter(f"v{i}", a) for i, a in enumerate(areas)]
    choices = [Y, N, A] if kind != RuleKind.PLURALITY else ["s1", "s2"]
    votes = {
        v.key: c
        for v, c in zip(
            electorate,
            data.draw(
                st.lists(
                    st.sampled_from([*choices, None]), min_size=len(areas), max_size=len(areas)
                )
            ),
            strict=True,
        )
        if c is not None
    }
    present = None
    if kind in MEETINGS:
        extra = data.draw(st.lists(st.sampled_from([v.key for v in electorate]), max_size=5))
        present = sorted(set(votes) | set(extra))
    outcome = decide(rule, electorate, votes, present=present)
    assert [c.id for c in outcome.checks] == IDS[kind]
    expected = reference_checks(rule, electorate, votes, present)
    for check in outcome.checks:
        value, whole, share = expected[check.id]
        assert (check.value, check.whole, check.share) == (value, whole, share)
        assert check.passed == exact(share, value, whole)
        assert check.passed == (check.margin >= 0)
        assert check_line(check).endswith("未达到") == (not check.passed)
    if kind != RuleKind.PLURALITY:
        assert outcome.passed == all(c.passed for c in outcome.checks)


@pytest.mark.parametrize("kind", [k for k in RuleKind if IDS[k]])
def test_one_more_or_one_fewer_at_each_boundary_flips_exactly_that_check(kind: RuleKind) -> None:
    """Walk each heads check of each rule across its threshold with a growing electorate."""
    rule = Rule.of(kind)
    for size in range(1, 25):
        electorate = [Voter(f"v{i}", 100) for i in range(size)]
        for n in range(size + 1):
            keys = [v.key for v in electorate[:n]]
            yes = "s1" if kind == RuleKind.PLURALITY else Y
            outcome = decide(
                rule,
                electorate,
                dict.fromkeys(keys, yes),
                present=keys if kind in MEETINGS else None,
            )
            for check in outcome.checks:
                assert check.passed == (check.value >= check.needed)
                assert check.passed == exact(check.share, check.value, check.whole)


# --- the stored form --------------------------------------------------------------------------

checks = st.builds(
    lambda share, whole, data, unit, ident: Check(
        ident[0], ident[1], ident[2], unit, data.draw(st.integers(0, whole)), whole, share
    ),
    shares,
    st.integers(0, 10**10),
    st.data(),
    units,
    st.sampled_from(
        [
            ("participation_area", "参与表决专有部分面积", "总面积"),
            ("yes_heads", "同意人数", "实到人数"),
            ("attendance_heads", "实到人数", "应到人数"),
        ]
    ),
)


@settings(max_examples=500, deadline=None)
@given(checks)
def test_a_check_survives_its_stored_form(check: Check) -> None:
    data = check_data(check)
    assert check_from_data(data) == check
    assert data["passed"] == check.passed
    assert data["needed"] == check.needed
    assert data["margin"] == check.margin
    assert data["comparison"] in {">=", ">"}


@settings(max_examples=500, deadline=None)
@given(checks)
def test_results_frozen_as_text_are_still_read(check: Check) -> None:
    assert check_from_data(legacy_text(check)) == check


def test_a_line_frozen_before_checks_were_data_is_read_back() -> None:
    old = "同意的专有部分面积 224.99㎡ / 参与表决面积 300.00㎡ = 75.00% ≥ 3/4 ✗"
    check = check_from_data(old)
    assert check is not None
    assert (check.id, check.value, check.whole, check.passed) == ("yes_area", 22499, 30000, False)
    assert legacy_text(check) == old
    unanimous = check_from_data(
        "同意的利害关系业主 3 人 / 利害关系业主总数 3 人 = 100.00% ≥ 100% ✓"
    )
    assert unanimous is not None
    assert unanimous.passed
    assert check_from_data("something else") is None
    assert check_from_data({"id": "x"}) is None
