"""Online backups: the SQLite backup API (never a file copy of a live database) or pg_dump."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


def backup(database_url: str, target: Path) -> Path:
    """Write a consistent copy of the live database to `target` and return its path.

    SQLite: sqlite3.Connection.backup() copies pages under SQLite's own locks, so writers may
    keep going (SECURITY.md DATA-08). PostgreSQL: pg_dump in custom format.
    """
    url = make_url(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The copy holds everyone's personal data: readable by the service account only.
    target.touch(mode=0o600, exist_ok=True)
    os.chmod(target, 0o600)
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(url.database or "")
        dest = sqlite3.connect(target)
        try:
            with dest:
                source.backup(dest)
            result = dest.execute("PRAGMA integrity_check").fetchone()
            if result is None or result[0] != "ok":
                raise RuntimeError(f"backup integrity check failed: {result}")
        finally:
            dest.close()
            source.close()
        return target
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise RuntimeError("pg_dump is not installed")
    # The whole libpq URL as --dbname: host, port, user and query (e.g. `?host=/run/socket`)
    # reach pg_dump as the app uses them; the password goes through the environment, not argv.
    libpq = url.set(drivername="postgresql", password=None)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    args = [pg_dump, "-Fc", "-f", str(target), "--dbname", libpq.render_as_string()]
    subprocess.run(args, check=True, env=env)  # noqa: S603 - fixed argv, no shell
    return target
