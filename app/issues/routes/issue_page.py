"""The issue page (/halls/1/issues/2): the stage panel, the comments, the solutions, the 民决
card; its photos; and how an action taken on the page answers (`on_issue_page`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query, Request, Response
from markupsafe import Markup
from sqlmodel import Session

from app.core import clock, fields
from app.core.errors import NotFound
from app.escalations.issue_card import issue_escalation_context
from app.evaluations.issue_card import issue_evaluation_context
from app.halls.action import HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues import labels, lifecycle, policies, queries
from app.issues.deps import Id, IssueDep
from app.issues.lifecycle import PHASE_OF, Action, Phase, Stage
from app.issues.models import Comment, ConsultationOpinion, Issue, Stance
from app.issues.routes.common import page_router
from app.tasks.issue_card import issue_tasks_context
from app.voting.decision_card import issue_decision_context
from app.web import fragments
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep
from app.web.forms import Refusals
from app.web.htmx import csrf_token, is_partial, render
from app.web.links import public_url, url

router = page_router()

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


def _editable(access: HallAccess, rows: list[queries.CommentRow]) -> set[int]:
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


def stage_context(
    session: Session | None,
    hall: Hall,
    access: HallAccess,
    issue_id: int,
    *,
    events: list[queries.EventRow] | None = None,
    page: queries.IssuePage | None = None,
    merge_targets: bool = True,
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
    return {
        "hall": hall,
        "access": access,
        "issue": issue,
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
        "merge_targets": queries.list_merge_targets(
            fragments.needs(session), hall_id=access.hall_id, exclude_id=issue_id
        )
        if review and merge_targets
        else [],
        "can_close": policies.can_review(access) and allows(issue.stage, Action.CLOSE_DELIBERATION),
        "see_contact": False,
        "overdue": issue.stage == Stage.UNDER_REVIEW
        and issue.review_due_at is not None
        and issue.review_due_at < clock.now(),
        "stage_errors": {},
        "stage_form": {},
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
        "editable": _editable(access, page.rows),
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
    context |= _decision_context(session, access, issue, context["events"])
    context |= _tasks_context(session, access, issue, context["events"])
    context |= _escalation_context(session, access, issue, context["events"])
    context |= issue_evaluation_context(session, access, issue, context["events"])
    return context


def _decision_context(
    session: Session | None, access: HallAccess, issue: Issue, events: list[queries.EventRow]
) -> dict[str, Any]:
    """The 民决 card (voting/_issue_decision.html), once an issue has reached 民决 (an issue
    sent back to 民议 keeps showing its earlier ballots); its timeline says whether it has."""
    if not any(PHASE_OF[row.event.to_stage] == Phase.DECIDE for row in events):
        return {"ballots": [], "resolution": None, "can_manage": False}
    return issue_decision_context(fragments.needs(session), access, issue)


_DOING = frozenset({Phase.IMPLEMENT, Phase.EVALUATE})


def _tasks_context(
    session: Session | None, access: HallAccess, issue: Issue, events: list[queries.EventRow]
) -> dict[str, Any]:
    """The 民办 card (tasks/_issue_card.html), once the issue has reached 民办 (or 民评)."""
    if not any(PHASE_OF[row.event.to_stage] in _DOING for row in events):
        return {"task_card": None}
    return issue_tasks_context(fragments.needs(session), access, issue)


def _escalation_context(
    session: Session | None, access: HallAccess, issue: Issue, events: list[queries.EventRow]
) -> dict[str, Any]:
    """The 吹哨报到 card (escalations/_issue_card.html), once the issue has reached 民办."""
    if not any(PHASE_OF[row.event.to_stage] in _DOING for row in events):
        return {"escalations": [], "can_escalate": False}
    return issue_escalation_context(fragments.needs(session), access, issue)


# --- the page as it is read: its shared parts kept (app/web/fragments.py) -----------------

# What each kept part reads: a write to any of these tables empties it.
EVENT_TABLES = ("issue_stage_event", "user")
SHOWN_TABLES = ("issue", "user", "consultation_opinion")
STAGE_TABLES = ("issue", "user", "consultation_opinion", "issue_stage_event", "cosign", "hall")
PHOTO_TABLES = ("issue_photo",)
COMMENT_TABLES = ("comment", "comment_report", "issue", "user")
SOLUTION_TABLES = ("solution", "consultation_opinion", "issue", "user")


def shown_context(
    request: Request,
    session: Session | None,
    hall: Hall,
    access: HallAccess,
    issue_id: int,
    before: int | None,
) -> dict[str, Any]:
    """The issue page as `page_context` builds it, with what every reader sees alike read and
    rendered once: the timeline, the photos, the comments and the solutions. What is the
    reader's own (co-signing, the buttons of the stage panel, the 民决 card) is read per
    request: one query for a resident."""
    hall_id = access.hall_id
    events = fragments.kept(
        request,
        session,
        "issue_events",
        tables=EVENT_TABLES,
        key=(hall_id, issue_id),
        read=lambda s: queries.list_events(s, hall_id=hall_id, issue_id=issue_id),
    )
    page = _kept_page(request, session, access, issue_id)
    context = stage_context(
        session, hall, access, issue_id, events=events, page=page, merge_targets=False
    )
    issue: Issue = context["issue"]
    token = csrf_token(request)
    context["stage_html"] = _stage_part(request, session, context, token)
    context["comments_html"] = _comments_part(request, session, context, before, token)
    context["solutions_html"] = fragments.shared(
        request,
        session,
        "issues/_solutions.html",
        tables=SOLUTION_TABLES,
        key=(hall_id, issue_id, policies.can_take_part(access), issue.stage),
        context=lambda s: (
            {"hall": hall, "issue": issue} | solutions_context(s, access, issue, context["opinion"])
        ),
        holes={"csrf_token": token},
    )
    context["photo_ids"] = fragments.kept(
        request,
        session,
        "issue_photos",
        tables=PHOTO_TABLES,
        key=(hall_id, issue_id),
        read=lambda s: queries.list_photo_ids(s, hall_id=hall_id, issue_id=issue_id),
    )
    context |= _decision_context(session, access, issue, events)
    context |= _tasks_context(session, access, issue, events)
    context |= _escalation_context(session, access, issue, events)
    context |= issue_evaluation_context(session, access, issue, events)
    return context


# Kept per person (small values): larger than the memo of rendered parts.
PER_PERSON = 50_000


def _kept_page(
    request: Request, session: Session | None, access: HallAccess, issue_id: int
) -> queries.IssuePage | None:
    """get_issue_page's answer from three kept parts: the issue's top (shared), who co-signed
    it (shared) and where the reader lives (theirs, kept until a membership changes)."""
    hall_id = access.hall_id
    shown = fragments.kept(
        request,
        session,
        "issue_shown",
        tables=SHOWN_TABLES,
        key=(hall_id, issue_id),
        read=lambda s: queries.get_issue_shown(s, hall_id=hall_id, issue_id=issue_id),
    )
    if shown is None:
        return None
    cosigners = fragments.kept(
        request,
        session,
        "cosigners",
        tables=("cosign",),
        key=(hall_id, issue_id),
        read=lambda s: queries.cosigner_ids(s, hall_id=hall_id, issue_id=issue_id),
    )
    place = fragments.kept(
        request,
        session,
        "member_place",
        tables=("membership", "household", "entrance"),
        key=(hall_id, access.membership_id),
        read=lambda s: queries.member_place(s, hall_id=hall_id, membership_id=access.membership_id),
        size=PER_PERSON,
    )
    return queries.IssuePage(
        issue=shown.issue,
        proposer_name=shown.proposer_name,
        merged_into=shown.merged_into,
        opinion=shown.opinion,
        cosigned=access.user_id in cosigners,
        place=place,
    )


# What the stage panel shows beyond its issue and timeline: the reader's standing.
_STAGE_FLAGS = (
    "cosigned",
    "can_cosign",
    "can_withdraw_cosign",
    "can_withdraw",
    "can_review",
    "can_close",
    "in_scope",
    "overdue",
)


def _stage_part(
    request: Request, session: Session | None, context: dict[str, Any], token: str
) -> Markup:
    """The stage panel, shared by the readers who stand alike towards the issue (the same
    buttons); the chair's merge targets are read only when it is rendered."""
    access: HallAccess = context["access"]
    flags = tuple(context[name] for name in _STAGE_FLAGS)

    def panel(s: Session) -> dict[str, Any]:
        if not context["can_review"]:
            return context
        targets = queries.list_merge_targets(
            s, hall_id=access.hall_id, exclude_id=context["issue"].id
        )
        return context | {"merge_targets": targets}

    return fragments.shared(
        request,
        session,
        "issues/_stage_panel.html",
        tables=STAGE_TABLES,
        key=(access.hall_id, context["issue"].id, access.is_verified, flags),
        context=panel,
        holes={"csrf_token": token},
    )


