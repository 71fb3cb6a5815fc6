"""Races between OS processes (SECURITY.md §3, §9.3, DATA-02), on SQLite and PostgreSQL.

Every race starts N=8 processes with the "spawn" context. Each opens its own
app.db.Database, prepares, waits at a Barrier, then calls the real service at the same
moment as the other seven. Threads would share one interpreter and hide the problem; this
is what `uvicorn --workers 8` or a double tap on a slow phone produces.

The last test shows that these tests can fail. It runs the same contention on SQLite with a
plain deferred `BEGIN` (the read engine's configuration) and gets `database is locked`
errors. The app's write engine (`BEGIN IMMEDIATE`) gets none.
"""

from __future__ import annotations

import multiprocessing as mp
import secrets
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

import app.models  # noqa: F401 - every table, also in the spawned children
from app.accounts.models import User
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.core.errors import Conflict
from app.db import Database, make_engine
from app.halls import queries, schemas, service
from app.halls.models import (
    Membership,
    MembershipRole,
    MembershipStatus,
    Relation,
    Role,
    UnitOwnership,
)
from tests.factories import HallWorld, make_chair, make_hall, unique_phone

pytestmark = pytest.mark.slow

N = 8
SPAWN = mp.get_context("spawn")
TIMEOUT = 60


# ---------------------------------------------------------------------------------------------
# Harness (runs in the parent)


class Racers:
    """N spawned processes that live for the whole module and race on command.

    Spawning and importing the app costs about a second of CPU per process, so the processes
    are started once and reused; every race still meets at the (reusable) barrier.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.barrier = SPAWN.Barrier(n)
        self.results: Queue[Any] = SPAWN.Queue()
        self.inboxes: list[Queue[Any]] = [SPAWN.Queue() for _ in range(n)]
        self.procs = [
            SPAWN.Process(target=_serve, args=(i, self.barrier, inbox, self.results), daemon=True)
            for i, inbox in enumerate(self.inboxes)
        ]
        for p in self.procs:
            p.start()

    def race(self, target: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Run target(barrier, *args[i]) in process i; return the results in process order."""
        assert len(args) == self.n
        self.barrier.reset()
        for inbox, a in zip(self.inboxes, args, strict=True):
            inbox.put((target, tuple(a)))
        reported = dict(self.results.get(timeout=TIMEOUT) for _ in range(self.n))
        crashed = [r for r in reported.values() if isinstance(r, str) and r.startswith("crash:")]
        assert crashed == [], crashed
        return [reported[i] for i in range(self.n)]

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for p in self.procs:
            p.join(timeout=TIMEOUT)
            if p.is_alive():  # pragma: no cover - only on a hang
                p.kill()


def _serve(index: int, barrier: Barrier, inbox: Queue[Any], results: Queue[Any]) -> None:
    while (task := inbox.get()) is not None:
        target, args = task
        try:
            results.put((index, target(barrier, *args)))
        except BaseException as exc:
            barrier.abort()  # do not leave the others waiting at the barrier
            results.put((index, f"crash:{type(exc).__name__}:{exc}"))


@pytest.fixture(scope="module")
def racers() -> Iterator[Racers]:
    pool = Racers(N)
    yield pool
    pool.close()


def plain_user(db: Database) -> User:
    """A person without a password: argon2 would make each race seconds slower."""
    with db.session() as session:
        user = User(phone=unique_phone(), name="并发居民")
        session.add(user)
        session.commit()
        return user


@pytest.fixture(scope="module")
def world(db: Database) -> HallWorld:
    return make_hall(db, buildings=1, entrances=2, rooms=4)


@pytest.fixture(scope="module")
def chair(db: Database, world: HallWorld) -> User:
    return make_chair(db, world)


# ---------------------------------------------------------------------------------------------
# Workers (run in the spawned children; top level so that "spawn" can import them)


def _outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except Conflict as exc:
        return f"conflict:{exc.code}"
    except Exception as exc:
        return f"error:{type(exc).__name__}:{exc}"[:300]
    return "ok"


def _join_worker(
    barrier: Barrier,
    url: str,
    user_id: int,
    token: str,
    household_id: int,
    deferred: bool = False,
) -> str:
    db = Database.connect(url)
    if deferred:
        # The naive configuration: writers begin with a plain (deferred) BEGIN.
        db = Database(url=url, write_engine=db.read_engine, read_engine=db.read_engine)
    try:
        with db.session(read_only=True) as session:
            user = session.get(User, user_id)
        assert user is not None
        form = schemas.JoinForm(household_id=household_id, relation=Relation.OWNER)

        def call() -> None:
            with db.session() as session:
                service.join_hall(session=session, user=user, token=token, form=form)

        barrier.wait(timeout=TIMEOUT)
        return _outcome(call)
    finally:
        db.dispose()


