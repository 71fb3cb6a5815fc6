"""Issues (议题) and what residents do with them in 民提 and 民议."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.types import Int64, str_enum
from app.issues.lifecycle import Stage


class Category(StrEnum):
    """DOMAIN.md §7.2."""

    PARKING = "parking"  # 停车管理
    EBIKE = "ebike"  # 电动自行车充电
    ELEVATOR = "elevator"  # 加装电梯 / 电梯更新
    PROPERTY = "property"  # 物业服务
    SANITATION = "sanitation"  # 环境卫生 / 垃圾分类
    GREENING = "greening"  # 绿化与公共空间
    HEATING = "heating"  # 供暖/水电气
    ELDERLY = "elderly"  # 养老助老
    SAFETY = "safety"  # 安全隐患
    BUILDING = "building"  # 房屋与设施维修
    PETS = "pets"  # 文明养犬
    NEIGHBOURHOOD = "neighbourhood"  # 邻里纠纷
    ILLEGAL_BUILD = "illegal_build"  # 违法建设 / 开墙打洞
    CONVENTION = "convention"  # 居民公约 / 自治章程
    OTHER = "other"  # 其他


class Scope(StrEnum):
    """Who may co-sign now and who votes later."""

    HALL = "hall"  # the whole community
    BUILDING = "building"  # one 楼栋
    ENTRANCE = "entrance"  # one 单元 (加装电梯 is decided per entrance)


class Source(StrEnum):
    RESIDENT = "resident"  # proposed in the app
    PAPER = "paper"  # 意见箱 / a written proposal, entered by the chair
    PHONE = "phone"  # a phone call to the 居委会
    HOTLINE = "hotline"  # a 12345 work order (工单号 recorded)


class Stance(StrEnum):
    SUPPORT = "support"  # 支持
    OPPOSE = "oppose"  # 反对
    SUGGEST = "suggest"  # 建议
    NEUTRAL = "neutral"  # 中立


# The Issue column that counts visible comments of each stance.
STANCE_COUNT_COLUMN = {
    Stance.SUPPORT: "support_count",
    Stance.OPPOSE: "oppose_count",
    Stance.SUGGEST: "suggest_count",
    Stance.NEUTRAL: "neutral_count",
}


class Issue(SQLModel, table=True):
    __tablename__ = "issue"
    __table_args__ = (
        sa.UniqueConstraint("id", "hall_id"),
        sa.CheckConstraint("cosign_count >= 0", name="cosign_count_non_negative"),
        # The hall home: counts per stage from the index alone, co-signable issues in id order.
        sa.Index("ix_issue_hall_stage", "hall_id", "stage", "id"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    title: str = Field(max_length=60)
    description: str = Field(sa_type=sa.Text)
    category: Category = Field(sa_type=str_enum(Category))
    scope: Scope = Field(default=Scope.HALL, sa_type=str_enum(Scope))
    scope_building_id: int | None = Field(sa_type=Int64, default=None, foreign_key="building.id")
    scope_entrance_id: int | None = Field(sa_type=Int64, default=None, foreign_key="entrance.id")
    location: str = Field(default="", max_length=100)
    # Only issues.service.advance_issue_stage assigns this (a test greps for other writers).
    stage: Stage = Field(default=Stage.COLLECTING, sa_type=str_enum(Stage), index=True)
    proposer_id: int = Field(sa_type=Int64, foreign_key="user.id", index=True)
    source: Source = Field(default=Source.RESIDENT, sa_type=str_enum(Source))
    work_order_no: str | None = Field(default=None, max_length=40)  # 12345 工单号
    entered_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    cosign_count: int = 0  # kept in step with the cosign rows in the same transaction
    comment_count: int = 0
    # Visible (not hidden) top comments per stance (a reply takes none), kept in step by the comment service in the
    # same transaction (add, hide, restore): the issue page reads them instead of counting.
    support_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    oppose_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    suggest_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    neutral_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=clock.now, index=True)
    stage_changed_at: datetime = Field(default_factory=clock.now)
    review_due_at: datetime | None = None
    # When the chair answered the proposal (受理 / 不予受理 / 合并): the hall's 响应率 counts
    # reviewed_at <= review_due_at (三率, issue #13).
    reviewed_at: datetime | None = None
    deliberation_deadline: datetime | None = None
    merged_into_id: int | None = Field(sa_type=Int64, default=None, foreign_key="issue.id")
    # Character bigrams of title and description: full-text search that works for Chinese
    # on both SQLite FTS5 and PostgreSQL (issues.search).
    search_text: str = Field(default="", sa_type=sa.Text)


class StageEvent(SQLModel, table=True):
    """One step of the visible timeline: who moved the issue, when, and why."""

    __tablename__ = "issue_stage_event"
    __table_args__ = (
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    issue_id: int = Field(sa_type=Int64, index=True)
    from_stage: Stage | None = Field(default=None, sa_type=str_enum(Stage))
    to_stage: Stage = Field(sa_type=str_enum(Stage))
    actor_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    note: str = Field(default="", sa_type=sa.Text)
    at: datetime = Field(default_factory=clock.now)


class IssuePhoto(SQLModel, table=True):
    """A re-encoded photo (no EXIF, no GPS), kept in the database so backups include it."""

    __tablename__ = "issue_photo"
    __table_args__ = (
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    issue_id: int = Field(sa_type=Int64, index=True)
    content_type: str = Field(max_length=20)
    data: bytes = Field(sa_type=sa.LargeBinary)
    width: int
    height: int
    created_at: datetime = Field(default_factory=clock.now)


class Cosign(SQLModel, table=True):
    """附议: one per person and issue, enforced by the database."""

    __tablename__ = "cosign"
    __table_args__ = (
        sa.UniqueConstraint("issue_id", "user_id"),
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    issue_id: int = Field(sa_type=Int64, index=True)
    user_id: int = Field(sa_type=Int64, foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=clock.now)


class Comment(SQLModel, table=True):
    __tablename__ = "comment"
    __table_args__ = (
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
        # Every comment query names the hall, the issue and the thread level (and reads in id
        # order): led by hall_id, SQLite picks this index over the hall_id one without stats.
        sa.Index("ix_comment_issue_thread", "hall_id", "issue_id", "parent_id", "id"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    issue_id: int = Field(sa_type=Int64)
    parent_id: int | None = Field(
        sa_type=Int64, default=None, foreign_key="comment.id"
    )  # one level of replies
    author_id: int = Field(sa_type=Int64, foreign_key="user.id", index=True)
    stance: Stance = Field(default=Stance.NEUTRAL, sa_type=str_enum(Stance))
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=clock.now)
    edited_at: datetime | None = None
    hidden_at: datetime | None = None
    hidden_reason: str | None = Field(default=None, max_length=200)
    hidden_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")


class CommentReport(SQLModel, table=True):
    __tablename__ = "comment_report"
    __table_args__ = (sa.UniqueConstraint("comment_id", "reporter_id"),)

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    comment_id: int = Field(sa_type=Int64, foreign_key="comment.id", index=True)
    reporter_id: int = Field(sa_type=Int64, foreign_key="user.id")
    reason: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=clock.now)
    resolved_at: datetime | None = None


class Solution(SQLModel, table=True):
    """方案: a proposed solution; those the chair selects become the ballot options in 民决."""

    __tablename__ = "solution"
    __table_args__ = (
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
        sa.CheckConstraint(
            "estimated_cost_fen IS NULL OR estimated_cost_fen >= 0", name="cost_non_negative"
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    issue_id: int = Field(sa_type=Int64, index=True)
    author_id: int = Field(sa_type=Int64, foreign_key="user.id")
    title: str = Field(max_length=60)
    description: str = Field(sa_type=sa.Text)
    estimated_cost_fen: int | None = Field(default=None, sa_type=Int64)  # in 分, exact
    selected: bool = False  # goes to the decision (set when deliberation closes)
    created_at: datetime = Field(default_factory=clock.now)


class ConsultationOpinion(SQLModel, table=True):
    """协商意见: how the chair closed deliberation, one per round (an issue sent back to 民议 by
    a failed vote or an upheld 异议 is closed again with a new one; the latest is current)."""

    __tablename__ = "consultation_opinion"
    __table_args__ = (
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    issue_id: int = Field(sa_type=Int64, index=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    agreements: str = Field(sa_type=sa.Text)
    disagreements: str = Field(sa_type=sa.Text)  # points of disagreement and how they were answered
    author_id: int = Field(sa_type=Int64, foreign_key="user.id")
    created_at: datetime = Field(default_factory=clock.now)


class Notification(SQLModel, table=True):
    """A notice in the bell (app.issues.notices): about an issue, a meeting of the hall (kept
    in the hall by the composite key), or an escalation (by its issue)."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.Index("ix_notification_user_unread", "user_id", "read_at"),
        sa.ForeignKeyConstraint(
            ["meeting_id", "hall_id"],
            ["meeting.id", "meeting.hall_id"],
            name="fk_notification_meeting",
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    user_id: int = Field(sa_type=Int64, foreign_key="user.id")
    issue_id: int | None = Field(sa_type=Int64, default=None, foreign_key="issue.id")
    meeting_id: int | None = Field(sa_type=Int64, default=None, index=True)
    kind: str = Field(max_length=40)
    text: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=clock.now)
    read_at: datetime | None = None
