"""The clock, in one place so that deadline and timeout tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Current UTC time, naive (stored as UTC in both databases)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC).replace(tzinfo=None)


def freeze(at: datetime | None) -> None:
    """Tests only: pin the clock (None releases it)."""
    global _frozen
    _frozen = at
