"""民评: evaluation rounds and answers (issue #13; the arithmetic is app.evaluations.rules).

- A round is opened by the chair when all of the issue's tasks are done; it runs for the
  hall's evaluation window (`ends_at`). Round numbers count from 1 per issue (UNIQUE); at most
  one round of an issue is open at a time (partial unique index on closed_at IS NULL).
- The hall's 基本满意 weight and reopen threshold are copied onto the round when it opens, so a
  later change of the settings does not change a round's result.
- One answer per person per round (UNIQUE (round_id, user_id)), whether given on a phone or
  entered from a paper form by a recorder (`source`, `entered_by_id`).
- The round's counts (`valid`, `satisfied` …) are kept in step with its answers in the same
  transaction, as an issue's co-sign count is: the page, the API and 三率 read them instead of
  counting answers (100,000 evaluations in ≤ 100 ms, bench/rates.py).
- `outcome` is set when the round closes: `closed` (已办结) or `reopened` (back to 民办).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.types import Int64, str_enum


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASIC = "basic"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意


class AnswerSource(StrEnum):
    PHONE = "phone"  # the resident on their own phone
    PAPER = "paper"  # a printed evaluation form entered by a recorder


class RoundOutcome(StrEnum):
    CLOSED = "closed"  # 已办结
    REOPENED = "reopened"  # 重新办理


class EvaluationRound(SQLModel, table=True):
    __tablename__ = "evaluation_round"
    __table_args__ = (
        sa.UniqueConstraint("id", "hall_id"),
        sa.UniqueConstraint("issue_id", "number"),
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
        sa.Index(
            "uq_evaluation_round_open",
            "issue_id",
            unique=True,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        ),
        sa.CheckConstraint("number >= 1", name="number_positive"),
        sa.CheckConstraint("ends_at > opened_at", name="ends_after_open"),
        sa.CheckConstraint(
            "weight_den >= 1 AND weight_num >= 0 AND weight_num <= weight_den", name="weight_01"
        ),
        sa.CheckConstraint(
            "threshold_den >= 1 AND threshold_num >= 0 AND threshold_num < threshold_den",
            name="threshold_01",
        ),
        sa.CheckConstraint(
            "valid = satisfied + basic + dissatisfied AND satisfied >= 0 AND basic >= 0"
            " AND dissatisfied >= 0 AND resolved_yes >= 0 AND resolved_no >= 0",
            name="counts_add_up",
        ),
        sa.Index("ix_evaluation_round_closed", "hall_id", "closed_at"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    issue_id: int = Field(sa_type=Int64, index=True)
    number: int = 1
    opened_at: datetime = Field(default_factory=clock.now)
    opened_by_id: int = Field(sa_type=Int64, foreign_key="user.id")
    ends_at: datetime
    closed_at: datetime | None = None
    closed_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    outcome: RoundOutcome | None = Field(default=None, sa_type=str_enum(RoundOutcome))
    weight_num: int = 9
    weight_den: int = 10
    threshold_num: int = 1
    threshold_den: int = 3
    # Raw counts, kept in step with the answers in the same transaction.
    answers: int = 0  # every answer, valid or not
    valid: int = 0  # answers with a satisfaction choice
    satisfied: int = 0
    basic: int = 0
    dissatisfied: int = 0
    resolved_yes: int = 0
    resolved_no: int = 0


class EvaluationAnswer(SQLModel, table=True):
    __tablename__ = "evaluation_answer"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "user_id"),  # one per person per round
        sa.ForeignKeyConstraint(
            ["round_id", "hall_id"], ["evaluation_round.id", "evaluation_round.hall_id"]
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    round_id: int = Field(sa_type=Int64, index=True)
    user_id: int = Field(sa_type=Int64, foreign_key="user.id", index=True)
    satisfaction: Satisfaction | None = Field(default=None, sa_type=str_enum(Satisfaction))
    resolved: bool | None = None  # 是否解决 (a paper form may leave it blank)
    comment: str = Field(default="", sa_type=sa.Text)
    source: AnswerSource = Field(default=AnswerSource.PHONE, sa_type=str_enum(AnswerSource))
    entered_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=clock.now)
