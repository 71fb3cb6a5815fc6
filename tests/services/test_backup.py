"""`python -m app backup PATH` while another process keeps writing (SECURITY.md DATA-08, DATA-09).

SQLite: the backup API copy opens, passes `PRAGMA integrity_check`, holds the audit table, and
is a prefix of the live chain (its max id ≤ the source's). PostgreSQL: a `pg_dump -Fc` file
that pg_restore reads back into a fresh database whose chain verifies.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import col, func, select

import app.models  # noqa: F401 - every table, so the writer child can resolve audit FKs
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.config import ROOT
from app.db import Database
from tests.throwaway import throwaway_database

pytestmark = pytest.mark.slow

SPAWN = mp.get_context("spawn")
TIMEOUT = 120


def _keep_writing(url: str, started: Event, stop: Event, report: Queue[Any]) -> None:
    """Append audit events, one transaction each, until told to stop."""
    db = Database.connect(url)
    written, errors = 0, []
    try:
        while not stop.is_set() and written < 20_000:
            try:
                with db.session() as session:
                    audit.record(
                        session,
                        action="tests.backup_burst",
                        actor_id=None,
                        hall_id=None,
                        subject_type="test",
                        subject_id=written,
                        data={"n": written},
                    )
                    session.commit()
                written += 1
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                if len(errors) >= 10:
                    break
            if written == 50:
                started.set()
    finally:
        started.set()
        db.dispose()
        report.put({"written": written, "errors": errors})


class Writer:
    def __init__(self, url: str) -> None:
        self.started = SPAWN.Event()
        self.stop_event = SPAWN.Event()
        self.report: Queue[Any] = SPAWN.Queue()
        self.proc = SPAWN.Process(
            target=_keep_writing,
            args=(url, self.started, self.stop_event, self.report),
            daemon=True,
        )
        self.proc.start()
        assert self.started.wait(TIMEOUT), "the writer never got going"

    def stop(self) -> dict[str, Any]:
        self.stop_event.set()
        result: dict[str, Any] = self.report.get(timeout=TIMEOUT)
        self.proc.join(TIMEOUT)
        return result


def max_id(db: Database) -> int:
    with db.session(read_only=True) as session:
        return int(session.exec(select(func.coalesce(func.max(AuditEvent.id), 0))).one())


def hash_at(db: Database, height: int) -> str:
    with db.session(read_only=True) as session:
        event = session.get(AuditEvent, height)
        assert event is not None
        return event.hash


def run_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "YST_ENVIRONMENT": "development"}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture
def source(backend: str, tmp_path: Path) -> Iterator[Database]:
    # pg_dump and pg_restore come with postgresql-client, which .ci/run installs: required.
    if backend == "postgresql":
        assert shutil.which("pg_dump"), "pg_dump is missing: apt-get install postgresql-client"
    with throwaway_database(backend, tmp_path) as url:
        database = Database.connect(url)
        try:
            yield database
        finally:
            database.dispose()


def backup_while_writing(source: Database, target: Path) -> tuple[int, int, dict[str, Any]]:
    """Run the CLI backup during a write burst; return (max id before, after, writer report)."""
    writer = Writer(source.url)
    try:
        before = max_id(source)
        result = run_cli(source.url, "backup", str(target))
        during = max_id(source)
    finally:
        report = writer.stop()
    assert result.returncode == 0, result.stderr
    assert str(target) in result.stdout
    assert report["errors"] == [], report["errors"][:5]
    assert during > before, "the writer did not keep writing while the backup ran"
    return before, max_id(source), report


def test_backup_taken_during_a_write_burst(source: Database, backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        check_sqlite_copy(source, tmp_path / "backups" / "yishiting.db")
    else:
        check_pg_dump(source, tmp_path / "backups" / "yishiting.dump", tmp_path)


def check_sqlite_copy(source: Database, target: Path) -> None:
    before, after, report = backup_while_writing(source, target)

    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        copied = conn.execute("SELECT max(id), count(*) FROM audit_event").fetchone()
    finally:
        conn.close()
    assert {"audit_event", "alembic_version", "membership"} <= tables
    top, count = copied
    assert before <= top <= after
    assert count == top

    copy = Database.connect(f"sqlite:///{target}")
    try:
        with copy.session(read_only=True) as session:
            verdict = audit.verify_chain(session)
    finally:
        copy.dispose()
    assert verdict.ok, verdict
    assert verdict.head == hash_at(source, top)  # the copy is a prefix of the live chain
    print(f"\nSQLite backup: {top} of {after} events copied; writer wrote {report['written']}")


def check_pg_dump(source: Database, target: Path, tmp_path: Path) -> None:
    pg_restore = shutil.which("pg_restore")
    assert pg_restore, "pg_restore is missing: apt-get install postgresql-client"
    before, after, report = backup_while_writing(source, target)

    assert target.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    listing = subprocess.run(
        [pg_restore, "--list", str(target)], capture_output=True, text=True, check=True
    ).stdout
    assert "TABLE DATA public audit_event" in listing
    assert "TRIGGER public audit_event audit_event_no_change" in listing

    with throwaway_database("postgresql", tmp_path, migrated=False) as restored_url:
        libpq_url = make_url(restored_url).set(drivername="postgresql")
        subprocess.run(
            [
                pg_restore,
                "--exit-on-error",
                "--no-owner",
                "-d",
                libpq_url.render_as_string(hide_password=False),
                str(target),
            ],
            check=True,
            capture_output=True,
        )
        restored = Database.connect(restored_url)
        try:
            top = max_id(restored)
            with restored.session(read_only=True) as session:
                verdict = audit.verify_chain(session)
                count = session.exec(select(func.count()).select_from(AuditEvent)).one()
                newest = session.exec(
                    select(AuditEvent).order_by(col(AuditEvent.id).desc())
                ).first()
            with restored.write_engine.begin() as conn:
                triggers = conn.execute(
                    text("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'audit_event_no_%'")
                ).scalar_one()
        finally:
            restored.dispose()
    assert before <= top <= after
    assert count == top
    assert verdict.ok, verdict
    assert newest is not None
    assert verdict.head == hash_at(source, top)
    assert triggers == 2  # the append-only rules come back with the data
    print(f"\npg_dump: {top} of {after} events in the dump; writer wrote {report['written']}")
