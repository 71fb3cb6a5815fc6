"""The foundation's main path over HTTP: register → join a hall → chair verifies → hall home."""

from __future__ import annotations

import re

from app.db import Database
from tests.factories import PASSWORD, make_chair, make_hall, unique_phone


def test_resident_registers_joins_and_is_verified_by_the_chair(db: Database, make_client) -> None:
    world = make_hall(db)
    chair = make_chair(db, world)
    resident = make_client()
    phone = unique_phone()

    page = resident.get(f"/join/{world.hall.invite_token}")
    assert page.status_code == 200
    assert world.hall.name in page.text

    response = resident.post_form(
        "/register",
        {
            "phone": phone,
            "name": "陈桂兰",
            "password": PASSWORD,
            "consent": "true",
            "next": f"/join/{world.hall.invite_token}",
        },
        token_from="/register",
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/join/{world.hall.invite_token}"

    household = world.households[1]
    step = resident.get(f"/join/{world.hall.invite_token}")
    building_id = re.search(r'<option value="(\d+)"', step.text).group(1)
    step = resident.get(f"/join/{world.hall.invite_token}?building_id={building_id}")
    assert 'name="entrance_id"' in step.text
    response = resident.post_form(
        f"/join/{world.hall.invite_token}",
        {"household_id": household.id, "relation": "owner"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    home = resident.get("/")
    assert "等待居委会审核" in home.text
    assert resident.get(f"/halls/{world.hall.id}").status_code == 404  # not yet a member

    chair_client = make_client()
    chair_client.login(chair.phone, PASSWORD)
    pending = chair_client.get(f"/halls/{world.hall.id}/members?status=pending")
    assert "陈桂兰" in pending.text
    assert phone in pending.text  # the chair sees the full number
    membership_id = re.search(r'id="member-(\d+)"', pending.text).group(1)
    response = chair_client.post_form(
        f"/halls/{world.hall.id}/members/{membership_id}/verify",
        token_from=f"/halls/{world.hall.id}",
        follow_redirects=False,
    )
    assert response.status_code == 303

    hall_home = resident.get(f"/halls/{world.hall.id}")
    assert hall_home.status_code == 200
    assert world.hall.name in hall_home.text
    assert "居民" in hall_home.text


def test_verify_returns_the_row_partial_to_htmx(db: Database, make_client) -> None:
    world = make_hall(db)
    chair = make_chair(db, world)
    from tests.factories import make_member

    _, membership = make_member(db, world, verified=False, name="许春生")
    chair_client = make_client()
    chair_client.login(chair.phone, PASSWORD)
    token = chair_client.csrf(f"/halls/{world.hall.id}")
    response = chair_client.post(
        f"/halls/{world.hall.id}/members/{membership.id}/verify",
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert f'id="member-{membership.id}"' in response.text
    assert "<html" not in response.text
    assert "已认证" in response.text
