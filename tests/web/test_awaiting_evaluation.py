"""等您评价 on the hall home (issues #13, #14): a resident in the issue's scope sees the open
round until she has answered; someone outside its scope, or with nothing open, does not."""

from __future__ import annotations

from collections.abc import Callable

from app.db import Database
from app.halls.models import Entrance
from app.issues.models import Issue
from tests import evaluation_helpers as evh
from tests import factories as f
from tests.conftest import Client


def test_the_hall_home_asks_a_resident_to_evaluate_until_she_has(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=2, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    her, _ = f.make_member(db, world, household_index=0, chair=chair, name="居民甲")
    issue, _ = evh.evaluating_issue(db, world, chair)
    c = make_client()
    c.login(her.phone or "", f.PASSWORD)
    home = c.get(f"/halls/{world.hall.id}")
    assert "等您评价" in home.text
    assert f"/halls/{world.hall.id}/issues/{issue.id}/evaluation" in home.text
    evh.answer(db, world, her, issue, "satisfied")
    assert "等您评价" not in c.get(f"/halls/{world.hall.id}").text


def test_an_issue_of_another_building_does_not_ask_her(
    db: Database, make_client: Callable[[], Client]
) -> None:
    world = f.make_hall(db, buildings=2, entrances=1, rooms=2)
    chair = f.make_chair(db, world)
    her, _ = f.make_member(db, world, household_index=0, chair=chair, name="一号楼居民")
    issue, _ = evh.evaluating_issue(db, world, chair)
    with db.session() as s:  # the issue concerns the other building only
        row = s.get(Issue, issue.id)
        assert row is not None
        other = world.households[-1]
        entrance = s.get(Entrance, other.entrance_id)
        assert entrance is not None
        row.scope, row.scope_building_id = "building", entrance.building_id  # type: ignore[assignment]
        s.add(row)
        s.commit()
    c = make_client()
    c.login(her.phone or "", f.PASSWORD)
    assert "等您评价" not in c.get(f"/halls/{world.hall.id}").text
