"""The append-only audit trail. Database triggers refuse UPDATE and DELETE."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    # The height in the chain doubles as the primary key: it is assigned under the writer
    # lock (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), never by a sequence.
    id: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    at: datetime
    hall_id: int | None = Field(default=None, foreign_key="hall.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=64, index=True)
    subject_type: str = Field(max_length=32)
    subject_id: int | None = None
    data: str = Field(sa_type=sa.Text)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
