"""Vote races between OS processes (SECURITY.md §3, §9.3; VOTE-01, VOTE-02, VOTE-04), on
SQLite and PostgreSQL.

The harness of tests/services/test_races.py: N=8 spawned processes, reused for the module,
meet at a Barrier and call app.voting.service.cast_vote at the same moment.

(a) All eight cast for the SAME 200 owners, each with its own submission ids (re-votes are
    allowed): every call is acknowledged, there is exactly one current vote per voter, every
    receipt is in the ledger, and the ballot verifies.
(b) All eight send the SAME submission id for each voter (a double tap times eight): one vote
    row per key, eight identical receipts.
(c) The tests can fail: the same race on the vote table alone (no ledger, no ballot lock),
    with the partial unique index dropped, stores two current votes for one voter on
    PostgreSQL; SQLite writers with a deferred BEGIN fail with `database is locked`.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, text
from sqlmodel import col, select

import app.models  # noqa: F401 - every table, also in the spawned children
from app.accounts.models import User
from app.db import Database
from app.halls import queries as hall_queries
from app.halls.models import Hall
from app.voting import queries, schemas, service
from app.voting.models import LedgerEvent, Vote
from app.voting.service import casting
from tests.ballot_helpers import make_owners_hall, owners_ballot, sid
from tests.factories import HallWorld, make_chair, make_deciding_issue
from tests.services.test_races import TIMEOUT, N, Racers
from tests.throwaway import throwaway_database

pytestmark = pytest.mark.slow

VOTERS = 200
OPTIONS = ("yes", "no", "abstain")


@pytest.fixture(scope="module")
def racers() -> Iterator[Racers]:
    pool = Racers(N)
    yield pool
    pool.close()


@dataclass
class Owners:
    world: HallWorld
    chair: User
    voters: list[User]


@pytest.fixture(scope="module")
def owners(db: Database) -> Owners:
    world, voters = make_owners_hall(db, owners=VOTERS)
    return Owners(world, make_chair(db, world), voters)


def new_ballot(db: Database, o: Owners) -> int:
    issue, _ = make_deciding_issue(db, o.world, o.chair)
    return owners_ballot(db, o.world, o.chair, issue).id or 0


# ---------------------------------------------------------------------------------------------
# Worker (runs in the spawned children)


_BALLOT = casting._ballot


def _ballot_without_lock(session: Any, hall_id: int, ballot_id: int, *, lock: bool = False) -> Any:
    """The naive variant's `_ballot`: never SELECT … FOR UPDATE."""
    del lock
    return _BALLOT(session, hall_id, ballot_id, lock=False)


def _no_ledger(*_: object) -> Any:
    """The naive variant's `_append`: no chain (the chain alone would serialise the casts)."""
    return SimpleNamespace(receipt=secrets.token_hex(6).upper())


def _cast_worker(
    barrier: Barrier,
    url: str,
    worker: int,
    hall_id: int,
    ballot_id: int,
    user_ids: list[int],
    keys: list[str] | None,
    naive: bool = False,
) -> list[tuple[str, str]]:
    """Cast once for every voter in order; `keys` shared by all workers, or fresh per cast.

    Returns (submission id, receipt or "error:…") per cast."""
    db = Database.connect(url)
    original = casting._ballot, casting._append
    if naive:
        # Test only: no ballot lock, no ledger, and on SQLite a deferred BEGIN for writers.
        casting._ballot = _ballot_without_lock  # type: ignore[assignment]
        casting._append = _no_ledger  # type: ignore[assignment]
        if db.is_sqlite:
            db = Database(url=url, write_engine=db.read_engine, read_engine=db.read_engine)
    try:
        with db.session(read_only=True) as session:
            hall = session.get(Hall, hall_id)
            assert hall is not None
            people = [session.get(User, uid) for uid in user_ids]
            accesses = [hall_queries.hall_access(session, user=u, hall=hall) for u in people]
        results: list[tuple[str, str]] = []
        barrier.wait(timeout=TIMEOUT)
        for k, (person, access) in enumerate(zip(people, accesses, strict=True)):
            assert person is not None
            key = keys[k] if keys else sid()
            option = OPTIONS[k % 3] if keys else OPTIONS[(k + worker) % 3]
            try:
                with db.session() as session:
                    receipt = service.cast_vote(
                        session=session,
                        access=access,
                        actor=person,
                        ballot_id=ballot_id,
                        form=schemas.VoteForm(option=option, submission_id=key),
                    )
                results.append((key, receipt.receipt))
            except Exception as exc:
                results.append((key, f"error:{type(exc).__name__}:{exc}"[:300]))
        return results
    finally:
        casting._ballot, casting._append = original  # type: ignore[method-assign]
        db.dispose()


