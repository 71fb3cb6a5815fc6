"""The hostile values of issue #10 §2, each where it was reported, on both databases.

Each answered 500 before (on PostgreSQL, or on both): now a 4xx with a clear message — next to
the field on the login and registration forms, under `fields` / `codes` in the API — and
nothing saved. tests/web/test_hostile_input.py throws the whole corpus at every field.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.core.fields import FEN_MAX
from app.db import Database
from app.web.messages import MESSAGES
from tests.conftest import Client
from tests.factories import PASSWORD, make_chair, make_hall, make_member, unique_phone
from tests.web import issue_helpers as ih
from tests.web.test_hostile_input import snapshot
from tests.web.test_route_inventory import new_client

UNSTORABLE = MESSAGES["text_unstorable"]


def _json_client(app: FastAPI, phone: str | None) -> tuple[Client, dict[str, str]]:
    assert phone is not None
    client = new_client(app)
    client.login(phone, PASSWORD)
    token = client.get("/api/v1/me").json()["csrf_token"]
    return client, {"X-CSRF-Token": token, "Content-Type": "application/json"}


def _post_json(client: Client, url: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    # json.dumps escapes a lone surrogate as "\ud800", as a browser's JSON.stringify does
    return client.post(url, headers=headers, content=json.dumps(body).encode())


@pytest.fixture
def hall(db: Database) -> dict[str, Any]:
    world = make_hall(db)
    chair = make_chair(db, world)
    resident, _ = make_member(db, world, household_index=0, chair=chair, name="甲厅居民")
    issue = ih.deliberating(db, world, chair, title="协商议题")
    return {"world": world, "chair": chair, "resident": resident, "issue": issue.id}


@pytest.mark.parametrize("field", ["phone", "password"])
def test_login_refuses_nul_next_to_the_field(app: FastAPI, db: Database, field: str) -> None:
    client = new_client(app)
    data = {"phone": "13800000001", "password": PASSWORD, field: "1380\x000000001"}
    before = snapshot(db)
    response = client.post_form("/login", data, token_from="/login", follow_redirects=False)
    assert response.status_code == 422, response.text[:500]  # type: ignore[attr-defined]
    page = response.text  # type: ignore[attr-defined]
    assert UNSTORABLE in page
    assert 'name="phone"' in page  # the login form again, the message next to its field
    assert snapshot(db) == before  # not even a counted failure


def test_register_refuses_a_nul_in_the_name(app: FastAPI, db: Database) -> None:
    client = new_client(app)
    data = {"phone": unique_phone(), "name": "王\x00秀英", "password": PASSWORD, "consent": "true"}
    before = snapshot(db)
    response = client.post_form("/register", data, token_from="/register", follow_redirects=False)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert UNSTORABLE in response.text  # type: ignore[attr-defined]
    assert 'name="name"' in response.text  # type: ignore[attr-defined]
    assert snapshot(db) == before


@pytest.mark.parametrize("value", ["意见\x00", "\ud800", "意见\x07"])
def test_api_comment_refuses_unstorable_text(
    app: FastAPI, db: Database, hall: dict[str, Any], value: str
) -> None:
    client, headers = _json_client(app, hall["resident"].phone)
    url = f"/api/v1/halls/{hall['world'].hall.id}/issues/{hall['issue']}/comments"
    before = snapshot(db)
    response = _post_json(client, url, headers, {"body": value, "stance": "support"})
    assert response.status_code == 422, response.text
    assert response.json()["codes"] == {"body": "text_unstorable"}
    assert response.json()["fields"]["body"] == UNSTORABLE
    assert snapshot(db) == before


def test_api_refuses_lone_surrogates_in_reasons_and_solution_titles(
    app: FastAPI, db: Database, hall: dict[str, Any]
) -> None:
    world, chair = hall["world"], hall["chair"]
    base = f"/api/v1/halls/{world.hall.id}"
    comment = ih.comment(db, world, hall["resident"], hall["issue"])
    client, headers = _json_client(app, chair.phone)
    before = snapshot(db)
    cases = [
        (f"{base}/comments/{comment.id}/hide", {"reason": "\ud800"}, "reason"),
        (f"{base}/comments/{comment.id}/report", {"reason": "广告\udfff"}, "reason"),
        (
            f"{base}/issues/{hall['issue']}/solutions",
            {"title": "方案\ud83d", "description": "说明", "estimated_cost": "100"},
            "title",
        ),
    ]
    for url, body, field in cases:
        response = _post_json(client, url, headers, body)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["codes"][field] == "text_unstorable"
    assert snapshot(db) == before


@pytest.mark.parametrize("parent_id", [2**31, 2**63, 2**70, -1, 0])
def test_comment_parent_id_out_of_range(
    app: FastAPI, db: Database, hall: dict[str, Any], parent_id: int
) -> None:
    world = hall["world"]
    client, headers = _json_client(app, hall["resident"].phone)
    url = f"/api/v1/halls/{world.hall.id}/issues/{hall['issue']}/comments"
    before = snapshot(db)
    body = {"body": "回复", "stance": "support", "parent_id": parent_id}
    response = _post_json(client, url, headers, body)
    assert response.status_code == 422, response.text
    # 2³¹ is an id that does not exist; the others are no id at all
    code = "comment_unknown" if parent_id == 2**31 else "out_of_range"
    assert response.json()["codes"] == {"parent_id": code}
    page = client.post(
        f"/halls/{world.hall.id}/issues/{hall['issue']}/comments",
        headers={"X-CSRF-Token": headers["X-CSRF-Token"]},
        data={"body": "回复", "stance": "support", "parent_id": str(parent_id)},
        follow_redirects=False,
    )
    assert page.status_code == 422, page.text[:300]
    assert snapshot(db) == before


@pytest.mark.parametrize("target", [2**31, 2**63, 2**70])
def test_merge_target_out_of_range(
    app: FastAPI, db: Database, hall: dict[str, Any], target: int
) -> None:
    world, chair = hall["world"], hall["chair"]
    issue = ih.enter(db, world, chair, title="待审议题")
    client, headers = _json_client(app, chair.phone)
    before = snapshot(db)
    api = _post_json(
        client,
        f"/api/v1/halls/{world.hall.id}/issues/{issue.id}/merge",
        headers,
        {"target_id": target},
    )
    assert api.status_code in {400, 422}, api.text
    page = client.post(
        f"/halls/{world.hall.id}/issues/{issue.id}/merge",
        headers={"X-CSRF-Token": headers["X-CSRF-Token"]},
        data={"target_id": str(target)},
        follow_redirects=False,
    )
    assert page.status_code == 422, page.text[:300]
    assert "请选择" in page.text  # merge_target_required / _invalid, next to the field
    assert snapshot(db) == before


@pytest.mark.parametrize("before", ["2147483648", "9223372036854775807", "9223372036854775808"])
def test_audit_before_out_of_range(app: FastAPI, hall: dict[str, Any], before: str) -> None:
    client, _ = _json_client(app, hall["chair"].phone)
    response = client.get(f"/halls/{hall['world'].hall.id}/audit?before={before}")
    expected = 422 if int(before) > 2**63 - 1 else 200
    assert response.status_code == expected, response.text[:300]


def test_the_largest_estimated_cost_the_parser_reads_is_stored_exactly(
    app: FastAPI, db: Database, hall: dict[str, Any]
) -> None:
    client, headers = _json_client(app, hall["resident"].phone)
    url = f"/api/v1/halls/{hall['world'].hall.id}/issues/{hall['issue']}/solutions"
    body = {"title": "大方案", "description": "说明", "estimated_cost": "9999999999.99"}
    created = _post_json(client, url, headers, body)
    assert created.status_code == 201, created.text
    assert created.json()["estimated_cost_fen"] == FEN_MAX
    before = snapshot(db)
    too_much = _post_json(client, url, headers, body | {"estimated_cost": "99999999999"})
    assert too_much.status_code == 422
    assert too_much.json()["codes"] == {"estimated_cost": "amount_invalid"}
    assert snapshot(db) == before


def test_every_id_column_and_its_sequence_is_64_bit(db: Database, backend: str) -> None:
    """The migrated schema holds what the edge lets through: ids and 分 up to 2⁶³−1."""
    with db.read_engine.connect() as conn:
        if backend == "sqlite":  # INTEGER is 64-bit: store and read back the largest id
            conn.execute(sa.text("CREATE TEMP TABLE wide (id INTEGER PRIMARY KEY)"))
            conn.execute(sa.text("INSERT INTO wide VALUES (:v)"), {"v": 2**63 - 1})
            assert conn.execute(sa.text("SELECT id FROM wide")).scalar() == 2**63 - 1
            return
        narrow = conn.execute(
            sa.text(
                "SELECT table_name || '.' || column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND data_type IN ('integer', 'smallint')"
                " AND (column_name = 'id' OR column_name LIKE '%\\_id' OR column_name LIKE '%fen')"
            )
        ).scalars()
        assert sorted(narrow) == []
        sequences = dict(
            conn.execute(sa.text("SELECT sequencename, data_type FROM pg_sequences")).all()
        )
        assert "vote_id_seq" in sequences
        assert {name: kind for name, kind in sequences.items() if kind != "bigint"} == {}
