"""The 吹哨报到 clock: each urgency class's windows, the due times, where a deadline stands at a
moment, and which moves an escalation's status allows. Pure: no framework, no database.

Windows (DOMAIN.md §5.3, the 《12345热线服务与管理规范》征求意见稿, Dec 2021, [B]):

- resolution (办结 / feedback): 2 h for 紧急 (突发事件, risk to life or property), 24 h for
  水电气热, 7 days for 一般, 15 days for 复杂疑难 — the draft's feedback limits;
- response (报到): 30 minutes for 紧急 — "接到哨声30分钟内到场", the 平谷 practice widely cited
  but not found in a source ([U], DOMAIN.md §5.1); 2 hours for the others — the draft's
  "online 诉求 accepted ≤ 2 h".

A street may set its own windows (StreetDeadline rows); what it does not set stays the default.
The resolution clock runs from the whistle (the resident waits from then); the response clock
from dispatch (the department cannot 报到 before it is sent the case).

A deadline is 未到期 until the last fifth of its window, 即将到期 in that last fifth, and 已逾期
after the due instant. Done at the due instant is in time (≤ due); one second later is late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Urgency(StrEnum):
    """Urgency classes (DOMAIN.md §5.3): each has a response and a resolution deadline."""

    EMERGENCY = "emergency"  # 紧急: 突发事件 / risk to life or property (2 h)
    UTILITIES = "utilities"  # 水电气热 (24 h)
    GENERAL = "general"  # 一般 (7 days)
    COMPLEX = "complex"  # 复杂疑难 (15 days)


class EscalationStatus(StrEnum):
    RAISED = "raised"  # 已吹哨, waiting for the street to dispatch
    DISPATCHED = "dispatched"  # 已派单, waiting for the department's 报到
    ACKNOWLEDGED = "acknowledged"  # 已报到, being handled
    RESOLVED = "resolved"  # 已办结


class StepKind(StrEnum):
    RAISED = "raised"  # 吹哨
    DISPATCHED = "dispatched"  # 派单
    ACKNOWLEDGED = "acknowledged"  # 报到
    REPLIED = "replied"  # 答复 / 进展
    HELP_ASKED = "help_asked"  # 请求协办
    RESOLVED = "resolved"  # 办结
    WITHDRAWN = "withdrawn"  # the hall took it back before dispatch


MINUTE = 1
HOUR = 60
DAY = 24 * HOUR
# The most a window may be: a year (a typo of days for minutes is caught well before).
WINDOW_MAX_MINUTES = 365 * DAY


@dataclass(frozen=True)
class Window:
    """Minutes to 报到 (from dispatch) and to 办结 (from the whistle)."""

    respond_minutes: int
    resolve_minutes: int


DEFAULTS: Mapping[Urgency, Window] = {
    Urgency.EMERGENCY: Window(respond_minutes=30 * MINUTE, resolve_minutes=2 * HOUR),
    Urgency.UTILITIES: Window(respond_minutes=2 * HOUR, resolve_minutes=24 * HOUR),
    Urgency.GENERAL: Window(respond_minutes=2 * HOUR, resolve_minutes=7 * DAY),
    Urgency.COMPLEX: Window(respond_minutes=2 * HOUR, resolve_minutes=15 * DAY),
}


def street_windows(own: Mapping[Urgency, Window]) -> dict[Urgency, Window]:
    """A street's windows: its own settings over the defaults, for every class."""
    return {urgency: own.get(urgency, DEFAULTS[urgency]) for urgency in Urgency}


def window_problem(window: Window) -> dict[str, str]:
    """Field → error code for windows a street may not set (the table's CHECKs, said first)."""
    problems: dict[str, str] = {}
    for name, value in (("respond", window.respond_minutes), ("resolve", window.resolve_minutes)):
        if value < 1:
            problems[name] = "window_not_positive"
        elif value > WINDOW_MAX_MINUTES:
            problems[name] = "window_too_long"
    if not problems and window.resolve_minutes < window.respond_minutes:
        problems["resolve"] = "resolve_before_respond"
    return problems


