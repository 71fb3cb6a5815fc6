"""Who may do what in 吹哨报到. Pure predicates over the access records and plain values.

- The hall's chair (or a platform admin) raises an escalation on an issue 办理中 and withdraws
  it before dispatch; everyone who sees the hall sees the escalation's whole trail on the issue.
- A street's officials (StreetAccess) keep its departments and deadlines and dispatch; another
  street's officials get 404 (app.halls.deps.StreetDep).
- A department's members (DepartmentAccess) see exactly what was dispatched to their department
  or what it was asked to help with; the lead department 报到, asks for help and 办结; a helper
  department replies. Anything else does not exist for them (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.core.errors import NotFound
from app.halls.policies import HallAccess, can_view_hall


def require(allowed: bool) -> None:
    """What the caller may not do is reported as missing (AUTHZ-03)."""
    if not allowed:
        raise NotFound("not_found")


@dataclass(frozen=True)
class DepartmentAccess:
    """A member of one department of one street (app.escalations.deps.DepartmentDep)."""

    user_id: int
    department_id: int
    street_id: int
    department_name: str


class Part(StrEnum):
    """What a department is to an escalation."""

    LEAD = "lead"  # dispatched to it (承办)
    HELPER = "helper"  # asked to help (协办)


def can_raise(access: HallAccess) -> bool:
    return access.is_chair or access.is_platform_admin


def can_see_in_hall(access: HallAccess) -> bool:
    return can_view_hall(access)


def can_acknowledge(part: Part | None) -> bool:
    return part == Part.LEAD


def can_resolve(part: Part | None) -> bool:
    return part == Part.LEAD


def can_ask_help(part: Part | None) -> bool:
    return part == Part.LEAD


def can_reply(part: Part | None) -> bool:
    return part is not None


def can_see_full_phone(*, viewer_id: int, owner_id: int) -> bool:
    """Department members' phones on the street's pages: masked but for the person themself."""
    return viewer_id == owner_id