# ---------------------------------------------------------------------------------------------
# Checks (in the parent)


def _state(db: Database, ballot_id: int) -> dict[str, Any]:
    with db.session(read_only=True) as session:
        rows = session.exec(
            select(Vote.submission_id, Vote.receipt, Vote.roll_id, Vote.is_current).where(
                Vote.ballot_id == ballot_id
            )
        ).all()
        ledger_receipts = set(
            session.exec(
                select(LedgerEvent.receipt).where(
                    LedgerEvent.ballot_id == ballot_id, col(LedgerEvent.receipt).is_not(None)
                )
            ).all()
        )
        events = session.exec(
            select(func.count()).select_from(LedgerEvent).where(LedgerEvent.ballot_id == ballot_id)
        ).one()
        verdict = queries.verify_ballot(session, ballot_id)
    current = Counter(roll for _, _, roll, is_current in rows if is_current)
    return {
        "rows": {key: receipt for key, receipt, _, _ in rows},
        "current": current,
        "duplicated": sorted(roll for roll, n in current.items() if n > 1),
        "ledger_receipts": ledger_receipts,
        "events": events,
        "verdict": verdict,
    }


def _split(reports: list[list[tuple[str, str]]]) -> tuple[dict[str, str], list[str]]:
    acked: dict[str, str] = {}
    errors: list[str] = []
    for report in reports:
        for key, outcome in report:
            if outcome.startswith("error:"):
                errors.append(outcome)
            else:
                acked.setdefault(key, outcome)
                assert acked[key] == outcome, f"{key}: two receipts {acked[key]} {outcome}"
    return acked, errors


# ---------------------------------------------------------------------------------------------
# (a) eight processes cast for the same 200 voters


def test_eight_processes_casting_for_the_same_voters_keep_one_current_vote_each(
    racers: Racers, db: Database, database_url: str, owners: Owners
) -> None:
    ballot_id = new_ballot(db, owners)
    user_ids = [u.id for u in owners.voters]
    reports = racers.race(
        _cast_worker,
        [(database_url, w, owners.world.hall.id, ballot_id, user_ids, None) for w in range(N)],
    )

    acked, errors = _split(reports)
    assert errors == []
    assert len(acked) == N * VOTERS  # every cast acknowledged (re-votes are allowed)
    state = _state(db, ballot_id)
    assert state["duplicated"] == []
    assert len(state["current"]) == VOTERS
    assert set(state["current"].values()) == {1}
    assert state["rows"] == acked  # no vote row that was not acknowledged, none missing
    assert set(acked.values()) <= state["ledger_receipts"]
    assert state["events"] == 1 + N * VOTERS
    verdict = state["verdict"]
    assert verdict.ok, verdict.problems
    assert (verdict.checked, verdict.votes) == (1 + N * VOTERS, VOTERS)


# ---------------------------------------------------------------------------------------------
# (b) the same submission id from eight processes


