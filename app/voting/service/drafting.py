"""The chair drafts a ballot for an issue in 表决中 (the “发起表决” page)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, ValidationFailed
from app.halls.models import (
    Building,
    Entrance,
    Membership,
    MembershipStatus,
)
from app.halls.policies import HallAccess
from app.issues.lifecycle import Stage
from app.issues.models import Issue, Scope, Solution
from app.meetings import queries as meeting_queries
from app.meetings import rules as meeting_rules
from app.meetings.models import Meeting
from app.voting import policies, schemas
from app.voting.models import (
    Ballot,
    BallotOfficer,
    BallotOption,
    Duty,
    OptionsKind,
)
from app.voting.rules import VOTER_UNITS, RuleKind
from app.voting.service._common import (
    _issue,
    _require,
    _text_problem,
)

YES_NO = (("yes", "同意"), ("no", "反对"), ("abstain", "弃权"))
DEFAULT_REMIND_HOURS = 24  # Loomio reminds a day before a poll closes


def _check_form(
    session: Session, issue: Issue, form: schemas.BallotForm
) -> tuple[dict[str, str], tuple[int, int], list[tuple[str, str, int | None]]]:
    errors: dict[str, str] = {}
    if problem := _text_problem(form.title, schemas.TITLE_MAX):
        errors["title"] = problem
    if form.rule is None:
        errors["rule"] = "rule_required"
    unit = form.voter_unit or (VOTER_UNITS[form.rule][0] if form.rule else None)
    if form.rule is not None and unit not in VOTER_UNITS[form.rule]:
        errors["voter_unit"] = "voter_unit_mismatch"
    quorum = (2, 3)
    if form.quorum.strip():
        parsed = schemas.parse_quorum(form.quorum)
        if parsed is None:
            errors["quorum"] = "quorum_invalid"
        else:
            quorum = parsed
    if form.closes_in_hours.strip() and _hours(form.closes_in_hours) is None:
        errors["closes_in_hours"] = "hours_invalid"
    if problem := _remind_problem(form):
        errors["remind_before_hours"] = problem
    if len(form.meeting_note) > schemas.NOTE_MAX:
        errors["meeting_note"] = "too_long"
    if form.scope == Scope.BUILDING and form.scope_building_id is None:
        errors["scope_building_id"] = "building_required"
    if form.scope == Scope.ENTRANCE and form.scope_entrance_id is None:
        errors["scope_entrance_id"] = "entrance_required"
    selected = session.exec(
        select(Solution)
        .where(Solution.issue_id == issue.id, col(Solution.selected).is_(True))
        .order_by(col(Solution.id))
    ).all()
    options: list[tuple[str, str, int | None]] = []
    if form.rule == RuleKind.PLURALITY or form.options_kind == OptionsKind.SOLUTIONS:
        if form.rule not in (RuleKind.PLURALITY, None):
            errors["options_kind"] = "solutions_need_plurality"
        options = [(f"s{s.id}", s.title[:80], s.id) for s in selected]
        if len(options) < 2:
            errors["options_kind"] = "two_solutions_needed"
    else:
        options = [(code, label, None) for code, label in YES_NO]
        if form.subject_solution_id is not None and form.subject_solution_id not in {
            s.id for s in selected
        }:
            errors["subject_solution_id"] = "solution_not_selected"
    return errors, quorum, options


def _at_meeting(
    session: Session, hall_id: int, form: schemas.BallotForm, errors: dict[str, str]
) -> tuple[schemas.BallotForm, Meeting | None]:
    """A ballot held at a meeting takes the meeting kind's rule and the hall's quorum as the
    meeting has it (no second copy of either); its attendance will be the meeting's sign-in."""
    if form.meeting_id is None:
        return form, None
    meeting = next(
        (
            m
            for m in meeting_queries.ballot_meetings(session, hall_id=hall_id, now=clock.now())
            if m.id == form.meeting_id
        ),
        None,
    )
    if meeting is None:
        errors["meeting_id"] = "meeting_not_for_ballot"
        return form, None
    rule = meeting_rules.DECISION_RULES[meeting.kind]
    if form.rule is not None and form.rule != rule:
        errors["rule"] = "meeting_rule_mismatch"
    quorum = f"{meeting.quorum_num}/{meeting.quorum_den}"
    return form.model_copy(update={"rule": rule, "quorum": quorum}), meeting


def _remind_hours(form: schemas.BallotForm) -> int:
    raw = form.remind_before_hours.strip()
    return int(raw) if raw else DEFAULT_REMIND_HOURS


def _remind_problem(form: schemas.BallotForm) -> str | None:
    """A reminder is whole hours in 0–720 (0: none), and must come before the planned close."""
    raw = form.remind_before_hours.strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 3 or int(raw) > 720:
        return "remind_hours_invalid"
    closes = _hours(form.closes_in_hours) if form.closes_in_hours.strip() else None
    if int(raw) and closes is not None and int(raw) >= closes:
        return "remind_not_before_close"
    return None


