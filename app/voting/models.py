"""民决: ballots, their frozen electorate, votes from every channel, the ledger, 决议 and 异议.

Every row carries its hall, and composite foreign keys keep each row inside its ballot and its
hall: a vote for another hall's ballot, roll entry or option cannot be stored at all (AUTHZ-02).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.types import Int64, str_enum
from app.issues.models import Scope
from app.voting.rules import RuleKind
from app.voting.rules import VoterUnit as VoterUnit  # defined with the rules it serves


class BallotStatus(StrEnum):
    DRAFT = "draft"  # 草稿: everything may still change
    OPEN = "open"  # 投票中: the electorate is frozen
    CLOSED = "closed"  # 已截止: the result is frozen
    PUBLISHED = "published"  # 已公布


class OptionsKind(StrEnum):
    YES_NO = "yes_no"  # 同意 / 反对 / 弃权
    SOLUTIONS = "solutions"  # one of the 方案


class Channel(StrEnum):
    PHONE = "phone"  # 手机投票
    IN_PERSON = "in_person"  # 现场表决, entered by the chair
    PAPER = "paper"  # 纸质票, entered by a 计票人 and confirmed by a 监票人


class Duty(StrEnum):
    COUNTER = "counter"  # 计票人
    SCRUTINEER = "scrutineer"  # 监票人


class PaperResult(StrEnum):
    VOTE = "vote"  # a valid ballot with one choice
    BLANK = "blank"  # 空白票
    INVALID = "invalid"  # 无效票 (two choices ticked, defaced …)


class PaperStatus(StrEnum):
    PENDING = "pending"  # entered, awaiting the 监票人
    CONFIRMED = "confirmed"
    REJECTED = "rejected"  # the 监票人 disagreed: enter it again


class LedgerKind(StrEnum):
    OPEN = "open"
    CAST = "cast"
    RECAST = "recast"
    IN_PERSON = "in_person"
    PAPER = "paper"
    VOID = "void"
    CLOSE = "close"


class Ballot(SQLModel, table=True):
    __tablename__ = "ballot"
    __table_args__ = (
        sa.UniqueConstraint("id", "hall_id"),
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
        sa.ForeignKeyConstraint(
            ["meeting_id", "hall_id"], ["meeting.id", "meeting.hall_id"], name="fk_ballot_meeting"
        ),
        sa.CheckConstraint("height >= 0", name="height_non_negative"),
        sa.CheckConstraint(
            "quorum_num > 0 AND quorum_den > 0 AND quorum_num <= quorum_den", name="quorum_share"
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    issue_id: int = Field(sa_type=Int64, index=True)
    title: str = Field(max_length=80)
    rule: RuleKind = Field(sa_type=str_enum(RuleKind))
    quorum_num: int = 2  # council and representatives' quorum, configurable
    quorum_den: int = 3
    voter_unit: VoterUnit = Field(sa_type=str_enum(VoterUnit))
    options_kind: OptionsKind = Field(default=OptionsKind.YES_NO, sa_type=str_enum(OptionsKind))
    subject_solution_id: int | None = Field(sa_type=Int64, default=None, foreign_key="solution.id")
    scope: Scope = Field(default=Scope.HALL, sa_type=str_enum(Scope))
    scope_building_id: int | None = Field(sa_type=Int64, default=None, foreign_key="building.id")
    scope_entrance_id: int | None = Field(sa_type=Int64, default=None, foreign_key="entrance.id")
    secret: bool = True  # 无记名; False = 记名 (needs the consent notice)
    live_results: bool = False  # show the split while open (else only turnout)
    status: BallotStatus = Field(
        default=BallotStatus.DRAFT, sa_type=str_enum(BallotStatus), index=True
    )
    created_by_id: int = Field(sa_type=Int64, foreign_key="user.id")
    created_at: datetime = Field(default_factory=clock.now)
    closes_at: datetime | None = None  # planned close, shown to voters
    # Those on the roll who have not voted are reminded this many hours before closes_at
    # (0: no reminder; issue #14), once: reminded_at is set by the job that sends it.
    remind_before_hours: int = Field(default=24, sa_column_kwargs={"server_default": "24"})
    reminded_at: datetime | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    published_at: datetime | None = None
    # Frozen at open (VOTE-05): a sha256 over the canonical roll, its size and total area.
    roll_hash: str | None = Field(default=None, max_length=64)
    roll_count: int = 0
    roll_area_centi_m2: int = 0
    # The ledger's head, moved in the same transaction as each event.
    height: int = 0
    head_hash: str | None = Field(default=None, max_length=64)
    # The key of this ballot's pseudonymous voter references on the public ledger.
    ref_key: str = Field(max_length=64)
    # Frozen at close (VOTE-11): the outcome as canonical JSON, and whether it passed.
    result: str | None = Field(default=None, sa_type=sa.Text)
    passed: bool | None = None
    # The meeting this vote was held at: its sign-in is the ballot's attendance (实到), and its
    # time and place are the ballot's. `meeting_note` is what ballots before meetings said.
    meeting_id: int | None = Field(sa_type=Int64, default=None, index=True)
    meeting_note: str = Field(default="", max_length=200)


class BallotOption(SQLModel, table=True):
    __tablename__ = "ballot_option"
    __table_args__ = (
        sa.UniqueConstraint("ballot_id", "code"),
        sa.UniqueConstraint("id", "ballot_id"),
        sa.ForeignKeyConstraint(["ballot_id", "hall_id"], ["ballot.id", "ballot.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    ballot_id: int = Field(sa_type=Int64, index=True)
    position: int
    code: str = Field(max_length=16)  # yes / no / abstain, or s<solution id>
    label: str = Field(max_length=80)
    solution_id: int | None = Field(sa_type=Int64, default=None, foreign_key="solution.id")


class BallotOfficer(SQLModel, table=True):
    """计票人 and 监票人 of one ballot's paper count."""

    __tablename__ = "ballot_officer"
    __table_args__ = (
        sa.UniqueConstraint("ballot_id", "user_id", "duty"),
        sa.ForeignKeyConstraint(["ballot_id", "hall_id"], ["ballot.id", "ballot.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    ballot_id: int = Field(sa_type=Int64, index=True)
    user_id: int = Field(sa_type=Int64, foreign_key="user.id", index=True)
    duty: Duty = Field(sa_type=str_enum(Duty))


class RollEntry(SQLModel, table=True):
    """One voter of the electorate frozen at open: a person, a 户 or an owner (with area)."""

    __tablename__ = "ballot_roll"
    __table_args__ = (
        sa.UniqueConstraint("ballot_id", "voter_key"),
        sa.UniqueConstraint("id", "ballot_id"),
        sa.ForeignKeyConstraint(["ballot_id", "hall_id"], ["ballot.id", "ballot.hall_id"]),
        sa.CheckConstraint("weight_centi_m2 >= 0", name="weight_non_negative"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    ballot_id: int = Field(sa_type=Int64, index=True)
    voter_key: str = Field(max_length=40)  # u:<user>, h:<household>, o:<owner group>
    label: str = Field(max_length=120)  # "3号楼2单元501" / a name: shown to the chair only
    masked_label: str = Field(max_length=120)  # "3号楼2单元5**": what officers see (PRIV-02)
    sort_key: str = Field(default="", max_length=120)
    weight_centi_m2: int = 0
    units: int = 1
    present: bool = False  # attendance at a meeting (meeting rules)


class RollCaster(SQLModel, table=True):
    """Who may cast a roll entry's vote on the phone: the person, the 户's members, the owners."""

    __tablename__ = "ballot_roll_caster"
    __table_args__ = (
        sa.UniqueConstraint("ballot_id", "user_id"),
        sa.ForeignKeyConstraint(
            ["roll_id", "ballot_id"], ["ballot_roll.id", "ballot_roll.ballot_id"]
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    ballot_id: int = Field(sa_type=Int64, index=True)
    roll_id: int = Field(sa_type=Int64, index=True)
    user_id: int = Field(sa_type=Int64, foreign_key="user.id")


class Vote(SQLModel, table=True):
    """Every vote ever cast. Re-voting inserts a row and retires the old one (VOTE-02): the
    partial unique index keeps exactly one current vote per voter, whatever the channel."""

    __tablename__ = "vote"
    __table_args__ = (
        sa.ForeignKeyConstraint(["ballot_id", "hall_id"], ["ballot.id", "ballot.hall_id"]),
        sa.ForeignKeyConstraint(
            ["roll_id", "ballot_id"], ["ballot_roll.id", "ballot_roll.ballot_id"]
        ),
        sa.ForeignKeyConstraint(
            ["option_id", "ballot_id"], ["ballot_option.id", "ballot_option.ballot_id"]
        ),
        sa.Index(
            "uq_vote_current",
            "ballot_id",
            "roll_id",
            unique=True,
            sqlite_where=sa.text("is_current"),
            postgresql_where=sa.text("is_current"),
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    ballot_id: int = Field(sa_type=Int64, index=True)
    roll_id: int = Field(sa_type=Int64, index=True)
    option_id: int = Field(sa_type=Int64)
    channel: Channel = Field(sa_type=str_enum(Channel))
    cast_by_id: int = Field(
        sa_type=Int64, foreign_key="user.id"
    )  # the voter, the chair or the 计票人
    confirmed_by_id: int | None = Field(
        sa_type=Int64, default=None, foreign_key="user.id"
    )  # the 监票人
    cast_at: datetime = Field(default_factory=clock.now)
    submission_id: str = Field(max_length=36, unique=True)  # idempotency key (VOTE-04)
    receipt: str = Field(max_length=12, unique=True)
    is_current: bool = True
    superseded_at: datetime | None = None
    voided_at: datetime | None = None
    voided_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    void_reason: str | None = Field(default=None, max_length=200)


class LedgerEvent(SQLModel, table=True):
    """The per-ballot hash chain (VOTE-07). Triggers refuse UPDATE and DELETE."""

    __tablename__ = "ballot_ledger"
    __table_args__ = (
        sa.ForeignKeyConstraint(["ballot_id", "hall_id"], ["ballot.id", "ballot.hall_id"]),
    )

    ballot_id: int = Field(sa_type=Int64, primary_key=True)
    height: int = Field(primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    kind: LedgerKind = Field(sa_type=str_enum(LedgerKind))
    at: datetime
    body: str = Field(sa_type=sa.Text)  # canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
    receipt: str | None = Field(default=None, max_length=12, unique=True)


class PaperBallot(SQLModel, table=True):
    """A printed ballot for one voter, with its unique code (and QR)."""

    __tablename__ = "paper_ballot"
    __table_args__ = (
        sa.UniqueConstraint("ballot_id", "roll_id"),
        sa.UniqueConstraint("id", "ballot_id"),
        sa.ForeignKeyConstraint(["ballot_id", "hall_id"], ["ballot.id", "ballot.hall_id"]),
        sa.ForeignKeyConstraint(
            ["roll_id", "ballot_id"], ["ballot_roll.id", "ballot_roll.ballot_id"]
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    ballot_id: int = Field(sa_type=Int64, index=True)
    roll_id: int = Field(sa_type=Int64)
    code: str = Field(max_length=12, unique=True)
    issued_at: datetime = Field(default_factory=clock.now)
    issued_by_id: int = Field(sa_type=Int64, foreign_key="user.id")


class PaperEntry(SQLModel, table=True):
    """A returned paper ballot as the 计票人 read it; counted once a different 监票人 confirms."""

    __tablename__ = "paper_entry"
    __table_args__ = (
        sa.ForeignKeyConstraint(["ballot_id", "hall_id"], ["ballot.id", "ballot.hall_id"]),
        sa.ForeignKeyConstraint(
            ["paper_id", "ballot_id"], ["paper_ballot.id", "paper_ballot.ballot_id"]
        ),
        sa.ForeignKeyConstraint(
            ["option_id", "ballot_id"], ["ballot_option.id", "ballot_option.ballot_id"]
        ),
        # One live reading per paper: a rejected entry may be entered again.
        sa.Index(
            "uq_paper_entry_live",
            "paper_id",
            unique=True,
            sqlite_where=sa.text("status != 'rejected'"),
            postgresql_where=sa.text("status != 'rejected'"),
        ),
        sa.CheckConstraint(
            "confirmed_by_id IS NULL OR confirmed_by_id != entered_by_id", name="two_officers"
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    ballot_id: int = Field(sa_type=Int64, index=True)
    paper_id: int = Field(sa_type=Int64, index=True)
    result: PaperResult = Field(sa_type=str_enum(PaperResult))
    option_id: int | None = Field(default=None, sa_type=Int64)
    status: PaperStatus = Field(default=PaperStatus.PENDING, sa_type=str_enum(PaperStatus))
    entered_by_id: int = Field(sa_type=Int64, foreign_key="user.id")
    entered_at: datetime = Field(default_factory=clock.now)
    confirmed_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    confirmed_at: datetime | None = None
    vote_id: int | None = Field(sa_type=Int64, default=None, foreign_key="vote.id")
    submission_id: str = Field(max_length=36, unique=True)


class Resolution(SQLModel, table=True):
    """决议: what closing a ballot (or recording a consensus) decided."""

    __tablename__ = "resolution"
    __table_args__ = (
        sa.UniqueConstraint("id", "hall_id"),
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
        sa.ForeignKeyConstraint(["ballot_id", "hall_id"], ["ballot.id", "ballot.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    issue_id: int = Field(sa_type=Int64, index=True)
    ballot_id: int = Field(sa_type=Int64, unique=True)
    passed: bool
    text: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=clock.now)
    head_hash: str | None = Field(default=None, max_length=64)
    publicity_starts_at: datetime | None = None
    publicity_ends_at: datetime | None = None


class Objection(SQLModel, table=True):
    """异议 raised during 公示, each answered by the chair (upheld sends the issue back)."""

    __tablename__ = "objection"
    __table_args__ = (
        sa.ForeignKeyConstraint(["issue_id", "hall_id"], ["issue.id", "issue.hall_id"]),
        sa.ForeignKeyConstraint(
            ["resolution_id", "hall_id"], ["resolution.id", "resolution.hall_id"]
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    issue_id: int = Field(sa_type=Int64, index=True)
    resolution_id: int = Field(sa_type=Int64, index=True)
    author_id: int = Field(sa_type=Int64, foreign_key="user.id")
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=clock.now)
    answer: str | None = Field(default=None, sa_type=sa.Text)
    upheld: bool | None = None
    answered_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    answered_at: datetime | None = None
