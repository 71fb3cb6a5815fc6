"""Throwaway databases for tests that must not touch the shared per-backend test database.

Tests that drop triggers, tamper with the audit trail, downgrade the schema or take backups
get a database of their own: an SQLite file under tmp_path, or a fresh PostgreSQL database
created (and dropped with FORCE afterwards) the way tests/conftest.py does it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from app.__main__ import migrate


@contextmanager
def throwaway_database(backend: str, directory: Path, *, migrated: bool = True) -> Iterator[str]:
    """Yield the URL of an empty (or freshly migrated) database of `backend`."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / f'throwaway_{secrets.token_hex(3)}.db'}"
        if migrated:
            migrate(url)
        yield url
        return
    # here, so spawned children need not import pytest's conftest
    from tests.conftest import PG_ADMIN, pg_database_url

    name = f"yst_tmp_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = pg_database_url(name)
        if migrated:
            migrate(url)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
