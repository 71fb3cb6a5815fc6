"""Decision rules: every boundary of every rule, and properties against a Fraction reference."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.halls.models import Role
from app.voting.labels import check_line
from app.voting.rules import (
    MEETING_RULES,
    ROLE_ELECTORATES,
    VOTER_UNITS,
    Choice,
    Rule,
    RuleKind,
    Voter,
    decide,
)

Y, N, A = Choice.YES.value, Choice.NO.value, Choice.ABSTAIN.value


def owners(*areas: int) -> list[Voter]:
    return [Voter(f"o{i}", area) for i, area in enumerate(areas)]


def people(n: int) -> list[Voter]:
    return [Voter(f"p{i}") for i in range(n)]


# --- 民法典 278: participation ≥ 2/3 of area AND of heads ------------------------------------


def test_exactly_two_thirds_participation_is_enough() -> None:
    electorate = owners(100, 100, 100)  # 3 owners, equal areas
    outcome = decide(Rule.of(RuleKind.OWNERS_ORDINARY), electorate, {"o0": Y, "o1": Y})
    assert [c.passed for c in outcome.checks[:2]] == [True, True]
    assert outcome.passed


def test_one_short_of_two_thirds_area_fails_even_with_enough_heads() -> None:
    # 3 of 4 heads take part (75 %) but only 6,666 of 10,000 hundredths of m² (66.66 %).
    electorate = [Voter("a", 2222), Voter("b", 2222), Voter("c", 2222), Voter("d", 3334)]
    outcome = decide(Rule.of(RuleKind.OWNERS_ORDINARY), electorate, {"a": Y, "b": Y, "c": Y})
    assert not outcome.checks[0].passed
    assert outcome.checks[1].passed
    assert not outcome.passed
    assert check_line(outcome.checks[0]) == (
        "参与表决专有部分面积 66.66㎡，占总面积 100.00㎡的 66.66%；"
        "需 ≥ 66.67㎡（2/3 及以上），差 0.01㎡，未达到"
    )


def test_exactly_half_of_participating_heads_does_not_pass() -> None:
    electorate = owners(100, 100, 100, 100)
    outcome = decide(
        Rule.of(RuleKind.OWNERS_ORDINARY), electorate, {"o0": Y, "o1": Y, "o2": N, "o3": N}
    )
    assert not outcome.checks[3].passed  # 2/4 is not more than half
    assert not outcome.passed


def test_abstaining_owners_have_taken_part() -> None:
    electorate = owners(100, 100, 100)
    outcome = decide(Rule.of(RuleKind.OWNERS_ORDINARY), electorate, {"o0": Y, "o1": A})
    assert outcome.checks[1].value == 2  # both count toward participation
    assert not outcome.passed  # 1 yes of 2 participants is not more than half


def test_exactly_three_quarters_passes_a_major_matter() -> None:
    electorate = owners(100, 100, 100, 100)
    outcome = decide(
        Rule.of(RuleKind.OWNERS_MAJOR), electorate, {"o0": Y, "o1": Y, "o2": Y, "o3": N}
    )
    assert outcome.passed


def test_one_hundredth_of_a_square_metre_below_three_quarters_fails() -> None:
    # Participating area 10,000.00 m²; yes area 7,499.99 m² < 3/4, while 3 of 4 heads ≥ 3/4.
    electorate = [Voter("a", 249999), Voter("b", 250000), Voter("c", 250000), Voter("d", 250001)]
    outcome = decide(Rule.of(RuleKind.OWNERS_MAJOR), electorate, {"a": Y, "b": Y, "c": Y, "d": N})
    assert (outcome.checks[2].value, outcome.checks[2].whole) == (749999, 1000000)
    assert not outcome.checks[2].passed
    assert outcome.checks[3].passed
    assert not outcome.passed
    one_more = [Voter("a", 250000), Voter("b", 250000), Voter("c", 250000), Voter("d", 250000)]
    assert decide(Rule.of(RuleKind.OWNERS_MAJOR), one_more, {"a": Y, "b": Y, "c": Y, "d": N}).passed


def test_decimal_areas_add_exactly() -> None:
    electorate = [Voter("a", 3333), Voter("b", 3334), Voter("c", 3333)]  # 33.33 + 33.34 + 33.33
    outcome = decide(Rule.of(RuleKind.OWNERS_ORDINARY), electorate, {"a": Y, "b": Y})
    assert outcome.checks[0].value == 6667
    assert outcome.checks[0].whole == 10000
    assert outcome.checks[0].passed  # 66.67 % ≥ 2/3 (6667·3 = 20001 ≥ 20000)
    assert "66.67㎡，占总面积 100.00㎡" in check_line(outcome.checks[0])


def test_check_texts_show_numbers_in_chinese() -> None:
    electorate = [Voter("a", 1400000), Voter("b", 300000), Voter("c", 300000)]
    outcome = decide(Rule.of(RuleKind.OWNERS_ORDINARY), electorate, {"a": Y, "b": N})
    assert check_line(outcome.checks[0]) == (
        "参与表决专有部分面积 17,000.00㎡，占总面积 20,000.00㎡的 85.00%；"
        "需 ≥ 13,333.34㎡（2/3 及以上），超出 3,666.66㎡，达到"
    )


# --- meetings ---------------------------------------------------------------------------------


def test_residents_meeting_needs_more_than_half_present() -> None:
    electorate = people(10)
    present = [f"p{i}" for i in range(5)]
    outcome = decide(
        Rule.of(RuleKind.RESIDENTS_MEETING), electorate, dict.fromkeys(present, Y), present=present
    )
    assert not outcome.checks[0].passed  # 5 of 10 is not more than half
    present.append("p5")
    outcome = decide(
        Rule.of(RuleKind.RESIDENTS_MEETING),
        electorate,
        dict.fromkeys(present[:4], Y),
        present=present,
    )
    assert outcome.checks[0].passed
    assert outcome.passed  # 4 of 6 present


def test_council_quorum_is_configurable_and_inclusive() -> None:
    electorate = people(9)
    present = [f"p{i}" for i in range(6)]  # exactly 2/3
    votes = dict.fromkeys(present[:4], Y)
    assert decide(Rule.of(RuleKind.COUNCIL_MAJORITY), electorate, votes, present=present).passed
    stricter = Rule.of(RuleKind.COUNCIL_MAJORITY, quorum=Fraction(3, 4))
    assert not decide(stricter, electorate, votes, present=present).passed


def test_representatives_meeting_counts_present_non_voters() -> None:
    electorate = people(6)
    present = ["p0", "p1", "p2", "p3"]
    outcome = decide(
        Rule.of(RuleKind.REPRESENTATIVES_MEETING), electorate, {"p0": Y, "p1": Y}, present=present
    )
    assert outcome.checks[1].whole == 4
    assert not outcome.passed  # 2 of 4 present is not more than half


def test_interested_owners_must_all_agree() -> None:
    electorate = owners(100, 100, 100)
    assert decide(
        Rule.of(RuleKind.INTERESTED_UNANIMOUS), electorate, {"o0": Y, "o1": Y, "o2": Y}
    ).passed
    assert not decide(
        Rule.of(RuleKind.INTERESTED_UNANIMOUS), electorate, {"o0": Y, "o1": Y, "o2": A}
    ).passed


def test_plurality_names_the_winner_and_refuses_a_tie() -> None:
    electorate = people(4)
    outcome = decide(Rule.of(RuleKind.PLURALITY), electorate, {"p0": "s1", "p1": "s1", "p2": "s2"})
    assert outcome.winner == "s1"
    tie = decide(
        Rule.of(RuleKind.PLURALITY), electorate, {"p0": "s1", "p1": "s2", "p2": "s1", "p3": "s2"}
    )
    assert tie.winner is None
    assert not tie.passed


def test_votes_from_outside_the_electorate_are_ignored() -> None:
    outcome = decide(
        Rule.of(RuleKind.OWNERS_ORDINARY), owners(100, 100, 100), {"o0": Y, "o1": Y, "stranger": Y}
    )
    assert outcome.checks[1].value == 2


def test_consensus_records_no_vote() -> None:
    assert decide(Rule.of(RuleKind.CONSENSUS), people(3), {}).passed


# --- properties against a Fraction reference ---------------------------------------------------

areas = st.lists(st.integers(min_value=1, max_value=20_000_000), min_size=1, max_size=25)


def reference(kind: RuleKind, electorate: list[Voter], votes: dict[str, str]) -> bool:
    need = Fraction(3, 4) if kind == RuleKind.OWNERS_MAJOR else Fraction(1, 2)
    total_area = sum(v.area_centi_m2 for v in electorate)
    part = [v for v in electorate if v.key in votes]
    part_area = sum(v.area_centi_m2 for v in part)
    yes = [v for v in part if votes[v.key] == Y]
    yes_area = sum(v.area_centi_m2 for v in yes)
    quorum = Fraction(part_area, total_area) >= Fraction(2, 3) and Fraction(
        len(part), len(electorate)
    ) >= Fraction(2, 3)
    if not quorum or not part:
        return False
    if kind == RuleKind.OWNERS_MAJOR:
        return Fraction(yes_area, part_area) >= need and Fraction(len(yes), len(part)) >= need
    return Fraction(yes_area, part_area) > need and Fraction(len(yes), len(part)) > need


@settings(max_examples=400, deadline=None)
@given(areas, st.data(), st.sampled_from([RuleKind.OWNERS_ORDINARY, RuleKind.OWNERS_MAJOR]))
def test_owners_rules_agree_with_a_fraction_reference(
    sizes: list[int], data: st.DataObject, kind: RuleKind
) -> None:
    electorate = [Voter(f"o{i}", a) for i, a in enumerate(sizes)]
    choices = data.draw(
        st.lists(st.sampled_from([Y, N, A, None]), min_size=len(sizes), max_size=len(sizes))
    )
    votes = {v.key: c for v, c in zip(electorate, choices, strict=True) if c is not None}
    assert decide(Rule.of(kind), electorate, votes).passed == reference(kind, electorate, votes)


@settings(max_examples=300, deadline=None)
@given(areas, st.data(), st.sampled_from([RuleKind.OWNERS_ORDINARY, RuleKind.OWNERS_MAJOR]))
def test_adding_a_yes_never_turns_a_pass_into_a_fail(
    sizes: list[int], data: st.DataObject, kind: RuleKind
) -> None:
    electorate = [Voter(f"o{i}", a) for i, a in enumerate(sizes)]
    choices = data.draw(
        st.lists(st.sampled_from([Y, N, A, None]), min_size=len(sizes), max_size=len(sizes))
    )
    votes = {v.key: c for v, c in zip(electorate, choices, strict=True) if c is not None}
    missing = [v.key for v in electorate if v.key not in votes]
    if not missing or not decide(Rule.of(kind), electorate, votes).passed:
        return
    assert decide(Rule.of(kind), electorate, {**votes, missing[0]: Y}).passed


@settings(max_examples=200, deadline=None)
@given(areas, st.data())
def test_the_order_of_votes_never_matters(sizes: list[int], data: st.DataObject) -> None:
    electorate = [Voter(f"o{i}", a) for i, a in enumerate(sizes)]
    choices = data.draw(
        st.lists(st.sampled_from([Y, N, A]), min_size=len(sizes), max_size=len(sizes))
    )
    votes = list(zip([v.key for v in electorate], choices, strict=True))
    shuffled = data.draw(st.permutations(votes))
    rule = Rule.of(RuleKind.OWNERS_ORDINARY)
    assert decide(rule, electorate, dict(votes)) == decide(
        rule, list(reversed(electorate)), dict(shuffled)
    )


@pytest.mark.parametrize("kind", list(RuleKind))
def test_every_rule_gives_an_outcome(kind: RuleKind) -> None:
    outcome = decide(
        Rule.of(kind), people(3), {"p0": Y, "p1": Y, "p2": Y}, present=["p0", "p1", "p2"]
    )
    assert outcome.rule == kind
    assert all(check_line(c).endswith("达到") for c in outcome.checks)


# --- the rule tables ------------------------------------------------------------------------


def test_every_rule_has_its_voter_units_and_role_electorates_name_real_roles() -> None:
    assert set(VOTER_UNITS) == set(RuleKind)
    assert all(VOTER_UNITS[kind] for kind in RuleKind)
    assert {Role(value) for value in ROLE_ELECTORATES.values()} == {Role.COUNCIL, Role.RESIDENT_REP}
    assert set(ROLE_ELECTORATES) <= MEETING_RULES
