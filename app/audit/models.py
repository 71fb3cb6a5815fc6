"""The append-only audit trail. Database triggers refuse UPDATE and DELETE."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.types import Int64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    # The height in the chain doubles as the primary key: it is assigned under the writer
    # lock (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), never by a sequence.
    id: int = Field(sa_column=sa.Column(Int64, primary_key=True, autoincrement=False))
    at: datetime
    hall_id: int | None = Field(sa_type=Int64, default=None, foreign_key="hall.id", index=True)
    actor_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    action: str = Field(max_length=64, index=True)
    subject_type: str = Field(max_length=32)
    subject_id: int | None = Field(default=None, sa_type=Int64)
    data: str = Field(sa_type=sa.Text)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