def _with_authors(page: queries.CommentPage) -> tuple[queries.CommentPage, frozenset[int]]:
    return page, page.authors


def _comments_part(
    request: Request,
    session: Session | None,
    page: dict[str, Any],
    before: int | None,
    token: str,
) -> Markup:
    """The comments, shared by every reader with the same buttons who wrote none of them;
    a reader who wrote some sees them with their own links (kept for them alone)."""
    access: HallAccess = page["access"]
    issue: Issue = page["issue"]
    moderator = policies.can_moderate(access)
    key = (access.hall_id, issue.id, before, moderator)
    rows, authors = fragments.kept(
        request,
        session,
        "comment_page",
        tables=COMMENT_TABLES,
        key=key,
        read=lambda s: _with_authors(
            queries.list_comments(
                s,
                hall_id=access.hall_id,
                issue_id=issue.id or 0,
                before=before,
                with_reports=moderator,
            )
        ),
    )
    flags = comment_flags(access, issue)
    wrote = access.user_id in authors
    editable = _editable(access, rows.rows) if wrote else set()
    reader = (access.user_id, frozenset(editable)) if wrote else None

    def context(_: Session) -> dict[str, Any]:
        return {
            "hall": page["hall"],
            "access": access,
            "issue": issue,
            "comments": rows.rows,
            "next_before": rows.next_before,
            "stances": list(Stance),
            "stance_counts": queries.stance_counts(issue),
            "comment_errors": {},
            "comment_form": {},
            "editable": editable,
            **flags,
        }

    shown = (flags["can_comment"], flags["can_report"], reader)
    return fragments.shared(
        request,
        session,
        "issues/_comments.html",
        tables=COMMENT_TABLES,
        key=(*key, shown),
        context=context,
        holes={"csrf_token": token},
    )


