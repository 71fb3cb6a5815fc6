"""Opening an owners' ballot freezes the roll built by app.voting.roll from the rows loaded by
the service (issue #10 §8): an owner of two flats once with both areas, a co-owned flat once
with both owners able to vote, a flat without an owner on its own; SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import col, select

from app.db import Database
from app.halls.models import Relation, UnitOwnership
from app.voting.models import Ballot, RollCaster, RollEntry
from tests import factories as f
from tests.web import voting_helpers as vh


def test_the_frozen_roll_merges_owners_and_flats_as_the_pure_roll_does(db: Database) -> None:
    world = f.make_hall(db, buildings=1, entrances=1, rooms=4)  # 61.25, 62.25, 63.25, 64.25 ㎡
    chair = f.make_chair(db, world)
    two_flats, membership = f.make_member(db, world, household_index=0, chair=chair, name="甲")
    co_owner_a, _ = f.make_member(db, world, household_index=2, chair=chair, name="乙")
    co_owner_b, _ = f.make_member(db, world, household_index=2, chair=chair, name="丙")
    f.make_member(db, world, household_index=3, relation=Relation.TENANT, chair=chair)
    with db.session() as s:  # 甲 also owns flat 102
        s.add(
            UnitOwnership(
                hall_id=world.hall.id or 0,
                membership_id=membership.id or 0,
                household_id=world.households[1].id or 0,
            )
        )
        s.commit()

    ballot = vh.open_ballot(db, world, chair)

    with db.session(read_only=True) as s:
        rows = s.exec(
            select(RollEntry).where(RollEntry.ballot_id == ballot.id).order_by(col(RollEntry.id))
        ).all()
        casters = {
            (c.roll_id, c.user_id)
            for c in s.exec(select(RollCaster).where(RollCaster.ballot_id == ballot.id)).all()
        }
        frozen = s.get(Ballot, ballot.id)
        assert frozen is not None
    h = [hh.id for hh in world.households]
    assert [(r.voter_key, r.weight_centi_m2, r.units) for r in rows] == [
        (f"o:{h[0]}", 6125 + 6225, 2),  # 甲: 101 and 102, one head
        (f"o:{h[2]}", 6325, 1),  # 乙 and 丙 co-own 103: one head
        (f"o:{h[3]}", 6425, 1),  # 104: the tenant is no owner; it votes on paper or in person
    ]
    assert rows[0].label.endswith("101、1号楼1单元102")
    assert casters == {
        (rows[0].id, two_flats.id),
        (rows[1].id, co_owner_a.id),
        (rows[1].id, co_owner_b.id),
    }
    assert frozen.roll_count == 3
    assert frozen.roll_area_centi_m2 == 6125 + 6225 + 6325 + 6425
