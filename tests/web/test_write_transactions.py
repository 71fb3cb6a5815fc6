"""Where write transactions start (issue #11), on SQLite and PostgreSQL.

- A GET never opens a write transaction: crawling every GET route as every role, no INSERT,
  UPDATE, DELETE or locking read reaches the database, and on SQLite the write engine (whose
  transactions begin IMMEDIATE, taking the database's one write lock) never begins.
- A POST's write transaction starts inside its use case: every write statement, every locking
  read and (SQLite) every BEGIN IMMEDIATE runs with a service function on the stack
  (app/<domain>/service…), never in a dependency or a route before it. The session memo's
  idle-timer write (app/accounts/sessions.flush_touches) runs after the response, and the
  ballot box's writer (app/voting/ballot_box.py) calls its service in its own thread.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event

from app.db import Database
from tests.web.test_route_inventory import (
    ROUTES,
    UNSAFE,
    World,
    build_world,
    crawl_urls,
    fill,
    send,
)

WRITE_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE|BEGIN IMMEDIATE)\b|\bFOR UPDATE\b", re.I)
IN_A_USE_CASE = re.compile(
    r"/app/\w+/service(\.py|/)|/app/accounts/sessions\.py|/app/voting/ballot_box\.py"
)


@pytest.fixture
def inventory(app: FastAPI, db: Database) -> Iterator[World]:
    """The route inventory's world: two halls, every role, an object for every path."""
    yield from build_world(app, db)


@contextmanager
def watching(db: Database) -> Iterator[list[tuple[str, list[str]]]]:
    """Every write statement and write BEGIN, with the app frames on the stack at the time."""
    seen: list[tuple[str, list[str]]] = []

    def app_frames() -> list[str]:
        return [
            f"{f.filename.split('/app/', 1)[-1]}:{f.lineno} {f.name}"
            for f in traceback.extract_stack()
            if "/app/" in f.filename and "/tests/" not in f.filename
        ]

    def on_sql(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if WRITE_SQL.search(statement):
            seen.append((statement.split("\n", 1)[0][:80], app_frames()))

    def on_begin(_conn: Any) -> None:
        seen.append(("BEGIN (write engine)", app_frames()))

    engines = {db.write_engine, db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", on_sql)
    if db.is_sqlite:
        event.listen(db.write_engine, "begin", on_begin)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", on_sql)
        if db.is_sqlite:
            event.remove(db.write_engine, "begin", on_begin)


def test_get_requests_never_open_a_write_transaction(inventory: World) -> None:
    w = inventory
    visited = 0
    with watching(w.db) as seen:
        for key in ROUTES:
            method, template = key
            if method not in {"GET"}:
                continue
            for role in ("chair", "resident", "street", "anon"):
                for url in crawl_urls(w, template, key):
                    for hx in (False, True):
                        response = send(w, role, "GET", url, hx=hx)
                        assert response.status_code < 500, f"{role} GET {url}"
                        visited += 1
    assert visited > 100
    assert seen == [], "\n".join(f"{what} ← {frames[-3:]}" for what, frames in seen)


def test_a_posts_write_transaction_starts_in_its_use_case(inventory: World) -> None:
    w = inventory
    outside: list[str] = []
    wrote = 0
    for key in sorted(k for k in ROUTES if k[0] in UNSAFE):
        method, template = key
        entry = ROUTES[key]
        if "{hall_id}" not in template:
            continue
        objects = {**w.issue_params, **(entry.prepare(w) if entry.prepare else {})}
        url = fill(template, hall_id=w.a.hall.id, membership_id=w.target_a, **objects)
        body = entry.body(w) if entry.body else None
        with watching(w.db) as seen:
            response = send(w, "chair", method, url, body)
        assert response.status_code < 500, f"{method} {url}: {response.status_code}"
        if seen:  # the first write of the request (reads after its commit may follow)
            what, frames = seen[0]
            wrote += 1
            if not any(IN_A_USE_CASE.search("/app/" + frame) for frame in frames):
                outside.append(f"{method} {template}: {what} from {frames[-4:]}")
    assert wrote > 40  # the chair's writes did write
    assert outside == [], "\n".join(outside)
