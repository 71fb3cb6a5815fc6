"""三率 pages and API over HTTP, on SQLite and PostgreSQL: the figures with their formulas and
counts, the chart, the period's bounds, the street's weights form, and who may see what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from app.core import clock
from app.db import Database
from tests import rates_helpers as rh
from tests.factories import PASSWORD, make_chair, make_member
from tests.rates_helpers import utc

NOW = utc(2026, 4, 15)


@pytest.fixture
def frozen() -> Iterator[None]:
    clock.freeze(NOW)
    yield
    clock.freeze(None)


@pytest.fixture(scope="module")
def world(db: Database) -> rh.StreetWorld:
    """Hall A: rounds (3 满意, 1 基本, 1 不满意; 4 解决, 1 未解决) in January and (1 满意; 1 解决)
    in March → 满意率 (4 + 9/10)/6 = 49/60 = 0.816666… → 81.66%; 解决率 5/6 → 83.33%;
    one proposal answered at its deadline, one a second late → 响应率 1/2 = 50.00%;
    综合 (10 × 1/2 + 45 × 5/6 + 45 × 49/60)/100 = (5 + 37.5 + 36.75)/100 = 0.7925 → 79.25.
    Hall B: nothing → "—"."""
    w = rh.street_world(db, halls=2, departments=1, companies=1)
    a = w.halls[0]
    rh.closed_round(w, a, utc(2026, 1, 10), satisfied=3, basic=1, dissatisfied=1, yes=4, no=1)
    of = rh.closed_round(w, a, utc(2026, 3, 10), satisfied=1, yes=1)
    due = utc(2026, 1, 5)
    rh.issue(w, a, review_due_at=due, reviewed_at=due)
    rh.issue(w, a, review_due_at=due, reviewed_at=due + timedelta(seconds=1))
    rh.escalation(
        w,
        of,
        w.departments[0],
        dispatched_at=utc(2026, 3, 1),
        respond_due_at=utc(2026, 3, 2),
        acknowledged_at=utc(2026, 3, 1, 12),
    )
    rh.task(w, of, w.companies[0], due_at=utc(2026, 3, 5), done_at=utc(2026, 3, 4))
    return w


def login(make_client: Any, user: Any) -> Any:
    client = make_client()
    client.login(user.phone, PASSWORD)
    return client


def url(w: rh.StreetWorld, query: str = "from=2026-01-01&to=2026-03-31") -> str:
    return f"/streets/{w.street.id}/rates?{query}"


def test_the_street_page_shows_each_rate_with_its_counts(
    world: rh.StreetWorld, make_client: Any, frozen: None
) -> None:
    client = login(make_client, world.official)
    page = client.get(url(world))
    assert page.status_code == 200, page.text[:500]
    text = page.text
    assert "81.66%" in text  # 49/60 rounded down, not 81.67%
    assert "83.33%" in text
    assert "50.00%" in text
    assert "79.25" in text
    assert "（满意 4 + 0.9 × 基本满意 1）÷ 有效评价 6；不满意 1" in text
    assert "已解决 5 / 作答 6（未解决 1）" in text
    assert "按时 1 / 应审核 2" in text
    assert text.count("—") >= 4  # hall B: three rates and the score, never 0
    # the chart: an accessible SVG with a point per month with data, and the data table
    assert '<svg viewBox="0 0 360 230" role="img"' in text
    assert '<title id="chart-title">' in text
    assert text.count('class="mark"') == 2 + 2 + 1  # 满意率 and 解决率 in Jan and Mar, 响应率 Jan
    assert "各月数据表" in text
    assert "2026-02" in text  # a month without data is still a row of the table
    # the formulas beside the figures
    assert "基本满意一律按本街道的系数 0.9 计" in text
    assert "2026-01-01 0:00 至 2026-03-31 24:00（北京时间）" in text


def test_by_department_and_company(world: rh.StreetWorld, make_client: Any, frozen: None) -> None:
    client = login(make_client, world.official)
    for by, name, counts in (
        ("department", world.departments[0].name, "按时报到 1 / 应报到 1"),
        ("company", world.companies[0].name, "按期办结 1 / 应办结 1"),
    ):
        page = client.get(url(world, f"by={by}&from=2026-03-01&to=2026-03-31"))
        assert page.status_code == 200
        assert name in page.text
        assert counts in page.text
        assert "100.00%" in page.text  # the March round: 1 满意 of 1, 1 解决 of 1


def test_the_period_is_whole_beijing_days(
    world: rh.StreetWorld, make_client: Any, frozen: None
) -> None:
    """The January round closed 01-10; a period ending 01-09 leaves it out, one ending 01-10
    keeps it (the whole day counts)."""
    client = login(make_client, world.official)
    api = f"/api/v1/streets/{world.street.id}/rates"
    before = client.get(f"{api}?from=2026-01-01&to=2026-01-09").json()
    assert before["rows"][0]["counts"]["rounds"] == 0
    assert before["rows"][0]["satisfaction_rate"] is None
    whole = client.get(f"{api}?from=2026-01-01&to=2026-01-10").json()
    assert whole["rows"][0]["counts"]["rounds"] == 1
    assert whole["rows"][0]["satisfaction_rate"] == {
        "numerator": 39,
        "denominator": 50,
        "value": "0.7800",
    }


def test_the_default_period_is_the_last_12_months(
    world: rh.StreetWorld, make_client: Any, frozen: None
) -> None:
    client = login(make_client, world.official)
    data = client.get(f"/api/v1/streets/{world.street.id}/rates").json()
    assert (data["date_from"], data["date_to"]) == ("2025-05-01", "2026-04-15")
    assert len(data["total"]["months"]) == 12


def test_the_api_carries_exact_rates_counts_and_months(
    world: rh.StreetWorld, make_client: Any, frozen: None
) -> None:
    client = login(make_client, world.official)
    response = client.get(
        f"/api/v1/streets/{world.street.id}/rates?by=hall&from=2026-01-01&to=2026-03-31"
    )
    assert response.status_code == 200
    data = response.json()
    a, b = data["rows"]
    assert a["satisfaction_rate"] == {"numerator": 49, "denominator": 60, "value": "0.8166"}
    assert a["resolution_rate"] == {"numerator": 5, "denominator": 6, "value": "0.8333"}
    assert a["response_rate"] == {"numerator": 1, "denominator": 2, "value": "0.5000"}
    assert a["score"] == {"numerator": 317, "denominator": 400, "value": "0.7925"}
    assert a["counts"] == {
        "rounds": 2,
        "valid": 6,
        "satisfied": 4,
        "basic": 1,
        "dissatisfied": 1,
        "resolved_yes": 5,
        "resolved_no": 1,
        "assessed": 2,
        "in_time": 1,
    }
    assert [m["month"] for m in a["months"]] == ["2026-01", "2026-02", "2026-03"]
    assert a["months"][1]["satisfaction_rate"] is None
    assert b["satisfaction_rate"] is None
    assert b["score"] is None
    assert data["weights"]["basic_satisfied"] == {
        "numerator": 9,
        "denominator": 10,
        "value": "0.9000",
    }
    assert data["total"]["counts"]["rounds"] == 2
    bad = client.get(f"/api/v1/streets/{world.street.id}/rates?from=2026-03-31&to=2026-01-01")
    assert bad.status_code == 422
    assert client.get(f"/api/v1/streets/{world.street.id}/rates?by=nobody").status_code == 422


def test_a_bad_period_is_told_next_to_its_field(
    world: rh.StreetWorld, make_client: Any, frozen: None
) -> None:
    client = login(make_client, world.official)
    page = client.get(url(world, "from=2026-13-01&to=2026-03-31"))
    assert page.status_code == 422
    assert re.search(r'id="e-from"[^>]*>请输入日期', page.text)
    page = client.get(url(world, "from=2026-03-01&to=2026-01-01"))
    assert page.status_code == 422
    assert "截止日期不能早于起始日期" in page.text


def test_who_may_see_the_street_rates(
    db: Database, world: rh.StreetWorld, make_client: Any, client: Any
) -> None:
    other = rh.street_world(db, halls=1, departments=0, companies=0)
    chair = make_chair(db, world.base, name="甲厅主任")
    resident, _ = make_member(db, world.base, household_index=0, chair=chair)
    api = f"/api/v1/streets/{world.street.id}/rates"
    for user in (other.official, chair, resident):
        c = login(make_client, user)
        assert c.get(url(world)).status_code == 404
        assert c.get(api).status_code == 404
        assert c.get(f"/streets/{world.street.id}/rates/settings").status_code == 404
    anon = client.get(url(world), follow_redirects=False)
    assert anon.status_code == 303
    assert anon.headers["location"].startswith("/login")
    assert client.get(api).status_code == 401
    # the hall's own 三率: its chair yes, a plain resident no
    hall_page = f"/halls/{world.halls[0].id}/rates?from=2026-01-01&to=2026-03-31"
    with_chair = login(make_client, chair).get(hall_page)
    assert with_chair.status_code == 200
    assert "81.66%" in with_chair.text
    assert login(make_client, resident).get(hall_page).status_code == 404


def test_the_weights_form(db: Database, make_client: Any) -> None:
    w = rh.street_world(db, halls=1, departments=0, companies=0)
    client = login(make_client, w.official)
    path = f"/streets/{w.street.id}/rates/settings"
    form = {
        "rate_weight_response": "20",
        "rate_weight_resolution": "40",
        "rate_weight_satisfaction": "30",
        "basic_satisfied_weight_num": "4",
        "basic_satisfied_weight_den": "5",
    }
    refused = client.post_form(path, form, token_from=path)
    assert refused.status_code == 422
    assert re.search(
        r'id="e-rate_weight_response"[^>]*>三个权重合计必须是 100，现在是 90', refused.text
    )
    above = client.post_form(
        path,
        {
            **form,
            "rate_weight_satisfaction": "40",
            "basic_satisfied_weight_num": "6",
            "basic_satisfied_weight_den": "5",
        },
        token_from=path,
    )
    assert above.status_code == 422
    assert re.search(r'id="e-basic_satisfied_weight_num"[^>]*>分子不能大于分母', above.text)
    done = client.post_form(
        path, {**form, "rate_weight_satisfaction": "40"}, token_from=path, follow_redirects=False
    )
    assert done.status_code == 303
    page = client.get(f"/streets/{w.street.id}/rates")
    assert "响应 20% · 解决 40% · 满意 40%；基本满意按 0.8 计" in page.text


def test_the_page_runs_a_fixed_number_of_queries(
    db: Database, make_client: Any, frozen: None
) -> None:
    counts = []
    for halls in (1, 6):
        w = rh.street_world(db, halls=halls, departments=0, companies=0)
        for hall in w.halls:
            rh.closed_round(w, hall, utc(2026, 2, 1), satisfied=1, yes=1)
        client = login(make_client, w.official)
        assert client.get(url(w)).status_code == 200  # warm-up
        with rh.count_statements(db) as statements:
            page = client.get(url(w))
        assert page.status_code == 200
        assert len(re.findall(r'<th scope="row"><a href="/halls/\d+/rates', page.text)) == halls
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_the_hall_page_leads_to_the_rates(
    db: Database, world: rh.StreetWorld, make_client: Any
) -> None:
    chair = make_chair(db, world.base, name="甲厅主任二")
    hall = world.halls[0].id
    page = login(make_client, chair).get(f"/halls/{hall}")
    assert f'href="/halls/{hall}/rates"' in page.text
    assert f'href="/streets/{world.street.id}/rates"' not in page.text  # not a street official
    page = login(make_client, world.official).get(f"/halls/{hall}")
    assert f'href="/halls/{hall}/rates"' in page.text
    assert f'href="/streets/{world.street.id}/rates"' in page.text
