"""Reads for halls. Every query on hall data takes the hall id."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.halls import roster
from app.halls.models import (
    Building,
    Entrance,
    Hall,
    Household,
    Membership,
    MembershipRole,
    MembershipStatus,
    Relation,
    Role,
    Street,
    StreetAdmin,
    UnitOwnership,
)
from app.halls.policies import HallAccess, StreetAccess


def get_hall(session: Session, hall_id: int) -> Hall | None:
    return session.get(Hall, hall_id)


def get_hall_by_invite(session: Session, token: str) -> Hall | None:
    return session.exec(select(Hall).where(Hall.invite_token == token)).first()


def get_street(session: Session, street_id: int) -> Street | None:
    return session.get(Street, street_id)


# Built once (bound parameters): building the statement costs as much as running it.
_ACCESS = (
    select(
        Membership.id,
        Membership.status,
        MembershipRole.role,
        select(StreetAdmin.id)
        .where(
            col(StreetAdmin.street_id) == sa.bindparam("street_id"),
            col(StreetAdmin.user_id) == sa.bindparam("user_id"),
        )
        .exists()
        .label("street_admin"),
    )
    .select_from(Hall)
    .outerjoin(
        Membership,
        sa.and_(
            col(Membership.hall_id) == Hall.id,
            col(Membership.user_id) == sa.bindparam("user_id"),
        ),
    )
    .outerjoin(MembershipRole, col(MembershipRole.membership_id) == Membership.id)
    .where(col(Hall.id) == sa.bindparam("hall_id"))
)


def hall_access(session: Session, *, user: User | None, hall: Hall) -> HallAccess:
    """One query: from the hall row, the person's membership and its roles (one row per role)
    and whether they are an official of the hall's street."""
    assert hall.id is not None
    if user is None or user.id is None:
        return HallAccess(user_id=None, hall_id=hall.id)
    params = {"hall_id": hall.id, "user_id": user.id, "street_id": hall.street_id}
    rows = session.exec(_ACCESS, params=params).all()
    membership_id, status, _, is_street_admin = rows[0] if rows else (None, None, None, False)
    return HallAccess(
        user_id=user.id,
        hall_id=hall.id,
        membership_id=membership_id,
        status=MembershipStatus(status) if status is not None else None,
        roles=frozenset(Role(role) for _, _, role, _ in rows if role is not None),
        is_street_admin=bool(is_street_admin),
        is_platform_admin=user.is_platform_admin,
    )


def street_access(session: Session, *, user: User, street_id: int) -> StreetAccess:
    """One query: whether the person is an official of the street."""
    admin = session.exec(
        select(StreetAdmin.id).where(
            StreetAdmin.street_id == street_id, StreetAdmin.user_id == user.id
        )
    ).first()
    return StreetAccess(
        user_id=user.id or 0,
        street_id=street_id,
        is_street_admin=admin is not None,
        is_platform_admin=user.is_platform_admin,
    )


@dataclass(frozen=True)
class MyHall:
    hall: Hall
    street: Street
    membership: Membership | None
    roles: frozenset[Role]
    via_street: bool = False


def list_my_halls(session: Session, *, user_id: int) -> list[MyHall]:
    """Halls where the person is a member, plus every hall of streets they administer."""
    rows = session.exec(
        select(Membership, Hall, Street)
        .join(Hall, col(Hall.id) == Membership.hall_id)
        .join(Street, col(Street.id) == Hall.street_id)
        .where(Membership.user_id == user_id)
        .order_by(col(Hall.id))
    ).all()
    role_rows = session.exec(
        select(MembershipRole.membership_id, MembershipRole.role)
        .join(Membership, col(Membership.id) == MembershipRole.membership_id)
        .where(Membership.user_id == user_id)
    ).all()
    roles: dict[int, set[Role]] = defaultdict(set)
    for membership_id, role in role_rows:
        roles[membership_id].add(Role(role))
    result = [MyHall(h, s, m, frozenset(roles[m.id or 0])) for m, h, s in rows]
    seen = {item.hall.id for item in result}
    street_rows = session.exec(
        select(Hall, Street)
        .join(Street, col(Street.id) == Hall.street_id)
        .join(StreetAdmin, col(StreetAdmin.street_id) == Street.id)
        .where(StreetAdmin.user_id == user_id)
        .order_by(col(Hall.id))
    ).all()
    result.extend(
        MyHall(h, s, None, frozenset(), via_street=True) for h, s in street_rows if h.id not in seen
    )
    return result


