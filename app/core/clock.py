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
    """Pin the clock (None releases it): tests, and the demo seed dating its history back."""
    global _frozen
    _frozen = at
