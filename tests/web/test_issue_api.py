"""The issue API end to end: the same services as the pages, as JSON."""

from __future__ import annotations

from typing import Any

from app.db import Database
from app.halls import service as halls_service
from app.halls.schemas import SETTING_BOUNDS, SettingsForm
from tests.factories import PASSWORD, chair_access, make_chair, make_hall, make_member


def _json_client(make_client: Any, phone: str) -> tuple[Any, dict[str, str]]:
    client = make_client()
    client.login(phone, PASSWORD)
    token = client.get("/api/v1/me").json()["csrf_token"]
    return client, {"X-CSRF-Token": token}


def test_propose_cosign_review_deliberate_and_close_over_json(
    db: Database, make_client: Any
) -> None:
    world = make_hall(db)
    chair = make_chair(db, world)
    with db.session() as session:
        values = {f: str(getattr(world.hall, f)) for f in SETTING_BOUNDS} | {
            "cosign_threshold": "2"
        }
        halls_service.update_hall_settings(
            session=session,
            access=chair_access(db, world, chair),
            actor=chair,
            hall=world.hall,
            form=SettingsForm(**values),
        )
    proposer, _ = make_member(db, world, household_index=0, chair=chair, name="陈桂兰")
    neighbours = [make_member(db, world, household_index=i, chair=chair)[0] for i in (1, 2)]
    base = f"/api/v1/halls/{world.hall.id}"

    client, headers = _json_client(make_client, proposer.phone)
    created = client.post(
        f"{base}/issues",
        headers=headers,
        data={"title": "地下车库漏水", "description": "下雨天车库积水。", "category": "building"},
    )
    assert created.status_code == 201, created.text
    issue = created.json()
    assert issue["stage"] == "collecting"
    assert issue["phase"] == "propose"
    bad = client.post(
        f"{base}/issues", headers=headers, data={"title": "", "description": "", "category": "x"}
    )
    assert bad.status_code == 422

    for person in neighbours:
        c, h = _json_client(make_client, person.phone)
        response = c.post(f"{base}/issues/{issue['id']}/cosign", headers=h)
        assert response.status_code == 200, response.text
    assert response.json()["stage"] == "under_review"
    again = c.post(f"{base}/issues/{issue['id']}/cosign", headers=h)
    assert again.status_code == 409
    assert again.json()["error"] == "stage_action_not_allowed"

    chair_client, ch = _json_client(make_client, chair.phone)
    assert (
        chair_client.post(
            f"{base}/issues/{issue['id']}/accept", headers=ch, json={"deliberation_days": "abc"}
        ).status_code
        == 422
    )
    accepted = chair_client.post(
        f"{base}/issues/{issue['id']}/accept", headers=ch, json={"deliberation_days": "7"}
    )
    assert accepted.json()["stage"] == "deliberating"

    comment = client.post(
        f"{base}/issues/{issue['id']}/comments",
        headers=headers,
        json={"body": "建议先查漏点", "stance": "suggest"},
    )
    assert comment.status_code == 201
    hidden = chair_client.post(
        f"{base}/comments/{comment.json()['id']}/hide", headers=ch, json={"reason": "测试"}
    )
    assert hidden.json()["body"] is None
    assert hidden.json()["hidden_reason"] == "测试"
    solution = client.post(
        f"{base}/issues/{issue['id']}/solutions",
        headers=headers,
        json={"title": "维修防水层", "description": "找专业公司", "estimated_cost": "12000.50"},
    )
    assert solution.json()["estimated_cost_fen"] == 1200050
    closed = chair_client.post(
        f"{base}/issues/{issue['id']}/close",
        headers=ch,
        json={
            "agreements": "先修防水",
            "disagreements": "费用：申请维修资金",
            "solution_ids": [solution.json()["id"]],
        },
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["stage"] == "deciding"

    detail = client.get(f"{base}/issues/{issue['id']}").json()
    assert detail["proposer_name"] == "陈桂兰"
    assert detail["solutions"][0]["selected"] is True
    assert detail["comments"][0]["body"] is None  # hidden
    assert detail["ballot_ids"] == []  # none drafted yet (GET …/ballots?issue_id= lists them)
    listing = client.get(f"{base}/issues", params={"q": "车库"}).json()
    assert [i["id"] for i in listing["issues"]] == [issue["id"]]
    assert client.get(f"{base}/issues", params={"stage": "collecting"}).json()["issues"] == []
    # Writes need the CSRF header, as everywhere.
    assert (
        client.post(f"{base}/issues/{issue['id']}/comments", json={"body": "x"}).status_code == 403
    )