_BUILDINGS = (
    select(Building)
    .where(col(Building.hall_id) == sa.bindparam("hall_id"))
    .order_by(col(Building.sort_key), col(Building.name))
)


def list_buildings(session: Session, *, hall_id: int) -> list[Building]:
    return list(session.exec(_BUILDINGS, params={"hall_id": hall_id}).all())


def list_entrances(session: Session, *, hall_id: int, building_id: int) -> list[Entrance]:
    return list(
        session.exec(
            select(Entrance)
            .where(Entrance.hall_id == hall_id, Entrance.building_id == building_id)
            .order_by(col(Entrance.sort_key), col(Entrance.name))
        ).all()
    )


def list_households(session: Session, *, hall_id: int, entrance_id: int) -> list[Household]:
    rows = session.exec(
        select(Household).where(Household.hall_id == hall_id, Household.entrance_id == entrance_id)
    ).all()
    return sorted(rows, key=lambda h: (len(h.room), h.room))


@dataclass(frozen=True)
class Address:
    building: str
    entrance: str
    room: str
    area_centi_m2: int | None


def household_address(session: Session, *, hall_id: int, household_id: int) -> Address | None:
    row = session.exec(
        select(Household, Entrance, Building)
        .join(Entrance, col(Entrance.id) == Household.entrance_id)
        .join(Building, col(Building.id) == Entrance.building_id)
        .where(Household.id == household_id, Household.hall_id == hall_id)
    ).first()
    if row is None:
        return None
    household, entrance, building = row
    return Address(building.name, entrance.name, household.room, household.area_centi_m2)


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    user: User
    address: Address | None
    roles: frozenset[Role]
    owned: tuple[Address, ...] = field(default_factory=tuple)


def list_members(
    session: Session,
    *,
    hall_id: int,
    status: MembershipStatus | None = None,
    limit: int = 200,
    offset: int = 0,
    membership_id: int | None = None,
) -> list[MemberRow]:
    """Members with their address and roles, in a fixed number of queries (no N+1)."""
    query = (
        select(Membership, User)
        .join(User, col(User.id) == Membership.user_id)
        .where(Membership.hall_id == hall_id)
        .order_by(col(Membership.created_at).desc(), col(Membership.id).desc())
        .limit(limit)
        .offset(offset)
    )
    if status is not None:
        query = query.where(Membership.status == status)
    if membership_id is not None:
        query = query.where(Membership.id == membership_id)
    rows = session.exec(query).all()
    ids = [m.id for m, _ in rows]
    addresses = _addresses(
        session, hall_id=hall_id, household_ids={m.household_id for m, _ in rows if m.household_id}
    )
    roles: dict[int, set[Role]] = defaultdict(set)
    owned: dict[int, list[Address]] = defaultdict(list)
    if ids:
        for membership_id, role in session.exec(
            select(MembershipRole.membership_id, MembershipRole.role).where(
                MembershipRole.hall_id == hall_id, col(MembershipRole.membership_id).in_(ids)
            )
        ).all():
            roles[membership_id].add(Role(role))
        ownerships = session.exec(
            select(UnitOwnership).where(
                UnitOwnership.hall_id == hall_id, col(UnitOwnership.membership_id).in_(ids)
            )
        ).all()
        owned_addresses = _addresses(
            session, hall_id=hall_id, household_ids={o.household_id for o in ownerships}
        )
        for o in ownerships:
            if o.household_id in owned_addresses:
                owned[o.membership_id].append(owned_addresses[o.household_id])
    return [
        MemberRow(
            membership=m,
            user=u,
            address=addresses.get(m.household_id) if m.household_id else None,
            roles=frozenset(roles[m.id or 0]),
            owned=tuple(owned[m.id or 0]),
        )
        for m, u in rows
    ]


