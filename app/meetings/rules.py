"""Meetings (协商会议), as one pure module: the kinds, their decision rule and quorum, the
attendance answer, the notice period and the sign-in window.

Nothing here keeps a threshold of its own: a kind's quorum is the quorum of its decision rule
in app.voting.rules (`Rule.of(rule, quorum=hall's council quorum)`), and the attendance check
is a `Check` of that module (id `attendance_heads`, 实到人数 of 应到人数), the same check a
meeting ballot's tally makes, so a page shows what was needed and the margin as it shows a
vote's checks.

Kinds (DOMAIN.md §1.3, §3):

- 议事会 (council): 议事会成员 (role `council`); decides by 少数服从多数 (council_majority);
  quorum the hall's configured fraction, inclusive (default ≥ 2/3).
- 居民会议 (residents): the hall's verified residents; quorum more than half of them
  (组织法 art. 9, "过半数出席"), decisions by more than half of those present.
- 居民代表会议 (representatives): 居民代表 (role `resident_rep`); quorum the configured fraction,
  inclusive (default ≥ 2/3, copied from 村委会法 art. 26).
- 恳谈会 (forum), 听证会 (hearing): 协商 seeking consensus (consensus): no vote, no quorum.
  Who is expected is whoever was invited; the meeting is held however many come.

Proxies (委托): only at a 居民会议. Its members may be "户的代表" (组织法 art. 9: all adults, or
one representative per household), so one member of the hall may attend for another, recorded
by the chair with the principal named; the principal counts as present once. 议事会 and 居民代表
会议 seats are personal (a representative is elected to sit in person; no rule found lets them
delegate), and 恳谈会 / 听证会 count nobody, so they take no proxies. A member holds at most
one proxy (`PROXIES_PER_HOLDER`), so a room cannot be filled by a few people's pockets.

Notice (DOMAIN.md §1.3 "Notice", §8: `meeting_notice_days`, default 3): the notice is sent
when the meeting is scheduled; the start minus the time the notice is sent must be at least
the hall's notice days. Shorter notice is allowed only with a stated reason, which is recorded
(and printed on the notice later).

Sign-in window: a member signs themselves in with the meeting's QR from `SIGNIN_OPENS_BEFORE`
(1 hour) before the start until the end, both ends included. The chair (or recorder) may also
sign people in from the same opening until `CHAIR_GRACE` (24 hours) after the end, to enter
the paper sign-in sheet of those without a phone; never for a cancelled meeting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from app.voting.rules import ROLE_ELECTORATES, Check, Rule, RuleKind, Unit


class MeetingKind(StrEnum):
    COUNCIL = "council"  # 议事会
    RESIDENTS = "residents"  # 居民会议
    REPRESENTATIVES = "representatives"  # 居民代表会议
    FORUM = "forum"  # 恳谈会
    HEARING = "hearing"  # 听证会


# Each kind's default decision rule (the ballots held at it default to this rule).
DECISION_RULES: Mapping[MeetingKind, RuleKind] = {
    MeetingKind.COUNCIL: RuleKind.COUNCIL_MAJORITY,
    MeetingKind.RESIDENTS: RuleKind.RESIDENTS_MEETING,
    MeetingKind.REPRESENTATIVES: RuleKind.REPRESENTATIVES_MEETING,
    MeetingKind.FORUM: RuleKind.CONSENSUS,
    MeetingKind.HEARING: RuleKind.CONSENSUS,
}


class Expected(StrEnum):
    """Who is 应到 at a meeting of a kind."""

    ROLE = "role"  # the hall's verified members holding the rule's role (ROLE_ELECTORATES)
    RESIDENTS = "residents"  # the hall's verified members living in one of its households
    INVITED = "invited"  # the members invited (no quorum)


def expected_by(kind: MeetingKind) -> Expected:
    rule = DECISION_RULES[kind]
    if rule in ROLE_ELECTORATES:
        return Expected.ROLE
    if rule == RuleKind.RESIDENTS_MEETING:
        return Expected.RESIDENTS
    return Expected.INVITED


def expected_role(kind: MeetingKind) -> str | None:
    """The role (app.halls.models.Role value) whose holders are 应到, or None."""
    return ROLE_ELECTORATES.get(DECISION_RULES[kind])


def has_quorum(kind: MeetingKind) -> bool:
    return DECISION_RULES[kind] != RuleKind.CONSENSUS


def rule_of(kind: MeetingKind, quorum: Fraction) -> Rule:
    """The kind's decision rule, with the hall's configured quorum where the rule takes one."""
    return Rule.of(DECISION_RULES[kind], quorum=quorum)


PROXY_KINDS = frozenset({MeetingKind.RESIDENTS})
PROXIES_PER_HOLDER = 1


def allows_proxy(kind: MeetingKind) -> bool:
    return kind in PROXY_KINDS


# --- attendance ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attendance:
    """应到 / 实到 and the quorum. `quorum_needed` is the smallest 实到 that meets the quorum
    (None where the kind has none); `check` is the quorum as a vote check (value, whole,
    needed, margin), None where the kind has none."""

    expected: int
    present: int
    quorum_needed: int | None
    quorum_met: bool
    check: Check | None


def attendance(kind: MeetingKind, *, expected: int, present: int, quorum: Fraction) -> Attendance:
    """The attendance answer. `present` counts the expected members signed in (in person or
    by proxy), never guests; `quorum` is the hall's council quorum fraction."""
    if not 0 <= present <= expected:
        raise ValueError("present must be between 0 and expected")
    if not has_quorum(kind):
        return Attendance(expected, present, None, True, None)
    rule = rule_of(kind, quorum)
    check = Check(
        "attendance_heads", "实到人数", "应到人数", Unit.HEADS, present, expected, rule.quorum
    )
    return Attendance(expected, present, check.needed, check.passed, check)


# --- notice ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """The notice given (start − the time the notice is sent) against the hall's period."""

    given: timedelta
    needed: timedelta

    @property
    def met(self) -> bool:
        return self.given >= self.needed

    @property
    def margin(self) -> timedelta:
        """given − needed: how much more notice than needed (negative: short by that much)."""
        return self.given - self.needed


def notice(*, starts_at: datetime, sent_at: datetime, notice_days: int) -> Notice:
    return Notice(given=starts_at - sent_at, needed=timedelta(days=notice_days))


# --- the sign-in window ----------------------------------------------------------------------

SIGNIN_OPENS_BEFORE = timedelta(hours=1)
CHAIR_GRACE = timedelta(hours=24)
LONGEST_MEETING = timedelta(hours=12)


def signin_opens(starts_at: datetime) -> datetime:
    return starts_at - SIGNIN_OPENS_BEFORE


def self_signin_open(*, starts_at: datetime, ends_at: datetime, now: datetime) -> bool:
    """A member's own sign-in with the QR: from an hour before the start until the end."""
    return signin_opens(starts_at) <= now <= ends_at


def chair_signin_open(*, starts_at: datetime, ends_at: datetime, now: datetime) -> bool:
    """The chair's sign-in of others: from the same opening until a day after the end."""
    return signin_opens(starts_at) <= now <= ends_at + CHAIR_GRACE