def _decide_worker(
    barrier: Barrier,
    url: str,
    chair_id: int,
    hall_id: int,
    membership_id: int,
    decision: str,
) -> tuple[str, str]:
    db = Database.connect(url)
    try:
        with db.session(read_only=True) as session:
            chair = session.get(User, chair_id)
            hall = queries.get_hall(session, hall_id)
            assert chair is not None
            assert hall is not None
            access = queries.hall_access(session, user=chair, hall=hall)

        def call() -> None:
            with db.session() as session:
                if decision == "verify":
                    service.verify_member(
                        session=session, access=access, actor=chair, membership_id=membership_id
                    )
                else:
                    service.reject_member(
                        session=session,
                        access=access,
                        actor=chair,
                        membership_id=membership_id,
                        form=schemas.RejectForm(reason="并发测试"),
                    )

        barrier.wait(timeout=TIMEOUT)
        return decision, _outcome(call)
    finally:
        db.dispose()


def _audit_worker(
    barrier: Barrier,
    url: str,
    worker: int,
    tag: str,
    hall_id: int,
    token: str,
    household_id: int,
    user_ids: list[int],
    events: int,
) -> list[str]:
    """Write `events` audit events: every fifth through join_hall, the rest through record."""
    db = Database.connect(url)
    try:
        with db.session(read_only=True) as session:
            users = [session.get(User, uid) for uid in user_ids]
        form = schemas.JoinForm(household_id=household_id, relation=Relation.TENANT)
        outcomes: list[str] = []

        def join(user: User | None) -> None:
            assert user is not None
            with db.session() as session:
                service.join_hall(session=session, user=user, token=token, form=form)

        def record(k: int) -> None:
            with db.session() as session:
                audit.record(
                    session,
                    action="tests.race_record",
                    actor_id=None,
                    hall_id=hall_id,
                    subject_type="race",
                    subject_id=worker,
                    data={"tag": tag, "worker": worker, "k": k},
                )
                session.commit()

        barrier.wait(timeout=TIMEOUT)
        for k in range(events):
            if k % 5 == 0:
                outcomes.append(_outcome(partial(join, users[k // 5])))
            else:
                outcomes.append(_outcome(partial(record, k)))
        return outcomes
    finally:
        db.dispose()


def _probe_worker(barrier: Barrier, url: str, deferred: bool, keys: int) -> dict[str, Any]:
    """Check-then-insert every key, through the app's engine configuration."""
    engine = make_engine(url, read_only=deferred)
    busy = stored = 0
    other: list[str] = []
    barrier.wait(timeout=TIMEOUT)
    for key in range(keys):
        try:
            with engine.begin() as conn:
                found = conn.execute(
                    text("SELECT count(*) FROM probe WHERE k = :k"), {"k": key}
                ).scalar_one()
                if found:
                    continue
                conn.execute(text("INSERT INTO probe (k) VALUES (:k)"), {"k": key})
            stored += 1
        except OperationalError as exc:
            if "database is locked" in str(exc):
                busy += 1
            else:  # pragma: no cover - reported to the parent
                other.append(str(exc)[:200])
    engine.dispose()
    return {"busy": busy, "stored": stored, "other": other}


# ---------------------------------------------------------------------------------------------
# (a) one person, one hall, eight simultaneous join requests


@pytest.mark.parametrize("round_", range(5))
def test_eight_simultaneous_joins_of_one_person_make_one_membership(
    racers: Racers, db: Database, database_url: str, world: HallWorld, round_: int
) -> None:
    user = plain_user(db)
    household = world.households[round_ % len(world.households)]
    outcomes = racers.race(
        _join_worker,
        [(database_url, user.id, world.hall.invite_token, household.id)] * N,
    )

    assert Counter(outcomes) == {"ok": 1, "conflict:already_member": N - 1}, outcomes
    with db.session(read_only=True) as session:
        rows = session.exec(
            select(Membership).where(
                Membership.hall_id == world.hall.id, Membership.user_id == user.id
            )
        ).all()
        assert len(rows) == 1
        assert rows[0].status == MembershipStatus.PENDING
        joins = session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "halls.join_hall", AuditEvent.subject_id == rows[0].id)
        ).one()
        assert joins == 1


def test_eight_simultaneous_rejoins_after_a_rejection_reopen_the_request_once(
    racers: Racers, db: Database, database_url: str, world: HallWorld, chair: User
) -> None:
    """A rejected person may ask again; eight taps at once are still one request."""
    user = plain_user(db)
    household = world.households[0]
    form = schemas.JoinForm(household_id=household.id, relation=Relation.OWNER)
    with db.session() as session:
        membership = service.join_hall(
            session=session, user=user, token=world.hall.invite_token, form=form
        )
    with db.session() as session:
        access = queries.hall_access(session, user=chair, hall=world.hall)
        service.reject_member(
            session=session,
            access=access,
            actor=chair,
            membership_id=membership.id or 0,
            form=schemas.RejectForm(reason="房号不对"),
        )

    outcomes = racers.race(
        _join_worker,
        [(database_url, user.id, world.hall.invite_token, household.id)] * N,
    )

    assert Counter(outcomes) == {"ok": 1, "conflict:already_member": N - 1}, outcomes
    with db.session(read_only=True) as session:
        row = session.get(Membership, membership.id)
        assert row is not None
        assert row.status == MembershipStatus.PENDING
        joins = session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "halls.join_hall", AuditEvent.subject_id == membership.id)
        ).one()
        assert joins == 2  # the first request and exactly one of the eight