def get_member_row(session: Session, *, hall_id: int, membership_id: int) -> MemberRow | None:
    rows = list_members(session, hall_id=hall_id, membership_id=membership_id, limit=1)
    return rows[0] if rows else None


def _addresses(session: Session, *, hall_id: int, household_ids: set[int]) -> dict[int, Address]:
    if not household_ids:
        return {}
    rows = session.exec(
        select(Household, Entrance, Building)
        .join(Entrance, col(Entrance.id) == Household.entrance_id)
        .join(Building, col(Building.id) == Entrance.building_id)
        .where(Household.hall_id == hall_id, col(Household.id).in_(household_ids))
    ).all()
    return {h.id: Address(b.name, e.name, h.room, h.area_centi_m2) for h, e, b in rows if h.id}


def count_members(session: Session, *, hall_id: int) -> dict[MembershipStatus, int]:
    rows = session.exec(
        select(Membership.status, func.count())
        .where(Membership.hall_id == hall_id)
        .group_by(col(Membership.status))
    ).all()
    counts = dict.fromkeys(MembershipStatus, 0)
    for status, count in rows:
        counts[MembershipStatus(status)] = count
    return counts


@dataclass(frozen=True)
class HallStats:
    buildings: int
    households: int
    total_area_centi_m2: int
    members: dict[MembershipStatus, int]
    owners: int


def hall_stats(session: Session, *, hall_id: int) -> HallStats:
    buildings = session.exec(
        select(func.count()).select_from(Building).where(Building.hall_id == hall_id)
    ).one()
    households, area = session.exec(
        select(func.count(), func.coalesce(func.sum(Household.area_centi_m2), 0)).where(
            Household.hall_id == hall_id
        )
    ).one()
    owners = session.exec(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.hall_id == hall_id,
            Membership.relation == Relation.OWNER,
            Membership.status == MembershipStatus.VERIFIED,
        )
    ).one()
    return HallStats(
        buildings, households, int(area or 0), count_members(session, hall_id=hall_id), owners
    )


def get_membership(session: Session, *, hall_id: int, membership_id: int) -> Membership | None:
    return session.exec(
        select(Membership).where(Membership.id == membership_id, Membership.hall_id == hall_id)
    ).first()


def list_street_halls(session: Session, *, street_id: int) -> list[Hall]:
    return list(
        session.exec(select(Hall).where(Hall.street_id == street_id).order_by(col(Hall.id))).all()
    )


def list_all_entrances(session: Session, *, hall_id: int) -> list[tuple[Entrance, str]]:
    """Every 单元 of the hall with its building's name, in building order (for pickers)."""
    return [
        (entrance, name)
        for entrance, name in session.exec(
            select(Entrance, Building.name)
            .join(Building, col(Building.id) == Entrance.building_id)
            .where(Entrance.hall_id == hall_id)
            .order_by(col(Building.sort_key), col(Building.name), col(Entrance.sort_key))
        ).all()
    ]


@dataclass(frozen=True)
class PickablePerson:
    """A verified member as a person picker shows them: the name and where they live (building
    and unit, never the room), so that two people of the same name can be told apart."""

    user_id: int
    membership_id: int
    name: str
    building: str | None  # 3号楼; None for a member without a household (an official)
    entrance: str | None  # 2单元

    @property
    def place(self) -> str:
        return f"{self.building or ''}{self.entrance or ''}"


@dataclass(frozen=True)
class PickerGroup:
    """The people of one building (or of none: the officials), in the picker's order."""

    building: str | None
    people: tuple[PickablePerson, ...]


