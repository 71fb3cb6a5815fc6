"""Who may do what with an issue's tasks. Pure predicates over HallAccess and plain values.

- The chair (居委会), or a platform admin, adds and edits tasks.
- A progress update (进展) is reported by the chair or by the task's responsible member.
- A verified resident 认领 a place on a 居民志愿者 task, and may withdraw.
- Whoever sees the hall sees the tasks, their updates and photos, and the volunteers' names
  (never their phones); a user of another hall gets 404 (AUTHZ-03).
"""

from __future__ import annotations

from app.core.errors import NotFound
from app.halls.policies import HallAccess, can_view_hall


def require(allowed: bool) -> None:
    """Inside a hall the caller can see, what they may not do is reported as missing."""
    if not allowed:
        raise NotFound("not_found")


def can_see(access: HallAccess) -> bool:
    return can_view_hall(access)


def can_manage(access: HallAccess) -> bool:
    return access.is_chair or access.is_platform_admin


def can_report(access: HallAccess, *, responsible_user_id: int | None) -> bool:
    if can_manage(access):
        return True
    return (
        access.is_verified
        and responsible_user_id is not None
        and access.user_id == responsible_user_id
    )


def can_volunteer(access: HallAccess) -> bool:
    return access.is_verified
