"""Every check of every rule kind reads the right way on the ballot page, in the API and on the
printed 公示, for scenes drawn by Hypothesis around each threshold (issue #10 §4).

A scene is a small hall (3–8 flats or households) and the votes recorded in person, drawn so
that the total a threshold is about sits exactly at its boundary, one hundredth of a m² (or one
head) below or above it, or further off. The ballot is built and closed through the real
services; each check is then judged here, from the raw numbers of the scene, with exact
fractions, and compared with what the page, the API and (for a ballot that passed) the print
say: 达到 / 未达到, the amount needed, the margin, and the percentage shown, which never sits at or
on the wrong side of the threshold's percentage unless the exact share is the threshold.
On SQLite and PostgreSQL (the `db` fixture)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from html import unescape
from itertools import pairwise
from math import ceil, floor
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.db import Database
from app.voting import queries, schemas, service
from app.voting.models import Ballot, VoterUnit
from app.voting.rules import RuleKind
from tests import factories as f
from tests.conftest import Client
from tests.web import voting_helpers as vh
from tests.web.test_vote_check_wording import close, hall_of_flats, login

Y, N, A = "yes", "no", "abstain"
HALF, TWO_THIRDS, THREE_QUARTERS, ALL = Fraction(1, 2), Fraction(2, 3), Fraction(3, 4), Fraction(1)

# (threshold, inclusive) per check id, per rule kind: the law, written out again here
THRESHOLDS: dict[RuleKind, dict[str, tuple[Fraction, bool]]] = {
    RuleKind.OWNERS_ORDINARY: {
        "participation_area": (TWO_THIRDS, True),
        "participation_heads": (TWO_THIRDS, True),
        "yes_area": (HALF, False),
        "yes_heads": (HALF, False),
    },
    RuleKind.OWNERS_MAJOR: {
        "participation_area": (TWO_THIRDS, True),
        "participation_heads": (TWO_THIRDS, True),
        "yes_area": (THREE_QUARTERS, True),
        "yes_heads": (THREE_QUARTERS, True),
    },
    RuleKind.INTERESTED_UNANIMOUS: {"unanimous_heads": (ALL, True)},
    RuleKind.RESIDENTS_MEETING: {"attendance_heads": (HALF, False), "yes_heads": (HALF, False)},
    RuleKind.PLURALITY: {"participation_heads": (TWO_THIRDS, True)},
}


@dataclass(frozen=True)
class Scene:
    rule: RuleKind
    areas: tuple[int, ...]  # hundredths of m², one per flat (owners' rules)
    options: tuple[str | None, ...]  # each voter's vote, in roll order (None: no vote)
    present: int = 0  # meetings: the first `present` voters attend


# --- drawing scenes -------------------------------------------------------------------------

# How far the total is put from the boundary: mostly at it, one hundredth (one head) under or
# a few over (the base grows with the total, so the margin moves by a fraction of the offset:
# at ≥ 3/4 the yes area must be 3·B + 4 to be one hundredth over the 225.00 of 300.00).
AT = st.sampled_from([-1, 0, 1])
OFFSETS = st.one_of(AT, AT, st.sampled_from([2, 3, 4, 5]), st.integers(-400, 400))


@st.composite
def split(draw: st.DrawFn, total: int, parts: int) -> list[int]:
    """`total` in `parts` positive integers."""
    assert total >= parts >= 1
    if parts == 1:
        return [total]
    cuts = sorted(draw(st.sets(st.integers(1, total - 1), min_size=parts - 1, max_size=parts - 1)))
    bounds = [0, *cuts, total]
    return [b - a for a, b in pairwise(bounds)]


@st.composite
def owners_scenes(draw: st.DrawFn, target: str) -> Scene:
    """民法典 278: the participating area at 2/3 of the total, or the yes area at 1/2 or 3/4 of
    the participating area, placed at the boundary ± offset; the heads fall where they fall,
    leaning toward a ballot that passes (so that its print is read too)."""
    rule = draw(st.sampled_from([RuleKind.OWNERS_ORDINARY, RuleKind.OWNERS_MAJOR]))
    n = draw(st.integers(3, 8))
    offset = draw(OFFSETS)
    mostly_yes = st.sampled_from([Y, Y, Y, N, A])
    if target == "participation_area":
        absent = draw(st.one_of(st.just(1), st.integers(1, n - 1)))
        absent_areas = draw(split(draw(st.integers(absent, 300_000)), absent))
        taking_part = n - absent
        total = max(2 * sum(absent_areas) + offset, taking_part)  # P ≥ 2·A at the boundary
        part_areas = draw(split(total, taking_part))
        votes = draw(st.lists(mostly_yes, min_size=taking_part, max_size=taking_part))
        flats: list[tuple[int, str | None]] = list(zip(part_areas, votes, strict=True))
        flats += [(a, None) for a in absent_areas]
    else:
        absent = draw(st.sampled_from([0, 0, 1]))
        yes = draw(st.one_of(st.just(n - absent - 1), st.integers(1, n - absent - 1)))
        against = n - absent - yes
        against_areas = draw(split(draw(st.integers(against, 300_000)), against))
        times = 3 if rule == RuleKind.OWNERS_MAJOR else 1  # Y ≥ 3·B, or Y > B
        total = max(times * sum(against_areas) + offset, yes)
        flats = [(a, Y) for a in draw(split(total, yes))]
        flats += [(a, draw(st.sampled_from([N, A]))) for a in against_areas]
        most = max((total + sum(against_areas)) // 2, 1)  # at about the 2/3 of participation
        flats += [(draw(st.integers(1, most)), None) for _ in range(absent)]
    flats = draw(st.permutations(flats))
    return Scene(rule, tuple(a for a, _ in flats), tuple(v for _, v in flats))


@st.composite
def unanimous_scenes(draw: st.DrawFn) -> Scene:
    """民法典 279: everyone, or all but one or two, agree."""
    n = draw(st.integers(3, 8))
    short = draw(st.sampled_from([0, 0, 1, 2]))
    others = draw(st.lists(st.sampled_from([N, A, None]), min_size=short, max_size=short))
    options = draw(st.permutations([Y] * (n - short) + others))
    areas = tuple(draw(st.lists(st.integers(1, 300_000), min_size=n, max_size=n)))
    return Scene(RuleKind.INTERESTED_UNANIMOUS, areas, tuple(options))


@st.composite
def meeting_scenes(draw: st.DrawFn) -> Scene:
    """居民会议 by household: attendance and yes heads at, just under and just over half."""
    n = draw(st.integers(3, 8))
    present = min(max(n // 2 + draw(st.sampled_from([0, 1, -1, 2])), 0), n)
    yes = min(max(present // 2 + draw(st.sampled_from([0, 1, -1])), 0), present)
    rest = draw(
        st.lists(st.sampled_from([N, A, None]), min_size=present - yes, max_size=present - yes)
    )
    options = (Y,) * yes + tuple(rest) + (None,) * (n - present)
    return Scene(RuleKind.RESIDENTS_MEETING, (), options, present=present)


@st.composite
def plurality_scenes(draw: st.DrawFn) -> Scene:
    """方案意向 by household: participation at, under and over 2/3; "s1"/"s2" stand for the
    two 方案, mapped to their codes when voting."""
    n = draw(st.integers(3, 8))
    voting = min(max(ceil(Fraction(2 * n, 3)) + draw(st.sampled_from([0, -1, 1])), 0), n)
    votes = draw(st.lists(st.sampled_from(["s1", "s2"]), min_size=voting, max_size=voting))
    options = draw(st.permutations([*votes, *([None] * (n - voting))]))
    return Scene(RuleKind.PLURALITY, (), tuple(options))


# Each family has its examples (one_of would spend most of them on the cheapest family).
SCENES = {
    "owners_participation_area": owners_scenes("participation_area"),
    "owners_yes_area": owners_scenes("yes_area"),
    "interested_unanimous": unanimous_scenes(),
    "residents_meeting": meeting_scenes(),
    "plurality": plurality_scenes(),
}


# --- the independent judgement --------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    value: int
    whole: int
    share: Fraction
    inclusive: bool

    @property
    def passed(self) -> bool:
        if self.whole <= 0:
            return False
        exact = Fraction(self.value, self.whole)
        return exact >= self.share if self.inclusive else exact > self.share

    @property
    def needed(self) -> int:
        """The smallest whole amount that passes (at least 1: nothing of nothing never does)."""
        exact = self.share * self.whole
        return max(ceil(exact) if self.inclusive else floor(exact) + 1, 1)

    @property
    def on_threshold(self) -> bool:
        return self.whole > 0 and Fraction(self.value, self.whole) == self.share


def expected_checks(scene: Scene) -> dict[str, Expected]:
    rule = scene.rule
    heads_total = len(scene.options)
    voted = [o for o in scene.options if o is not None]
    yes_heads = sum(1 for o in voted if o == Y)
    values: dict[str, tuple[int, int]]
    if rule in (RuleKind.OWNERS_ORDINARY, RuleKind.OWNERS_MAJOR):
        area_total = sum(scene.areas)
        area_part = sum(a for a, o in zip(scene.areas, scene.options, strict=True) if o)
        yes_area = sum(a for a, o in zip(scene.areas, scene.options, strict=True) if o == Y)
        values = {
            "participation_area": (area_part, area_total),
            "participation_heads": (len(voted), heads_total),
            "yes_area": (yes_area, area_part),
            "yes_heads": (yes_heads, len(voted)),
        }
    elif rule == RuleKind.INTERESTED_UNANIMOUS:
        values = {"unanimous_heads": (yes_heads, heads_total)}
    elif rule == RuleKind.RESIDENTS_MEETING:
        values = {
            "attendance_heads": (scene.present, heads_total),
            "yes_heads": (yes_heads, scene.present),
        }
    else:
        values = {"participation_heads": (len(voted), heads_total)}
    return {
        check_id: Expected(*values[check_id], *threshold)
        for check_id, threshold in THRESHOLDS[rule].items()
    }


def amount(n: int, *, area: bool, households: bool) -> str:
    if area:
        return f"{'-' if n < 0 else ''}{abs(n) // 100:,}.{abs(n) % 100:02d}㎡"
    return f"{n} {'户' if households else '人'}"


def percent_agrees(shown: Decimal, expected: Expected) -> bool:
    """The shown percentage against the threshold's, exact (66.666…%) and as a reader rounds it
    (66.67%): never on the wrong side of `passed`, at it only where the exact share is at it."""
    threshold = expected.share * 100
    as_read = Fraction(
        (Decimal(threshold.numerator) / threshold.denominator).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    )
    shown_f = Fraction(shown)
    if expected.passed:
        if expected.on_threshold:  # ≥ met exactly: may show the threshold itself
            return shown_f >= threshold and shown_f >= as_read
        return (
            shown_f > threshold and shown_f >= as_read and (expected.inclusive or shown_f > as_read)
        )
    if expected.on_threshold:  # > not met at exactly the threshold: may show it
        return shown_f <= threshold and shown_f <= as_read
    return shown_f < threshold and shown_f < as_read


LINE = re.compile(
    r"^(?P<label>\S+?) (?P<value>[\d,.]+㎡|\d+ [人户])"
    r"(?:，占(?P<base>\S+?) (?P<whole>[\d,.]+㎡|\d+ [人户])的 (?P<pct>\d+\.\d{2})%"
    r"|（\S+ \S+(?: [人户])?）)"
    r"；需 ≥ (?P<needed>[\d,.]+㎡|\d+ [人户])(?:（(?P<rule>[^）]+)）)?，"
    r"(?:(?P<margin>差|超出) (?P<by>[\d,.]+㎡|\d+ [人户])，)?(?P<verdict>恰好达到|未达到|达到)$"
)


def assert_line(text: str, expected: Expected, *, area: bool, households: bool) -> Decimal | None:
    """One check's words agree with the exact judgement; returns the percentage shown."""
    found = LINE.match(text)
    assert found, text
    margin = expected.value - expected.needed
    verdict = ("恰好达到" if margin == 0 else "达到") if expected.passed else "未达到"
    assert found["verdict"] == verdict, (text, expected)
    assert found["value"] == amount(expected.value, area=area, households=households), text
    assert found["needed"] == amount(expected.needed, area=area, households=households), text
    if margin == 0:
        assert found["margin"] is None, text
    else:
        assert found["margin"] == ("超出" if margin > 0 else "差"), text
        assert found["by"] == amount(abs(margin), area=area, households=households), text
    if expected.whole <= 0:
        assert found["pct"] is None, text
        return None
    assert found["whole"] == amount(expected.whole, area=area, households=households), text
    f = expected.share
    rule = (
        "全体"
        if f == 1
        else f"{f.numerator}/{f.denominator} 及以上"
        if expected.inclusive
        else f"超过 {f.numerator}/{f.denominator}"
    )
    assert found["rule"] == rule, text
    shown = Decimal(found["pct"])
    assert percent_agrees(shown, expected), (text, expected, shown)
    assert abs(Fraction(shown) - Fraction(100 * expected.value, expected.whole)) <= Fraction(
        2, 100
    ), text
    return shown


