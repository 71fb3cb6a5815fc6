"""The ballot API (/api/v1/halls/{hall}/ballots/{ballot}): read a ballot, cast a vote as JSON.

The same service as the vote form (VOTE-01, VOTE-02, VOTE-04), JSON errors as the issue API
answers them (404 / 409 / 422 with codes), the cookie plus the X-CSRF-Token header for writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from app.accounts.models import User
from app.db import Database
from app.halls.models import Relation
from app.voting import queries, service
from app.voting.models import Ballot, Vote
from app.voting.rules import RuleKind
from tests.ballot_helpers import access_of, draft_ballot, open_ballot, sid
from tests.factories import (
    PASSWORD,
    HallWorld,
    make_chair,
    make_deciding_issue,
    make_hall,
    make_member,
)


def _client(make_client: Any, user: User) -> tuple[Any, dict[str, str]]:
    client = make_client()
    client.login(user.phone, PASSWORD)
    return client, {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}


@dataclass
class Scene:
    world: HallWorld
    chair: User
    voter: User
    neighbour: User
    tenant: User  # a verified member who owns nothing: not on an owners' roll
    ballot: Ballot

    @property
    def url(self) -> str:
        return f"/api/v1/halls/{self.world.hall.id}/ballots/{self.ballot.id}"


@pytest.fixture
def scene(db: Database) -> Scene:
    world = make_hall(db, buildings=1, entrances=1, rooms=4)
    chair = make_chair(db, world)
    voter, _ = make_member(db, world, household_index=0, chair=chair, name="业主甲")
    neighbour, _ = make_member(db, world, household_index=1, chair=chair, name="业主乙")
    tenant, _ = make_member(
        db, world, household_index=2, relation=Relation.TENANT, chair=chair, name="租户"
    )
    issue, _ = make_deciding_issue(db, world, chair)
    ballot = draft_ballot(db, world, chair, issue, rule=RuleKind.OWNERS_ORDINARY)
    return Scene(world, chair, voter, neighbour, tenant, ballot)


def test_a_draft_exists_for_the_chair_only_and_an_open_ballot_shows_turnout_not_the_split(
    db: Database, scene: Scene, make_client: Any
) -> None:
    resident, _ = _client(make_client, scene.voter)
    chair, _ = _client(make_client, scene.chair)
    assert resident.get(scene.url).status_code == 404
    assert resident.get(scene.url).json()["error"] == "not_found"
    draft = chair.get(scene.url).json()
    assert (draft["status"], draft["turnout"], draft["head_hash"]) == ("draft", None, None)
    assert [o["code"] for o in draft["options"]] == ["yes", "no", "abstain"]

    open_ballot(db, scene.world, scene.chair, scene.ballot)
    body = resident.get(scene.url).json()
    assert body["status"] == "open"
    assert body["rule"] == "owners_ordinary"
    assert body["voter_unit"] == "owner"
    assert body["roll_count"] == 4
    assert body["height"] == 1
    assert len(body["head_hash"]) == 64
    assert body["turnout"] == {
        "voters": 0,
        "roll": 4,
        "area_voted_centi_m2": 0,
        "by_channel": {},
        "by_option": None,  # secret and not live: no split while open
    }
    assert body["result"] is None
    assert body["my_vote"] == {"receipt": None, "option": None, "channel": None, "cast_at": None}
    assert make_client().get(scene.url).status_code == 401
    other = f"/api/v1/halls/{make_hall(db).hall.id}/ballots/{scene.ballot.id}"
    assert chair.get(other).status_code == 404  # not a member there
    assert chair.get(f"{scene.url}0").status_code == 404


def test_cast_retry_revote_and_the_errors_as_json(
    db: Database, scene: Scene, make_client: Any
) -> None:
    open_ballot(db, scene.world, scene.chair, scene.ballot)
    client, headers = _client(make_client, scene.voter)
    url = f"{scene.url}/votes"
    key = sid()

    first = client.post(url, json={"option": "yes", "submission_id": key}, headers=headers)
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["option"] == "yes"
    assert receipt["channel"] == "phone"
    assert receipt["replaced"] is False
    assert len(receipt["receipt"]) == 12
    # A network retry: the same key, the same answer, still one vote.
    again = client.post(url, json={"option": "yes", "submission_id": key}, headers=headers)
    assert again.status_code == 201
    assert again.json() == receipt
    # The same key for another choice (IETF idempotency draft: 422).
    reused = client.post(url, json={"option": "no", "submission_id": key}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["error"] == "validation_failed"
    assert reused.json()["codes"] == {"option": "submission_reused"}
    # Voting again: the later vote counts.
    second = client.post(url, json={"option": "no", "submission_id": sid()}, headers=headers)
    assert second.status_code == 201
    assert second.json()["replaced"] is True
    mine = client.get(scene.url).json()["my_vote"]
    assert (mine["receipt"], mine["option"]) == (second.json()["receipt"], "no")

    for payload, code in (
        ({"option": "maybe", "submission_id": sid()}, "option_required"),
        ({"option": "yes", "submission_id": "not a uuid"}, "submission_invalid"),
        ({"option": "yes"}, "submission_invalid"),
    ):
        bad = client.post(url, json=payload, headers=headers)
        assert bad.status_code == 422, payload
        assert bad.json()["codes"] == {"option": code}
    garbled = client.post(
        url, content=b"{not json", headers={**headers, "Content-Type": "application/json"}
    )
    assert garbled.status_code == 422
    assert client.post(url, json={"option": "yes", "submission_id": sid()}).status_code == 403

    tenant, tenant_headers = _client(make_client, scene.tenant)
    refused = tenant.post(
        url, json={"option": "yes", "submission_id": sid()}, headers=tenant_headers
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == "not_on_roll"

    with db.session(read_only=True) as session:
        rows = session.exec(select(Vote).where(Vote.ballot_id == scene.ballot.id)).all()
    assert sorted((r.receipt, r.is_current) for r in rows) == sorted(
        [(receipt["receipt"], False), (second.json()["receipt"], True)]
    )


def test_after_close_the_frozen_result_and_the_verified_head_are_shown(
    db: Database, scene: Scene, make_client: Any
) -> None:
    open_ballot(db, scene.world, scene.chair, scene.ballot)
    url = f"{scene.url}/votes"
    for person, option in ((scene.voter, "yes"), (scene.neighbour, "yes")):
        client, headers = _client(make_client, person)
        response = client.post(
            url, json={"option": option, "submission_id": sid()}, headers=headers
        )
        assert response.status_code == 201
    with db.session() as session:
        service.close_ballot(
            session=session,
            access=access_of(db, scene.world, scene.chair),
            actor=scene.chair,
            ballot_id=scene.ballot.id or 0,
        )
    late = client.post(url, json={"option": "no", "submission_id": sid()}, headers=headers)
    assert late.status_code == 409
    assert late.json()["error"] in {"ballot_closed", "ballot_published"}

    body = client.get(scene.url).json()
    with db.session(read_only=True) as session:
        verdict = queries.verify_ballot(session, scene.ballot.id or 0)
        stored = session.get(Ballot, scene.ballot.id)
    assert verdict.ok, verdict.problems
    assert body["head_hash"] == verdict.head
    assert body["height"] == verdict.checked == 4  # open, two casts, close
    assert stored is not None
    frozen = queries.stored_result(stored)
    assert frozen is not None
    assert [c["id"] for c in body["result"]["checks"]] == [c["id"] for c in frozen["checks"]]
    assert body["result"]["passed"] is frozen["passed"] is False
    assert body["passed"] is False  # 2 of 4 owners took part: below the 2/3 quorum
    assert body["turnout"]["by_option"] == {"yes": 2}
    assert body["turnout"]["voters"] == 2


def test_a_street_official_may_look_but_the_vote_route_does_not_exist_for_them(
    db: Database, scene: Scene, make_client: Any
) -> None:
    from app.halls import service as halls
    from tests.factories import make_user

    official = make_user(db, name="街道干部")
    with db.session() as session:
        halls.add_street_admin(
            session=session, street=scene.world.street, user=official, actor_id=None
        )
    open_ballot(db, scene.world, scene.chair, scene.ballot)
    client, headers = _client(make_client, official)
    assert client.get(scene.url).status_code == 200
    response = client.post(
        f"{scene.url}/votes", json={"option": "yes", "submission_id": sid()}, headers=headers
    )
    assert response.status_code == 404