def list_pickable_people(session: Session, *, hall_id: int) -> list[PickerGroup]:
    """The hall's verified members grouped by building (those without a household first), each
    with their building and unit; by unit, then name, inside a building. One statement."""
    rows = session.execute(
        sa.select(
            col(User.id), col(Membership.id), col(User.name), col(Building.name), col(Entrance.name)
        )
        .select_from(Membership)
        .join(User, col(User.id) == Membership.user_id)
        .outerjoin(Household, col(Household.id) == Membership.household_id)
        .outerjoin(Entrance, col(Entrance.id) == Household.entrance_id)
        .outerjoin(Building, col(Building.id) == Entrance.building_id)
        .where(
            col(Membership.hall_id) == hall_id,
            col(Membership.status) == MembershipStatus.VERIFIED,
        )
        .order_by(
            col(Building.id).is_not(None),
            col(Building.sort_key),
            col(Building.name),
            col(Entrance.sort_key),
            col(Entrance.name),
            col(User.name),
            col(User.id),
        )
    ).all()
    groups: dict[str | None, list[PickablePerson]] = {}
    for uid, mid, name, building, entrance in rows:
        if uid is not None and mid is not None:
            person = PickablePerson(uid, mid, name, building, entrance)
            groups.setdefault(building, []).append(person)
    return [PickerGroup(b, tuple(people)) for b, people in groups.items()]


def roster_state(session: Session, *, hall_id: int) -> roster.HallState:
    """The hall as a roster import sees it: households by address with their areas, who is
    already a member, and the areas frozen in open owners' ballots."""
    # Voting builds on halls; read its frozen rolls here without a module-level import cycle.
    from app.voting.models import Ballot, BallotStatus, RollEntry, VoterUnit

    addresses = session.exec(
        select(Household, Entrance.name, Building.name)
        .join(Entrance, col(Entrance.id) == Household.entrance_id)
        .join(Building, col(Building.id) == Entrance.building_id)
        .where(Household.hall_id == hall_id)
    ).all()
    key_of = {h.id: (b, e, h.room) for h, e, b in addresses}
    member_phones: set[str] = set()
    phoneless: set[tuple[roster.Key, str]] = set()
    for phone, name, household_id in session.exec(
        select(User.phone, User.name, Membership.household_id)
        .join(Membership, col(Membership.user_id) == User.id)
        .where(Membership.hall_id == hall_id)
    ).all():
        if phone:
            member_phones.add(phone)
        elif household_id in key_of:
            phoneless.add((key_of[household_id], name))
    frozen: dict[roster.Key, list[roster.Frozen]] = {}
    by_label = {f"{b}{e}{r}": (b, e, r) for b, e, r in key_of.values()}
    for ballot_id, title, entry in session.exec(
        select(Ballot.id, Ballot.title, RollEntry)
        .join(RollEntry, col(RollEntry.ballot_id) == Ballot.id)
        .where(
            Ballot.hall_id == hall_id,
            Ballot.status == BallotStatus.OPEN,
            Ballot.voter_unit == VoterUnit.OWNER,
        )
        .order_by(col(Ballot.id))
    ).all():
        # An owner's roll entry is labelled with its units' addresses, joined by 、.
        for unit in entry.label.split("、"):
            if unit in by_label:
                frozen.setdefault(by_label[unit], []).append(
                    roster.Frozen(ballot_id or 0, title, entry.weight_centi_m2, entry.units)
                )
    return roster.HallState(
        areas={(b, e, h.room): h.area_centi_m2 for h, e, b in addresses},
        member_phones=member_phones,
        phoneless_members=phoneless,
        frozen=frozen,
    )


def chair_ids(session: Session, *, hall_id: int) -> set[int]:
    """The hall's verified chairs (who are told what the 居委会 must act on)."""
    rows = session.exec(
        select(Membership.user_id)
        .join(MembershipRole, col(MembershipRole.membership_id) == Membership.id)
        .where(
            Membership.hall_id == hall_id,
            Membership.status == MembershipStatus.VERIFIED,
            MembershipRole.role == Role.CHAIR,
        )
    ).all()
    return set(rows)
