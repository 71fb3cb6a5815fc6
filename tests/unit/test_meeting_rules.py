"""Meeting rules: each kind's rule and quorum (no second copy of a threshold), the attendance
answer on both sides of every quorum, the notice period and the sign-in window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.halls.models import Role
from app.meetings import rules
from app.meetings.rules import Expected, MeetingKind, attendance
from app.voting.rules import MEETING_RULES, Rule, RuleKind

QUORUM_KINDS = [k for k in MeetingKind if rules.has_quorum(k)]
CONFIGURED = [MeetingKind.COUNCIL, MeetingKind.REPRESENTATIVES]
fractions = st.builds(lambda d, n: Fraction(min(n, d), d), st.integers(1, 100), st.integers(1, 100))
T0 = datetime(2026, 12, 10, 19, 0, tzinfo=UTC)


def reference(kind: MeetingKind, present: int, expected: int, quorum: Fraction) -> bool:
    """The quorum in Fractions, straight from DOMAIN.md §1.3/§3."""
    if expected == 0:
        return False
    ratio = Fraction(present, expected)
    if kind == MeetingKind.RESIDENTS:
        return ratio > Fraction(1, 2)  # 过半数出席
    return ratio >= quorum  # 议事会 / 居民代表会议: the configured fraction 以上


def test_each_kind_takes_its_rule_and_quorum_from_the_voting_rules() -> None:
    assert rules.DECISION_RULES == {
        MeetingKind.COUNCIL: RuleKind.COUNCIL_MAJORITY,
        MeetingKind.RESIDENTS: RuleKind.RESIDENTS_MEETING,
        MeetingKind.REPRESENTATIVES: RuleKind.REPRESENTATIVES_MEETING,
        MeetingKind.FORUM: RuleKind.CONSENSUS,
        MeetingKind.HEARING: RuleKind.CONSENSUS,
    }
    for kind in QUORUM_KINDS:
        assert rules.DECISION_RULES[kind] in MEETING_RULES
        rule = rules.rule_of(kind, Fraction(3, 5))
        assert rule == Rule.of(rules.DECISION_RULES[kind], quorum=Fraction(3, 5))
    assert rules.rule_of(MeetingKind.RESIDENTS, Fraction(3, 5)).quorum.fraction == Fraction(1, 2)
    assert rules.rule_of(MeetingKind.COUNCIL, Fraction(3, 5)).quorum.fraction == Fraction(3, 5)


def test_who_is_expected_at_each_kind() -> None:
    assert rules.expected_by(MeetingKind.COUNCIL) == Expected.ROLE
    assert rules.expected_role(MeetingKind.COUNCIL) == Role.COUNCIL.value
    assert rules.expected_by(MeetingKind.REPRESENTATIVES) == Expected.ROLE
    assert rules.expected_role(MeetingKind.REPRESENTATIVES) == Role.RESIDENT_REP.value
    assert rules.expected_by(MeetingKind.RESIDENTS) == Expected.RESIDENTS
    assert rules.expected_role(MeetingKind.RESIDENTS) is None
    for kind in (MeetingKind.FORUM, MeetingKind.HEARING):
        assert rules.expected_by(kind) == Expected.INVITED
        assert not rules.has_quorum(kind)


@pytest.mark.parametrize(
    ("kind", "expected", "quorum", "short", "enough"),
    [
        (MeetingKind.RESIDENTS, 10, Fraction(2, 3), 5, 6),  # exactly half is not 过半数
        (MeetingKind.RESIDENTS, 9, Fraction(2, 3), 4, 5),
        (MeetingKind.RESIDENTS, 1, Fraction(2, 3), 0, 1),
        (MeetingKind.COUNCIL, 3, Fraction(2, 3), 1, 2),  # exactly 2/3 is enough (以上)
        (MeetingKind.COUNCIL, 20, Fraction(2, 3), 13, 14),
        (MeetingKind.REPRESENTATIVES, 6, Fraction(2, 3), 3, 4),
        (MeetingKind.REPRESENTATIVES, 40, Fraction(3, 4), 29, 30),  # a hall's own fraction
        (MeetingKind.COUNCIL, 7, Fraction(1, 2), 3, 4),  # configured 1/2, inclusive
    ],
)
def test_quorum_boundaries(
    kind: MeetingKind, expected: int, quorum: Fraction, short: int, enough: int
) -> None:
    below = attendance(kind, expected=expected, present=short, quorum=quorum)
    at = attendance(kind, expected=expected, present=enough, quorum=quorum)
    assert (below.quorum_needed, at.quorum_needed) == (enough, enough)
    assert not below.quorum_met
    assert at.quorum_met
    assert below.check is not None
    assert at.check is not None
    assert (below.check.margin, at.check.margin) == (-1, 0)
    assert (at.check.value, at.check.whole, at.check.needed) == (enough, expected, enough)
    assert at.check.id == "attendance_heads"


@given(
    kind=st.sampled_from(QUORUM_KINDS),
    expected=st.integers(1, 3000),
    quorum=fractions,
)
def test_both_sides_of_every_quorum(kind: MeetingKind, expected: int, quorum: Fraction) -> None:
    needed = attendance(kind, expected=expected, present=0, quorum=quorum).quorum_needed
    assert needed is not None
    assert 1 <= needed <= expected
    at = attendance(kind, expected=expected, present=needed, quorum=quorum)
    assert at.quorum_met
    assert reference(kind, needed, expected, quorum)
    below = attendance(kind, expected=expected, present=needed - 1, quorum=quorum)
    assert not below.quorum_met
    assert not reference(kind, needed - 1, expected, quorum)
    assert below.check is not None
    assert below.check.margin == -1


@given(
    kind=st.sampled_from(QUORUM_KINDS),
    data=st.data(),
    expected=st.integers(0, 3000),
    quorum=fractions,
)
def test_attendance_agrees_with_the_reference(
    kind: MeetingKind, data: st.DataObject, expected: int, quorum: Fraction
) -> None:
    present = data.draw(st.integers(0, expected))
    answer = attendance(kind, expected=expected, present=present, quorum=quorum)
    assert answer.quorum_met == reference(kind, present, expected, quorum)
    assert (answer.expected, answer.present) == (expected, present)
    assert answer.check is not None
    assert answer.check.margin == present - (answer.quorum_needed or 0)
    assert answer.quorum_met == (answer.check.margin >= 0)


@given(
    kind=st.sampled_from([MeetingKind.FORUM, MeetingKind.HEARING]),
    data=st.data(),
    expected=st.integers(0, 500),
)
def test_consensus_meetings_have_no_quorum(
    kind: MeetingKind, data: st.DataObject, expected: int
) -> None:
    present = data.draw(st.integers(0, expected))
    answer = attendance(kind, expected=expected, present=present, quorum=Fraction(2, 3))
    assert answer.quorum_met
    assert answer.quorum_needed is None
    assert answer.check is None


def test_nobody_expected_is_never_a_quorum() -> None:
    for kind in QUORUM_KINDS:
        assert not attendance(kind, expected=0, present=0, quorum=Fraction(2, 3)).quorum_met


def test_present_outside_the_expected_is_refused() -> None:
    with pytest.raises(ValueError, match="present"):
        attendance(MeetingKind.COUNCIL, expected=3, present=4, quorum=Fraction(2, 3))


def test_only_a_residents_meeting_takes_proxies() -> None:
    assert {k for k in MeetingKind if rules.allows_proxy(k)} == {MeetingKind.RESIDENTS}


@given(days=st.integers(0, 30), seconds=st.integers(1, 10**6))
def test_notice_on_both_sides_of_the_period(days: int, seconds: int) -> None:
    needed = timedelta(days=days)
    exact = rules.notice(starts_at=T0, sent_at=T0 - needed, notice_days=days)
    assert exact.met
    assert exact.margin == timedelta(0)
    short = rules.notice(
        starts_at=T0, sent_at=T0 - needed + timedelta(seconds=seconds), notice_days=days
    )
    assert not short.met
    assert short.margin == -timedelta(seconds=seconds)
    long = rules.notice(
        starts_at=T0, sent_at=T0 - needed - timedelta(seconds=seconds), notice_days=days
    )
    assert long.met


@given(offset=st.integers(-3 * 3600, 6 * 3600), length=st.integers(60, 12 * 3600))
def test_signin_window_both_sides(offset: int, length: int) -> None:
    starts, ends = T0, T0 + timedelta(seconds=length)
    now = T0 + timedelta(seconds=offset)
    mine = rules.self_signin_open(starts_at=starts, ends_at=ends, now=now)
    assert mine == (starts - timedelta(hours=1) <= now <= ends)
    chair = rules.chair_signin_open(starts_at=starts, ends_at=ends, now=now)
    assert chair == (starts - timedelta(hours=1) <= now <= ends + timedelta(hours=24))


def test_signin_window_edges() -> None:
    starts, ends = T0, T0 + timedelta(hours=2)
    second = timedelta(seconds=1)
    opens = starts - timedelta(hours=1)
    assert not rules.self_signin_open(starts_at=starts, ends_at=ends, now=opens - second)
    assert rules.self_signin_open(starts_at=starts, ends_at=ends, now=opens)
    assert rules.self_signin_open(starts_at=starts, ends_at=ends, now=ends)
    assert not rules.self_signin_open(starts_at=starts, ends_at=ends, now=ends + second)
    assert rules.chair_signin_open(starts_at=starts, ends_at=ends, now=ends + timedelta(hours=24))
    assert not rules.chair_signin_open(
        starts_at=starts, ends_at=ends, now=ends + timedelta(hours=24) + second
    )
