"""Engines and sessions.

SQLite gets WAL, foreign keys, a busy timeout and `BEGIN IMMEDIATE` on every write
transaction (SECURITY.md DATA-01, DATA-02): with Python's default deferred transactions
concurrent writers produced duplicates and SQLITE_BUSY in the measured experiments.
Reads use a second engine whose transactions begin DEFERRED, so they never queue
behind a writer (WAL lets them read alongside it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import Select
from sqlmodel import Session, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata

S = TypeVar("S", bound=Select[Any])
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=5000", "foreign_keys=ON")


# Made by hand in migrations, invisible to the models: the FTS5 table (and its shadow
# tables) and the PostgreSQL expression index for search. Autogenerate must not drop them.
UNMODELLED = ("issue_fts", "ix_issue_search")


def include_object(*args: object) -> bool:
    """Alembic filter (obj, name, type_, reflected, compare_to): skip the hand-made objects."""
    name = args[1]
    return not (isinstance(name, str) and name.startswith(UNMODELLED))


def locked(query: S) -> S:
    """`query` as a locking read: SELECT … FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE
    already holds the database) whose rows overwrite what the session already holds.

    Without populate_existing the lock is taken but the answer is the object the session
    loaded earlier (a route's dependency reads the ballot before the service locks it): a
    re-vote waiting for another one's lock then appended to the stale ledger head and hit the
    unique (ballot, height) index instead of taking its turn.
    """
    return query.with_for_update().execution_options(populate_existing=True)


def shared_lock(query: S) -> S:
    """`query` as a shared locking read: SELECT … FOR SHARE (PostgreSQL). Readers holding it
    do not wait for each other, but a writer's FOR UPDATE waits for them and they for it
    (a sign-in and the meeting's cancellation). SQLite's BEGIN IMMEDIATE holds the database."""
    return query.with_for_update(read=True).execution_options(populate_existing=True)


def _install_sqlite_hooks(engine: Engine, *, begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Stop pysqlite's own implicit BEGIN so that ours is the only one.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)


@dataclass(frozen=True)
class Pool:
    """Connection pool of an engine (Settings.db_pool_*; README, Configuration).

    The web app lets at most `capacity` requests use the database at once (app/web/turns.py)
    and each holds one connection at a time, so with the default (no overflow) no connection
    is opened and closed per use: on SQLite an overflow connection is opened, configured and
    closed again for every use, which cost a busy page 5 % of its time. `timeout`: how long a
    checkout may wait before it fails (SQLAlchemy's default of 30 s froze a burst of votes).
    """

    size: int = 20
    overflow: int = 0
    timeout: float = 5.0

    @property
    def capacity(self) -> int:
        return self.size + self.overflow


def make_engine(url: str, *, read_only: bool = False, pool: Pool | None = None) -> Engine:
    """An engine for `url`; on SQLite writers begin IMMEDIATE, readers DEFERRED."""
    pool = pool or Pool()
    sizing: dict[str, Any] = {
        "pool_size": pool.size,
        "max_overflow": pool.overflow,
        "pool_timeout": pool.timeout,
    }
    if url.startswith("sqlite"):
        # A pool of connections, each configured once by the "connect" hook. Engines are made
        # per app (after any fork), so no connection crosses a process boundary.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 5}, **sizing
        )
        _install_sqlite_hooks(engine, begin="BEGIN" if read_only else "BEGIN IMMEDIATE")
        return engine
    return create_engine(url, pool_pre_ping=True, **sizing)


class Generations:
    """The counter a database's memos share: bumped by every emptying of one of them. A read
    that noted the counter before it began may keep its answer in a memo only if that memo
    was not emptied since (Memo.put): so a request can note it once, before its first query,
    and keep what any of its later reads found (app/web/deps.guard, app/web/fragments.py)."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def bump(self) -> int:
        with self._lock:
            self.value += 1
            return self.value


class Memo(Generic[K, V]):
    """What a few rows that change rarely said, kept for `ttl` seconds (issue #11: the session
    behind a cookie, the caller's standing in a hall, parts of pages), per Database.

    Emptied after every commit in this process that wrote to one of `tables` (ORM flushes and
    UPDATE/DELETE/INSERT statements alike, `_note_writes` below); another process sees such a
    change after at most `ttl` seconds. A read that began before an emptying is not kept, so a
    change is never hidden behind an answer read just before it. At most `size` entries.
    """

    def __init__(
        self,
        tables: Iterable[str],
        ttl: float,
        *,
        size: int = 50_000,
        generations: Generations | None = None,
    ) -> None:
        self.tables = frozenset(tables)
        self.ttl = ttl
        self.size = size
        self._generations = generations or Generations()
        self.emptied_at = self._generations.value
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        """Note this before a read; hand it to `put` with what the read found."""
        return self._generations.value

    def get(self, key: K) -> tuple[bool, V | None]:
        """(whether an answer is kept, the answer)."""
        found = self._entries.get(key)
        if found is None or time.monotonic() - found[0] > self.ttl:
            return False, None
        return True, found[1]

    def put(self, key: K, value: V, *, generation: int) -> None:
        """Keep `value`, read after the generation was `generation`; not if the memo was
        emptied since."""
        if self.ttl <= 0:
            return
        with self._lock:
            if self.emptied_at > generation:
                return
            if len(self._entries) >= self.size:  # a flood of distinct keys: start again
                self._entries.clear()
            self._entries[key] = (time.monotonic(), value)

    def forget(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self.emptied_at = self._generations.bump()
            self._entries.clear()


@dataclass
class Database:
    """The pair of engines an app instance uses. Created by create_app, never at import."""

    url: str
    write_engine: Engine
    read_engine: Engine
    pool: Pool = Pool()
    memos: dict[str, Memo[Any, Any]] = field(default_factory=dict)
    generations: Generations = field(default_factory=Generations)

    def __post_init__(self) -> None:
        _DATABASES[self.write_engine] = self

    def memo(
        self, name: str, tables: Iterable[str], ttl: float, *, size: int = 50_000
    ) -> Memo[Any, Any]:
        """This database's memo called `name` (made on first use), of at most `size` entries."""
        found = self.memos.get(name)
        if found is None:
            found = self.memos[name] = Memo(tables, ttl, size=size, generations=self.generations)
        return found

    @classmethod
    def connect(cls, url: str, *, pool: Pool | None = None) -> Database:
        pool = pool or Pool()
        write = make_engine(url, pool=pool)
        read = make_engine(url, read_only=True, pool=pool) if url.startswith("sqlite") else write
        return cls(url=url, write_engine=write, read_engine=read, pool=pool)

    @property
    def generation(self) -> int:
        """What its memos' `generation` is now (noted by a request before its first query)."""
        return self.generations.value

    @property
    def is_sqlite(self) -> bool:
        return self.write_engine.dialect.name == "sqlite"

    def session(self, *, read_only: bool = False) -> Session:
        engine = self.read_engine if read_only else self.write_engine
        return Session(engine, expire_on_commit=False)

    def sessions(self, *, read_only: bool = False) -> Iterator[Session]:
        with self.session(read_only=read_only) as session:
            yield session

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


# --- emptying memos after a commit that wrote to their tables ----------------------------------

_DATABASES: WeakKeyDictionary[Engine, Database] = WeakKeyDictionary()
_WRITES = "memo_tables_written"


def quiet(session: Session) -> None:
    """This session's writes empty no memo (the idle timer's touch: memos already know it)."""
    session.info["memo_quiet"] = True


@event.listens_for(OrmSession, "after_flush")
def _note_flushed(session: OrmSession, _context: object) -> None:
    written = session.info.setdefault(_WRITES, set())
    for obj in chain(session.new, session.dirty, session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table:
            written.add(table)


@event.listens_for(OrmSession, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        if name:
            state.session.info.setdefault(_WRITES, set()).add(name)


@event.listens_for(OrmSession, "after_commit")
def _empty_memos(session: OrmSession) -> None:
    written: set[str] | None = session.info.pop(_WRITES, None)
    if not written or session.info.get("memo_quiet"):
        return
    bind = session.get_bind()
    database = _DATABASES.get(bind) if isinstance(bind, Engine) else None
    if database is None:
        return
    for memo in database.memos.values():
        if memo.tables & written:
            memo.clear()


@event.listens_for(OrmSession, "after_rollback")
def _forget_writes(session: OrmSession) -> None:
    session.info.pop(_WRITES, None)
