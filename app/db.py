"""Engines and sessions.

SQLite gets WAL, foreign keys, a busy timeout and `BEGIN IMMEDIATE` on every write
transaction (SECURITY.md DATA-01, DATA-02): with Python's default deferred transactions
concurrent writers produced duplicates and SQLITE_BUSY in the measured experiments.
Reads use a second engine whose transactions begin DEFERRED, so they never queue
behind a writer (WAL lets them read alongside it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import Connection
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

SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=5000", "foreign_keys=ON")


# Made by hand in migrations, invisible to the models: the FTS5 table (and its shadow
# tables) and the PostgreSQL expression index for search. Autogenerate must not drop them.
UNMODELLED = ("issue_fts", "ix_issue_search")


def include_object(*args: object) -> bool:
    """Alembic filter (obj, name, type_, reflected, compare_to): skip the hand-made objects."""
    name = args[1]
    return not (isinstance(name, str) and name.startswith(UNMODELLED))


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


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for `url`; on SQLite writers begin IMMEDIATE, readers DEFERRED."""
    if url.startswith("sqlite"):
        # A pool of connections, each configured once by the "connect" hook. Engines are made
        # per app (after any fork), so no connection crosses a process boundary. The pool
        # holds as many as the worker's requests use at once (a request may hold two: the
        # session check and its page): an overflow connection is opened, configured and
        # closed again for every use, which cost a busy page 5 % of its time.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 5},
            pool_size=20,
            max_overflow=20,
        )
        _install_sqlite_hooks(engine, begin="BEGIN" if read_only else "BEGIN IMMEDIATE")
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


@dataclass
class Database:
    """The pair of engines an app instance uses. Created by create_app, never at import."""

    url: str
    write_engine: Engine
    read_engine: Engine

    @classmethod
    def connect(cls, url: str) -> Database:
        write = make_engine(url)
        read = make_engine(url, read_only=True) if url.startswith("sqlite") else write
        return cls(url=url, write_engine=write, read_engine=read)

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