def test_the_same_submission_id_from_eight_processes_is_one_vote_with_one_receipt(
    racers: Racers, db: Database, database_url: str, owners: Owners
) -> None:
    ballot_id = new_ballot(db, owners)
    voters = owners.voters[:50]
    keys = [sid() for _ in voters]
    reports = racers.race(
        _cast_worker,
        [
            (database_url, w, owners.world.hall.id, ballot_id, [u.id for u in voters], keys)
            for w in range(N)
        ],
    )

    assert [e for r in reports for _, e in r if e.startswith("error:")] == []
    for k, key in enumerate(keys):
        receipts = {report[k][1] for report in reports}
        assert len(receipts) == 1, f"{key}: {receipts}"  # eight identical receipts
    acked, _ = _split(reports)
    state = _state(db, ballot_id)
    assert state["rows"] == acked  # one vote row per key
    assert len(state["rows"]) == len(voters)
    assert state["duplicated"] == []
    assert state["events"] == 1 + len(voters)
    assert set(acked.values()) <= state["ledger_receipts"]
    assert state["verdict"].ok, state["verdict"].problems


# ---------------------------------------------------------------------------------------------
# (c) the race can fail: without the unique index and the lock


def test_without_the_unique_index_and_the_ballot_lock_the_race_goes_wrong(
    racers: Racers, backend: str, tmp_path: Path
) -> None:
    """The naive cast (vote table only: no ballot lock, no ledger; SQLite writers DEFERRED)
    against a database without `uq_vote_current`.

    PostgreSQL (READ COMMITTED): a re-cast's UPDATE cannot see the row a concurrent cast has
    not committed yet, so both insert a current row: duplicates. With the index the same
    naive race is refused by the database (unique violations) instead of stored.
    SQLite: writers are serialised whatever the code does, so retire-then-insert cannot
    interleave; a deferred BEGIN instead fails with `database is locked` (SQLITE_BUSY).
    Either way, test (a)'s assertions would fail.
    """
    voters = 50
    with throwaway_database(backend, tmp_path) as url:
        scratch = Database.connect(url)
        try:
            world, people = make_owners_hall(scratch, owners=voters)
            o = Owners(world, make_chair(scratch, world), people)
            user_ids = [u.id for u in people]

            def race(ballot_id: int) -> tuple[dict[str, str], list[str]]:
                return _split(
                    racers.race(
                        _cast_worker,
                        [
                            (url, w, world.hall.id, ballot_id, user_ids, None, True)
                            for w in range(N)
                        ],
                    )
                )

            guarded_ballot = new_ballot(scratch, o)
            _, guarded_errors = race(guarded_ballot)
            guarded = _state(scratch, guarded_ballot)

            with scratch.write_engine.begin() as conn:
                conn.execute(text("DROP INDEX uq_vote_current"))
            # A control: the race needs the processes to overlap, which a loaded machine may
            # not give on one try; it must show within three (each a fresh ballot).
            for _attempt in range(3):
                naive_ballot = new_ballot(scratch, o)
                _, naive_errors = race(naive_ballot)
                naive = _state(scratch, naive_ballot)
                if naive["duplicated"] if backend == "postgresql" else naive_errors:
                    break
        finally:
            scratch.dispose()

    print(
        f"\nnaive cast, {N} processes x {voters} voters on {backend}: "
        f"with the index {len(guarded_errors)} errors, {len(guarded['duplicated'])} duplicated; "
        f"without it {len(naive_errors)} errors, {len(naive['duplicated'])} duplicated voters"
    )
    assert guarded["duplicated"] == []  # the index holds even against the naive code
    if backend == "postgresql":
        assert guarded_errors, "the index was expected to refuse concurrent current votes"
        assert all("uq_vote_current" in e or "Unique" in e for e in guarded_errors)
        assert naive["duplicated"], "no duplicates without the index: the race did not happen"
    else:
        assert naive_errors, "a deferred BEGIN was expected to hit SQLITE_BUSY"
        assert all("database is locked" in e for e in naive_errors), naive_errors[:3]