def resolve_due(raised_at: datetime, window: Window) -> datetime:
    return raised_at + timedelta(minutes=window.resolve_minutes)


def respond_due(dispatched_at: datetime, window: Window) -> datetime:
    return dispatched_at + timedelta(minutes=window.respond_minutes)


def in_time(done_at: datetime, due_at: datetime) -> bool:
    """Done at the due instant is in time; a microsecond later is not."""
    return done_at <= due_at


class DeadlineState(StrEnum):
    NOT_DUE = "not_due"  # 未到期
    DUE_SOON = "due_soon"  # 即将到期: the last fifth of the window
    OVERDUE = "overdue"  # 已逾期
    MET = "met"  # done in time
    LATE = "late"  # done after the due instant


# The last fifth of a window is 即将到期.
SOON_NUMERATOR, SOON_DENOMINATOR = 1, 5


@dataclass(frozen=True)
class Deadline:
    state: DeadlineState
    due_at: datetime
    over: timedelta | None = None  # how long past due (overdue, or done late)
    left: timedelta | None = None  # how long until due (not yet done, not yet due)

    @property
    def flagged(self) -> bool:
        """What lists mark: overdue now, or done late."""
        return self.state in {DeadlineState.OVERDUE, DeadlineState.LATE}


def deadline_at(
    *, start: datetime, due_at: datetime, now: datetime, done_at: datetime | None = None
) -> Deadline:
    """Where a deadline stands at `now` (or, once done, whether it was done in time). Exact:
    the last fifth is `5 × left ≤ window`, in timedeltas (integer microseconds)."""
    if done_at is not None:
        if in_time(done_at, due_at):
            return Deadline(DeadlineState.MET, due_at)
        return Deadline(DeadlineState.LATE, due_at, over=done_at - due_at)
    if now > due_at:
        return Deadline(DeadlineState.OVERDUE, due_at, over=now - due_at)
    left = due_at - now
    window = due_at - start
    soon = left * SOON_DENOMINATOR <= window * SOON_NUMERATOR
    return Deadline(DeadlineState.DUE_SOON if soon else DeadlineState.NOT_DUE, due_at, left=left)


# --- moves: which status allows which step ----------------------------------------------------


class Move(StrEnum):
    DISPATCH = "dispatch"  # the street sends it to a department (派单)
    WITHDRAW = "withdraw"  # the hall takes it back
    ACKNOWLEDGE = "acknowledge"  # 报到
    REPLY = "reply"  # 答复 / 进展
    ASK_HELP = "ask_help"  # 请求协办
    RESOLVE = "resolve"  # 办结


S = EscalationStatus
ALLOWED: Mapping[Move, frozenset[EscalationStatus]] = {
    Move.DISPATCH: frozenset({S.RAISED}),
    Move.WITHDRAW: frozenset({S.RAISED}),
    Move.ACKNOWLEDGE: frozenset({S.DISPATCHED}),
    Move.REPLY: frozenset({S.ACKNOWLEDGED}),
    Move.ASK_HELP: frozenset({S.ACKNOWLEDGED}),
    Move.RESOLVE: frozenset({S.ACKNOWLEDGED}),
}
TARGET: Mapping[Move, EscalationStatus] = {
    Move.DISPATCH: S.DISPATCHED,
    Move.ACKNOWLEDGE: S.ACKNOWLEDGED,
    Move.RESOLVE: S.RESOLVED,
}


def refusal(move: Move, status: EscalationStatus) -> str | None:
    """Why `move` cannot be made in `status` (an error code), or None when it can."""
    if status in ALLOWED[move]:
        return None
    if status == S.RESOLVED:
        return "escalation_resolved"
    if move in {Move.DISPATCH, Move.WITHDRAW}:
        return "escalation_already_dispatched"
    if move == Move.ACKNOWLEDGE:
        return "escalation_not_dispatched" if status == S.RAISED else "escalation_acknowledged"
    return "escalation_not_acknowledged"
