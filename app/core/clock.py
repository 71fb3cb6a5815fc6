"""The clock, in one place so that deadline and timeout tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Current time, timezone-aware UTC (SQLModel stores and returns UTC on both databases)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Pin the clock (None releases it): tests, and the demo seed dating its history back.
    Held in UTC whatever zone `at` is given in, as `now()` promises: a time hashed into the
    audit chain must read back the same from the database."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("the clock is timezone-aware")
    _frozen = at.astimezone(UTC) if at is not None else None
