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


# --- finding a ballot: the hall's list, and the issue's ballot ids -----------------------------


def test_the_hall_s_ballots_are_listed_by_issue_and_status_and_the_issue_names_its_ballots(
    db: Database, scene: Scene, make_client: Any
) -> None:
    base = f"/api/v1/halls/{scene.world.hall.id}"
    resident, _ = _client(make_client, scene.voter)
    chair, _ = _client(make_client, scene.chair)
    draft_id = scene.ballot.id
    issue_url = f"{base}/issues/{scene.ballot.issue_id}"

    def ids(client: Any, query: str = "") -> list[int]:
        response = client.get(f"{base}/ballots{query}")
        assert response.status_code == 200, response.text
        assert response.json()["next_before"] is None
        return [b["id"] for b in response.json()["ballots"]]

    # A draft exists for the chair only: in the list and on the issue.
    assert ids(chair) == [draft_id]
    assert ids(resident) == []
    assert ids(resident, "?status=draft") == []
    assert chair.get(issue_url).json()["ballot_ids"] == [draft_id]
    assert resident.get(issue_url).json()["ballot_ids"] == []

    open_ballot(db, scene.world, scene.chair, scene.ballot)
    other_issue, _ = make_deciding_issue(db, scene.world, scene.chair)
    other = draft_ballot(db, scene.world, scene.chair, other_issue, rule=RuleKind.COUNCIL_MAJORITY)
    assert ids(chair) == [other.id, draft_id]  # newest first
    assert ids(resident) == [draft_id]
    assert ids(chair, "?status=open") == [draft_id]
    assert ids(chair, "?status=draft") == [other.id]
    assert ids(chair, f"?issue_id={other_issue.id}") == [other.id]
    assert ids(chair, f"?issue_id={other_issue.id}&status=open") == []
    assert ids(resident, f"?issue_id={scene.ballot.issue_id}&status=open") == [draft_id]
    assert resident.get(issue_url).json()["ballot_ids"] == [draft_id]
    summary = resident.get(f"{base}/ballots").json()["ballots"][0]
    assert summary == {
        "id": draft_id,
        "issue_id": scene.ballot.issue_id,
        "title": scene.ballot.title,
        "status": "open",
        "rule": "owners_ordinary",
        "voter_unit": "owner",
        "secret": True,
        "opened_at": summary["opened_at"],
        "closes_at": None,
        "closed_at": None,
        "passed": None,
        "meeting_id": None,
    }
    assert summary["opened_at"] is not None

    # Bad filters are a 422 with the API's error body; nobody outside the hall sees a list.
    for query in ("?status=counting", "?issue_id=0", "?issue_id=x", "?before=-1"):
        bad = chair.get(f"{base}/ballots{query}")
        assert bad.status_code == 422, query
        assert bad.json()["error"] == "validation_failed"
        assert bad.json()["codes"]
    assert make_client().get(f"{base}/ballots").status_code == 401
    stranger = make_hall(db)
    stranger_chair, _ = _client(make_client, make_chair(db, stranger))
    assert stranger_chair.get(f"{base}/ballots").status_code == 404
    assert stranger_chair.get(f"/api/v1/halls/{stranger.hall.id}/ballots").json()["ballots"] == []


def test_listing_ballots_reads_in_one_statement_whatever_their_number(
    db: Database, make_client: Any
) -> None:
    from tests.web.test_hall_pages import count_statements

    world = make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = make_chair(db, world)
    client, _ = _client(make_client, chair)
    url = f"/api/v1/halls/{world.hall.id}/ballots"
    counts = []
    for total in (1, 4):
        while len(client.get(url).json()["ballots"]) < total:
            issue, _ = make_deciding_issue(db, world, chair)
            draft_ballot(db, world, chair, issue, rule=RuleKind.COUNCIL_MAJORITY)
        with count_statements(db) as statements:
            response = client.get(url)
        assert len(response.json()["ballots"]) == total
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    with count_statements(db) as statements:
        client.get(url)
    ballot_reads = [s for s in statements if "FROM ballot" in s]
    assert len(ballot_reads) == 1, ballot_reads


def test_the_ballot_list_pages_with_before(
    db: Database, make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_hall(db, buildings=1, entrances=1, rooms=2)
    chair = make_chair(db, world)
    made = []
    for _ in range(3):
        issue, _ = make_deciding_issue(db, world, chair)
        made.append(draft_ballot(db, world, chair, issue, rule=RuleKind.COUNCIL_MAJORITY).id)
    client, _ = _client(make_client, chair)
    url = f"/api/v1/halls/{world.hall.id}/ballots"
    monkeypatch.setattr(queries, "BALLOT_PAGE", 2)
    first = client.get(url).json()
    assert [b["id"] for b in first["ballots"]] == [made[2], made[1]]
    assert first["next_before"] == made[1]
    rest = client.get(f"{url}?before={first['next_before']}").json()
    assert rest == {"ballots": [rest["ballots"][0]], "next_before": None}
    assert rest["ballots"][0]["id"] == made[0]
    # Ids are 64-bit: a cursor or an issue id past 2³¹ is a valid query, not a 422.
    beyond = client.get(f"{url}?before={2**40}&issue_id={2**40}")
    assert beyond.status_code == 200, beyond.text
    assert beyond.json() == {"ballots": [], "next_before": None}
    assert client.get(f"{url}?before={2**63}").status_code == 422
