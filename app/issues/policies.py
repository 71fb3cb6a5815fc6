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


# --- what the issue page offers (the routes authorise with the same functions) --------------


def can_cosign(
    access: HallAccess, *, stage_allows: bool, is_proposer: bool, in_scope: bool, cosigned: bool
) -> bool:
    return access.is_verified and stage_allows and not is_proposer and in_scope and not cosigned


def can_withdraw_issue(access: HallAccess, *, proposer_id: int, stage_allows: bool) -> bool:
    return access.user_id is not None and access.user_id == proposer_id and stage_allows


def can_moderate(access: HallAccess) -> bool:
    """Hide or restore comments, see the moderation queue: the chair."""
    return can_review(access)


def can_view_queues(access: HallAccess) -> bool:
    """The review and moderation queues: the chair; street officials look on (read-only)."""
    return can_review(access) or access.is_street_admin
