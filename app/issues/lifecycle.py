"""The life of an issue through 五民协商, as one pure module (no web or ORM imports).

民提 征集中 → 待审核 → 受理 (into 民议) | 不予受理 | 已合并 | 已撤回
民议 协商中 → the chair closes it with a 协商意见 → 民决
民决 表决中 → 公示中 → 民办 | back to 民议 (failed, or an objection upheld) | 未通过
民办 办理中 → 民评
民评 评价中 → 已办结 | reopened to 民办

The tables below are the whole rule set: `TRANSITIONS` (which stage may follow which),
`ALLOWED_ACTIONS` (what people may do in each stage) and the guards in `check_transition`,
which look only at plain facts the service gathers. Errors carry a `Reason` code that the
web layer translates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Phase(StrEnum):
    PROPOSE = "propose"  # 民提
    DELIBERATE = "deliberate"  # 民议
    DECIDE = "decide"  # 民决
    IMPLEMENT = "implement"  # 民办
    EVALUATE = "evaluate"  # 民评


class Stage(StrEnum):
    COLLECTING = "collecting"  # 征集中: collecting co-signatures
    UNDER_REVIEW = "under_review"  # 待审核
    REJECTED = "rejected"  # 不予受理
    MERGED = "merged"  # 已合并
    WITHDRAWN = "withdrawn"  # 已撤回
    DELIBERATING = "deliberating"  # 协商中
    DECIDING = "deciding"  # 表决中
    PUBLICIZING = "publicizing"  # 公示中
    NOT_PASSED = "not_passed"  # 未通过
    IMPLEMENTING = "implementing"  # 办理中
    EVALUATING = "evaluating"  # 评价中
    CLOSED = "closed"  # 已办结


class VoteState(StrEnum):
    """Within 表决中, how far its vote is (issue #14; app.voting.queries.vote_states)."""

    WAITING = "waiting"  # for the chair to open a ballot
    OPEN = "open"  # a ballot is open: 表决中
    CLOSED = "closed"  # a ballot closed, awaiting the chair's next step


PHASE_OF: Mapping[Stage, Phase] = {
    Stage.COLLECTING: Phase.PROPOSE,
    Stage.UNDER_REVIEW: Phase.PROPOSE,
    Stage.REJECTED: Phase.PROPOSE,
    Stage.MERGED: Phase.PROPOSE,
    Stage.WITHDRAWN: Phase.PROPOSE,
    Stage.DELIBERATING: Phase.DELIBERATE,
    Stage.DECIDING: Phase.DECIDE,
    Stage.PUBLICIZING: Phase.DECIDE,
    Stage.NOT_PASSED: Phase.DECIDE,
    Stage.IMPLEMENTING: Phase.IMPLEMENT,
    Stage.EVALUATING: Phase.EVALUATE,
    Stage.CLOSED: Phase.EVALUATE,
}

TERMINAL: frozenset[Stage] = frozenset(
    {Stage.REJECTED, Stage.MERGED, Stage.WITHDRAWN, Stage.NOT_PASSED, Stage.CLOSED}
)

# The issues a duplicate may be merged into: any the hall is still working on. One that has
# ended (不予受理, 已合并, 已撤回, 未通过, 已办结) takes no more co-signers. The chair's list
# offers exactly these, and the service refuses any other.
MERGE_TARGETS: frozenset[Stage] = frozenset(Stage) - TERMINAL

TRANSITIONS: Mapping[Stage, frozenset[Stage]] = {
    Stage.COLLECTING: frozenset({Stage.UNDER_REVIEW, Stage.WITHDRAWN, Stage.MERGED}),
    Stage.UNDER_REVIEW: frozenset(
        {Stage.DELIBERATING, Stage.REJECTED, Stage.MERGED, Stage.WITHDRAWN}
    ),
    Stage.REJECTED: frozenset(),
    Stage.MERGED: frozenset(),
    Stage.WITHDRAWN: frozenset(),
    Stage.DELIBERATING: frozenset({Stage.DECIDING}),
    Stage.DECIDING: frozenset({Stage.PUBLICIZING, Stage.DELIBERATING, Stage.NOT_PASSED}),
    Stage.PUBLICIZING: frozenset({Stage.IMPLEMENTING, Stage.DELIBERATING}),
    Stage.NOT_PASSED: frozenset(),
    Stage.IMPLEMENTING: frozenset({Stage.EVALUATING}),
    Stage.EVALUATING: frozenset({Stage.CLOSED, Stage.IMPLEMENTING}),
    Stage.CLOSED: frozenset(),
}


class Action(StrEnum):
    VIEW = "view"
    COSIGN = "cosign"
    WITHDRAW_COSIGN = "withdraw_cosign"
    WITHDRAW = "withdraw"  # the proposer takes the issue back
    EDIT = "edit"
    REVIEW = "review"  # accept, reject or merge
    COMMENT = "comment"
    ADD_SOLUTION = "add_solution"
    MODERATE = "moderate"
    CLOSE_DELIBERATION = "close_deliberation"
    VOTE = "vote"
    OBJECT = "object"  # raise an objection during 公示
    ADD_TASK = "add_task"
    REPORT_PROGRESS = "report_progress"
    ESCALATE = "escalate"  # 吹哨
    EVALUATE = "evaluate"


_ALWAYS = frozenset({Action.VIEW})
ALLOWED_ACTIONS: Mapping[Stage, frozenset[Action]] = {
    Stage.COLLECTING: _ALWAYS
    | {Action.COSIGN, Action.WITHDRAW_COSIGN, Action.WITHDRAW, Action.EDIT, Action.REVIEW},
    Stage.UNDER_REVIEW: _ALWAYS | {Action.WITHDRAW, Action.REVIEW},
    Stage.REJECTED: _ALWAYS,
    Stage.MERGED: _ALWAYS,
    Stage.WITHDRAWN: _ALWAYS,
    Stage.DELIBERATING: _ALWAYS
    | {Action.COMMENT, Action.ADD_SOLUTION, Action.MODERATE, Action.CLOSE_DELIBERATION},
    Stage.DECIDING: _ALWAYS | {Action.COMMENT, Action.MODERATE, Action.VOTE},
    Stage.PUBLICIZING: _ALWAYS | {Action.COMMENT, Action.MODERATE, Action.OBJECT},
    Stage.NOT_PASSED: _ALWAYS,
    Stage.IMPLEMENTING: _ALWAYS
    | {
        Action.COMMENT,
        Action.MODERATE,
        Action.ADD_TASK,
        Action.REPORT_PROGRESS,
        Action.ESCALATE,
    },
    Stage.EVALUATING: _ALWAYS | {Action.COMMENT, Action.MODERATE, Action.EVALUATE},
    Stage.CLOSED: _ALWAYS,
}


class Reason(StrEnum):
    """Why a transition or an action was refused; the UI translates each code."""

    NOT_ALLOWED_FROM_STAGE = "stage_transition_not_allowed"
    ACTION_NOT_ALLOWED = "stage_action_not_allowed"
    THRESHOLD_NOT_REACHED = "cosign_threshold_not_reached"
    REASON_REQUIRED = "reason_required"
    MERGE_TARGET_REQUIRED = "merge_target_required"
    OPINION_REQUIRED = "consultation_opinion_required"
    SOLUTION_REQUIRED = "solution_required"
    DECISION_NOT_PASSED = "decision_not_passed"
    DECISION_PASSED = "decision_passed"
    DECISION_OPEN = "decision_still_open"
    PUBLICITY_NOT_OVER = "publicity_not_over"
    OBJECTIONS_OPEN = "objections_open"
    OBJECTION_UPHELD = "objection_upheld"
    NO_OBJECTION_UPHELD = "no_objection_upheld"
    TASKS_OPEN = "tasks_open"
    EVALUATION_OPEN = "evaluation_window_open"
    SATISFACTION_TOO_LOW = "satisfaction_too_low"
    SATISFACTION_OK = "satisfaction_ok"


class InvalidTransition(Exception):
    def __init__(self, reason: Reason, current: Stage, target: Stage | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.current = current
        self.target = target


@dataclass(frozen=True)
class IssueFacts:
    """Plain values the guards look at. Later phases fill in the fields they own."""

    now: datetime
    cosigns: int = 0
    cosign_threshold: int = 1
    reason_given: bool = False
    merge_target_id: int | None = None
    has_opinion: bool = False
    solutions: int = 0
    decision_closed: bool = False
    decision_passed: bool = False
    publicity_ends_at: datetime | None = None
    open_objections: int = 0
    upheld_objections: int = 0
    open_tasks: int = 0
    evaluation_ends_at: datetime | None = None
    satisfaction_ok: bool = True


def _guard(current: Stage, target: Stage, f: IssueFacts) -> Reason | None:
    """The extra condition for one edge, or None when the edge has none or it holds."""
    match (current, target):
        case (Stage.COLLECTING, Stage.UNDER_REVIEW):
            return None if f.cosigns >= f.cosign_threshold else Reason.THRESHOLD_NOT_REACHED
        case (_, Stage.REJECTED):
            return None if f.reason_given else Reason.REASON_REQUIRED
        case (_, Stage.MERGED):
            return None if f.merge_target_id is not None else Reason.MERGE_TARGET_REQUIRED
        case (Stage.DELIBERATING, Stage.DECIDING):
            if not f.has_opinion:
                return Reason.OPINION_REQUIRED
            return None if f.solutions > 0 else Reason.SOLUTION_REQUIRED
        case (Stage.DECIDING, Stage.PUBLICIZING):
            if not f.decision_closed:
                return Reason.DECISION_OPEN
            return None if f.decision_passed else Reason.DECISION_NOT_PASSED
        case (Stage.DECIDING, Stage.NOT_PASSED):
            if not f.decision_closed:
                return Reason.DECISION_OPEN
            return None if not f.decision_passed else Reason.DECISION_PASSED
        case (Stage.DECIDING, Stage.DELIBERATING):
            if not f.decision_closed:
                return Reason.DECISION_OPEN
            return None if not f.decision_passed else Reason.DECISION_PASSED
        case (Stage.PUBLICIZING, Stage.IMPLEMENTING | Stage.DELIBERATING):
            if f.publicity_ends_at is None or f.now < f.publicity_ends_at:
                return Reason.PUBLICITY_NOT_OVER
            if f.open_objections:
                return Reason.OBJECTIONS_OPEN
            if target == Stage.IMPLEMENTING:
                return None if f.upheld_objections == 0 else Reason.OBJECTION_UPHELD
            return None if f.upheld_objections > 0 else Reason.NO_OBJECTION_UPHELD
        case (Stage.IMPLEMENTING, Stage.EVALUATING):
            return None if f.open_tasks == 0 else Reason.TASKS_OPEN
        case (Stage.EVALUATING, Stage.CLOSED):
            if f.evaluation_ends_at is not None and f.now < f.evaluation_ends_at:
                return Reason.EVALUATION_OPEN
            return None if f.satisfaction_ok else Reason.SATISFACTION_TOO_LOW
        case (Stage.EVALUATING, Stage.IMPLEMENTING):
            if f.evaluation_ends_at is not None and f.now < f.evaluation_ends_at:
                return Reason.EVALUATION_OPEN
            return None if not f.satisfaction_ok else Reason.SATISFACTION_OK
        case _:
            return None


def check_transition(current: Stage, target: Stage, facts: IssueFacts) -> None:
    """Raise InvalidTransition unless `current → target` is an edge whose guard holds."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(Reason.NOT_ALLOWED_FROM_STAGE, current, target)
    reason = _guard(current, target, facts)
    if reason is not None:
        raise InvalidTransition(reason, current, target)


def allowed_targets(current: Stage, facts: IssueFacts) -> frozenset[Stage]:
    """The stages reachable now: for rendering only the buttons that will work."""
    return frozenset(t for t in TRANSITIONS[current] if _guard(current, t, facts) is None)


def is_allowed(stage: Stage, action: Action) -> bool:
    return action in ALLOWED_ACTIONS[stage]


def require_action(stage: Stage, action: Action) -> None:
    if action not in ALLOWED_ACTIONS[stage]:
        raise InvalidTransition(Reason.ACTION_NOT_ALLOWED, stage)
