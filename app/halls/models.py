"""Street → hall → building → entrance → household, and the people who belong to a hall."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.types import Int64, str_enum


class Role(StrEnum):
    RESIDENT = "resident"  # 居民
    RESIDENT_REP = "resident_rep"  # 居民代表
    COUNCIL = "council"  # 议事会成员
    CHAIR = "chair"  # 主持人 (居委会主任 / 书记)
    RECORDER = "recorder"  # 记录员
    PROPERTY_REP = "property_rep"  # 物业代表
    OWNERS_COMMITTEE_REP = "owners_committee_rep"  # 业委会代表
    UNIT_REP = "unit_rep"  # 驻区单位代表
    DEPARTMENT_REP = "department_rep"  # 职能部门代表
    OBSERVER = "observer"  # 列席: 人大代表 / 政协委员


class Relation(StrEnum):
    OWNER = "owner"  # 业主
    TENANT = "tenant"  # 租户
    FAMILY = "family"  # 家庭成员
    NONE = "none"  # no household (物业, 部门 representatives …)


class MembershipStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Street(SQLModel, table=True):
    __tablename__ = "street"

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    district: str = Field(max_length=40)  # 区
    name: str = Field(max_length=60, unique=True)  # 街道
    # 三率 (DOMAIN.md §5.4; issue #13): the weights of 响应率 / 解决率 / 满意率 in the combined
    # score, in whole percent (default 10 / 45 / 45, Beijing's often-quoted weighting), and the
    # 基本满意 coefficient of the street's 满意率 (default 9/10, the 12345 convention).
    rate_weight_response: int = Field(default=10, sa_column_kwargs={"server_default": "10"})
    rate_weight_resolution: int = Field(default=45, sa_column_kwargs={"server_default": "45"})
    rate_weight_satisfaction: int = Field(default=45, sa_column_kwargs={"server_default": "45"})
    basic_satisfied_weight_num: int = Field(default=9, sa_column_kwargs={"server_default": "9"})
    basic_satisfied_weight_den: int = Field(default=10, sa_column_kwargs={"server_default": "10"})


class PropertyCompany(SQLModel, table=True):
    """A 物业公司 serving one or more halls of the street (三率 per company)."""

    __tablename__ = "property_company"
    __table_args__ = (sa.UniqueConstraint("street_id", "name"),)

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    street_id: int = Field(sa_type=Int64, foreign_key="street.id", index=True)
    name: str = Field(max_length=60)


class Hall(SQLModel, table=True):
    """A 社区议事厅, with the rules DOMAIN.md §8 says must be configurable per community."""

    __tablename__ = "hall"

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    street_id: int = Field(sa_type=Int64, foreign_key="street.id", index=True)
    name: str = Field(max_length=60)
    address: str = Field(default="", max_length=120)
    invite_token: str = Field(max_length=64, unique=True)
    invite_expires_at: datetime
    created_at: datetime = Field(default_factory=clock.now)
    property_company_id: int | None = Field(
        sa_type=Int64, default=None, foreign_key="property_company.id", index=True
    )

    # Settings (DOMAIN.md §8). Fractions are kept as integers so no rule rounds.
    cosign_threshold: int = 10  # co-signatures that send a proposal to review
    review_sla_days: int = 5  # the chair answers a proposal within this many days
    meeting_notice_days: int = 3  # notice before a 协商 meeting
    council_quorum_num: int = 2  # 议事会 quorum, as a fraction of members: 2/3
    council_quorum_den: int = 3
    publicity_days: int = 7  # 公示 period
    evaluation_window_days: int = 14  # 民评 stays open this long
    # 民评 (app.evaluations.rules): 基本满意 counts num/den of a 满意 (in [0, 1]; default 9/10,
    # the 12345 convention of DOMAIN.md §5.4), and the issue reopens when 不满意 is more than
    # num/den of the valid answers (in [0, 1); default 1/3).
    basic_satisfied_weight_num: int = 9
    basic_satisfied_weight_den: int = 10
    reopen_threshold_num: int = 1
    reopen_threshold_den: int = 3
    # The 居委会's public number, printed whole on the 公示 ("" for none): one the chair chose to
    # publish, unlike the chair's own login number (issue #14).
    office_phone: str = Field(default="", max_length=20, sa_column_kwargs={"server_default": ""})


class Building(SQLModel, table=True):
    __tablename__ = "building"
    __table_args__ = (sa.UniqueConstraint("hall_id", "name"), sa.UniqueConstraint("id", "hall_id"))

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    name: str = Field(max_length=20)  # 3号楼
    sort_key: int = 0


class Entrance(SQLModel, table=True):
    __tablename__ = "entrance"
    __table_args__ = (
        sa.UniqueConstraint("building_id", "name"),
        sa.UniqueConstraint("id", "hall_id"),
        sa.ForeignKeyConstraint(["building_id", "hall_id"], ["building.id", "building.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    building_id: int = Field(sa_type=Int64, index=True)
    name: str = Field(max_length=20)  # 2单元
    sort_key: int = 0


class Household(SQLModel, table=True):
    """A 户: one dwelling. Floor area in integer hundredths of m² (民法典 278 counts by area)."""

    __tablename__ = "household"
    __table_args__ = (
        sa.UniqueConstraint("entrance_id", "room"),
        sa.UniqueConstraint("id", "hall_id"),
        sa.ForeignKeyConstraint(["entrance_id", "hall_id"], ["entrance.id", "entrance.hall_id"]),
        sa.CheckConstraint("area_centi_m2 IS NULL OR area_centi_m2 > 0", name="area_positive"),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    entrance_id: int = Field(sa_type=Int64, index=True)
    room: str = Field(max_length=12)  # 501
    area_centi_m2: int | None = None


class Membership(SQLModel, table=True):
    """A person's place in one hall. A person may belong to several halls, once each."""

    __tablename__ = "membership"
    __table_args__ = (
        sa.UniqueConstraint("hall_id", "user_id"),
        sa.UniqueConstraint("id", "hall_id"),
        # The household must be in the same hall: the database refuses a cross-hall link.
        sa.ForeignKeyConstraint(["household_id", "hall_id"], ["household.id", "household.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    user_id: int = Field(sa_type=Int64, foreign_key="user.id", index=True)
    household_id: int | None = Field(sa_type=Int64, default=None, index=True)
    relation: Relation = Field(default=Relation.NONE, sa_type=str_enum(Relation))
    status: MembershipStatus = Field(
        default=MembershipStatus.PENDING, sa_type=str_enum(MembershipStatus), index=True
    )
    reject_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=clock.now)
    decided_at: datetime | None = None
    decided_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")
    # Set when the chair entered this member on their behalf (代录) or from a roster.
    entered_by_id: int | None = Field(sa_type=Int64, default=None, foreign_key="user.id")


class MembershipRole(SQLModel, table=True):
    __tablename__ = "membership_role"
    __table_args__ = (
        sa.UniqueConstraint("membership_id", "role"),
        sa.ForeignKeyConstraint(
            ["membership_id", "hall_id"], ["membership.id", "membership.hall_id"]
        ),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    membership_id: int = Field(sa_type=Int64, index=True)
    role: Role = Field(sa_type=str_enum(Role))


class UnitOwnership(SQLModel, table=True):
    """The units an owner (业主) owns in the hall; their areas count in owners' votes."""

    __tablename__ = "unit_ownership"
    __table_args__ = (
        sa.UniqueConstraint("membership_id", "household_id"),
        sa.ForeignKeyConstraint(
            ["membership_id", "hall_id"], ["membership.id", "membership.hall_id"]
        ),
        sa.ForeignKeyConstraint(["household_id", "hall_id"], ["household.id", "household.hall_id"]),
    )

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    membership_id: int = Field(sa_type=Int64, index=True)
    household_id: int = Field(sa_type=Int64, index=True)


class StreetAdmin(SQLModel, table=True):
    """A 街道 official who sees every hall of the street."""

    __tablename__ = "street_admin"
    __table_args__ = (sa.UniqueConstraint("street_id", "user_id"),)

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    street_id: int = Field(sa_type=Int64, foreign_key="street.id", index=True)
    user_id: int = Field(sa_type=Int64, foreign_key="user.id", index=True)


class RosterUpload(SQLModel, table=True):
    """A checked roster waiting for the chair's confirmation: the preview showed what importing
    these rows would do; confirming imports exactly them. Deleted when imported; refused and
    swept after an hour. `fingerprint` is the preview's, to tell whether the hall changed."""

    __tablename__ = "roster_upload"

    id: int | None = Field(sa_type=Int64, default=None, primary_key=True)
    hall_id: int = Field(sa_type=Int64, foreign_key="hall.id", index=True)
    token: str = Field(max_length=64, unique=True)
    uploaded_by_id: int = Field(sa_type=Int64, foreign_key="user.id")
    created_at: datetime = Field(default_factory=clock.now)
    filename: str = Field(default="", max_length=120)
    content_sha256: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64)
    rows: str = Field(sa_type=sa.Text)  # JSON, roster.rows_to_json
