"""Checks read the right way on the ballot page, in the API and on the printed 公示 (issue #10
§4): ballots closed one hundredth of a m² (or one head) below, at and above each threshold of
the issue's four examples; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Any

import pytest

from app.accounts.models import User
from app.db import Database
from app.halls.models import Household
from app.voting import queries, rules, schemas, service
from app.voting.models import Ballot, VoterUnit
from app.voting.rules import RuleKind
from tests import factories as f
from tests.conftest import Client
from tests.web import voting_helpers as vh

Y, N = "yes", "no"


@dataclass(frozen=True)
class Scene:
    rule: RuleKind
    areas: tuple[int, ...]  # hundredths of m², one per flat
    options: tuple[str | None, ...]  # each flat's vote (None: does not vote)
    check: str  # the id of the check at its boundary
    line: str  # how it reads
    passed: bool  # the check
    value: int
    needed: int


AREA_3_4 = (
    "同意的专有部分面积 {v}㎡，占参与表决面积 300.00㎡的 {p}；需 ≥ 225.00㎡（3/4 及以上），{m}"
)
AREA_1_2 = (
    "同意的专有部分面积 {v}㎡，占参与表决面积 2,000.00㎡的 {p}；需 ≥ 1,000.01㎡（超过 1/2），{m}"
)
AREA_2_3 = (
    "参与表决专有部分面积 {v}㎡，占总面积 10,000.00㎡的 {p}；需 ≥ 6,666.67㎡（2/3 及以上），{m}"
)
SHORT, EXACT, OVER = "差 0.01㎡，未达到", "恰好达到", "超出 0.01㎡，达到"

SCENES = {
    # 1. 同意面积 ≥ 3/4 of 300.00 ㎡ (major matter): 224.99 / 225.00 / 225.01
    "yes_area_3_4_below": Scene(
        RuleKind.OWNERS_MAJOR, (7500, 7500, 7499, 7501), (Y, Y, Y, N), "yes_area",
        AREA_3_4.format(v="224.99", p="74.99%", m=SHORT), False, 22499, 22500,
    ),
    "yes_area_3_4_at": Scene(
        RuleKind.OWNERS_MAJOR, (7500, 7500, 7500, 7500), (Y, Y, Y, N), "yes_area",
        AREA_3_4.format(v="225.00", p="75.00%", m=EXACT), True, 22500, 22500,
    ),
    "yes_area_3_4_above": Scene(
        RuleKind.OWNERS_MAJOR, (7500, 7500, 7501, 7499), (Y, Y, Y, N), "yes_area",
        AREA_3_4.format(v="225.01", p="75.01%", m=OVER), True, 22501, 22500,
    ),
    # 2. 同意面积 > 1/2 of 2,000.00 ㎡ (ordinary matter): 999.99 / 1,000.00 / 1,000.01
    "yes_area_1_2_below": Scene(
        RuleKind.OWNERS_ORDINARY, (50000, 49999, 100001), (Y, Y, N), "yes_area",
        AREA_1_2.format(v="999.99", p="49.99%", m="差 0.02㎡，未达到"), False, 99999, 100001,
    ),
    "yes_area_1_2_at": Scene(
        RuleKind.OWNERS_ORDINARY, (50000, 50000, 100000), (Y, Y, N), "yes_area",
        AREA_1_2.format(v="1,000.00", p="50.00%", m=SHORT), False, 100000, 100001,
    ),
    "yes_area_1_2_above": Scene(
        RuleKind.OWNERS_ORDINARY, (50000, 50001, 99999), (Y, Y, N), "yes_area",
        AREA_1_2.format(v="1,000.01", p="50.01%", m=EXACT), True, 100001, 100001,
    ),
    # 3. 参与表决面积 ≥ 2/3 of 10,000.00 ㎡: 6,666.50 (the issue's) / .66 / .67 / .68
    "participation_area_2_3_issue": Scene(
        RuleKind.OWNERS_ORDINARY, (250000, 250000, 166650, 333350), (Y, Y, Y, None),
        "participation_area",
        AREA_2_3.format(v="6,666.50", p="66.66%", m="差 0.17㎡，未达到"), False, 666650, 666667,
    ),
    "participation_area_2_3_below": Scene(
        RuleKind.OWNERS_ORDINARY, (250000, 250000, 166666, 333334), (Y, Y, Y, None),
        "participation_area", AREA_2_3.format(v="6,666.66", p="66.66%", m=SHORT), False,
        666666, 666667,
    ),
    "participation_area_2_3_at": Scene(
        RuleKind.OWNERS_ORDINARY, (250000, 250000, 166667, 333333), (Y, Y, Y, None),
        "participation_area", AREA_2_3.format(v="6,666.67", p="66.67%", m=EXACT), True,
        666667, 666667,
    ),
    "participation_area_2_3_above": Scene(
        RuleKind.OWNERS_ORDINARY, (250000, 250000, 166668, 333332), (Y, Y, Y, None),
        "participation_area", AREA_2_3.format(v="6,666.68", p="66.67%", m=OVER), True,
        666668, 666667,
    ),
}  # fmt: skip


def login(make_client: Callable[[], Client], user: User) -> Client:
    c = make_client()
    c.login(user.phone or "", f.PASSWORD)
    return c


def hall_of_flats(db: Database, areas: tuple[int, ...]) -> tuple[f.HallWorld, User]:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=len(areas))
    with db.session() as s:
        for household, area in zip(world.households, areas, strict=True):
            row = s.get(Household, household.id)
            assert row is not None
            row.area_centi_m2 = area
            s.add(row)
        s.commit()
    return world, f.make_chair(db, world)


def close(db: Database, world: f.HallWorld, chair: User, ballot: Ballot) -> None:
    with db.session() as s:
        service.close_ballot(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
        )


def vote_in_person(
    db: Database, world: f.HallWorld, chair: User, ballot: Ballot, options: tuple[str | None, ...]
) -> None:
    rows = vh.roll(db, ballot)
    assert len(rows) == len(options)
    for row, option in zip(rows, options, strict=True):
        if option is not None:
            vh.in_person(db, world, chair, ballot, row.entry.id or 0, option)


def line_in_html(html: str, check_id: str, line: str, passed: bool) -> None:
    """The check's <li> reads `line` (tags aside), marked ok or fail, with 达到 / 未达到 bold."""
    css = "ok" if passed else "fail"
    found = re.findall(rf'<li class="{css}" data-check="{check_id}">(.*?)</li>', html)
    assert len(found) == 1, (check_id, css, line)
    assert unescape(re.sub(r"<[^>]+>", "", found[0])) == line
    verdict = "未达到" if not passed else ("恰好达到" if line.endswith("恰好达到") else "达到")
    assert found[0].endswith(f'<strong class="check-verdict">{verdict}</strong>')


