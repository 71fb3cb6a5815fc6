"""Column types shared by the domains."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa


def str_enum(enum: type[StrEnum], length: int = 24) -> sa.Enum:
    """A StrEnum stored as its value in a VARCHAR with a CHECK, never a native PostgreSQL
    enum: adding a member later needs no ALTER TYPE migration (STYLE.md §1.3)."""
    return sa.Enum(
        enum,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


# Every id column and every amount of money in 分 (issue #10 §2; the edge refuses what does
# not fit: app/core/fields.py). BIGINT on PostgreSQL. On SQLite INTEGER is already 64-bit, and
# only an "INTEGER PRIMARY KEY" is the rowid that numbers new rows by itself.
Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