def assert_html(html: str, checks: dict[str, Expected], *, households: bool) -> None:
    for check_id, expected in checks.items():
        css = "ok" if expected.passed else "fail"
        found = re.findall(rf'<li class="(ok|fail)" data-check="{check_id}">(.*?)</li>', html)
        assert len(found) == 1, (check_id, found)
        assert found[0][0] == css, (check_id, found[0], expected)
        text = unescape(re.sub(r"<[^>]+>", "", found[0][1]))
        assert_line(text, expected, area=check_id.endswith("_area"), households=households)
        verdict = re.findall(r'<strong class="check-verdict">([^<]*)</strong>', found[0][1])
        assert verdict == [
            ("恰好达到" if expected.value == expected.needed else "达到")
            if expected.passed
            else "未达到"
        ]


# --- building the ballot through the real services ------------------------------------------


def build(db: Database, scene: Scene) -> tuple[f.HallWorld, Any, Ballot]:
    owners = scene.rule in (
        RuleKind.OWNERS_ORDINARY,
        RuleKind.OWNERS_MAJOR,
        RuleKind.INTERESTED_UNANIMOUS,
    )
    if owners:
        world, chair = hall_of_flats(db, scene.areas)
        ballot = vh.open_ballot(db, world, chair, rule=scene.rule, secret=False)
    else:
        world = f.make_hall(db, buildings=1, entrances=1, rooms=len(scene.options))
        chair = f.make_chair(db, world)
        ballot = vh.open_ballot(
            db, world, chair, rule=scene.rule, voter_unit=VoterUnit.HOUSEHOLD, secret=False
        )
    rows = vh.roll(db, ballot)
    assert len(rows) == len(scene.options)
    if owners:  # the roll is in the order of the flats, with their areas
        assert [r.entry.weight_centi_m2 for r in rows] == list(scene.areas)
    codes = {}
    if scene.rule == RuleKind.PLURALITY:
        with db.session(read_only=True) as s:
            solutions = [code for code, _ in queries.option_codes(s, ballot.id or 0)]
        assert len(solutions) == 2
        codes = {"s1": solutions[0], "s2": solutions[1]}
    for row, option in zip(rows, scene.options, strict=True):
        if option is not None:
            vh.in_person(db, world, chair, ballot, row.entry.id or 0, codes.get(option, option))
    if scene.rule == RuleKind.RESIDENTS_MEETING:
        with db.session() as s:
            service.record_attendance(
                session=s,
                access=f.chair_access(db, world, chair),
                actor=chair,
                ballot_id=ballot.id or 0,
                form=schemas.AttendanceForm(
                    present_ids=[r.entry.id or 0 for r in rows[: scene.present]]
                ),
            )
    close(db, world, chair, ballot)
    with db.session(read_only=True) as s:
        stored = s.get(Ballot, ballot.id)
        assert stored is not None
    return world, chair, stored


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
@pytest.mark.parametrize("family", list(SCENES))
def test_every_check_reads_its_exact_result_on_page_api_and_print(
    db: Database, make_client: Callable[[], Client], family: str, data: st.DataObject
) -> None:
    scene = data.draw(SCENES[family], label="scene")
    expected = expected_checks(scene)
    for check_id, want in expected.items():  # seen with --hypothesis-show-statistics
        margin = want.value - want.needed
        event(f"{scene.rule} {check_id} {'near' if -1 <= margin <= 1 else 'far'}")
    households = scene.rule in (RuleKind.RESIDENTS_MEETING, RuleKind.PLURALITY)
    world, chair, ballot = build(db, scene)
    client = login(make_client, chair)

    body = client.get(f"/api/v1/halls/{world.hall.id}/ballots/{ballot.id}").json()
    api = {c["id"]: c for c in body["result"]["checks"]}
    assert list(api) == list(expected), body["result"]
    for check_id, want in expected.items():
        got = api[check_id]
        assert (got["value"], got["whole"]) == (want.value, want.whole), (check_id, got, want)
        assert got["passed"] is want.passed, (check_id, got, want)
        assert got["needed"] == want.needed, (check_id, got, want)
        assert got["margin"] == want.value - want.needed, (check_id, got, want)
        shown = assert_line(
            got["text"], want, area=check_id.endswith("_area"), households=households
        )
        assert got["percent"] == ("—" if shown is None else f"{shown}%"), got

    verdict_passed = all(e.passed for e in expected.values())
    if scene.rule != RuleKind.PLURALITY:  # plurality also needs a single winner
        assert ballot.passed is verdict_passed
        assert body["result"]["passed"] is verdict_passed

    page = client.get(f"/halls/{world.hall.id}/ballots/{ballot.id}")
    assert page.status_code == 200
    assert_html(page.text, expected, households=households)

    event(f"{scene.rule} ballot {'passed, printed' if ballot.passed else 'not passed'}")
    if ballot.passed:
        printed = client.get(f"/halls/{world.hall.id}/issues/{ballot.issue_id}/publicity/print")
        assert printed.status_code == 200
        assert_html(printed.text, expected, households=households)
        assert "未达到" not in printed.text
