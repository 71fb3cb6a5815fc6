"""The lease of each periodic job: who runs it now, and what its runs left behind."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class JobLease(SQLModel, table=True):
    """One row per job name (made on its first tick). `holder` is the random token of the
    process running it, until `leased_until` (after which a crashed holder's lease is taken
    over); both are empty between runs. `last_started_at` decides whether it is due again."""

    __tablename__ = "job_lease"

    name: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    holder: str | None = Field(default=None, max_length=64)
    leased_until: datetime | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_count: int | None = None
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    runs: int = 0