@router.get("/halls/{hall_id}/issues/{issue_id}", name="issues.detail")
async def detail(
    request: Request,
    hall: HallDep,
    access: AccessDep,
    issue_id: Id,
    before: Annotated[fields.Id | None, Query()] = None,
) -> Response:
    if before is not None and is_partial(request):  # "更多评论", appended by htmx
        return await fragments.answer(request, _more, hall, access, issue_id, before)
    return await fragments.answer(request, _page, hall, access, issue_id, before)


def _page(
    request: Request,
    session: Session | None,
    hall: Hall,
    access: HallAccess,
    issue_id: int,
    before: int | None,
) -> Response:
    """The whole page; without a session only if everything it shows is kept."""
    context = shown_context(request, session, hall, access, issue_id, before)
    context |= fragments.bell(request, session)
    context["share_link"] = public_url(
        request,
        request.app.state.settings,
        url("issues.detail", hall_id=hall.id, issue_id=issue_id),
    )
    return render(request, "issues/detail.html", context)


def _more(
    request: Request,
    session: Session | None,
    hall: Hall,
    access: HallAccess,
    issue_id: int,
    before: int,
) -> Response:
    """The next page of comments (htmx): always read."""
    session = fragments.needs(session)
    issue = queries.get_issue(session, hall_id=access.hall_id, issue_id=issue_id)
    if issue is None:
        raise NotFound("not_found")
    context = {"hall": hall, "access": access, "issue": issue}
    context |= comments_context(session, access, issue, before=before)
    return render(request, "issues/_comment_page.html", context)


@router.get("/halls/{hall_id}/issues/{issue_id}/photos/{photo_id}", name="issues.photo")
def photo(session: SessionDep, access: AccessDep, issue: IssueDep, photo_id: Id) -> Response:
    found = queries.get_photo(
        session, hall_id=access.hall_id, issue_id=issue.id or 0, photo_id=photo_id
    )
    if found is None:
        raise NotFound("not_found")
    return Response(found.data, media_type=found.content_type)


# --- how an action on the issue page answers ----------------------------------------------