def api_check(client: Client, world: f.HallWorld, ballot: Ballot, check_id: str) -> dict[str, Any]:
    body = client.get(f"/api/v1/halls/{world.hall.id}/ballots/{ballot.id}").json()
    found = [c for c in body["result"]["checks"] if c["id"] == check_id]
    assert len(found) == 1, body["result"]
    return found[0]


def assert_everywhere(
    client: Client,
    world: f.HallWorld,
    ballot: Ballot,
    *,
    check_id: str,
    line: str,
    passed: bool,
    value: int,
    needed: int,
) -> None:
    page = client.get(f"/halls/{world.hall.id}/ballots/{ballot.id}")
    assert page.status_code == 200
    line_in_html(page.text, check_id, line, passed)
    assert "✓" not in page.text.split('id="result"')[1]
    check = api_check(client, world, ballot, check_id)
    assert check["text"] == line
    assert (check["passed"], check["value"], check["needed"]) == (passed, value, needed)
    assert check["margin"] == value - needed
    with_publicity = client.get(f"/halls/{world.hall.id}/issues/{ballot.issue_id}/publicity")
    printed = client.get(f"/halls/{world.hall.id}/issues/{ballot.issue_id}/publicity/print")
    if passed and with_publicity.status_code == 200:
        line_in_html(with_publicity.text, check_id, line, passed)
        assert printed.status_code == 200
        line_in_html(printed.text, check_id, line, passed)


@pytest.mark.parametrize("name", list(SCENES))
def test_a_check_at_its_boundary_reads_the_same_on_page_api_and_print(
    db: Database, make_client: Callable[[], Client], name: str
) -> None:
    scene = SCENES[name]
    world, chair = hall_of_flats(db, scene.areas)
    ballot = vh.open_ballot(db, world, chair, rule=scene.rule, secret=False)
    vote_in_person(db, world, chair, ballot, scene.options)
    close(db, world, chair, ballot)
    with db.session(read_only=True) as s:
        stored = s.get(Ballot, ballot.id)
        assert stored is not None
    client = login(make_client, chair)
    assert_everywhere(
        client,
        world,
        stored,
        check_id=scene.check,
        line=scene.line,
        passed=scene.passed,
        value=scene.value,
        needed=scene.needed,
    )
    if scene.passed:  # the other checks pass too: the ballot is in 公示, and printed
        assert stored.passed
        printed = client.get(f"/halls/{world.hall.id}/issues/{stored.issue_id}/publicity/print")
        assert printed.status_code == 200
        line_in_html(printed.text, scene.check, scene.line, True)
        assert "未达到" not in printed.text
    else:
        assert stored.passed is False


