"""三率 with hand-computed expectations, on SQLite and PostgreSQL (app.rates).

One street, period 2026-01-01 … 2026-03-31 (Beijing time: [2025-12-31 16:00, 2026-03-31 16:00)
UTC), `now` 2026-04-15 00:00 UTC. The street's 基本满意 coefficient is the default 9/10; round
a2 carries a hall weight of 1/2, which the street's 满意率 must ignore.

Hall A
  rounds  a1 closed 01-10: 满意 3, 基本 1, 不满意 1; 已解决 4, 未解决 1
          a2 closed 02-20: 满意 10, 基本 5, 不满意 5; 已解决 12, 未解决 6   (hall weight 1/2)
          a4 closed 03-31 23:59:59 Beijing (15:59:59 UTC, the period's last second): 不满意 2; 未解决 2
          a3 closed 04-01 00:00 Beijing (03-31 16:00 UTC): outside; an open round: outside
    满意率 = (3+10+0 + 9/10 × (1+5+0)) / (5+20+2) = (13 + 5.4)/27 = 92/135 = 0.681481… → 0.6814
    解决率 = (4+12+0) / (5+18+2) = 16/25 = 0.6400
  issues  i1 due 01-05 10:00, reviewed at 10:00 exactly (in time)
          i2 due 01-05 10:00, reviewed 10:00:01 (late)
          i3 reviewed in the period without a review deadline (not assessed)
          i4 due 02-03, reviewed 02-01 (in time)
          i5 reviewed 2025-12-31 23:59:59 Beijing (outside), i6 at 2026-01-01 00:00 Beijing (in time)
    响应率 = 3/4 = 0.7500
    综合得分 = (10 × 3/4 + 45 × 16/25 + 45 × 92/135)/100 = (15/2 + 144/5 + 92/3)/100
             = (2009/30)/100 = 2009/3000 = 0.669666… → 0.6696
Hall B: round b1 closed 02-10: 满意 2; 已解决 2 → 满意率 1, 解决率 1, 响应率 None → 综合 None
Hall C: nothing → all None (never 0)
Street (by hall) = A + B: 满意率 (15 + 5.4)/29 = 102/145 → 0.7034; 解决率 18/27 = 2/3 → 0.6666
    (rounded down, not 0.6667); 响应率 3/4; 综合 (15/2 + 30 + 918/29)/100 = 4011/5800 → 0.6915

Departments D1, D2, D3
  e1 a1's issue → D1, dispatched 01-06 00:00, due 02:00, 报到 02:00 exactly (in time)
  e2 a1's issue → D1 again, dispatched 01-07, 报到 one second after its due (late); a1 once for D1
  e3 a2's issue → D2, dispatched 02-01, due 02-02, never 报到 (overdue: assessed, late)
  e4 a2's issue → D1, dispatched 03-31 23:00 Beijing, due 04-16 (after now), not yet 报到:
     not assessed; a2 is still D1's
  e5 b1's issue → D2, dispatched 04-01 Beijing (outside the period); b1 is still D2's
  e6 a4's issue raised, never dispatched: nobody's
  D1: rounds a1 + a2: 满意率 (13 + 5.4)/25 = 92/125 = 0.7360; 解决率 16/23 = 0.695652… → 0.6956
      响应率 1/2; 综合 (5 + 720/23 + 828/25)/100 = 39919/57500 = 0.694243… → 0.6942
  D2: rounds a2 + b1: 满意率 (12 + 4.5)/22 = 3/4; 解决率 14/20 = 7/10; 响应率 0/1 = 0.0000 (a real 0)
      综合 (0 + 31.5 + 33.75)/100 = 261/400 = 0.6525
  D3: None everywhere
  Total: a1, a2 and b1 once each (a2 is both D1's and D2's): 满意率 (15 + 5.4)/27 = 34/45,
      解决率 18/25; 响应率 1/3 (D1's two and D2's one)

Companies P1, P2
  t1 a1's issue, P1, due 01-20, done exactly at due (按期)
  t2 a1's issue, P1, due 01-25, done one second late
  t3 a2's issue, P1, due 03-01, not done, overdue
  t4 a2's issue, P2, due 05-01 (after the period), done 02-10 (early: done in the period, 按期)
  t5 b1's issue, P2, due 04-20 (after now), not done: not assessed; b1 is still P2's
  t6 a4's issue, no company
  P1: rounds a1 + a2 (as D1); 响应率 1/3 → 0.3333; 综合 (10/3 + 720/23 + 828/25)/100
      = (5750 + 54000 + 57132)/1725/100 = 58441/86250 = 0.677576… → 0.6775
  P2: rounds a2 + b1 (as D2); 响应率 1/1; 综合 (10 + 31.5 + 33.75)/100 = 301/400 = 0.7525
  Total: a1, a2 and b1 once each, as for departments; 响应率 2/4 = 1/2
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest

from app.core.errors import NotFound
from app.db import Database
from app.evaluations.rules import Ratio
from app.halls.policies import StreetAccess
from app.issues.lifecycle import Stage
from app.rates import service
from app.rates.period import Period
from app.rates.queries import By
from app.rates.service import Report
from tests import rates_helpers as rh
from tests.rates_helpers import utc

PERIOD = Period(date(2026, 1, 1), date(2026, 3, 31))
NOW = utc(2026, 4, 15)


def frac(r: Ratio | None) -> Fraction | None:
    return None if r is None else r.fraction


def value(r: Ratio | None) -> str | None:
    return None if r is None else r.value


@pytest.fixture(scope="module")
def world(db: Database) -> rh.StreetWorld:
    w = rh.street_world(db)
    a, b, _c = w.halls
    d1, d2, _d3 = w.departments
    p1, p2 = w.companies
    a1 = rh.closed_round(w, a, utc(2026, 1, 10), satisfied=3, basic=1, dissatisfied=1, yes=4, no=1)
    a2 = rh.closed_round(
        w, a, utc(2026, 2, 20), satisfied=10, basic=5, dissatisfied=5, yes=12, no=6, weight=(1, 2)
    )
    a4 = rh.closed_round(w, a, utc(2026, 3, 31, 15, 59, 59), dissatisfied=2, no=2)
    rh.closed_round(w, a, utc(2026, 3, 31, 16), satisfied=7, yes=7)  # a3: 04-01 Beijing
    rh.closed_round(w, a, None, satisfied=9, yes=9)  # still open
    due = utc(2026, 1, 5, 10)
    rh.issue(w, a, review_due_at=due, reviewed_at=due)  # i1
    rh.issue(w, a, review_due_at=due, reviewed_at=due + timedelta(seconds=1))  # i2
    rh.issue(w, a, reviewed_at=utc(2026, 1, 8))  # i3
    rh.issue(w, a, review_due_at=utc(2026, 2, 3), reviewed_at=utc(2026, 2, 1))  # i4
    late = utc(2026, 1, 20)
    rh.issue(w, a, review_due_at=late, reviewed_at=utc(2025, 12, 31, 15, 59, 59))  # i5
    rh.issue(w, a, review_due_at=late, reviewed_at=utc(2025, 12, 31, 16))  # i6
    b1 = rh.closed_round(w, b, utc(2026, 2, 10), satisfied=2, yes=2)
    # escalations
    t0 = utc(2026, 1, 6)
    rh.escalation(
        w,
        a1,
        d1,
        dispatched_at=t0,
        respond_due_at=t0 + timedelta(hours=2),
        acknowledged_at=t0 + timedelta(hours=2),
    )  # e1
    t1 = utc(2026, 1, 7)
    rh.escalation(
        w,
        a1,
        d1,
        dispatched_at=t1,
        respond_due_at=t1 + timedelta(hours=2),
        acknowledged_at=t1 + timedelta(hours=2, seconds=1),
    )  # e2
    rh.escalation(w, a2, d2, dispatched_at=utc(2026, 2, 1), respond_due_at=utc(2026, 2, 2))  # e3
    rh.escalation(
        w, a2, d1, dispatched_at=utc(2026, 3, 31, 15), respond_due_at=utc(2026, 4, 16)
    )  # e4
    t5 = utc(2026, 3, 31, 16)
    rh.escalation(
        w,
        b1,
        d2,
        dispatched_at=t5,
        respond_due_at=t5 + timedelta(hours=2),
        acknowledged_at=t5 + timedelta(hours=1),
    )  # e5
    rh.escalation(w, a4, None)  # e6
    # tasks
    rh.task(w, a1, p1, due_at=utc(2026, 1, 20), done_at=utc(2026, 1, 20))  # t1
    rh.task(w, a1, p1, due_at=utc(2026, 1, 25), done_at=utc(2026, 1, 25, 0, 0, 1))  # t2
    rh.task(w, a2, p1, due_at=utc(2026, 3, 1))  # t3
    rh.task(w, a2, p2, due_at=utc(2026, 5, 1), done_at=utc(2026, 2, 10))  # t4
    rh.task(w, b1, p2, due_at=utc(2026, 4, 20))  # t5
    rh.task(w, a4, None, due_at=utc(2026, 3, 1), done_at=utc(2026, 3, 1))  # t6
    return w


def report(db: Database, w: rh.StreetWorld, by: By, period: Period = PERIOD) -> Report:
    with db.session(read_only=True) as session:
        return service.street_report(
            session=session, access=w.access, street=w.street, by=by, period=period, now=NOW
        )


def test_per_hall(db: Database, world: rh.StreetWorld) -> None:
    r = report(db, world, By.HALL)
    a, b, c = r.rows
    assert [row.id for row in r.rows] == [h.id for h in world.halls]
    assert frac(a.rates.satisfaction) == Fraction(92, 135)
    assert value(a.rates.satisfaction) == "0.6814"
    assert frac(a.rates.resolution) == Fraction(16, 25)
    assert value(a.rates.resolution) == "0.6400"
    assert frac(a.rates.response) == Fraction(3, 4)
    assert frac(a.rates.score) == Fraction(2009, 3000)
    assert value(a.rates.score) == "0.6696"
    t = a.rates.tally
    assert (t.rounds, t.valid, t.satisfied, t.basic, t.dissatisfied) == (3, 27, 13, 6, 8)
    assert (t.resolved_yes, t.resolved_no, t.in_time, t.assessed) == (16, 9, 3, 4)
    assert frac(b.rates.satisfaction) == 1
    assert value(b.rates.satisfaction) == "1.0000"
    assert frac(b.rates.resolution) == 1
    assert b.rates.response is None
    assert b.rates.score is None  # not all three rates
    assert (c.rates.response, c.rates.resolution, c.rates.satisfaction, c.rates.score) == (
        None,
        None,
        None,
        None,
    )
    whole = r.total.rates
    assert frac(whole.satisfaction) == Fraction(102, 145)
    assert value(whole.satisfaction) == "0.7034"
    assert frac(whole.resolution) == Fraction(2, 3)
    assert value(whole.resolution) == "0.6666"  # rounded down, never overstated
    assert frac(whole.score) == Fraction(4011, 5800)
    assert value(whole.score) == "0.6915"


def test_per_hall_by_month(db: Database, world: rh.StreetWorld) -> None:
    r = report(db, world, By.HALL)
    assert [m.key for m in r.months] == ["2026-01", "2026-02", "2026-03"]
    jan, feb, mar = r.rows[0].months
    # January: a1 (3 满意, 1 基本, 1 不满意 → (3 + 9/10)/5 = 39/50); i1, i2, i6 → 2/3 in time
    assert frac(jan.satisfaction) == Fraction(39, 50)
    assert frac(jan.resolution) == Fraction(4, 5)
    assert frac(jan.response) == Fraction(2, 3)
    # February: a2 ((10 + 4.5)/20 = 29/40 with the street's 9/10, not its own 1/2); i4 in time
    assert frac(feb.satisfaction) == Fraction(29, 40)
    assert frac(feb.response) == 1
    # March: a4 alone (the period's last second): 0 satisfied of 2 is a real 0, no response data
    assert frac(mar.satisfaction) == 0
    assert value(mar.satisfaction) == "0.0000"
    assert mar.response is None
    # the total's months add the halls up: February has a2 and b1
    assert r.total.months[1].tally.valid == 22


def test_per_department(db: Database, world: rh.StreetWorld) -> None:
    r = report(db, world, By.DEPARTMENT)
    d1, d2, d3 = r.rows
    assert d1.rates.tally.rounds == 2  # a1 once although two escalations, and a2
    assert frac(d1.rates.satisfaction) == Fraction(92, 125)
    assert value(d1.rates.satisfaction) == "0.7360"
    assert frac(d1.rates.resolution) == Fraction(16, 23)
    assert value(d1.rates.resolution) == "0.6956"
    assert (d1.rates.tally.in_time, d1.rates.tally.assessed) == (1, 2)  # e4 not yet assessed
    assert frac(d1.rates.score) == Fraction(39919, 57500)
    assert value(d1.rates.score) == "0.6942"
    assert frac(d2.rates.satisfaction) == Fraction(3, 4)
    assert frac(d2.rates.resolution) == Fraction(7, 10)
    assert frac(d2.rates.response) == 0  # e3 overdue; e5 outside the period
    assert value(d2.rates.response) == "0.0000"
    assert frac(d2.rates.score) == Fraction(261, 400)
    assert (d3.rates.response, d3.rates.satisfaction, d3.rates.score) == (None, None, None)


def test_per_company(db: Database, world: rh.StreetWorld) -> None:
    r = report(db, world, By.COMPANY)
    p1, p2 = r.rows
    assert frac(p1.rates.satisfaction) == Fraction(92, 125)
    assert (p1.rates.tally.in_time, p1.rates.tally.assessed) == (1, 3)
    assert value(p1.rates.response) == "0.3333"
    assert frac(p1.rates.score) == Fraction(58441, 86250)
    assert value(p1.rates.score) == "0.6775"
    assert p2.rates.tally.rounds == 2  # a2 (t4) and b1 (t5, not yet assessed itself)
    assert frac(p2.rates.response) == 1
    assert frac(p2.rates.score) == Fraction(301, 400)
    # t4 was done in February (due in May): its month is the month it was done
    assert [m.tally.assessed for m in p2.months] == [0, 1, 0]


@pytest.mark.parametrize("by", [By.DEPARTMENT, By.COMPANY])
def test_the_total_counts_a_shared_round_once(db: Database, world: rh.StreetWorld, by: By) -> None:
    """a2's issue went to D1 and D2 (P1 and P2): each row counts it, the street's total once."""
    r = report(db, world, by)
    assert [row.rates.tally.rounds for row in r.rows][:2] == [2, 2]
    whole = r.total.rates
    assert whole.tally.rounds == 3  # a1, a2, b1 (the rows add up to 4)
    assert whole.tally.valid == 27
    assert frac(whole.satisfaction) == Fraction(34, 45)
    assert frac(whole.resolution) == Fraction(18, 25)
    in_time = {By.DEPARTMENT: (1, 3), By.COMPANY: (2, 4)}[by]
    assert (whole.tally.in_time, whole.tally.assessed) == in_time
    # month by month too: February has a2 (shared) and b1
    assert [m.tally.rounds for m in r.total.months] == [1, 2, 0]
    assert sum(m.tally.rounds for m in r.total.months) == whole.tally.rounds


def test_the_escalation_window_ends_at_its_due_instant(db: Database) -> None:
    """Not reported at the due instant: not assessed yet; one second later: late."""
    w = rh.street_world(db, halls=1, departments=1, companies=0)
    (hall,), (dept,) = w.halls, w.departments
    of = rh.issue(w, hall)
    rh.escalation(w, of, dept, dispatched_at=utc(2026, 2, 1), respond_due_at=NOW)
    assert report(db, w, By.DEPARTMENT).rows[0].rates.response is None
    with db.session(read_only=True) as session:
        later = service.street_report(
            session=session,
            access=w.access,
            street=w.street,
            by=By.DEPARTMENT,
            period=PERIOD,
            now=NOW + timedelta(seconds=1),
        )
    assert frac(later.rows[0].rates.response) == 0


def test_a_task_due_now_and_not_done_is_not_late_yet(db: Database) -> None:
    w = rh.street_world(db, halls=1, departments=0, companies=1)
    (hall,), (company,) = w.halls, w.companies
    rh.task(w, rh.issue(w, hall), company, due_at=utc(2026, 3, 1))
    with db.session(read_only=True) as session:
        at_due, after = (
            service.street_report(
                session=session,
                access=w.access,
                street=w.street,
                by=By.COMPANY,
                period=PERIOD,
                now=now,
            )
            for now in (utc(2026, 3, 1), utc(2026, 3, 1, 0, 0, 1))
        )
    assert at_due.rows[0].rates.response is None
    assert frac(after.rows[0].rates.response) == 0


def test_an_empty_street_has_no_rates_not_zeros(db: Database) -> None:
    w = rh.street_world(db, halls=2, departments=1, companies=1)
    for by in By:
        r = report(db, w, by)
        for row in (*r.rows, r.total):
            assert (row.rates.response, row.rates.resolution, row.rates.satisfaction) == (
                None,
                None,
                None,
            )
            assert row.rates.score is None


def test_the_street_coefficient_and_weights_are_the_streets(db: Database) -> None:
    w = rh.street_world(db, halls=1, departments=0, companies=0)
    (hall,) = w.halls
    due = utc(2026, 1, 5)
    rh.issue(w, hall, review_due_at=due, reviewed_at=due)
    rh.closed_round(w, hall, utc(2026, 1, 10), satisfied=1, basic=1, yes=1, no=1)
    with db.session() as session:
        from app.halls.models import Street

        street = session.get(Street, w.street.id)
        assert street is not None
        street.basic_satisfied_weight_num, street.basic_satisfied_weight_den = 1, 2
        street.rate_weight_response, street.rate_weight_resolution = 0, 50
        street.rate_weight_satisfaction = 50
        session.commit()
        session.refresh(street)
        session.expunge(street)
    w.street = street
    row = report(db, w, By.HALL).rows[0].rates
    # 满意率 (1 + 1/2 × 1)/2 = 3/4; 解决率 1/2; 综合 (0 × 1 + 50 × 1/2 + 50 × 3/4)/100 = 5/8
    assert frac(row.satisfaction) == Fraction(3, 4)
    assert frac(row.score) == Fraction(5, 8)


def test_a_proposal_left_unanswered_past_its_deadline_counts_as_late(db: Database) -> None:
    """响应率 of a hall: ignoring a proposal is not 100 %. Period 2026-01-01 to 03-31 (Beijing):
    i1 answered in time; i2 never answered, due 02-01; i3 withdrawn unanswered, due 02-02;
    i4 unanswered, due before the period. At NOW (04-15): i1 in time, i2 late, i3 and i4 not
    assessed, 响应率 = 1/2. On 01-31, before i2's deadline: only i1 is assessed, 1/1."""
    w = rh.street_world(db, halls=1, departments=0, companies=0)
    (hall,) = w.halls
    due = utc(2026, 1, 5)
    rh.issue(w, hall, review_due_at=due, reviewed_at=due)  # i1
    rh.issue(w, hall, review_due_at=utc(2026, 2, 1))  # i2
    rh.issue(w, hall, review_due_at=utc(2026, 2, 2), stage=Stage.WITHDRAWN)  # i3
    rh.issue(w, hall, review_due_at=utc(2025, 12, 20))  # i4

    def response(now: datetime) -> Ratio | None:
        with db.session(read_only=True) as session:
            found = service.street_report(
                session=session,
                access=w.access,
                street=w.street,
                by=By.HALL,
                period=PERIOD,
                now=now,
            )
        return found.rows[0].rates.response

    assert frac(response(NOW)) == Fraction(1, 2)
    assert frac(response(utc(2026, 1, 31))) == Fraction(1, 1)
    assert frac(response(utc(2026, 2, 1, 0, 0, 1))) == Fraction(1, 2)  # a second past due


