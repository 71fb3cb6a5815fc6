"""Who is asking, at the cost of a dictionary lookup (issue #11).

Every request with a session cookie needs its user. Reading it from the database costs a
sha256, a join and a connection (0.5 ms, a third of a logged-in request), so each process
keeps what it read for `Settings.auth_cache_seconds` (5 s) in a memo of the database
(app/db.Memo):

- a kept answer is checked against the idle and absolute limits as a fresh read is;
- any commit in this process that writes `user` or `user_session` (logging in or out, a new
  password, preferences, an account claimed) empties the memo at once; another app process
  answers from what it read for at most `auth_cache_seconds` more (with one worker, the
  default, there is no other process);
- `last_seen_at` (the idle timer) is written at most every `Settings.session_touch_seconds`
  (5 minutes) per session, by `flush_touches` in its own short transaction after the response
  has gone, for every session then due at once; a failed write is logged and fails nothing.
  The idle limit reads this process's own later time.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select, update

from app.accounts.models import User, UserSession
from app.config import Settings
from app.core import clock, security
from app.db import Database, Memo, quiet

log = logging.getLogger("yishiting")

TABLES = ("user", "user_session")

_SESSION_LOOKUP = (
    select(UserSession, User)
    .join(User, col(User.id) == UserSession.user_id)
    .where(col(UserSession.token_hash) == sa.bindparam("token_hash"))
)


def session_alive(user_session: UserSession, settings: Settings) -> bool:
    """Within the idle and absolute limits (SESS-01, SESS-04): residents idle ≤ 7 days,
    absolute ≤ 30 days; chairs and admins 30 minutes / 12 hours (decided at login)."""
    now = clock.now()
    idle, absolute = (
        (settings.chair_idle_seconds, settings.chair_absolute_seconds)
        if user_session.privileged
        else (settings.resident_idle_seconds, settings.resident_absolute_seconds)
    )
    return (now - user_session.last_seen_at).total_seconds() <= idle and (
        now - user_session.created_at
    ).total_seconds() <= absolute


@dataclass(frozen=True, slots=True)
class Found:
    """A session row and its user, as read (shared between requests: read-only)."""

    user: User
    user_session: UserSession


def _memo(db: Database, settings: Settings) -> Memo[str, Found | None]:
    return db.memo("sessions", TABLES, settings.auth_cache_seconds)


def cached(db: Database, settings: Settings, token: str) -> tuple[str, int, Found | None, bool]:
    """(token hash, memo generation, what is kept for it, whether anything is kept)."""
    memo = _memo(db, settings)
    key = security.sha256_hex(token)
    generation = memo.generation
    kept, found = memo.get(key)
    return key, generation, found, kept


def read(db: Database, settings: Settings, key: str, generation: int) -> Found | None:
    """Read the session behind `key` (a miss of the memo); in a worker thread."""
    with db.session(read_only=True) as session:
        row = session.exec(_SESSION_LOOKUP, params={"token_hash": key}).first()
    found = Found(user=row[1], user_session=row[0]) if row is not None else None
    _memo(db, settings).put(key, found, generation=generation)
    return found


def alive(found: Found | None, settings: Settings) -> tuple[User, UserSession] | None:
    if found is None or not session_alive(found.user_session, settings):
        return None
    return found.user, found.user_session


# --- the idle timer ------------------------------------------------------------------------

_due: dict[int, datetime] = {}  # session id → the time to write
_due_lock = threading.Lock()


def note_seen(user_session: UserSession, settings: Settings) -> bool:
    """Move the idle timer in memory; True if writing it to the database is now due."""
    now = clock.now()
    if now - user_session.last_seen_at < timedelta(seconds=settings.session_touch_seconds):
        return False
    user_session.last_seen_at = now
    with _due_lock:
        _due[user_session.id or 0] = now
    return True


def flush_touches(db: Database) -> int:
    """Write every due `last_seen_at` in one short transaction; a failure is logged."""
    with _due_lock:
        due = dict(_due)
        _due.clear()
    if not due:
        return 0
    try:
        with db.session() as session:
            quiet(session)  # the memo already holds the new time
            session.exec(
                update(UserSession)
                .where(col(UserSession.id).in_(list(due)))
                .where(col(UserSession.last_seen_at) < max(due.values()))
                .values(last_seen_at=max(due.values()))
            )
            session.commit()
    except Exception:  # the idle timer is not worth failing anything for
        log.warning("could not write last_seen_at of %d sessions", len(due), exc_info=True)
        return 0
    return len(due)