# ---------------------------------------------------------------------------------------------
# (b) eight chairs' clicks on one pending request


def _pending(db: Database, world: HallWorld, household_index: int = 1) -> Membership:
    user = plain_user(db)
    form = schemas.JoinForm(
        household_id=world.households[household_index].id, relation=Relation.OWNER
    )
    with db.session() as session:
        return service.join_hall(
            session=session, user=user, token=world.hall.invite_token, form=form
        )


def _decision_counts(db: Database, membership_id: int) -> dict[str, int]:
    with db.session(read_only=True) as session:
        events = session.exec(
            select(AuditEvent.action).where(
                AuditEvent.subject_type == "membership", AuditEvent.subject_id == membership_id
            )
        ).all()
        roles = session.exec(
            select(MembershipRole.role).where(MembershipRole.membership_id == membership_id)
        ).all()
        owned = session.exec(
            select(func.count())
            .select_from(UnitOwnership)
            .where(UnitOwnership.membership_id == membership_id)
        ).one()
    counts: dict[str, int] = dict(Counter(events))
    counts["role:resident"] = sum(1 for r in roles if r == Role.RESIDENT)
    counts["roles"] = len(roles)
    counts["owned_units"] = owned
    return counts


def test_eight_simultaneous_verifications_decide_once(
    racers: Racers, db: Database, database_url: str, world: HallWorld, chair: User
) -> None:
    membership = _pending(db, world)
    outcomes = racers.race(
        _decide_worker,
        [(database_url, chair.id, world.hall.id, membership.id, "verify")] * N,
    )

    assert Counter(o for _, o in outcomes) == {"ok": 1, "conflict:already_decided": N - 1}
    counts = _decision_counts(db, membership.id or 0)
    assert counts.get("halls.verify_member") == 1
    assert counts["role:resident"] == 1
    assert counts["roles"] == 1
    assert counts["owned_units"] == 1
    with db.session(read_only=True) as session:
        row = session.get(Membership, membership.id)
        assert row is not None
        assert row.status == MembershipStatus.VERIFIED
        assert row.decided_by_id == chair.id


def test_verify_and_reject_at_once_leave_exactly_one_decision(
    racers: Racers, db: Database, database_url: str, world: HallWorld, chair: User
) -> None:
    membership = _pending(db, world, household_index=2)
    outcomes = racers.race(
        _decide_worker,
        [
            (database_url, chair.id, world.hall.id, membership.id, "verify" if i % 2 else "reject")
            for i in range(N)
        ],
    )

    winners = [decision for decision, outcome in outcomes if outcome == "ok"]
    assert len(winners) == 1, outcomes
    assert Counter(o for _, o in outcomes)["conflict:already_decided"] == N - 1
    counts = _decision_counts(db, membership.id or 0)
    assert counts.get("halls.verify_member", 0) + counts.get("halls.reject_member", 0) == 1
    with db.session(read_only=True) as session:
        row = session.get(Membership, membership.id)
        assert row is not None
    if winners == ["verify"]:
        assert row.status == MembershipStatus.VERIFIED
        assert (counts["role:resident"], counts["owned_units"]) == (1, 1)
    else:
        assert row.status == MembershipStatus.REJECTED
        assert row.reject_reason == "并发测试"
        assert (counts["roles"], counts["owned_units"]) == (0, 0)


# ---------------------------------------------------------------------------------------------
# (c) eight writers extend the audit chain at once