def on_issue_page(
    act: HallAction,
    issue_id: int,
    run: Callable[[], object],
    *,
    done: str,
    part: str,
    refused: Refusals | None = None,
    form: dict[str, Any] | None = None,
    thread_id: int | None = None,
) -> Response:
    """Run one service call (app/web/actions.py); answer with the part of the issue page it
    changed (htmx) or PRG to the issue page.

    ValidationFailed → 422 and the message next to the field; Conflict / NotAllowed → the
    friendly message, 409 (htmx) or a warning flash on the issue page.
    """
    to = url("issues.detail", hall_id=act.hall_id, issue_id=issue_id)

    def page(outcome: Outcome[Any]) -> Response:
        return _part(act, issue_id, outcome, part, form, thread_id)

    anchor = _ANCHORS.get(part, "")
    return respond(
        act.request,
        act.session,
        run,
        to=to + anchor,
        conflict_to=to,
        page=page,
        done=done,
        refused=refused,
    )


def _part(
    act: HallAction,
    issue_id: int,
    outcome: Outcome[Any],
    part: str,
    form: dict[str, Any] | None,
    thread_id: int | None,
) -> Response:
    """The part of the page an action changed (htmx), or the whole page with a field's error."""
    request, session, hall, access = act.request, act.session, act.hall, act.access
    errors = outcome.errors
    issue = queries.get_issue(session, hall_id=access.hall_id, issue_id=issue_id)
    if issue is None:
        raise NotFound("not_found")
    if not is_partial(request):  # a plain form with a field error: the whole page, 422
        context = page_context(session, hall, access, issue_id)
        _put_errors(context, part, errors, form, thread_id)
        return render(request, "issues/detail.html", context, status_code=422)
    context = {"hall": hall, "access": access, "issue": issue, "notice": outcome.notice}
    if part == "stage":
        context |= stage_context(session, hall, access, issue_id)
        template = "issues/_stage_panel.html"
    elif part == "solutions":
        opinion = queries.get_opinion(session, hall_id=access.hall_id, issue_id=issue_id)
        context |= solutions_context(session, access, issue, opinion)
        template = "issues/_solutions.html"
    elif part == "thread" and thread_id is not None:
        row = queries.get_thread(session, hall_id=access.hall_id, comment_id=thread_id)
        if row is None:
            raise NotFound("not_found")
        context |= comment_flags(access, issue) | {
            "row": row,
            "editable": _editable(access, [row]),
            "comment_errors": {},
            "comment_form": {},
            "partial_thread": True,
        }
        template = "issues/_comment.html"
    else:
        context |= comments_context(session, access, issue)
        template = "issues/_comments.html"
    _put_errors(context, part, errors, form, thread_id)
    context["oob"] = True
    return render(request, template, context, status_code=outcome.status)


_ANCHORS = {
    "stage": "#stage",
    "comments": "#comments",
    "thread": "#comments",
    "solutions": "#solutions",
}


_ACTION_FIELD = {"reply": "body", "edit": "body", "report": "reason", "hide": "reason"}


def _comment_form_of(form: dict[str, Any]) -> tuple[str, int | None]:
    """Which per-comment form was sent, and for which comment."""
    for kind in ("edit", "report", "hide"):
        if form.get(f"{kind}_id"):
            return kind, form[f"{kind}_id"]
    return "reply", form.get("parent_id")


def _put_errors(
    context: dict[str, Any],
    part: str,
    errors: dict[str, str],
    form: dict[str, Any] | None,
    thread_id: int | None,
) -> None:
    if not errors:
        return
    if part == "solutions":
        context["solution_errors"], context["solution_form"] = errors, form or {}
    elif part in {"comments", "thread"}:
        context["comment_errors"], context["comment_form"] = errors, form or {}
        context["error_thread"] = thread_id
        if thread_id is None:
            return  # the comment form at the top shows its own errors
        kind, comment_id = _comment_form_of(form or {})
        field = _ACTION_FIELD[kind]
        shown = field if field in errors else None
        if shown:  # the form opens again in its comment, the message next to the field
            context["open_form"] = {
                "kind": kind,
                "id": comment_id,
                "errors": errors,
                "value": (form or {}).get(field) or "",
            }
        context["thread_errors"] = [text for key, text in errors.items() if key != shown]
    else:
        context["stage_errors"], context["stage_form"] = errors, form or {}
