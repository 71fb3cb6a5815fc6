"""The issue page (/halls/1/issues/2): the stage panel, the comments, the solutions, the 民决
card; its photos; and how an action taken on the page answers (`on_issue_page`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query, Request, Response
from markupsafe import Markup
from sqlmodel import Session

from app.core import fields
from app.core.errors import NotFound
from app.evaluations.issue_card import issue_evaluation_context
from app.halls.action import HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues import policies, queries
from app.issues.deps import Id, IssueDep
from app.issues.models import Issue, Stance
from app.issues.page import (
    comment_flags,
    comments_context,
    decision_context,
    editable_ids,
    escalation_context,
    merge_context,
    page_context,
    solutions_context,
    stage_context,
    tasks_context,
)
from app.issues.routes.common import page_router
from app.web import fragments
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep
from app.web.forms import Refusals
from app.web.htmx import csrf_token, is_partial, render
from app.web.links import public_url, url

router = page_router()


# --- the page as it is read: its shared parts kept (app/web/fragments.py) -----------------

# What each kept part reads: a write to any of these tables empties it.
EVENT_TABLES = ("issue_stage_event", "user")
SHOWN_TABLES = ("issue", "user", "consultation_opinion")
STAGE_TABLES = (
    "issue",
    "user",
    "consultation_opinion",
    "issue_stage_event",
    "cosign",
    "hall",
    "ballot",
)
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
    merge_q: str = "",
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
        session,
        hall,
        access,
        issue_id,
        events=events,
        page=page,
        merge_targets=False,
        merge_q=merge_q,
    )
    issue: Issue = context["issue"]
    token = csrf_token(request)
    if context["can_review"] and merge_q:
        # the chair's search: read for them alone (too many distinct texts to keep), as the
        # issue list's own search; the page includes the panel itself (no stage_html)
        context |= merge_context(fragments.needs(session), access, issue, merge_q)
    else:
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
    context |= decision_context(session, access, issue, events)
    context |= tasks_context(session, access, issue, events)
    context |= escalation_context(session, access, issue, events)
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
    "deliberation_overdue",
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
        return context | merge_context(s, access, context["issue"], "")

    key = (access.hall_id, context["issue"].id, access.is_verified, flags, context["stage_text"])
    return fragments.shared(
        request,
        session,
        "issues/_stage_panel.html",
        tables=STAGE_TABLES,
        key=key,
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
    editable = editable_ids(access, rows.rows) if wrote else set()
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
    merge_q: Annotated[fields.Text, Query(max_length=60)] = "",
) -> Response:
    """The issue page; `merge_q`: the chair's search for the issue to merge this one into."""
    if before is not None and is_partial(request):  # "更多评论", appended by htmx
        return await fragments.answer(request, _more, hall, access, issue_id, before)
    return await fragments.answer(request, _page, hall, access, issue_id, before, merge_q)


def _page(
    request: Request,
    session: Session | None,
    hall: Hall,
    access: HallAccess,
    issue_id: int,
    before: int | None,
    merge_q: str = "",
) -> Response:
    """The whole page; without a session only if everything it shows is kept."""
    context = shown_context(request, session, hall, access, issue_id, before, merge_q)
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
    done: str | Callable[[Any], str],
    part: str,
    refused: Refusals | None = None,
    form: dict[str, Any] | None = None,
    thread_id: int | None = None,
    beside: str | None = None,
) -> Response:
    """Run one service call (app/web/actions.py); answer with the part of the issue page it
    changed (htmx) or PRG to the issue page.

    ValidationFailed → 422 and the message next to the field; Conflict / NotAllowed → the
    friendly message, 409 (htmx) or a warning flash on the issue page. A stage button named
    by `beside` (its form in issues/_stage_panel.html) has its refusal said under it, with
    htmx and without JS: 409, the page (or panel) again with that form and what was typed.
    """
    to = url("issues.detail", hall_id=act.hall_id, issue_id=issue_id)

    def page(outcome: Outcome[Any]) -> Response:
        return _part(act, issue_id, outcome, part, form, thread_id, beside)

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
        beside=beside is not None,
    )


def _part(
    act: HallAction,
    issue_id: int,
    outcome: Outcome[Any],
    part: str,
    form: dict[str, Any] | None,
    thread_id: int | None,
    beside: str | None = None,
) -> Response:
    """The part of the page an action changed (htmx), or the whole page with a field's error
    (422) or with a refusal said under the stage button pressed (`beside`, 409)."""
    request, session, hall, access = act.request, act.session, act.hall, act.access
    errors = outcome.errors
    issue = queries.get_issue(session, hall_id=access.hall_id, issue_id=issue_id)
    if issue is None:
        raise NotFound("not_found")
    refused = beside if outcome.conflict else None
    if not is_partial(request):  # a plain form with a field error or a refusal: the whole page
        context = page_context(session, hall, access, issue_id)
        _put_errors(context, part, errors, form, thread_id, refused)
        _merge_again(session, access, issue, context, refused)
        return render(request, "issues/detail.html", context, status_code=outcome.status)
    context = {"hall": hall, "access": access, "issue": issue, "notice": outcome.notice}
    if part == "stage":
        context |= stage_context(session, hall, access, issue_id)
        _merge_again(session, access, issue, context, refused)
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
            "editable": editable_ids(access, [row]),
            "comment_errors": {},
            "comment_form": {},
            "partial_thread": True,
        }
        template = "issues/_comment.html"
    else:
        context |= comments_context(session, access, issue)
        template = "issues/_comments.html"
    _put_errors(context, part, errors, form, thread_id, refused)
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
    refused: str | None = None,
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
        context["stage_refused"] = refused


def _merge_again(
    session: Session, access: HallAccess, issue: Issue, context: dict[str, Any], refused: str | None
) -> None:
    """A refused 合并 (the issue reviewed meanwhile) shows its list again, the choice kept."""
    if refused == "merge" and not context["merge_targets"]:
        context |= merge_context(session, access, issue, "")
