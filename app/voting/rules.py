"""Decision rules (民决), as one pure module with exact arithmetic.

A result is a pure function of (rule, frozen electorate, attendance, votes): whether it passed
and every check behind it, as structured data (`Check`), never as prose. Each check has a stable
id, its value and base in their unit (hundredths of a m², or heads), the threshold and the
comparison, whether it is met, the smallest value that meets it (`needed`) and the margin
(`value - needed`: 0 or more when met, the shortfall as a negative number when not). Wording
lives elsewhere (app.voting.labels.check_line), so a check can never read as the opposite of
its result.

Check ids, per rule kind:

- owners_ordinary, owners_major (民法典 278): `participation_area` (参与表决专有部分面积 of the
  total area, ≥ 2/3), `participation_heads` (参与表决业主人数 of all owners, ≥ 2/3),
  `yes_area` (同意的专有部分面积 of the participating area: > 1/2, or ≥ 3/4 for items 6–8),
  `yes_heads` (同意的业主人数 of the participating owners, same threshold).
- interested_unanimous (民法典 279): `unanimous_heads` (同意的利害关系业主 of all of them, ≥ 1/1).
- plurality: `participation_heads` (参与人数 of the electorate, ≥ 2/3).
- council_majority, residents_meeting, representatives_meeting: `attendance_heads` (实到人数 of
  应到人数: the configurable quorum, > 1/2 for a 居民会议), `yes_heads` (同意人数 of those
  present, > 1/2).
- consensus: no checks.

- "以上" includes the boundary (民法典 art. 1259): compared with ≥.
- "过半数" is strictly more than half: compared with >.
- Areas are integers in hundredths of m²; shares are compared by cross-multiplication of
  integers, never floats.
- A percentage, where one is shown, never reads the other way (`Check.shown_basis_points`):
  a check that fails never shows a percentage that reaches its threshold, one that passes never
  shows one short of it.

Every table keyed by rule lives here too: the voter units a rule allows (`VOTER_UNITS`), the
rules decided at a meeting (`MEETING_RULES`), the rules whose electorate is a role
(`ROLE_ELECTORATES`); and `tally` assembles a ballot's outcome from its frozen roll and votes,
for the close and for the verifier alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any


class RuleKind(StrEnum):
    CONSENSUS = "consensus"  # 协商一致: no vote
    COUNCIL_MAJORITY = "council_majority"  # 议事会
    RESIDENTS_MEETING = "residents_meeting"  # 居民会议 (居委会组织法 art. 9)
    REPRESENTATIVES_MEETING = "representatives_meeting"  # 居民代表会议
    OWNERS_ORDINARY = "owners_ordinary"  # 民法典 278 items 1–5, 9
    OWNERS_MAJOR = "owners_major"  # 民法典 278 items 6–8
    INTERESTED_UNANIMOUS = "interested_unanimous"  # 民法典 279 住改商
    PLURALITY = "plurality"  # non-binding preference among 方案


class VoterUnit(StrEnum):
    PERSON = "person"  # 按人: one vote per verified member
    HOUSEHOLD = "household"  # 按户: one vote per 户, cast by any verified member of it
    OWNER = "owner"  # 按业主: by head and by exclusive area (民法典 278)


# Which voter units each rule allows (the first is the default).
VOTER_UNITS: Mapping[RuleKind, tuple[VoterUnit, ...]] = {
    RuleKind.CONSENSUS: (VoterUnit.PERSON,),
    RuleKind.COUNCIL_MAJORITY: (VoterUnit.PERSON,),
    RuleKind.RESIDENTS_MEETING: (VoterUnit.PERSON, VoterUnit.HOUSEHOLD),
    RuleKind.REPRESENTATIVES_MEETING: (VoterUnit.PERSON,),
    RuleKind.OWNERS_ORDINARY: (VoterUnit.OWNER,),
    RuleKind.OWNERS_MAJOR: (VoterUnit.OWNER,),
    RuleKind.INTERESTED_UNANIMOUS: (VoterUnit.OWNER,),
    RuleKind.PLURALITY: (VoterUnit.PERSON, VoterUnit.HOUSEHOLD, VoterUnit.OWNER),
}
# Rules decided at a meeting: attendance (实到) is the base of the quorum.
MEETING_RULES = frozenset(
    {RuleKind.COUNCIL_MAJORITY, RuleKind.RESIDENTS_MEETING, RuleKind.REPRESENTATIVES_MEETING}
)
# Rules whose electorate is the hall's members holding a role (the value of
# app.halls.models.Role), not the residents or owners of the ballot's scope.
ROLE_ELECTORATES: Mapping[RuleKind, str] = {
    RuleKind.COUNCIL_MAJORITY: "council",  # 议事会成员
    RuleKind.REPRESENTATIVES_MEETING: "resident_rep",  # 居民代表
}


class Choice(StrEnum):
    YES = "yes"  # 同意
    NO = "no"  # 反对
    ABSTAIN = "abstain"  # 弃权


@dataclass(frozen=True)
class Share:
    """A threshold: `fraction` of the base, inclusive (以上, ≥) or strict (过半数, >)."""

    fraction: Fraction
    inclusive: bool

    def met(self, part: int, whole: int) -> bool:
        if whole <= 0:
            return False
        left, right = part * self.fraction.denominator, whole * self.fraction.numerator
        return left >= right if self.inclusive else left > right

    def needed(self, whole: int) -> int:
        """The smallest part that meets the share of `whole`: ⌈p·whole/q⌉ for ≥ p/q,
        ⌊p·whole/q⌋ + 1 for > p/q; at least 1 (nothing of nothing never passes)."""
        p, q = self.fraction.numerator, self.fraction.denominator
        least = -(-p * whole // q) if self.inclusive else p * whole // q + 1
        return max(least, 1)

    def symbol(self) -> str:
        return "≥" if self.inclusive else ">"


MORE_THAN_HALF = Share(Fraction(1, 2), inclusive=False)
TWO_THIRDS = Share(Fraction(2, 3), inclusive=True)
THREE_QUARTERS = Share(Fraction(3, 4), inclusive=True)


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    quorum: Share = TWO_THIRDS
    passing: Share = MORE_THAN_HALF

    @classmethod
    def of(cls, kind: RuleKind, *, quorum: Fraction | None = None) -> Rule:
        """The legal default of each kind; council and representatives' quorum configurable."""
        match kind:
            case RuleKind.COUNCIL_MAJORITY | RuleKind.REPRESENTATIVES_MEETING:
                return cls(kind, Share(quorum or Fraction(2, 3), inclusive=True), MORE_THAN_HALF)
            case RuleKind.RESIDENTS_MEETING:
                return cls(kind, MORE_THAN_HALF, MORE_THAN_HALF)
            case RuleKind.OWNERS_MAJOR:
                return cls(kind, TWO_THIRDS, THREE_QUARTERS)
            case RuleKind.INTERESTED_UNANIMOUS:
                return cls(
                    kind, Share(Fraction(1), inclusive=True), Share(Fraction(1), inclusive=True)
                )
            case _:
                return cls(kind, TWO_THIRDS, MORE_THAN_HALF)


