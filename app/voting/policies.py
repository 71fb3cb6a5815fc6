"""Who may do what with a ballot. Pure predicates over HallAccess and plain values."""

from __future__ import annotations

from app.core.errors import NotFound
from app.halls.policies import HallAccess
from app.voting.models import Ballot, BallotStatus, Duty
from app.voting.rules import RuleKind


def require(allowed: bool) -> None:
    """The pages' guard: inside a hall the caller can see, what they may not do is reported as
    missing (AUTHZ-03)."""
    if not allowed:
        raise NotFound("not_found")


def can_manage(access: HallAccess) -> bool:
    """Draft, open, close a ballot; record in-person votes, attendance, consensus; void; answer
    objections: the chair."""
    return access.is_chair or access.is_platform_admin


def manage_form(ballot: Ballot) -> str | None:
    """The chair's form the ballot's state calls for: record the 协商一致 or open a draft, close
    an open ballot, settle a failed one; none once it is decided."""
    if ballot.status == BallotStatus.DRAFT:
        return "consensus" if ballot.rule == RuleKind.CONSENSUS else "open"
    if ballot.status == BallotStatus.OPEN:
        return "close"
    if ballot.status == BallotStatus.CLOSED and not ballot.passed:
        return "settle"
    return None


def can_see_paper(access: HallAccess, duties: frozenset[Duty]) -> bool:
    """The paper desk (counts, entries waiting): the chair and the ballot's 计票人 and 监票人."""
    return can_manage(access) or (access.is_verified and bool(duties))


def sees_full_roll(access: HallAccess) -> bool:
    """The frozen roll with full room numbers: the chair; the officers see them masked
    (PRIV-02: a room in full only to its owner and the chair)."""
    return access.is_chair


def can_enter_paper(access: HallAccess, duties: frozenset[Duty]) -> bool:
    """计票人 (or the chair) enter returned paper ballots."""
    return access.is_verified and (Duty.COUNTER in duties or access.is_chair)


def can_confirm_paper(access: HallAccess, duties: frozenset[Duty], *, entered_by: int) -> bool:
    """A different person — a 监票人 or the chair — confirms each entry."""
    return (
        access.is_verified
        and access.user_id != entered_by
        and (Duty.SCRUTINEER in duties or access.is_chair)
    )


def can_object(access: HallAccess) -> bool:
    return access.is_verified


def sees_split(access: HallAccess, *, live_results: bool, secret: bool, finished: bool) -> bool:
    """The split of the votes: after close for everyone; while open only on a live 记名 ballot.
    On a 无记名 ballot a split that moves as votes come in would tell whoever watches it (and
    the roll, or the room) what the person who just voted chose, so it waits for the close.
    Turnout is always shown. The chair sees no more than residents while a ballot is open."""
    del access
    return finished or (live_results and not secret)


def reader_role(access: HallAccess) -> str:
    """Whom a message on a ballot page speaks to: "chair" (the 居委会 itself, never told to ask
    the 居委会), "street" (a street official looking in), or "member"."""
    if can_manage(access):
        return "chair"
    if access.is_street_admin and not access.is_verified:
        return "street"
    return "member"
