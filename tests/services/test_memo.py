"""The per-process memos behind a cheap request (issue #11), on SQLite and PostgreSQL.

app/db.Memo keeps what a few rarely-changing rows said (the session behind a cookie, a
member's standing in a hall) for a few seconds. What must hold: a commit in this process that
writes a watched table empties it at once; a read that began before such a commit is never
kept; an answer is never older than its ttl (which bounds what another process can miss); the
idle timer's own write (a quiet session) empties nothing; a rolled-back write empties nothing.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlmodel import col, select, update

from app.accounts import service as accounts
from app.accounts import sessions
from app.accounts.models import User, UserSession
from app.config import Settings
from app.core import clock, security
from app.db import Database, Memo, quiet
from tests import factories as f
from tests.conftest import SECRET


def test_a_kept_answer_lasts_its_ttl_and_no_longer(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    memo: Memo[str, int] = Memo(["user"], ttl=5)
    memo.put("k", 1, generation=memo.generation)
    assert memo.get("k") == (True, 1)
    now[0] += 5.0
    assert memo.get("k") == (True, 1)  # at the limit: still kept
    now[0] += 0.001
    assert memo.get("k") == (False, None)  # past it: read again


def test_a_read_begun_before_an_emptying_is_not_kept() -> None:
    memo: Memo[str, int] = Memo(["user"], ttl=5)
    generation = memo.generation  # a read starts …
    memo.clear()  # … a commit empties the memo meanwhile …
    memo.put("k", 1, generation=generation)  # … the old answer is not kept
    assert memo.get("k") == (False, None)
    memo.put("k", 2, generation=memo.generation)
    assert memo.get("k") == (True, 2)


def test_ttl_zero_keeps_nothing() -> None:
    memo: Memo[str, int] = Memo(["user"], ttl=0)
    memo.put("k", 1, generation=memo.generation)
    assert memo.get("k") == (False, None)


def test_a_commit_writing_a_watched_table_empties_the_memo(db: Database) -> None:
    user = f.make_user(db)
    memo = db.memo("test-users", ["user"], 60)
    other = db.memo("test-other", ["ballot"], 60)
    for m in (memo, other):
        m.put("k", "kept", generation=m.generation)
    with db.session() as s:  # a read commits nothing
        s.exec(select(User).where(User.id == user.id)).one()
        s.commit()
    assert memo.get("k") == (True, "kept")
    with db.session() as s:  # a rolled-back write empties nothing
        s.exec(update(User).where(col(User.id) == user.id).values(name="改名"))
        s.rollback()
    assert memo.get("k") == (True, "kept")
    with db.session() as s:  # an UPDATE statement, committed
        s.exec(update(User).where(col(User.id) == user.id).values(name="改名"))
        s.commit()
    assert memo.get("k") == (False, None)
    assert other.get("k") == (True, "kept")  # another table's memo keeps its answers
    memo.put("k", "kept", generation=memo.generation)
    with db.session() as s:  # an ORM change, flushed and committed
        row = s.get(User, user.id)
        assert row is not None
        row.elder_mode = True
        s.commit()
    assert memo.get("k") == (False, None)
    memo.put("k", "kept", generation=memo.generation)
    with db.session() as s:  # the idle timer's quiet write
        quiet(s)
        s.exec(update(User).where(col(User.id) == user.id).values(name="又改名"))
        s.commit()
    assert memo.get("k") == (True, "kept")


def test_logging_out_is_seen_at_once_and_the_idle_timer_is_written_in_batches(
    db: Database,
) -> None:
    settings = Settings(database_url="sqlite://", secret_key=SECRET, session_touch_seconds=300)
    user = f.make_user(db)
    token = "t" * 43
    with db.session() as s:
        s.add(UserSession(token_hash=security.sha256_hex(token), user_id=user.id or 0))
        s.commit()
    key, generation, _, hit = sessions.cached(db, settings, token)
    assert not hit
    found = sessions.read_many(db, settings, {key}, generation)[key]
    assert found is not None
    assert sessions.cached(db, settings, token)[3]  # kept now
    # Five minutes later the timer is due once, in memory at once, in the database after.
    try:
        clock.freeze(found.user_session.last_seen_at + timedelta(seconds=301))
        assert sessions.note_seen(db, found.user_session, settings)
        assert not sessions.note_seen(db, found.user_session, settings)  # not twice
        assert sessions.flush_touches(db) == 1
        assert sessions.cached(db, settings, token)[3]  # the touch empties no memo
        with db.session(read_only=True) as s:
            stored = s.exec(select(UserSession).where(UserSession.token_hash == key)).one()
        assert stored.last_seen_at == found.user_session.last_seen_at
    finally:
        clock.freeze(None)
    # Logging out (a commit deleting the row) empties the memo in this process at once.
    with db.session() as s:
        row = s.exec(select(UserSession).where(UserSession.token_hash == key)).one()
        accounts.log_out(session=s, user_session=row)
    assert not sessions.cached(db, settings, token)[3]
    key, generation, _, _ = sessions.cached(db, settings, token)
    assert sessions.read_many(db, settings, {key}, generation)[key] is None
