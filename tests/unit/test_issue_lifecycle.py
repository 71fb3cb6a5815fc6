"""The 五民 lifecycle, proved exhaustively: every (from, to) pair and every (stage, action) pair."""

from __future__ import annotations

import ast
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.issues.lifecycle import (
    ALLOWED_ACTIONS,
    PHASE_OF,
    TERMINAL,
    TRANSITIONS,
    Action,
    InvalidTransition,
    IssueFacts,
    Phase,
    Reason,
    Stage,
    allowed_targets,
    check_transition,
    is_allowed,
    require_action,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
S = Stage

# Written out independently of the module: the edges DOMAIN.md and the issue describe.
EDGES = {
    (S.COLLECTING, S.UNDER_REVIEW),
    (S.COLLECTING, S.WITHDRAWN),
    (S.COLLECTING, S.MERGED),
    (S.UNDER_REVIEW, S.DELIBERATING),
    (S.UNDER_REVIEW, S.REJECTED),
    (S.UNDER_REVIEW, S.MERGED),
    (S.UNDER_REVIEW, S.WITHDRAWN),
    (S.DELIBERATING, S.DECIDING),
    (S.DECIDING, S.PUBLICIZING),
    (S.DECIDING, S.DELIBERATING),
    (S.DECIDING, S.NOT_PASSED),
    (S.PUBLICIZING, S.IMPLEMENTING),
    (S.PUBLICIZING, S.DELIBERATING),
    (S.IMPLEMENTING, S.EVALUATING),
    (S.EVALUATING, S.CLOSED),
    (S.EVALUATING, S.IMPLEMENTING),
}


def facts_for(current: Stage, target: Stage) -> IssueFacts:
    """Facts under which the edge's guard holds (so only the table decides)."""
    passed = target == S.PUBLICIZING
    satisfied = target == S.CLOSED
    return IssueFacts(
        now=NOW,
        cosigns=10,
        cosign_threshold=10,
        reason_given=True,
        merge_target_id=7,
        has_opinion=True,
        solutions=2,
        decision_closed=True,
        decision_passed=passed,
        publicity_ends_at=NOW - timedelta(days=1),
        open_objections=0,
        upheld_objections=1 if (current, target) == (S.PUBLICIZING, S.DELIBERATING) else 0,
        open_tasks=0,
        evaluation_ends_at=NOW - timedelta(days=1),
        satisfaction_ok=satisfied,
    )


@pytest.mark.parametrize(("current", "target"), list(itertools.product(Stage, Stage)))
def test_every_stage_pair_is_allowed_exactly_when_it_is_an_edge(
    current: Stage, target: Stage
) -> None:
    facts = facts_for(current, target)
    if (current, target) in EDGES:
        check_transition(current, target, facts)
        assert target in allowed_targets(current, facts)
    else:
        with pytest.raises(InvalidTransition) as info:
            check_transition(current, target, facts)
        assert info.value.reason == Reason.NOT_ALLOWED_FROM_STAGE
        assert target not in allowed_targets(current, facts)


def test_the_table_has_every_stage_and_terminal_stages_lead_nowhere() -> None:
    assert set(TRANSITIONS) == set(Stage)
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == EDGES
    assert all(not TRANSITIONS[s] for s in TERMINAL)
    assert {s for s in Stage if not TRANSITIONS[s]} == TERMINAL


def test_each_phase_has_its_stages() -> None:
    assert set(PHASE_OF) == set(Stage)
    assert set(PHASE_OF.values()) == set(Phase)
    assert PHASE_OF[S.COLLECTING] == PHASE_OF[S.UNDER_REVIEW] == Phase.PROPOSE
    assert PHASE_OF[S.DELIBERATING] == Phase.DELIBERATE
    assert PHASE_OF[S.IMPLEMENTING] == Phase.IMPLEMENT


A = Action
EXPECTED_ACTIONS = {
    S.COLLECTING: {A.VIEW, A.COSIGN, A.WITHDRAW_COSIGN, A.WITHDRAW, A.EDIT, A.REVIEW},
    S.UNDER_REVIEW: {A.VIEW, A.WITHDRAW, A.REVIEW},
    S.REJECTED: {A.VIEW},
    S.MERGED: {A.VIEW},
    S.WITHDRAWN: {A.VIEW},
    S.NOT_PASSED: {A.VIEW},
    S.CLOSED: {A.VIEW},
    S.DELIBERATING: {A.VIEW, A.COMMENT, A.ADD_SOLUTION, A.MODERATE, A.CLOSE_DELIBERATION},
    S.DECIDING: {A.VIEW, A.COMMENT, A.MODERATE, A.VOTE},
    S.PUBLICIZING: {A.VIEW, A.COMMENT, A.MODERATE, A.OBJECT},
    S.IMPLEMENTING: {A.VIEW, A.COMMENT, A.MODERATE, A.ADD_TASK, A.REPORT_PROGRESS, A.ESCALATE},
    S.EVALUATING: {A.VIEW, A.COMMENT, A.MODERATE, A.EVALUATE},
}


@pytest.mark.parametrize(("stage", "action"), list(itertools.product(Stage, Action)))
def test_every_stage_action_pair(stage: Stage, action: Action) -> None:
    expected = action in EXPECTED_ACTIONS[stage]
    assert is_allowed(stage, action) is expected
    assert (action in ALLOWED_ACTIONS[stage]) is expected
    if expected:
        require_action(stage, action)
    else:
        with pytest.raises(InvalidTransition) as info:
            require_action(stage, action)
        assert info.value.reason == Reason.ACTION_NOT_ALLOWED


GUARDS = [
    (S.COLLECTING, S.UNDER_REVIEW, {"cosigns": 9}, Reason.THRESHOLD_NOT_REACHED),
    (S.UNDER_REVIEW, S.REJECTED, {"reason_given": False}, Reason.REASON_REQUIRED),
    (S.UNDER_REVIEW, S.MERGED, {"merge_target_id": None}, Reason.MERGE_TARGET_REQUIRED),
    (S.COLLECTING, S.MERGED, {"merge_target_id": None}, Reason.MERGE_TARGET_REQUIRED),
    (S.DELIBERATING, S.DECIDING, {"has_opinion": False}, Reason.OPINION_REQUIRED),
    (S.DELIBERATING, S.DECIDING, {"solutions": 0}, Reason.SOLUTION_REQUIRED),
    (S.DECIDING, S.PUBLICIZING, {"decision_closed": False}, Reason.DECISION_OPEN),
    (S.DECIDING, S.PUBLICIZING, {"decision_passed": False}, Reason.DECISION_NOT_PASSED),
    (S.DECIDING, S.NOT_PASSED, {"decision_passed": True}, Reason.DECISION_PASSED),
    (S.DECIDING, S.NOT_PASSED, {"decision_closed": False}, Reason.DECISION_OPEN),
    (
        S.PUBLICIZING,
        S.IMPLEMENTING,
        {"publicity_ends_at": NOW + timedelta(seconds=1)},
        Reason.PUBLICITY_NOT_OVER,
    ),
    (S.PUBLICIZING, S.IMPLEMENTING, {"publicity_ends_at": None}, Reason.PUBLICITY_NOT_OVER),
    (S.PUBLICIZING, S.IMPLEMENTING, {"open_objections": 1}, Reason.OBJECTIONS_OPEN),
    (S.PUBLICIZING, S.IMPLEMENTING, {"upheld_objections": 1}, Reason.OBJECTION_UPHELD),
    (S.PUBLICIZING, S.DELIBERATING, {"upheld_objections": 0}, Reason.NO_OBJECTION_UPHELD),
    (S.PUBLICIZING, S.DELIBERATING, {"open_objections": 1}, Reason.OBJECTIONS_OPEN),
    (
        S.PUBLICIZING,
        S.DELIBERATING,
        {"publicity_ends_at": NOW + timedelta(seconds=1)},
        Reason.PUBLICITY_NOT_OVER,
    ),
    (S.DECIDING, S.DELIBERATING, {"decision_closed": False}, Reason.DECISION_OPEN),
    (S.DECIDING, S.DELIBERATING, {"decision_passed": True}, Reason.DECISION_PASSED),
    (S.IMPLEMENTING, S.EVALUATING, {"open_tasks": 2}, Reason.TASKS_OPEN),
    (
        S.EVALUATING,
        S.CLOSED,
        {"evaluation_ends_at": NOW + timedelta(hours=1)},
        Reason.EVALUATION_OPEN,
    ),
    (S.EVALUATING, S.CLOSED, {"satisfaction_ok": False}, Reason.SATISFACTION_TOO_LOW),
    (S.EVALUATING, S.IMPLEMENTING, {"satisfaction_ok": True}, Reason.SATISFACTION_OK),
]


@pytest.mark.parametrize(("current", "target", "change", "reason"), GUARDS)
def test_guards_refuse_with_a_reason(
    current: Stage, target: Stage, change: dict[str, object], reason: Reason
) -> None:
    base = facts_for(current, target).__dict__ | change
    facts = IssueFacts(**base)  # type: ignore[arg-type]
    with pytest.raises(InvalidTransition) as info:
        check_transition(current, target, facts)
    assert info.value.reason == reason
    assert target not in allowed_targets(current, facts)


def test_publicity_ends_exactly_at_its_deadline() -> None:
    facts = IssueFacts(now=NOW, publicity_ends_at=NOW)
    check_transition(S.PUBLICIZING, S.IMPLEMENTING, facts)


def test_the_lifecycle_module_imports_nothing_from_the_web_or_the_orm() -> None:
    source = Path("app/issues/lifecycle.py").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert imported <= {"__future__", "collections.abc", "dataclasses", "datetime", "enum"}
