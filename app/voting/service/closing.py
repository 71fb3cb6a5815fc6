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
    ballot is then published); a fail waits for a chair to choose 未通过 or back to 民议 (the
    hall's other chairs are asked to).
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
    # Those on the roll hear the result of the vote they were asked to cast, and so do the
    # issue's followers, whether it passed or not (issue #14); not the chair who closed it.
    heard = queries.caster_ids(session, ballot.id or 0) | issues.followers_of(
        session, [issue.id or 0]
    )
    if outcome.passed:
        told = issues.notify_users(
            session, issue, heard, kind="ballot_passed", text=ballot.title, exclude=actor.id
        )
        _start_publicity(session, ballot, resolution, issue, actor.id, told=told)
    else:
        _tell_failed(session, ballot, issue, actor.id, heard=heard)
    session.commit()
    return resolution


def _deciding(issue: Issue) -> None:
    if issue.stage != Stage.DECIDING:
        raise Conflict("stage_action_not_allowed")


def _start_publicity(
    session: Session,
    ballot: Ballot,
    resolution: Resolution,
    issue: Issue,
    actor_id: int | None,
    *,
    told: set[int] | frozenset[int] = frozenset(),
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
        told=told,
    )


def record_consensus(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    ballot_id: int,
    form: schemas.ConsensusForm,
) -> Resolution:
    """协商一致: no vote; the chair records the outcome and what was agreed.

    Rules: reached, the issue goes to 公示 (its followers told); not reached, it waits for a
    chair to settle it (未通过 or back to 民议): the hall's other chairs are asked to, its
    followers told the outcome."""
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
    else:
        _tell_no_consensus(session, ballot, issue, actor.id)
    session.commit()
    return resolution


def _tell_failed(
    session: Session, ballot: Ballot, issue: Issue, actor_id: int | None, *, heard: set[int]
) -> set[int]:
    """A failed vote: the roll and the followers (`heard`) hear the outcome (_ask_to_settle).
    Only an open ballot closes, so this is written once per ballot. Who got one."""
    kinds = ("ballot_settle", "ballot_failed")
    return _ask_to_settle(session, ballot, issue, actor_id, heard=heard, kinds=kinds)


def _tell_no_consensus(
    session: Session, ballot: Ballot, issue: Issue, actor_id: int | None
) -> None:
    """No consensus: the issue's followers hear the outcome, as they hear a failed vote's
    (DOMAIN.md §1.3: 会后有结果; _ask_to_settle)."""
    heard = issues.followers_of(session, [issue.id or 0])
    kinds = ("consensus_settle", "consensus_failed")
    _ask_to_settle(session, ballot, issue, actor_id, heard=heard, kinds=kinds)


def _ask_to_settle(
    session: Session,
    ballot: Ballot,
    issue: Issue,
    actor_id: int | None,
    *,
    heard: set[int],
    kinds: tuple[str, str],
) -> set[int]:
    """The issue waits in 表决中 until a chair settles it (settle_failed: 未通过 or back to
    民议), so the hall's chairs but the one who acted (all of them if no one did) are asked to
    (kinds[0]), on the issue page (its 去处理); `heard` hear the outcome (kinds[1]). One notice
    each: a chair among `heard` is asked, not also told. Who got one."""
    ask, tell = kinds
    chairs = issues.notify_chairs(session, issue, kind=ask, text=ballot.title, exclude=actor_id)
    others = issues.notify_users(
        session, issue, heard - chairs, kind=tell, text=ballot.title, exclude=actor_id
    )
    return chairs | others


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
    _deciding(issue)
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