def _hours(raw: str) -> int | None:
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 4 or not 1 <= int(raw) <= 24 * 60:
        return None
    return int(raw)


def _scope_ids(
    session: Session, hall_id: int, form: schemas.BallotForm, errors: dict[str, str]
) -> tuple[int | None, int | None]:
    if form.scope == Scope.BUILDING and form.scope_building_id is not None:
        building = session.get(Building, form.scope_building_id)
        if building is None or building.hall_id != hall_id:
            errors["scope_building_id"] = "building_required"
        return form.scope_building_id, None
    if form.scope == Scope.ENTRANCE and form.scope_entrance_id is not None:
        entrance = session.get(Entrance, form.scope_entrance_id)
        if entrance is None or entrance.hall_id != hall_id:
            errors["scope_entrance_id"] = "entrance_required"
            return None, None
        return entrance.building_id, entrance.id
    return None, None


def _officers(
    session: Session, hall_id: int, form: schemas.BallotForm, errors: dict[str, str]
) -> list[tuple[int, Duty]]:
    wanted = [(uid, Duty.COUNTER) for uid in form.counter_ids] + [
        (uid, Duty.SCRUTINEER) for uid in form.scrutineer_ids
    ]
    if not wanted:
        return []
    members = set(
        session.exec(
            select(Membership.user_id).where(
                Membership.hall_id == hall_id,
                Membership.status == MembershipStatus.VERIFIED,
                col(Membership.user_id).in_({uid for uid, _ in wanted}),
            )
        ).all()
    )
    if any(uid not in members for uid, _ in wanted):
        errors["counter_ids"] = "officer_not_member"
    return sorted(set(wanted))


def create_ballot(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, form: schemas.BallotForm
) -> Ballot:
    """The chair drafts a ballot for an issue in 表决中.

    Rules: a ballot held at a meeting takes the meeting kind's rule and quorum, and counts
    the meeting's sign-in as its attendance; the rule decides the voter unit (owners' rules vote by owner, weighted by area);
    yes / no / abstain on the issue (optionally naming the 方案 voted on), or a plurality among
    the 方案 the 协商意见 sent to the decision; scope defaults to the issue's.
    Raises: NotAllowed, NotFound, ValidationFailed, Conflict (issue stage).
    """
    _require(policies.can_manage(access))
    issue = _issue(session, access.hall_id, issue_id)
    if issue.stage != Stage.DECIDING:
        raise Conflict("stage_action_not_allowed")
    early: dict[str, str] = {}
    form, meeting = _at_meeting(session, access.hall_id, form, early)
    errors, quorum, options = _check_form(session, issue, form)
    if "meeting_id" in early and errors.get("rule") == "rule_required":
        del errors["rule"]  # the rule would have come from the meeting: one message, there
    errors |= early
    building_id, entrance_id = _scope_ids(session, access.hall_id, form, errors)
    officers = _officers(session, access.hall_id, form, errors)
    if errors:
        raise ValidationFailed(errors)
    assert form.rule is not None
    ballot = Ballot(
        hall_id=access.hall_id,
        issue_id=issue.id or 0,
        title=form.title.strip(),
        rule=form.rule,
        quorum_num=quorum[0],
        quorum_den=quorum[1],
        voter_unit=form.voter_unit or VOTER_UNITS[form.rule][0],
        options_kind=OptionsKind.SOLUTIONS
        if form.rule == RuleKind.PLURALITY
        else OptionsKind.YES_NO,
        subject_solution_id=form.subject_solution_id,
        scope=form.scope,
        scope_building_id=building_id,
        scope_entrance_id=entrance_id,
        secret=form.secret,
        live_results=form.live_results,
        created_by_id=actor.id or 0,
        closes_at=None,
        remind_before_hours=_remind_hours(form),
        ref_key=secrets.token_hex(32),
        meeting_id=meeting.id if meeting is not None else None,
        meeting_note="" if meeting is not None else form.meeting_note.strip(),
    )
    hours = _hours(form.closes_in_hours) if form.closes_in_hours.strip() else None
    if hours is not None:
        # Kept as a duration until opening: stored as an offset from the creation time.
        ballot.closes_at = ballot.created_at + timedelta(hours=hours)
    session.add(ballot)
    session.flush()
    for position, (code, label, solution_id) in enumerate(options):
        session.add(
            BallotOption(
                hall_id=access.hall_id,
                ballot_id=ballot.id or 0,
                position=position,
                code=code,
                label=label,
                solution_id=solution_id,
            )
        )
    for uid, duty in officers:
        session.add(
            BallotOfficer(hall_id=access.hall_id, ballot_id=ballot.id or 0, user_id=uid, duty=duty)
        )
    audit.record(
        session,
        action="voting.create_ballot",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="ballot",
        subject_id=ballot.id,
        data={
            "issue": issue.id,
            "rule": ballot.rule.value,
            "unit": ballot.voter_unit.value,
            "meeting": ballot.meeting_id,
        },
    )
    session.commit()
    return ballot
