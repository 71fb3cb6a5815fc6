"""Decision rules (民决), as one pure module with exact arithmetic.

A result is a pure function of (rule, frozen electorate, attendance, votes). Every check is
reported in plain Chinese with its numbers, e.g.
"参与表决专有部分面积 14,000.00㎡ / 总面积 20,000.00㎡ = 70.00% ≥ 2/3 ✓".

- "以上" includes the boundary (民法典 art. 1259): compared with ≥.
- "过半数" is strictly more than half: compared with >.
- Areas are integers in hundredths of m²; shares are compared by cross-multiplication of
  integers, never floats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction


class RuleKind(StrEnum):
    CONSENSUS = "consensus"  # 协商一致: no vote
    COUNCIL_MAJORITY = "council_majority"  # 议事会
    RESIDENTS_MEETING = "residents_meeting"  # 居民会议 (居委会组织法 art. 9)
    REPRESENTATIVES_MEETING = "representatives_meeting"  # 居民代表会议
    OWNERS_ORDINARY = "owners_ordinary"  # 民法典 278 items 1–5, 9
    OWNERS_MAJOR = "owners_major"  # 民法典 278 items 6–8
    INTERESTED_UNANIMOUS = "interested_unanimous"  # 民法典 279 住改商
    PLURALITY = "plurality"  # non-binding preference among 方案


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


@dataclass(frozen=True)
class Check:
    label: str
    part: int
    whole: int
    share: Share
    ok: bool
    text: str


@dataclass(frozen=True)
class Outcome:
    rule: RuleKind
    passed: bool
    checks: tuple[Check, ...]
    counts: Mapping[str, int] = field(default_factory=dict)
    winner: str | None = None


def _area(centi: int) -> str:
    return f"{centi // 100:,}.{centi % 100:02d}㎡"


def _percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "—"
    basis_points = (part * 10000 * 2 + whole) // (2 * whole)  # rounded half up, integers only
    return f"{basis_points // 100}.{basis_points % 100:02d}%"


def _fraction(share: Share) -> str:
    f = share.fraction
    if f == Fraction(1, 2):
        return "1/2"
    return f"{f.numerator}/{f.denominator}" if f.denominator != 1 else "100%"


def _check(label: str, part: int, whole: int, share: Share, *, unit: str, base_label: str) -> Check:
    ok = share.met(part, whole)
    shown_part = _area(part) if unit == "area" else f"{part} 人"
    shown_whole = _area(whole) if unit == "area" else f"{whole} 人"
    text = (
        f"{label} {shown_part} / {base_label} {shown_whole} = {_percent(part, whole)} "
        f"{share.symbol()} {_fraction(share)} {'✓' if ok else '✗'}"
    )
    return Check(label, part, whole, share, ok, text)


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
                    "参与表决专有部分面积",
                    area_part,
                    area_total,
                    rule.quorum,
                    unit="area",
                    base_label="总面积",
                ),
                _check(
                    "参与表决业主人数",
                    heads_part,
                    heads_total,
                    rule.quorum,
                    unit="heads",
                    base_label="业主总人数",
                ),
                _check(
                    "同意的专有部分面积",
                    yes_area,
                    area_part,
                    rule.passing,
                    unit="area",
                    base_label="参与表决面积",
                ),
                _check(
                    "同意的业主人数",
                    yes_heads,
                    heads_part,
                    rule.passing,
                    unit="heads",
                    base_label="参与表决人数",
                ),
            ]
        case RuleKind.INTERESTED_UNANIMOUS:
            checks.append(
                _check(
                    "同意的利害关系业主",
                    yes_heads,
                    heads_total,
                    rule.passing,
                    unit="heads",
                    base_label="利害关系业主总数",
                )
            )
        case RuleKind.PLURALITY:
            checks.append(
                _check(
                    "参与人数",
                    heads_part,
                    heads_total,
                    rule.quorum,
                    unit="heads",
                    base_label="应参与人数",
                )
            )
            tally: dict[str, int] = {}
            for choice in cast.values():
                tally[choice] = tally.get(choice, 0) + 1
            ranked = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
            tie = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
            winner = None if not ranked or tie else ranked[0][0]
            passed = all(c.ok for c in checks) and winner is not None
            return Outcome(rule.kind, passed, tuple(checks), tally, winner)
        case _:
            base = "应到人数"
            checks += [
                _check(
                    "实到人数", heads_part, heads_total, rule.quorum, unit="heads", base_label=base
                ),
                _check(
                    "同意人数",
                    yes_heads,
                    heads_part,
                    rule.passing,
                    unit="heads",
                    base_label="实到人数",
                ),
            ]
    return Outcome(rule.kind, all(c.ok for c in checks), tuple(checks), counts)
