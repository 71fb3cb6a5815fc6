"""Who may do what in a hall. The same functions authorise routes and set template flags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.halls.models import MembershipStatus, Role

if TYPE_CHECKING:
    from app.halls.queries import MyHall


@dataclass(frozen=True)
class HallAccess:
    """What one person is in one hall, built once per request by halls.queries.hall_access."""

    user_id: int | None
    hall_id: int
    membership_id: int | None = None
    status: MembershipStatus | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    is_street_admin: bool = False
    is_platform_admin: bool = False

    @property
    def is_verified(self) -> bool:
        return self.status == MembershipStatus.VERIFIED

    @property
    def is_chair(self) -> bool:
        return self.is_verified and Role.CHAIR in self.roles


@dataclass(frozen=True)
class StreetAccess:
    """What one person is in one 街道: its official (StreetAdmin) or a platform admin. A
    department's members are not street officials: they see what was dispatched to their
    department (app.escalations.policies)."""

    user_id: int
    street_id: int
    is_street_admin: bool = False
    is_platform_admin: bool = False


def can_manage_street(access: StreetAccess) -> bool:
    """Dispatch escalations, manage departments and deadlines, read the street's 三率."""
    return access.is_street_admin or access.is_platform_admin


def can_view_hall(access: HallAccess) -> bool:
    return access.is_verified or access.is_street_admin or access.is_platform_admin


def can_manage_members(access: HallAccess) -> bool:
    """Verify, reject, 代录, import a roster, assign roles, rotate the invite."""
    return access.is_chair or access.is_platform_admin


def can_edit_settings(access: HallAccess) -> bool:
    return access.is_chair or access.is_platform_admin


def can_view_members(access: HallAccess) -> bool:
    return can_manage_members(access) or access.is_street_admin


def can_view_audit(access: HallAccess) -> bool:
    return access.is_chair or access.is_street_admin or access.is_platform_admin


def can_see_contact(access: HallAccess, *, owner_user_id: int | None) -> bool:
    """Full phone and room number: only their owner and the hall's chair (PRIV-02)."""
    return (access.user_id is not None and access.user_id == owner_user_id) or access.is_chair


def straight_into(
    halls: Sequence[MyHall], *, has_desk: bool, must_change_password: bool
) -> int | None:
    """The hall a person's home page sends them straight into: their one hall, when it is
    all the home page would show them (a verified membership, nothing pending or refused, no
    street's halls, no 部门待办 or 派单 desk, no password to change first); else None."""
    if has_desk or must_change_password or len(halls) != 1:
        return None
    only = halls[0]
    verified = only.membership is not None and only.membership.status == MembershipStatus.VERIFIED
    return only.hall.id if verified and not only.via_street else None
