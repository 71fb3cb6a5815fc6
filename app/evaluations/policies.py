"""Who may do what in 民评. Pure predicates over HallAccess.

- The chair (居委会) or a platform admin opens and closes rounds and prints the forms.
- The chair or a 记录员 enters paper forms.
- A verified member whose household is in the issue's scope answers (checked by the service).
- Everyone who sees the hall sees a closed round's summary; while a round is open, residents see
  only their own answer and how many have answered (no running counts: no bandwagon), the chair
  and the 记录员 see the counts.
"""

from __future__ import annotations

from app.core.errors import NotFound
from app.halls.models import Role
from app.halls.policies import HallAccess, can_view_hall


def require(allowed: bool) -> None:
    """Inside a hall the caller can see, what they may not do is reported as missing."""
    if not allowed:
        raise NotFound("not_found")


def can_manage(access: HallAccess) -> bool:
    return access.is_chair or access.is_platform_admin


def can_enter_paper(access: HallAccess) -> bool:
    return can_manage(access) or (access.is_verified and Role.RECORDER in access.roles)


def can_see(access: HallAccess) -> bool:
    return can_view_hall(access)


def can_answer(access: HallAccess) -> bool:
    return access.is_verified


def sees_running_counts(access: HallAccess) -> bool:
    return can_enter_paper(access)
