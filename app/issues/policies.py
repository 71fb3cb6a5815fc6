"""Who may do what with an issue. Pure predicates over HallAccess and plain values."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.halls.policies import HallAccess

EDIT_WINDOW = timedelta(minutes=10)


def can_propose(access: HallAccess) -> bool:
    return access.is_verified


def can_review(access: HallAccess) -> bool:
    """Accept, reject, merge, enter on behalf, moderate, close deliberation: the chair."""
    return access.is_chair or access.is_platform_admin


def can_take_part(access: HallAccess) -> bool:
    """Comment, add a 方案, report a comment: every verified member (officials included)."""
    return access.is_verified or access.is_platform_admin


def can_edit_comment(
    access: HallAccess, *, author_id: int, created_at: datetime, now: datetime
) -> bool:
    return access.user_id == author_id and now - created_at <= EDIT_WINDOW