def meeting(
    db: Database, households: int, present: int, yes: int
) -> tuple[f.HallWorld, User, Ballot]:
    """A 居民会议 by household: `present` households attend, `yes` of them agree."""
    world = f.make_hall(db, buildings=1, entrances=1, rooms=households)
    chair = f.make_chair(db, world)
    ballot = vh.open_ballot(
        db,
        world,
        chair,
        rule=RuleKind.RESIDENTS_MEETING,
        voter_unit=VoterUnit.HOUSEHOLD,
        secret=False,
    )
    rows = vh.roll(db, ballot)
    for row in rows[:yes]:
        vh.in_person(db, world, chair, ballot, row.entry.id or 0, Y)
    with db.session() as s:
        service.record_attendance(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            ballot_id=ballot.id or 0,
            form=schemas.AttendanceForm(present_ids=[r.entry.id or 0 for r in rows[:present]]),
        )
    close(db, world, chair, ballot)
    with db.session(read_only=True) as s:
        stored = s.get(Ballot, ballot.id)
        assert stored is not None
    return world, chair, stored


def test_three_present_of_432_reads_as_far_short_of_half(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world, chair, ballot = meeting(db, 432, 3, 3)
    assert ballot.passed is False
    assert_everywhere(
        login(make_client, chair),
        world,
        ballot,
        check_id="attendance_heads",
        line="实到户数 3 户，占应到户数 432 户的 0.69%；需 ≥ 217 户（超过 1/2），差 214 户，未达到",
        passed=False,
        value=3,
        needed=217,
    )


@pytest.mark.parametrize(
    ("present", "line", "passed"),
    [
        (
            6,
            "实到户数 6 户，占应到户数 12 户的 50.00%；需 ≥ 7 户（超过 1/2），差 1 户，未达到",
            False,
        ),
        (7, "实到户数 7 户，占应到户数 12 户的 58.33%；需 ≥ 7 户（超过 1/2），恰好达到", True),
        (
            8,
            "实到户数 8 户，占应到户数 12 户的 66.67%；需 ≥ 7 户（超过 1/2），超出 1 户，达到",
            True,
        ),
    ],
)
def test_attendance_one_below_at_and_above_more_than_half(
    db: Database, make_client: Callable[[], Client], present: int, line: str, passed: bool
) -> None:
    world, chair, ballot = meeting(db, 12, present, present // 2 + 1)
    assert ballot.passed is passed
    client = login(make_client, chair)
    assert_everywhere(
        client,
        world,
        ballot,
        check_id="attendance_heads",
        line=line,
        passed=passed,
        value=present,
        needed=7,
    )
    if passed:
        printed = client.get(f"/halls/{world.hall.id}/issues/{ballot.issue_id}/publicity/print")
        line_in_html(printed.text, "attendance_heads", line, True)


def test_a_result_frozen_as_text_still_verifies_and_reads_the_new_way(
    db: Database, make_client: Callable[[], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ballots closed before checks were data keep their ledger: it still verifies, and the
    page, the API and the print read their lines the new way."""
    scene = SCENES["yes_area_3_4_at"]
    world, chair = hall_of_flats(db, scene.areas)
    ballot = vh.open_ballot(db, world, chair, rule=scene.rule, secret=False)
    vote_in_person(db, world, chair, ballot, scene.options)
    new_form = rules.result_data
    with monkeypatch.context() as m:
        m.setattr(rules, "result_data", lambda o, **_: new_form(o, legacy=True))
        close(db, world, chair, ballot)
    with db.session(read_only=True) as s:
        stored = s.get(Ballot, ballot.id)
        assert stored is not None
        frozen = queries.stored_result(stored)
        assert frozen is not None
        assert frozen["checks"][2] == (
            "同意的专有部分面积 225.00㎡ / 参与表决面积 300.00㎡ = 75.00% ≥ 3/4 ✓"
        )
        verdict = queries.verify_ballot(s, ballot.id or 0)
    assert verdict.ok, verdict.problems
    assert_everywhere(
        login(make_client, chair),
        world,
        stored,
        check_id="yes_area",
        line=scene.line,
        passed=True,
        value=22500,
        needed=22500,
    )
