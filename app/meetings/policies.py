"""Who may do what with a meeting. Pure predicates over HallAccess and plain values.

- The chair (居委会) schedules and cancels meetings and signs others in; so does a platform
  admin. The meeting's own 主持人 and 记录人, if verified members, also sign others in.
- Everyone who sees the hall (its verified residents, the street's officials) sees its
  meetings; a resident of another hall gets 404, as everywhere (AUTHZ-03).
- Verified members sign themselves in (street officials look, they do not attend as members).
"""

from __future__ import annotations

from app.core.errors import NotFound
from app.halls.policies import HallAccess, can_view_hall


def require(allowed: bool) -> None:
    """Inside a hall the caller can see, what they may not do is reported as missing."""
    if not allowed:
        raise NotFound("not_found")


def can_schedule(access: HallAccess) -> bool:
    return access.is_chair or access.is_platform_admin


def can_see(access: HallAccess) -> bool:
    return can_view_hall(access)


def can_sign_in_self(access: HallAccess) -> bool:
    return access.is_verified


def can_sign_in_others(access: HallAccess, *, chair_id: int, recorder_id: int | None) -> bool:
    """The hall's chair, or this meeting's 主持人 / 记录人 (verified members of the hall)."""
    if can_schedule(access):
        return True
    return access.is_verified and access.user_id in {chair_id, recorder_id}


# --- the minutes (会议纪要) ---------------------------------------------------------------------
#
# The hall's chair and the meeting's 主持人 / 记录人 keep the draft (free text, absence reasons)
# and append 更正 after sign-off; only they read a draft. Signed minutes are read by whoever
# sees the hall's meetings (its verified members, and the street's officials, to whom minutes
# are filed). Each signature line is signed by its own officer, a verified member of the hall.


def can_keep_minutes(access: HallAccess, *, chair_id: int, recorder_id: int | None) -> bool:
    return can_sign_in_others(access, chair_id=chair_id, recorder_id=recorder_id)


def can_read_minutes(
    access: HallAccess, *, signed: bool, chair_id: int, recorder_id: int | None
) -> bool:
    if signed:
        return can_see(access)
    return can_keep_minutes(access, chair_id=chair_id, recorder_id=recorder_id)


def minutes_lines(access: HallAccess, *, chair_id: int, recorder_id: int | None) -> frozenset[str]:
    """The signature lines ("chair", "recorder") the caller may sign: their own."""
    if not access.is_verified or access.user_id is None:
        return frozenset()
    lines = set()
    if access.user_id == chair_id:
        lines.add("chair")
    if access.user_id == recorder_id:
        lines.add("recorder")
    return frozenset(lines)


# --- the meeting as it is held (live mode) ------------------------------------------------------


def is_officer(access: HallAccess, *, chair_id: int, recorder_id: int | None) -> bool:
    """This meeting's 主持人 or 记录人, as a verified member of the hall."""
    return access.is_verified and access.user_id in {chair_id, recorder_id}


def can_preside(access: HallAccess, *, chair_id: int) -> bool:
    """Run the floor: the current item and the speaker queue (add, reorder, give the floor,
    take off). The hall's chair (or a platform admin), or this meeting's 主持人."""
    return can_schedule(access) or (access.is_verified and access.user_id == chair_id)


def can_run(access: HallAccess, *, chair_id: int, recorder_id: int | None) -> bool:
    """Open and close the meeting and keep its record (speeches): who may preside, and this
    meeting's 记录人."""
    return can_schedule(access) or is_officer(access, chair_id=chair_id, recorder_id=recorder_id)


def can_raise_hand(access: HallAccess) -> bool:
    """举手发言 from one's own phone: verified members (street officials look, and a guest
    without an account is added by the chair)."""
    return access.is_verified


def can_watch(access: HallAccess) -> bool:
    """The projector view and the queue: whoever sees the hall's meetings."""
    return can_see(access)