def test_another_streets_official_is_refused(db: Database, world: rh.StreetWorld) -> None:
    other = rh.street_world(db, halls=1, departments=0, companies=0)
    stranger = StreetAccess(
        user_id=other.official.id or 0, street_id=other.street.id or 0, is_street_admin=True
    )
    with db.session(read_only=True) as session, pytest.raises(NotFound):
        service.street_report(
            session=session,
            access=stranger,
            street=world.street,
            by=By.HALL,
            period=PERIOD,
            now=NOW,
        )


def test_a_fixed_number_of_queries_whatever_the_size(db: Database) -> None:
    small = rh.street_world(db, halls=1, departments=1, companies=1)
    big = rh.street_world(db, halls=4, departments=3, companies=2)
    for h in big.halls:
        for month in (1, 2, 3):
            of = rh.closed_round(big, h, utc(2026, month, 10), satisfied=2, yes=1)
            rh.escalation(
                big,
                of,
                big.departments[month - 1],
                dispatched_at=utc(2026, month, 1),
                respond_due_at=utc(2026, month, 2),
                acknowledged_at=utc(2026, month, 1, 1),
            )
            rh.task(big, of, big.companies[month % 2], due_at=utc(2026, month, 20))
    counts: dict[str, list[int]] = {}
    for w in (small, big):
        for by in By:
            with rh.count_statements(db) as statements:
                report(db, w, by)
            counts.setdefault(by, []).append(
                sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))
            )
    assert all(c == [3, 3] for c in counts.values()), counts
    assert report(db, big, By.HALL).total.rates.tally.rounds == 12
