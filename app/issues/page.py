"""The issue page's context: the stage panel, the comments, the solutions and the cards of the
later phases (民决, 民办, 吹哨报到, 民评). Read here, outside the routes, so that an action of
another domain on the issue page (撤回吹哨, 认领) can answer with the page again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from app.core import clock
from app.core.errors import NotFound
from app.escalations.issue_card import issue_escalation_context
from app.evaluations.issue_card import issue_evaluation_context
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues import labels, lifecycle, policies, queries
from app.issues.lifecycle import PHASE_OF, Action, Phase, Stage
from app.issues.models import Comment, ConsultationOpinion, Issue, Stance
from app.tasks.issue_card import issue_tasks_context
from app.voting import queries as voting_queries
from app.voting.decision_card import issue_decision_context
from app.web import fragments

PHASES = list(Phase)


def comment_flags(access: HallAccess, issue: Issue) -> dict[str, Any]:
    take_part = policies.can_take_part(access)
    return {
        "can_comment": take_part and lifecycle.is_allowed(issue.stage, Action.COMMENT),
        "can_report": take_part,
        "can_moderate": policies.can_moderate(access),
        "stance_names": labels.translated(labels.STANCE_LABELS),
        "error_thread": None,
        "thread_errors": [],
        "open_form": None,
    }


def written_at(comment: Comment) -> datetime:
    created = comment.created_at
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def editable_ids(access: HallAccess, rows: list[queries.CommentRow]) -> set[int]:
    """Comments the caller may still correct (their own, within 10 minutes)."""
    now = clock.now()
    found: set[int] = set()
    for row in rows:
        for item in [row, *row.replies]:
            c = item.comment
            if c.id and policies.can_edit_comment(
                access, author_id=c.author_id, created_at=written_at(c), now=now
            ):
                found.add(c.id)
    return found


def merge_context(session: Session, access: HallAccess, issue: Issue, q: str) -> dict[str, Any]:
    """The chair's 合并 list: the targets most relevant first (queries.list_merge_targets), each
    with its stage as the chair reads it (表决中 only once a ballot is open): three queries."""
    targets = queries.list_merge_targets(session, hall_id=access.hall_id, issue=issue, q=q)
    states = voting_queries.vote_states(session, hall_id=access.hall_id, issues=targets)
    return {
        "merge_targets": [
            (t, labels.stage_label(t.stage, states.get(t.id or 0), chair=True)) for t in targets
        ],
        "merge_q": q,
    }


def stage_context(
    session: Session | None,
    hall: Hall,
    access: HallAccess,
    issue_id: int,
    *,
    events: list[queries.EventRow] | None = None,
    page: queries.IssuePage | None = None,
    merge_targets: bool = True,
    merge_q: str = "",
) -> dict[str, Any]:
    """Everything the stage panel shows: timeline, co-sign progress, the buttons that work;
    and the 协商意见, read by the same query (unless the caller read `page` already)."""
    page = page or queries.get_issue_page(
        fragments.needs(session),
        hall_id=access.hall_id,
        issue_id=issue_id,
        user_id=access.user_id,
        membership_id=access.membership_id,
    )
    if page is None:
        raise NotFound("not_found")
    issue = page.issue
    cosigned = page.cosigned
    in_scope = queries.in_scope(issue, page.place)
    allows = lifecycle.is_allowed
    review = policies.can_review(access) and allows(issue.stage, Action.REVIEW)
    phase = PHASE_OF[issue.stage]
    ballot_state = (
        voting_queries.vote_states(
            fragments.needs(session), hall_id=access.hall_id, issues=[issue]
        ).get(issue_id)
        if issue.stage == Stage.DECIDING
        else None
    )
    return {
        "hall": hall,
        "access": access,
        "issue": issue,
        "stage_text": labels.stage_label(
            issue.stage, ballot_state, chair=policies.can_review(access)
        ),
        "proposer_name": page.proposer_name,
        "merged_into": page.merged_into,
        "opinion": page.opinion,
        "events": queries.list_events(
            fragments.needs(session), hall_id=access.hall_id, issue_id=issue_id
        )
        if events is None
        else events,
        "phases": PHASES,
        "phase_index": PHASES.index(phase),
        "terminal": issue.stage in lifecycle.TERMINAL,
        "threshold": hall.cosign_threshold,
        "progress": min(issue.cosign_count, hall.cosign_threshold),
        "collecting": allows(issue.stage, Action.COSIGN),
        "cosigned": cosigned,
        "in_scope": in_scope,
        "can_cosign": policies.can_cosign(
            access,
            stage_allows=allows(issue.stage, Action.COSIGN),
            is_proposer=issue.proposer_id == access.user_id,
            in_scope=in_scope,
            cosigned=cosigned,
        ),
        "can_withdraw_cosign": cosigned and allows(issue.stage, Action.WITHDRAW_COSIGN),
        "can_withdraw": policies.can_withdraw_issue(
            access, proposer_id=issue.proposer_id, stage_allows=allows(issue.stage, Action.WITHDRAW)
        ),
        "can_review": review,
        **(
            merge_context(fragments.needs(session), access, issue, merge_q)
            if review and merge_targets
            else {"merge_targets": [], "merge_q": merge_q}
        ),
        "can_close": policies.can_review(access) and allows(issue.stage, Action.CLOSE_DELIBERATION),
        "see_contact": False,
        "overdue": issue.stage == Stage.UNDER_REVIEW
        and issue.review_due_at is not None
        and issue.review_due_at < clock.now(),
        # The 协商期限 set at acceptance: overdue once it has passed (not at the instant itself).
        "deliberation_overdue": issue.stage == Stage.DELIBERATING
        and issue.deliberation_deadline is not None
        and issue.deliberation_deadline < clock.now(),
        "stage_errors": {},
        "stage_form": {},
        "stage_refused": None,  # the stage form whose refusal is said under its button
    }


def comments_context(
    session: Session, access: HallAccess, issue: Issue, *, before: int | None = None
) -> dict[str, Any]:
    page = queries.list_comments(
        session,
        hall_id=access.hall_id,
        issue_id=issue.id or 0,
        before=before,
        with_reports=policies.can_moderate(access),
    )
    return {
        "comments": page.rows,
        "next_before": page.next_before,
        "stances": list(Stance),
        "stance_counts": queries.stance_counts(issue),
        "comment_errors": {},
        "comment_form": {},
        "editable": editable_ids(access, page.rows),
        **comment_flags(access, issue),
    }


def solutions_context(
    session: Session, access: HallAccess, issue: Issue, opinion: ConsultationOpinion | None
) -> dict[str, Any]:
    return {
        "solutions": queries.list_solutions(
            session, hall_id=access.hall_id, issue_id=issue.id or 0
        ),
        "opinion": opinion,
        "can_add_solution": policies.can_take_part(access)
        and lifecycle.is_allowed(issue.stage, Action.ADD_SOLUTION),
        "solution_errors": {},
        "solution_form": {},
    }


def page_context(
    session: Session, hall: Hall, access: HallAccess, issue_id: int, *, before: int | None = None
) -> dict[str, Any]:
    """The whole issue page: a fixed number of queries, whatever the number of comments."""
    context = stage_context(session, hall, access, issue_id)
    issue = context["issue"]
    context |= comments_context(session, access, issue, before=before)
    context |= solutions_context(session, access, issue, context["opinion"])
    context["photo_ids"] = queries.list_photo_ids(
        session, hall_id=access.hall_id, issue_id=issue_id
    )
    context |= decision_context(session, access, issue, context["events"])
    context |= tasks_context(session, access, issue, context["events"])
    context |= escalation_context(session, access, issue, context["events"])
    context |= issue_evaluation_context(session, access, issue, context["events"])
    return context


def decision_context(
    session: Session | None, access: HallAccess, issue: Issue, events: list[queries.EventRow]
) -> dict[str, Any]:
    """The 民决 card (voting/_issue_decision.html), once an issue has reached 民决 (an issue
    sent back to 民议 keeps showing its earlier ballots); its timeline says whether it has."""
    if not any(PHASE_OF[row.event.to_stage] == Phase.DECIDE for row in events):
        return {"ballots": [], "resolution": None, "can_manage": False}
    return issue_decision_context(fragments.needs(session), access, issue)


_DOING = frozenset({Phase.IMPLEMENT, Phase.EVALUATE})


def tasks_context(
    session: Session | None, access: HallAccess, issue: Issue, events: list[queries.EventRow]
) -> dict[str, Any]:
    """The 民办 card (tasks/_issue_card.html), once the issue has reached 民办 (or 民评)."""
    if not any(PHASE_OF[row.event.to_stage] in _DOING for row in events):
        return {"task_card": None}
    return issue_tasks_context(fragments.needs(session), access, issue)


def escalation_context(
    session: Session | None, access: HallAccess, issue: Issue, events: list[queries.EventRow]
) -> dict[str, Any]:
    """The 吹哨报到 card (escalations/_issue_card.html), once the issue has reached 民办."""
    if not any(PHASE_OF[row.event.to_stage] in _DOING for row in events):
        return {"escalations": [], "can_escalate": False}
    return issue_escalation_context(fragments.needs(session), access, issue)
