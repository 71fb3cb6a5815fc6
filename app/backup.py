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
    args = [
        pg_dump,
        "-Fc",
        "-f",
        str(target),
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
    ]
    if url.username:
        args += ["-U", url.username]
    args.append(url.database or "")
    subprocess.run(args, check=True)  # noqa: S603 - fixed argv, no shell
    return target
