"""Who reads which 三率."""

from __future__ import annotations

from app.halls.policies import HallAccess, StreetAccess, can_manage_street


def can_read_street_rates(access: StreetAccess) -> bool:
    """The street's officials (and platform admins): every hall, department and company."""
    return can_manage_street(access)


def can_edit_rate_settings(access: StreetAccess) -> bool:
    return can_manage_street(access)


def can_read_hall_rates(access: HallAccess) -> bool:
    """A hall's own 三率: its chair, and the street's officials (read-only, as elsewhere)."""
    return access.is_chair or access.is_street_admin or access.is_platform_admin
