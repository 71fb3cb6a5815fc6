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

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from sqlmodel import col, select, update
from starlette.concurrency import run_in_threadpool

from app.accounts.models import User, UserSession
from app.config import Settings
from app.core import clock, security
from app.db import Database, Memo, quiet

log = logging.getLogger("yishiting")

TABLES = ("user", "user_session")


def session_alive(
    user_session: UserSession, settings: Settings, now: datetime | None = None
) -> bool:
    """Within the idle and absolute limits (SESS-01, SESS-04): residents idle ≤ 7 days,
    absolute ≤ 30 days; chairs and admins 30 minutes / 12 hours (decided at login)."""
    now = now or clock.now()
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


def read_many(
    db: Database, settings: Settings, keys: set[str], generation: int
) -> dict[str, Found | None]:
    """Read the sessions behind `keys` (misses of the memo) in one query; in a worker thread."""
    with db.session(read_only=True) as session:
        rows = session.exec(
            select(UserSession, User)
            .join(User, col(User.id) == UserSession.user_id)
            .where(col(UserSession.token_hash).in_(keys))
        ).all()
    found: dict[str, Found | None] = dict.fromkeys(keys)
    for user_session, user in rows:
        found[user_session.token_hash] = Found(user=user, user_session=user_session)
    memo = _memo(db, settings)
    for key, value in found.items():
        memo.put(key, value, generation=generation)
    return found


@dataclass
class _Reads:
    keys: set[str]
    answer: asyncio.Future[dict[str, Found | None]]
    task: asyncio.Task[None] | None = None


# Misses waiting to be read, per event loop and database: the requests that miss in the same
# turn of the loop (a burst of new voters) are read in one query and one worker-thread hop.
_waiting: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _Reads]] = WeakKeyDictionary()


async def read(db: Database, settings: Settings, key: str, generation: int) -> Found | None:
    """The session behind `key`, read with the other misses of this turn of the loop."""
    loop = asyncio.get_running_loop()
    waiting = _waiting.setdefault(loop, {})
    reads = waiting.get(id(db))
    if reads is None:
        reads = waiting[id(db)] = _Reads(set(), loop.create_future())
        reads.task = loop.create_task(_read_together(db, settings, waiting, reads, generation))
    reads.keys.add(key)
    answers = await asyncio.shield(reads.answer)
    return answers.get(key)


async def _read_together(
    db: Database,
    settings: Settings,
    waiting: dict[int, _Reads],
    reads: _Reads,
    generation: int,
) -> None:
    await asyncio.sleep(0)  # the requests of this turn of the loop join
    del waiting[id(db)]  # later misses make the next read
    try:
        answers = await run_in_threadpool(read_many, db, settings, reads.keys, generation)
    except Exception as exc:  # every request waiting gets the error (a 503 page)
        reads.answer.set_exception(exc)
    else:
        reads.answer.set_result(answers)


def alive(
    found: Found | None, settings: Settings, now: datetime | None = None
) -> tuple[User, UserSession] | None:
    if found is None or not session_alive(found.user_session, settings, now):
        return None
    return found.user, found.user_session


# --- the idle timer ------------------------------------------------------------------------

# Per database (id(db)): session id → the time to write.
_due: dict[int, dict[int, datetime]] = {}
_due_lock = threading.Lock()


def note_seen(
    db: Database, user_session: UserSession, settings: Settings, now: datetime | None = None
) -> bool:
    """Move the idle timer in memory; True if writing it to the database is now due."""
    now = now or clock.now()
    if now - user_session.last_seen_at < timedelta(seconds=settings.session_touch_seconds):
        return False
    user_session.last_seen_at = now
    with _due_lock:
        _due.setdefault(id(db), {})[user_session.id or 0] = now
    return True


def flush_touches(db: Database) -> int:
    """Write every due `last_seen_at` in one short transaction; a failure is logged."""
    with _due_lock:
        due = _due.pop(id(db), {})
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
