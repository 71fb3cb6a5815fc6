"""Closing a ballot and its 决议: the close and the frozen result, 协商一致 recorded by the
chair, and what follows a failed vote."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, ValidationFailed
from app.halls.models import (
    Hall,
)
from app.halls.policies import HallAccess
from app.issues import service as issues
from app.issues.lifecycle import Stage
from app.issues.models import Issue
from app.voting import ledger, policies, queries, rules, schemas
from app.voting.models import (
    Ballot,
    BallotStatus,
    LedgerKind,
    Resolution,
)
from app.voting.rules import RuleKind
from app.voting.service._common import (
    _advance,
    _append,
    _ballot,
    _issue,
    _require,
    _status,
    _text_problem,
)


def close_ballot(
    *, session: Session, access: HallAccess, actor: User, ballot_id: int
) -> Resolution:
    """Close voting, freeze the result and create the 决议 (VOTE-09, VOTE-11).

    Rules: only an open ballot closes, and not while a paper reading waits for its 监票人; the
    outcome is computed by app.voting.rules from the frozen roll and the current votes; the close event carries the result, and its hash is the
    head printed on the 公示. A pass moves the issue to 公示 for the hall's 公示 days (the
    ballot is then published); a fail waits for the chair to choose 未通过 or back to 民议.
    """
    _require(policies.can_manage(access))
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.OPEN)
    issue = _issue(session, access.hall_id, ballot.issue_id, lock=True)
    # A second ballot of the same issue cannot decide it again once it has left 表决中: its
    # 决议 would become the issue's latest and hijack the 公示 (objections, end of 公示).
    _deciding(issue)
    # A reading still waiting for its 监票人 would silently not count: settle it first.
    if queries.reconciliation(session, ballot.id or 0).pending:
        raise Conflict("paper_pending")
    outcome = queries.tally(session, ballot)
    now = clock.now()
    ballot.status = BallotStatus.CLOSED
    ballot.closed_at = now
    ballot.passed = outcome.passed
    ballot.result = ledger.canonical(rules.result_data(outcome))
    _append(session, ballot, LedgerKind.CLOSE, {"result": rules.result_data(outcome)})
    resolution = Resolution(
        hall_id=ballot.hall_id,
        issue_id=issue.id or 0,
        ballot_id=ballot.id or 0,
        passed=outcome.passed,
        text=queries.resolution_text(session, ballot, outcome),
        head_hash=ballot.head_hash,
    )
    session.add(resolution)
    session.flush()
    audit.record(
        session,
        action="voting.close_ballot",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"passed": outcome.passed, "head": ballot.head_hash},
    )
    # Those on the roll hear the result of the vote they were asked to cast (issue #14).
    issues.notify_users(
        session,
        issue,
        queries.caster_ids(session, ballot.id or 0),
        kind="ballot_passed" if outcome.passed else "ballot_failed",
        text=ballot.title,
    )
    if outcome.passed:
        _start_publicity(session, ballot, resolution, issue, actor.id)
    session.commit()
    return resolution


def _deciding(issue: Issue) -> None:
    if issue.stage != Stage.DECIDING:
        raise Conflict("stage_action_not_allowed")


def _start_publicity(
    session: Session, ballot: Ballot, resolution: Resolution, issue: Issue, actor_id: int | None
) -> None:
    hall = session.get(Hall, ballot.hall_id)
    assert hall is not None
    now = clock.now()
    resolution.publicity_starts_at = now
    resolution.publicity_ends_at = now + timedelta(days=hall.publicity_days)
    session.add(resolution)
    ballot.status = BallotStatus.PUBLISHED
    ballot.published_at = now
    session.add(ballot)
    _advance(
        session,
        issue,
        Stage.PUBLICIZING,
        actor_id,
        note=resolution.text,
        decision_closed=True,
        decision_passed=True,
    )


def record_consensus(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    form: schemas.ConsensusForm,
) -> Resolution:
    """协商一致: no vote; the chair records the outcome and what was agreed."""
    _require(policies.can_manage(access))
    errors: dict[str, str] = {}
    if form.passed is None:
        errors["passed"] = "required"
    if problem := _text_problem(form.text, schemas.BODY_MAX):
        errors["text"] = problem
    if errors:
        raise ValidationFailed(errors)
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.DRAFT)
    if ballot.rule != RuleKind.CONSENSUS:
        raise Conflict("ballot_needs_votes")
    issue = _issue(session, access.hall_id, ballot.issue_id, lock=True)
    _deciding(issue)
    now = clock.now()
    ballot.status = BallotStatus.CLOSED
    ballot.opened_at = ballot.closed_at = now
    ballot.passed = bool(form.passed)
    data = rules.consensus_data(ballot.passed)
    ballot.result = ledger.canonical(data)
    _append(session, ballot, LedgerKind.CLOSE, {"result": data})
    resolution = Resolution(
        hall_id=ballot.hall_id,
        issue_id=issue.id or 0,
        ballot_id=ballot.id or 0,
        passed=ballot.passed,
        text=form.text.strip(),
        head_hash=ballot.head_hash,
    )
    session.add(resolution)
    session.flush()
    audit.record(
        session,
        action="voting.record_consensus",
        actor_id=actor.id,
        hall_id=ballot.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={"passed": ballot.passed},
    )
    if ballot.passed:
        _start_publicity(session, ballot, resolution, issue, actor.id)
    session.commit()
    return resolution


def settle_failed(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    form: schemas.FailedOutcomeForm,
) -> Issue:
    """After a failed vote the chair closes the issue as 未通过 or sends it back to 民议."""
    _require(policies.can_manage(access))
    targets = {"not_passed": Stage.NOT_PASSED, "deliberate": Stage.DELIBERATING}
    if form.outcome not in targets:
        raise ValidationFailed({"outcome": "required"})
    ballot = _ballot(session, access.hall_id, ballot_id, lock=True)
    _status(ballot, BallotStatus.CLOSED)
    if ballot.passed:
        raise Conflict("decision_passed")
    issue = _issue(session, access.hall_id, ballot.issue_id, lock=True)
    ballot.status = BallotStatus.PUBLISHED
    ballot.published_at = clock.now()
    session.add(ballot)
    _advance(
        session,
        issue,
        targets[form.outcome],
        actor.id,
        decision_closed=True,
        decision_passed=False,
    )
    session.commit()
    return issue
