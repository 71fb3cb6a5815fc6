"""The audit trail in the database (SECURITY.md LOG-04, VOTE-07), on SQLite and PostgreSQL.

- The services' events form a chain that verifies.
- The database itself refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) of audit events.
- Once the triggers are dropped in a throwaway database, `verify_chain` and
  `python -m app audit verify` name the exact broken link.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, func, select

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.config import ROOT
from app.db import Database
from tests.factories import make_chair, make_hall, make_member
from tests.throwaway import throwaway_database

# ---------------------------------------------------------------------------------------------
# The shared test database: the chain the services write


def test_the_chain_verifies_after_the_services_have_written(db: Database) -> None:
    world = make_hall(db)
    chair = make_chair(db, world)
    resident, membership = make_member(db, world, chair=chair)

    with db.session(read_only=True) as session:
        verdict = audit.verify_chain(session)
        total = session.exec(select(func.count()).select_from(AuditEvent)).one()
        head = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
        ours = session.exec(select(AuditEvent).where(AuditEvent.hall_id == world.hall.id)).all()
        mentioning_phone = session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(col(AuditEvent.data).contains(resident.phone or "-"))
        ).one()

    assert verdict.ok, verdict
    assert verdict.checked == total
    assert head is not None
    assert verdict.head == head.hash
    actions = {e.action for e in ours}
    assert {
        "halls.create_hall",
        "halls.import_roster",
        "halls.appoint_chair",
        "halls.join_hall",
        "halls.verify_member",
    } <= actions
    assert any(
        e.action == "halls.verify_member"
        and e.subject_id == membership.id
        and e.actor_id == chair.id
        for e in ours
    )
    assert mentioning_phone == 0  # LOG-02: no full phone number in the trail


def _last_event(db: Database) -> AuditEvent:
    with db.session() as session:
        audit.record(
            session,
            action="tests.append_only",
            actor_id=None,
            hall_id=None,
            subject_type="test",
            subject_id=None,
            data={"note": "原样"},
        )
        session.commit()
    with db.session(read_only=True) as session:
        event = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert event is not None
    return event


def _unchanged(db: Database, event: AuditEvent) -> None:
    with db.session(read_only=True) as session:
        again = session.get(AuditEvent, event.id)
        assert again is not None
        assert (again.action, again.data, again.hash) == (event.action, event.data, event.hash)
        assert audit.verify_chain(session).ok


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET data = '{}' WHERE id = :id",
        "UPDATE audit_event SET hash = prev_hash WHERE id = :id",
        "DELETE FROM audit_event WHERE id = :id",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_event(db: Database, statement: str) -> None:
    event = _last_event(db)
    with pytest.raises(DBAPIError, match="append-only"), db.write_engine.begin() as conn:
        conn.execute(text(statement), {"id": event.id})
    _unchanged(db, event)


def test_the_database_refuses_to_empty_the_table(db: Database, backend: str) -> None:
    """PostgreSQL: TRUNCATE. SQLite has none; its unconditional DELETE (the "truncate
    optimisation") must still fire the trigger."""
    event = _last_event(db)
    statement = "TRUNCATE audit_event" if backend == "postgresql" else "DELETE FROM audit_event"
    with pytest.raises(DBAPIError, match="append-only"), db.write_engine.begin() as conn:
        conn.execute(text(statement))
    _unchanged(db, event)


# ---------------------------------------------------------------------------------------------
# Tampering, in a throwaway database whose triggers we may drop

DROP_TRIGGERS = {
    "sqlite": [
        "DROP TRIGGER audit_event_no_update",
        "DROP TRIGGER audit_event_no_delete",
    ],
    "postgresql": ["DROP TRIGGER audit_event_no_change ON audit_event"],
}
EVENTS = 8


@pytest.fixture
def scratch(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A throwaway database holding a short chain of EVENTS events, triggers still on."""
    with throwaway_database(backend, tmp_path) as url:
        database = Database.connect(url)
        try:
            make_hall(database, buildings=1, entrances=1, rooms=2)  # admin, street, hall, roster
            with database.session() as session:
                while session.exec(select(func.count()).select_from(AuditEvent)).one() < EVENTS:
                    audit.record(
                        session,
                        action="tests.scratch",
                        actor_id=None,
                        hall_id=None,
                        subject_type="test",
                        subject_id=None,
                        data={"说明": "篡改测试"},
                    )
                session.commit()
            yield database
        finally:
            database.dispose()


def cli_verify(database: Database) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database.url, "YST_ENVIRONMENT": "development"}
    return subprocess.run(
        [sys.executable, "-m", "app", "audit", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def tamper(database: Database, backend: str, statement: str, **params: object) -> None:
    with database.write_engine.begin() as conn:
        for drop in DROP_TRIGGERS[backend]:
            conn.execute(text(drop))
        conn.execute(text(statement), params)


def verdict_of(database: Database) -> tuple[bool, int, int | None, str | None]:
    with database.session(read_only=True) as session:
        v = audit.verify_chain(session)
    return v.ok, v.checked, v.broken_height, v.reason


def test_an_edited_event_is_named_by_verify_chain_and_the_cli(
    scratch: Database, backend: str
) -> None:
    before = cli_verify(scratch)
    assert before.returncode == 0, before.stderr
    assert f"{EVENTS} 条记录" in before.stdout
    assert verdict_of(scratch) == (True, EVENTS, None, None)

    tamper(
        scratch,
        backend,
        """UPDATE audit_event SET data = '{"说明": "改过"}' WHERE id = 5""",
    )

    assert verdict_of(scratch) == (False, 4, 5, "hash")
    after = cli_verify(scratch)
    assert after.returncode == 1
    assert "第 5 条" in after.stderr
    assert "hash" in after.stderr


def test_a_rehashed_forgery_is_caught_at_the_next_link(scratch: Database, backend: str) -> None:
    """Recomputing the edited event's own hash only moves the break to the next height."""
    from app.audit import chain

    with scratch.session(read_only=True) as session:
        event = session.get(AuditEvent, 3)
        assert event is not None
        forged = chain.EventBody(
            height=3,
            at=event.at,
            hall_id=event.hall_id,
            actor_id=event.actor_id,
            action="halls.forged",
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            data={},
        )
    tamper(
        scratch,
        backend,
        "UPDATE audit_event SET action = 'halls.forged', data = '{}', hash = :h WHERE id = 3",
        h=chain.link_hash(event.prev_hash, forged),
    )

    assert verdict_of(scratch) == (False, 3, 4, "prev_hash")
    after = cli_verify(scratch)
    assert after.returncode == 1
    assert "第 4 条" in after.stderr


def test_a_deleted_middle_event_is_a_gap(scratch: Database, backend: str) -> None:
    tamper(scratch, backend, "DELETE FROM audit_event WHERE id = 4")

    # The verifier names the first event that no longer links: the one after the hole.
    assert verdict_of(scratch) == (False, 3, 5, "gap")
    after = cli_verify(scratch)
    assert after.returncode == 1
    assert "第 5 条" in after.stderr
    assert "gap" in after.stderr


def test_a_deleted_tail_is_only_visible_against_the_published_head(
    scratch: Database, backend: str
) -> None:
    """VOTE-07/09: the chain alone cannot see a cut tail; the head printed earlier can."""
    with scratch.session(read_only=True) as session:
        published = audit.verify_chain(session).head
    tamper(scratch, backend, "DELETE FROM audit_event WHERE id = :id", id=EVENTS)

    with scratch.session(read_only=True) as session:
        verdict = audit.verify_chain(session)
        hashes = set(session.exec(select(AuditEvent.hash)).all())
    assert verdict.ok
    assert verdict.checked == EVENTS - 1
    assert verdict.head != published
    assert published not in hashes