def test_eight_concurrent_writers_never_fork_the_audit_chain(
    racers: Racers, db: Database, database_url: str, world: HallWorld
) -> None:
    events = 25
    tag = secrets.token_hex(4)
    joiners = [[plain_user(db).id for _ in range(events // 5)] for _ in range(N)]
    with db.session(read_only=True) as session:
        before = session.exec(select(func.count()).select_from(AuditEvent)).one()

    reports = racers.race(
        _audit_worker,
        [
            (
                database_url,
                w,
                tag,
                world.hall.id,
                world.hall.invite_token,
                world.households[w % len(world.households)].id,
                joiners[w],
                events,
            )
            for w in range(N)
        ],
    )

    assert [Counter(r) for r in reports] == [Counter({"ok": events})] * N
    with db.session(read_only=True) as session:
        verdict = audit.verify_chain(session)
        assert verdict.ok, verdict
        ids = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id))).all()
        assert ids == list(range(1, len(ids) + 1)), "heights are not contiguous"
        assert verdict.checked == len(ids)
        assert len(ids) >= before + N * events
        forks = session.exec(
            select(AuditEvent.prev_hash)
            .group_by(col(AuditEvent.prev_hash))
            .having(func.count() > 1)
        ).all()
        assert forks == []
        head = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
        assert head is not None
        assert head.hash == verdict.head
        ours = session.exec(
            select(AuditEvent.data).where(AuditEvent.action == "tests.race_record")
        ).all()
        assert sum(1 for d in ours if tag in d) == N * (events - events // 5)
        all_joiners = [uid for per_worker in joiners for uid in per_worker]
        joined = session.exec(
            select(func.count())
            .select_from(Membership)
            .where(col(Membership.user_id).in_(all_joiners))
        ).one()
        assert joined == len(all_joiners)


# ---------------------------------------------------------------------------------------------
# The tests can fail: the same contention with deferred transactions on SQLite


def _probe(racers: Racers, tmp_path: Path, *, deferred: bool, keys: int) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path / ('deferred.db' if deferred else 'immediate.db')}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, k INTEGER NOT NULL)"))
    reports = racers.race(_probe_worker, [(url, deferred, keys)] * N)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT k, count(*) FROM probe GROUP BY k")).all()
    engine.dispose()
    return {
        "busy": sum(r["busy"] for r in reports),
        "stored": sum(r["stored"] for r in reports),
        "other": [o for r in reports for o in r["other"]],
        "keys_stored": len(rows),
        "duplicates": sum(1 for _, n in rows if n > 1),
    }


def test_deferred_begin_hits_sqlite_busy_where_begin_immediate_does_not(
    racers: Racers, tmp_path: Path
) -> None:
    """DATA-02: the engine configuration, not the code path, keeps SQLite writers apart.

    Both runs use app.db.make_engine, so the PRAGMAs and busy_timeout=5000 are the same; only
    the BEGIN differs (the read engine's deferred BEGIN vs the write engine's BEGIN IMMEDIATE).
    """
    keys = 25
    immediate = _probe(racers, tmp_path, deferred=False, keys=keys)
    deferred = _probe(racers, tmp_path, deferred=True, keys=keys)
    print(f"\nSQLite check-then-insert, {N} processes x {keys} keys:")
    print(f"  BEGIN IMMEDIATE: {immediate}")
    print(f"  deferred BEGIN:  {deferred}")

    assert immediate == {
        "busy": 0,
        "stored": keys,
        "other": [],
        "keys_stored": keys,
        "duplicates": 0,
    }
    assert deferred["other"] == []
    assert deferred["busy"] > 0, "deferred BEGIN was expected to hit SQLITE_BUSY"


def test_join_race_fails_when_writers_begin_deferred(racers: Racers, tmp_path: Path) -> None:
    """Run the join race of test (a) with the read engine's deferred BEGIN as the write engine.

    The assertion of test (a), "every other call raised Conflict, no other exception", would
    fail: `database is locked` leaks out of join_hall. This is the regression the race tests
    guard against.
    """
    url = f"sqlite:///{tmp_path / 'naive.db'}"
    from app.__main__ import migrate

    migrate(url)
    db = Database.connect(url)
    try:
        world = make_hall(db, buildings=1, entrances=1, rooms=1)
        household = world.households[0]
        outcomes: Counter[str] = Counter()
        locked = 0
        for _ in range(3):
            user = plain_user(db)
            reported = racers.race(
                _join_worker, [(url, user.id, world.hall.invite_token, household.id, True)] * N
            )
            locked += sum(1 for o in reported if "database is locked" in o)
            outcomes.update(":".join(o.split(":")[:2]) for o in reported)
    finally:
        db.dispose()
    print(f"\njoin_hall x {N} x 3 rounds with deferred BEGIN: {dict(outcomes)}")
    assert outcomes["ok"] == 3
    assert outcomes["error:OperationalError"] > 0
    assert locked == outcomes["error:OperationalError"]
