"""The 吹哨报到 clock (app.escalations.deadlines): defaults per urgency class, a street's own
windows over them, due times, the state of a deadline at a moment, and the moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.escalations import deadlines as d
from app.escalations.deadlines import (
    DEFAULTS,
    DeadlineState,
    EscalationStatus,
    Move,
    Urgency,
    Window,
)

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)

EXPECTED = {
    Urgency.EMERGENCY: (30, 2 * 60),
    Urgency.UTILITIES: (2 * 60, 24 * 60),
    Urgency.GENERAL: (2 * 60, 7 * 24 * 60),
    Urgency.COMPLEX: (2 * 60, 15 * 24 * 60),
}


def test_the_defaults_are_the_draft_standards() -> None:
    assert {u: (w.respond_minutes, w.resolve_minutes) for u, w in DEFAULTS.items()} == EXPECTED


def test_a_streets_own_windows_override_only_their_class() -> None:
    own = {Urgency.GENERAL: Window(60, 3 * 24 * 60)}
    windows = d.street_windows(own)
    assert windows[Urgency.GENERAL] == Window(60, 3 * 24 * 60)
    for u in (Urgency.EMERGENCY, Urgency.UTILITIES, Urgency.COMPLEX):
        assert windows[u] == DEFAULTS[u]


@pytest.mark.parametrize("urgency", list(Urgency))
def test_due_times_and_in_time_at_the_boundary(urgency: Urgency) -> None:
    window = DEFAULTS[urgency]
    respond_minutes, resolve_minutes = EXPECTED[urgency]
    resolve_due = d.resolve_due(T0, window)
    respond_due = d.respond_due(T0, window)
    assert resolve_due == T0 + timedelta(minutes=resolve_minutes)
    assert respond_due == T0 + timedelta(minutes=respond_minutes)
    for due in (resolve_due, respond_due):
        assert d.in_time(due - SECOND, due)
        assert d.in_time(due, due)  # exactly at the due instant: in time
        assert not d.in_time(due + SECOND, due)
        met = d.deadline_at(start=T0, due_at=due, now=due + SECOND, done_at=due)
        assert met.state == DeadlineState.MET
        late = d.deadline_at(start=T0, due_at=due, now=due, done_at=due + SECOND)
        assert late.state == DeadlineState.LATE
        assert late.over == SECOND


@pytest.mark.parametrize("urgency", list(Urgency))
def test_state_before_soon_due_and_overdue(urgency: Urgency) -> None:
    window = DEFAULTS[urgency]
    due = d.resolve_due(T0, window)
    span = due - T0
    fifth = span / 5
    soon_starts = due - fifth
    state = d.deadline_at(start=T0, due_at=due, now=soon_starts - SECOND)
    assert state.state == DeadlineState.NOT_DUE
    assert state.left == fifth + SECOND
    assert d.deadline_at(start=T0, due_at=due, now=soon_starts).state == DeadlineState.DUE_SOON
    at_due = d.deadline_at(start=T0, due_at=due, now=due)
    assert at_due.state == DeadlineState.DUE_SOON
    assert at_due.left == timedelta(0)
    over = d.deadline_at(start=T0, due_at=due, now=due + SECOND)
    assert over.state == DeadlineState.OVERDUE
    assert over.over == SECOND
    assert over.flagged


def test_windows_a_street_may_not_set() -> None:
    assert d.window_problem(Window(1, 1)) == {}
    assert d.window_problem(Window(0, 10)) == {"respond": "window_not_positive"}
    assert d.window_problem(Window(10, 9)) == {"resolve": "resolve_before_respond"}
    assert d.window_problem(Window(10, 10)) == {}
    top = d.WINDOW_MAX_MINUTES
    assert d.window_problem(Window(top, top)) == {}
    assert d.window_problem(Window(10, top + 1)) == {"resolve": "window_too_long"}


S = EscalationStatus


@pytest.mark.parametrize(
    ("move", "status", "code"),
    [
        (Move.DISPATCH, S.RAISED, None),
        (Move.DISPATCH, S.DISPATCHED, "escalation_already_dispatched"),
        (Move.WITHDRAW, S.RAISED, None),
        (Move.WITHDRAW, S.ACKNOWLEDGED, "escalation_already_dispatched"),
        (Move.ACKNOWLEDGE, S.RAISED, "escalation_not_dispatched"),
        (Move.ACKNOWLEDGE, S.DISPATCHED, None),
        (Move.ACKNOWLEDGE, S.ACKNOWLEDGED, "escalation_acknowledged"),
        (Move.REPLY, S.DISPATCHED, "escalation_not_acknowledged"),
        (Move.REPLY, S.ACKNOWLEDGED, None),
        (Move.ASK_HELP, S.ACKNOWLEDGED, None),
        (Move.RESOLVE, S.DISPATCHED, "escalation_not_acknowledged"),
        (Move.RESOLVE, S.ACKNOWLEDGED, None),
        (Move.RESOLVE, S.RESOLVED, "escalation_resolved"),
        (Move.REPLY, S.RESOLVED, "escalation_resolved"),
    ],
)
def test_moves(move: Move, status: EscalationStatus, code: str | None) -> None:
    assert d.refusal(move, status) == code