@dataclass(frozen=True)
class Voter:
    """One entry of the frozen electorate: a person, a household or an owner.

    For owners' votes an owner of several units is one voter (one head) with the sum of their
    areas; a unit with several co-owners is one voter.
    """

    key: str
    area_centi_m2: int = 0


class Unit(StrEnum):
    AREA = "area"  # hundredths of a m² of 专有部分
    HEADS = "heads"  # people, households or owners, counted once each


@dataclass(frozen=True)
class Check:
    """One condition of a rule: `value` of `whole` must meet `share` (see the module docstring
    for the ids). `label` names the value, `base_label` the whole, both in Chinese."""

    id: str
    label: str
    base_label: str
    unit: Unit
    value: int
    whole: int
    share: Share

    @property
    def passed(self) -> bool:
        return self.share.met(self.value, self.whole)

    @property
    def needed(self) -> int:
        """The smallest value, in the unit, that meets the threshold."""
        return self.share.needed(self.whole)

    @property
    def margin(self) -> int:
        """value - needed: how much over (≥ 0, met) or, negated, how much short (< 0)."""
        return self.value - self.needed

    @property
    def threshold(self) -> str:
        f = self.share.fraction
        return f"{f.numerator}/{f.denominator}"

    @property
    def comparison(self) -> str:
        return ">=" if self.share.inclusive else ">"

    def shown_basis_points(self) -> int | None:
        """value/whole in hundredths of a percent, or None (no base), never reading the other
        way. Rounded half up as usual, unless that would put it on the wrong side of the
        threshold, exact or as a reader rounds it (2/3 reads as 66.67 %, 3/4 as 75.00 %), or
        show an unmet share, or one just over an exact threshold, as the threshold itself;
        then rounded toward the result (up for a met check, down for an unmet one), one
        hundredth of a percent past the threshold's percentage where needed: 224.99 of 300
        (≥ 3/4) shows 74.99 %, 1,000.01 of 2,000 (> 1/2) 50.01 %, 999.99 of 2,000 49.99 %.
        So the shown percentage always agrees with `passed`; it is within 0.02 % of the exact
        share."""
        if self.whole <= 0:
            return None
        p, q = self.share.fraction.numerator, self.share.fraction.denominator
        threshold_x2q = p * 20000  # the threshold in basis points, times 2q
        threshold_shown = (threshold_x2q + q) // (2 * q)  # rounded half up
        on_threshold = self.value * q == p * self.whole

        def agrees(shown: int) -> bool:
            exact = shown * 2 * q  # against threshold_x2q
            if on_threshold:  # met for ≥, not met for >: equal may show equal
                if self.passed:
                    return exact >= threshold_x2q and shown >= threshold_shown
                return exact <= threshold_x2q and shown <= threshold_shown
            if self.passed:  # 66.67 % may show a share just over 2/3, 75.00 % not one over 3/4
                reaches = (
                    shown >= threshold_shown if self.share.inclusive else shown > threshold_shown
                )
                return exact > threshold_x2q and reaches
            return exact < threshold_x2q and shown < threshold_shown

        rounded = (self.value * 20000 + self.whole) // (2 * self.whole)
        if agrees(rounded):
            return rounded
        up = -(-self.value * 10000 // self.whole)
        down = self.value * 10000 // self.whole
        if on_threshold:
            return up if self.passed else down
        if self.passed:
            return max(up, threshold_shown if self.share.inclusive else threshold_shown + 1)
        return min(down, threshold_shown - 1)


@dataclass(frozen=True)
class Outcome:
    rule: RuleKind
    passed: bool
    checks: tuple[Check, ...]
    counts: Mapping[str, int] = field(default_factory=dict)
    winner: str | None = None


def format_area(centi: int) -> str:
    """1000001 → '10,000.01㎡'. Exact: integers only."""
    sign = "-" if centi < 0 else ""
    centi = abs(centi)
    return f"{sign}{centi // 100:,}.{centi % 100:02d}㎡"


def format_percent(basis_points: int | None) -> str:
    if basis_points is None:
        return "—"
    return f"{basis_points // 100}.{basis_points % 100:02d}%"


# --- the stored form ------------------------------------------------------------------------
# A closed ballot keeps its result as canonical JSON, also carried by the close event of its
# hash-chained ledger. Checks are stored as data (`check_data`); results frozen before that
# hold one line of text per check (`legacy_text`), which `check_from_data` still reads.


def check_data(check: Check) -> dict[str, object]:
    return {
        "id": check.id,
        "label": check.label,
        "base_label": check.base_label,
        "unit": check.unit.value,
        "value": check.value,
        "whole": check.whole,
        "threshold": check.threshold,
        "comparison": check.comparison,
        "passed": check.passed,
        "needed": check.needed,
        "margin": check.margin,
    }


_LEGACY_IDS = {
    ("参与表决专有部分面积", "总面积"): "participation_area",
    ("参与表决业主人数", "业主总人数"): "participation_heads",
    ("同意的专有部分面积", "参与表决面积"): "yes_area",
    ("同意的业主人数", "参与表决人数"): "yes_heads",
    ("同意的利害关系业主", "利害关系业主总数"): "unanimous_heads",
    ("参与人数", "应参与人数"): "participation_heads",
    ("实到人数", "应到人数"): "attendance_heads",
    ("同意人数", "实到人数"): "yes_heads",
}
_AMOUNT = r"(\d{1,3}(?:,\d{3})*\.\d{2}㎡|\d+ 人)"
_LEGACY = re.compile(
    rf"^(\S+) {_AMOUNT} / (\S+) {_AMOUNT} = (?:\d+\.\d{{2}}%|—) ([≥>]) (\d+/\d+|100%) [✓✗]$"
)


def _amount(text: str) -> tuple[int, Unit]:
    if text.endswith("㎡"):
        return int(text[:-1].replace(",", "").replace(".", "")), Unit.AREA
    return int(text[:-2]), Unit.HEADS


def _share(threshold: str, inclusive: bool) -> Share:
    num, _, den = threshold.partition("/")
    return Share(Fraction(int(num), int(den)), inclusive=inclusive)


def check_from_data(data: object) -> Check | None:
    """A stored check, or a line of a result frozen before checks were data; None if neither."""
    if isinstance(data, dict):
        try:
            return Check(
                id=str(data["id"]),
                label=str(data["label"]),
                base_label=str(data["base_label"]),
                unit=Unit(data["unit"]),
                value=int(data["value"]),
                whole=int(data["whole"]),
                share=_share(str(data["threshold"]), data["comparison"] == ">="),
            )
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return None
    if not isinstance(data, str) or not (match := _LEGACY.match(data)):
        return None
    label, part, base_label, whole, symbol, threshold = match.groups()
    check_id = _LEGACY_IDS.get((label, base_label))
    if check_id is None:
        return None
    (value, unit), (total, _) = _amount(part), _amount(whole)
    threshold = "1/1" if threshold == "100%" else threshold
    return Check(check_id, label, base_label, unit, value, total, _share(threshold, symbol == "≥"))


def legacy_text(check: Check) -> str:
    """The one-line form of results frozen before checks were data (to re-verify their ledger)."""

    def amount(n: int) -> str:
        return format_area(n) if check.unit == Unit.AREA else f"{n} 人"

    if check.whole <= 0:
        percent = "—"
    else:  # rounded half up
        bp = (check.value * 10000 * 2 + check.whole) // (2 * check.whole)
        percent = format_percent(bp)
    f = check.share.fraction
    threshold = "100%" if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
    return (
        f"{check.label} {amount(check.value)} / {check.base_label} {amount(check.whole)} = "
        f"{percent} {check.share.symbol()} {threshold} {'✓' if check.passed else '✗'}"
    )


def _check(
    check_id: str, label: str, value: int, whole: int, share: Share, *, unit: Unit, base_label: str
) -> Check:
    return Check(check_id, label, base_label, unit, value, whole, share)


def decide(
    rule: Rule,
    electorate: Sequence[Voter],
    votes: Mapping[str, str],
    *,
    present: Sequence[str] | None = None,
) -> Outcome:
    """The result of a decision.

    `votes` maps a voter key to a Choice value (or a 方案 id for plurality); voters not in the
    electorate are ignored. `present` lists the voter keys attending (meetings); where it is
    None, everyone who voted counts as taking part. Abstaining voters have taken part.
    """
    keys = {v.key: v for v in electorate}
    cast = {k: c for k, c in votes.items() if k in keys}
    taking_part = set(cast) | ({k for k in present if k in keys} if present is not None else set())
    counts = {c.value: sum(1 for v in cast.values() if v == c.value) for c in Choice}
    heads_total = len(keys)
    heads_part = len(taking_part)
    yes_heads = counts[Choice.YES.value]
    checks: list[Check] = []
    match rule.kind:
        case RuleKind.CONSENSUS:
            return Outcome(rule.kind, True, (), counts)
        case RuleKind.OWNERS_ORDINARY | RuleKind.OWNERS_MAJOR:
            area_total = sum(v.area_centi_m2 for v in keys.values())
            area_part = sum(keys[k].area_centi_m2 for k in taking_part)
            yes_area = sum(keys[k].area_centi_m2 for k, c in cast.items() if c == Choice.YES.value)
            checks += [
                _check(
                    "participation_area",
                    "参与表决专有部分面积",
                    area_part,
                    area_total,
                    rule.quorum,
                    unit=Unit.AREA,
                    base_label="总面积",
                ),
                _check(
                    "participation_heads",
                    "参与表决业主人数",
                    heads_part,
                    heads_total,
                    rule.quorum,
                    unit=Unit.HEADS,
                    base_label="业主总人数",
                ),
                _check(
                    "yes_area",
                    "同意的专有部分面积",
                    yes_area,
                    area_part,
                    rule.passing,
                    unit=Unit.AREA,
                    base_label="参与表决面积",
                ),
                _check(
                    "yes_heads",
                    "同意的业主人数",
                    yes_heads,
                    heads_part,
                    rule.passing,
                    unit=Unit.HEADS,
                    base_label="参与表决人数",
                ),
            ]
        case RuleKind.INTERESTED_UNANIMOUS:
            checks.append(
                _check(
                    "unanimous_heads",
                    "同意的利害关系业主",
                    yes_heads,
                    heads_total,
                    rule.passing,
                    unit=Unit.HEADS,
                    base_label="利害关系业主总数",
                )
            )
        case RuleKind.PLURALITY:
            checks.append(
                _check(
                    "participation_heads",
                    "参与人数",
                    heads_part,
                    heads_total,
                    rule.quorum,
                    unit=Unit.HEADS,
                    base_label="应参与人数",
                )
            )
            tally: dict[str, int] = {}
            for choice in cast.values():
                tally[choice] = tally.get(choice, 0) + 1
            ranked = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
            tie = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
            winner = None if not ranked or tie else ranked[0][0]
            passed = all(c.passed for c in checks) and winner is not None
            return Outcome(rule.kind, passed, tuple(checks), tally, winner)
        case _:
            base = "应到人数"
            checks += [
                _check(
                    "attendance_heads",
                    "实到人数",
                    heads_part,
                    heads_total,
                    rule.quorum,
                    unit=Unit.HEADS,
                    base_label=base,
                ),
                _check(
                    "yes_heads",
                    "同意人数",
                    yes_heads,
                    heads_part,
                    rule.passing,
                    unit=Unit.HEADS,
                    base_label="实到人数",
                ),
            ]
    return Outcome(rule.kind, all(c.passed for c in checks), tuple(checks), counts)


# --- a ballot's outcome, assembled --------------------------------------------------------------
# What the service freezes at the close and the verifier recounts from the ledger: the same
# function of the same inputs, so the two can only agree or show tampering.


@dataclass(frozen=True)
class RollVoter:
    """One entry of a ballot's frozen roll as the tally needs it."""

    key: str
    area_centi_m2: int
    present: bool  # marked present at the meeting (meeting rules only)


def tally(
    kind: RuleKind,
    quorum: tuple[int, int],
    roll: Sequence[RollVoter],
    votes: Mapping[str, str],
) -> Outcome:
    """The outcome of a ballot: its rule (with the ballot's quorum as num/den), its frozen
    roll, and each voter key's current choice. Attendance counts only for meeting rules; for
    the others everyone who voted takes part."""
    rule = Rule.of(kind, quorum=Fraction(*quorum))
    electorate = [Voter(v.key, v.area_centi_m2) for v in roll]
    present = [v.key for v in roll if v.present] if kind in MEETING_RULES else None
    return decide(rule, electorate, votes, present=present)


def result_data(outcome: Outcome, *, legacy: bool = False) -> dict[str, Any]:
    """The frozen form of an outcome: canonical JSON on the ballot and in the close event.

    Checks are data (check_data); `legacy` gives the one line of text per check of results
    frozen before that, to recount their ledgers."""
    return {
        "rule": outcome.rule.value,
        "passed": outcome.passed,
        "checks": [legacy_text(c) if legacy else check_data(c) for c in outcome.checks],
        "counts": dict(sorted(outcome.counts.items())),
        "winner": outcome.winner,
    }


def consensus_data(passed: bool) -> dict[str, Any]:
    """The frozen form of a 协商一致 recorded by the chair: no vote, no checks."""
    return {"rule": "consensus", "passed": passed, "checks": [], "counts": {}}


def is_legacy_result(stored: Mapping[str, Any]) -> bool:
    """A result frozen before checks were data: its checks are lines of text."""
    return any(isinstance(c, str) for c in stored.get("checks") or ())


def resolution_text(title: str, outcome: Outcome, option_labels: Mapping[str, str]) -> str:
    """The 决议's sentence, as stored with it (and printed on the 公示)."""
    if outcome.rule == RuleKind.PLURALITY:
        if outcome.winner is None:
            return f"「{title}」未形成多数意见。"
        return f"「{title}」经表决，{option_labels.get(outcome.winner, outcome.winner)} 得票最多。"
    verdict = "通过" if outcome.passed else "未通过"
    return f"「{title}」经表决{verdict}。"
