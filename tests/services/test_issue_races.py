"""附议 races between OS processes, on SQLite and PostgreSQL.

The harness of tests/services/test_races.py: N=8 spawned processes, reused for the module,
meet at a Barrier and call issues.service.cosign_issue at the same moment.

- the same person taps 附议 eight times at once: one Cosign row, count 1, seven Conflicts;
- eight people co-sign at once: no lost increment (cosign_count == rows), exactly one move
  to 待审核, and nobody co-signs after the issue has left 征集中.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier

import pytest
from sqlalchemy import func
from sqlmodel import select

import app.models  # noqa: F401 - every table, also in the spawned children
from app.accounts.models import User
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.db import Database
from app.halls import queries
from app.halls import schemas as hall_schemas
from app.halls import service as halls
from app.halls.models import Relation
from app.issues import service as issues
from app.issues.lifecycle import Stage
from app.issues.models import Cosign, Issue, Notification, StageEvent
from tests.factories import HallWorld, make_chair, make_hall, make_issue, set_hall_rules
from tests.services.test_races import TIMEOUT, N, Racers, _outcome, plain_user

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def racers() -> Iterator[Racers]:
    pool = Racers(N)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def world(db: Database) -> HallWorld:
    return make_hall(db, buildings=1, entrances=2, rooms=4)


@pytest.fixture(scope="module")
def chair(db: Database, world: HallWorld) -> User:
    return make_chair(db, world)


def plain_member(db: Database, world: HallWorld, chair: User, index: int) -> User:
    """A verified member without a password (argon2 would make the setup slow)."""
    user = plain_user(db)
    household = world.households[index % len(world.households)]
    form = hall_schemas.JoinForm(household_id=household.id, relation=Relation.FAMILY)
    with db.session() as session:
        membership = halls.join_hall(
            session=session, user=user, token=world.hall.invite_token, form=form
        )
    with db.session() as session:
        access = queries.hall_access(session, user=chair, hall=world.hall)
        halls.verify_member(
            session=session, access=access, actor=chair, membership_id=membership.id or 0
        )
    return user


@pytest.fixture(scope="module")
def members(db: Database, world: HallWorld, chair: User) -> list[User]:
    return [plain_member(db, world, chair, i) for i in range(N + 1)]


# ---------------------------------------------------------------------------------------------
# Worker (runs in the spawned children)


def _cosign_worker(barrier: Barrier, url: str, user_id: int, hall_id: int, issue_id: int) -> str:
    db = Database.connect(url)
    try:
        with db.session(read_only=True) as session:
            user = session.get(User, user_id)
            hall = queries.get_hall(session, hall_id)
            assert user is not None
            assert hall is not None
            access = queries.hall_access(session, user=user, hall=hall)

        def call() -> None:
            with db.session() as session:
                issues.cosign_issue(session=session, access=access, actor=user, issue_id=issue_id)

        barrier.wait(timeout=TIMEOUT)
        return _outcome(call)
    finally:
        db.dispose()


# ---------------------------------------------------------------------------------------------


def _state(db: Database, issue_id: int | None) -> dict[str, object]:
    with db.session(read_only=True) as session:
        issue = session.get(Issue, issue_id)
        assert issue is not None
        rows = session.exec(
            select(func.count()).select_from(Cosign).where(Cosign.issue_id == issue_id)
        ).one()
        moves = session.exec(
            select(func.count())
            .select_from(StageEvent)
            .where(StageEvent.issue_id == issue_id, StageEvent.to_stage == Stage.UNDER_REVIEW)
        ).one()
        audited = session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "issues.advance_issue_stage",
                AuditEvent.subject_id == issue_id,
            )
        ).one()
        review_needed = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.issue_id == issue_id, Notification.kind == "review_needed")
        ).one()
        verdict = audit.verify_chain(session)
    return {
        "stage": issue.stage,
        "count": issue.cosign_count,
        "rows": rows,
        "moves": moves,
        "audited": audited,
        "review_needed": review_needed,
        "chain_ok": verdict.ok,
    }


@pytest.mark.parametrize("round_", range(3))
def test_eight_simultaneous_cosigns_by_one_person_make_one_row(
    racers: Racers,
    db: Database,
    database_url: str,
    world: HallWorld,
    chair: User,
    members: list[User],
    round_: int,
) -> None:
    set_hall_rules(db, world, cosign_threshold=5)
    issue = make_issue(db, world, members[N])
    signer = members[round_]
    outcomes = racers.race(_cosign_worker, [(database_url, signer.id, world.hall.id, issue.id)] * N)

    assert Counter(outcomes) == {"ok": 1, "conflict:already_cosigned": N - 1}, outcomes
    state = _state(db, issue.id)
    assert state == {
        "stage": Stage.COLLECTING,
        "count": 1,
        "rows": 1,
        "moves": 0,
        "audited": 0,
        "review_needed": 0,
        "chain_ok": True,
    }


@pytest.mark.parametrize("threshold", [5, N])
def test_eight_people_cosign_at_once_without_losing_a_count(
    racers: Racers,
    db: Database,
    database_url: str,
    world: HallWorld,
    chair: User,
    members: list[User],
    threshold: int,
) -> None:
    set_hall_rules(db, world, cosign_threshold=threshold)
    issue = make_issue(db, world, members[N])
    outcomes = racers.race(
        _cosign_worker, [(database_url, m.id, world.hall.id, issue.id) for m in members[:N]]
    )

    # The one that reaches the threshold moves the issue to 待审核; whoever comes after it
    # finds the issue no longer collecting (only 征集中 allows 附议).
    assert Counter(outcomes) == {
        "ok": threshold,
        **({"conflict:stage_action_not_allowed": N - threshold} if threshold < N else {}),
    }, outcomes
    state = _state(db, issue.id)
    assert state == {
        "stage": Stage.UNDER_REVIEW,
        "count": threshold,
        "rows": threshold,
        "moves": 1,
        "audited": 1,
        "review_needed": 1,  # the one chair, told once
        "chain_ok": True,
    }
