"""Comments on the issue page: comment and reply, correct one's own (10 minutes), report one.
Each action on a comment has a form loaded into the comment by htmx, or a page of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Form, Request, Response
from sqlmodel import Session

from app.core import clock
from app.core.errors import NotFound
from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues import labels, lifecycle, policies, queries, schemas, service
from app.issues.deps import CommentDep, IssueDep
from app.issues.lifecycle import Action
from app.issues.models import Comment, Issue, Stance
from app.issues.page import written_at
from app.issues.routes.common import page_router, require
from app.issues.routes.issue_page import on_issue_page
from app.web.deps import SessionDep
from app.web.forms import Refusals, Refused
from app.web.htmx import is_partial, render
from app.web.i18n import N_, _
from app.web.messages import message

router = page_router()


@router.post("/halls/{hall_id}/issues/{issue_id}/comments", name="issues.comment")
def comment(
    act: ActionDep, refused: Refused, issue: IssueDep, form: Annotated[schemas.CommentForm, Form()]
) -> Response:
    """Comment with a stance (none chosen: 中立, as the form says and the notice repeats), or
    reply to a comment."""
    require(policies.can_take_part(act.access))
    issue_id, reply = issue.id or 0, form.parent_id is not None
    return on_issue_page(
        act,
        issue_id,
        lambda: service.add_comment(**act.who, issue_id=issue_id, form=form),
        refused=refused,
        done=_("回复已发布") if reply else _posted,
        part="thread" if reply else "comments",
        form=form.model_dump(),
        thread_id=_thread_of(act.session, act.access, form.parent_id),
    )


def _posted(comment: Comment) -> str:
    """The notice of a new comment, with the stance it counts under."""
    stance = _(labels.STANCE_LABELS[Stance(comment.stance)])
    return _("评论已发布，态度：%(stance)s") % {"stance": stance}


def _thread_of(session: Session, access: HallAccess, comment_id: int | None) -> int | None:
    """The top-level comment a reply belongs to (replies are one level deep)."""
    if comment_id is None:
        return None
    row = queries.get_comment(session, hall_id=access.hall_id, comment_id=comment_id)
    if row is None:
        return None
    return row.comment.parent_id or row.comment.id


_ACTION_HEADINGS = {
    "reply": N_("回复评论"),
    "edit": N_("修改评论"),
    "report": N_("举报评论"),
    "hide": N_("隐藏评论"),
}


def issue_of(session: Session, access: HallAccess, row: queries.CommentRow) -> Issue:
    issue = queries.get_issue(session, hall_id=access.hall_id, issue_id=row.comment.issue_id)
    if issue is None:
        raise NotFound("not_found")
    return issue


def action_page(
    request: Request,
    hall: Hall,
    access: HallAccess,
    issue: Issue,
    row: queries.CommentRow,
    kind: str,
    closed: str | None = None,
) -> Response:
    """The form for one action on one comment: loaded into the comment by htmx, or a page of
    its own without JavaScript. `closed` says why the action cannot be taken any more."""
    context = {
        "hall": hall,
        "access": access,
        "issue": issue,
        "item": row,
        "kind": kind,
        "thread_id": row.comment.parent_id or row.comment.id,
        "heading": _(_ACTION_HEADINGS[kind]),
        "stance_names": labels.translated(labels.STANCE_LABELS),
        "closed": closed,
    }
    if is_partial(request):
        return render(request, "issues/_comment_action.html", context)
    return render(request, "issues/comment_action.html", context)


@router.get("/halls/{hall_id}/comments/{comment_id}/reply", name="issues.reply_form")
def reply_form(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, row: CommentDep
) -> Response:
    require(policies.can_take_part(access) and row.comment.hidden_at is None)
    issue = issue_of(session, access, row)
    closed = (
        None
        if lifecycle.is_allowed(issue.stage, Action.COMMENT)
        else message("stage_action_not_allowed")
    )
    return action_page(request, hall, access, issue, row, "reply", closed)


@router.get("/halls/{hall_id}/comments/{comment_id}/edit", name="issues.edit_comment_form")
def edit_comment_form(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, row: CommentDep
) -> Response:
    c = row.comment
    require(access.user_id == c.author_id and c.hidden_at is None)
    still = policies.can_edit_comment(
        access, author_id=c.author_id, created_at=written_at(c), now=clock.now()
    )
    closed = None if still else message("edit_window_over")
    return action_page(request, hall, access, issue_of(session, access, row), row, "edit", closed)


@router.get("/halls/{hall_id}/comments/{comment_id}/report", name="issues.report_comment_form")
def report_comment_form(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, row: CommentDep
) -> Response:
    c = row.comment
    require(
        policies.can_take_part(access) and c.author_id != access.user_id and c.hidden_at is None
    )
    return action_page(request, hall, access, issue_of(session, access, row), row, "report")


def comment_action(
    act: HallAction,
    row: queries.CommentRow,
    run: Callable[[], object],
    done: str,
    form: dict[str, Any] | None = None,
    refused: Refusals | None = None,
) -> Response:
    """An action on one comment answers with its thread (htmx) or PRG to the issue page."""
    thread_id = row.comment.parent_id or row.comment.id
    issue_id = row.comment.issue_id
    return on_issue_page(
        act,
        issue_id,
        run,
        done=done,
        part="thread",
        form=form,
        refused=refused,
        thread_id=thread_id,
    )


@router.post("/halls/{hall_id}/comments/{comment_id}/edit", name="issues.edit_comment")
def edit_comment(
    act: ActionDep,
    refused: Refused,
    row: CommentDep,
    form: Annotated[schemas.EditCommentForm, Form()],
) -> Response:
    require(act.access.user_id == row.comment.author_id)
    comment_id = row.comment.id or 0
    return comment_action(
        act,
        row,
        lambda: service.edit_comment(**act.who, comment_id=comment_id, form=form),
        _("评论已修改"),
        {"edit_id": comment_id, **form.model_dump()},
        refused=refused,
    )


@router.post("/halls/{hall_id}/comments/{comment_id}/report", name="issues.report_comment")
def report_comment(
    act: ActionDep, refused: Refused, row: CommentDep, form: Annotated[schemas.ReasonForm, Form()]
) -> Response:
    require(policies.can_take_part(act.access))
    comment_id = row.comment.id or 0
    return comment_action(
        act,
        row,
        lambda: service.report_comment(**act.who, comment_id=comment_id, form=form),
        _("已举报，居委会会尽快处理"),
        {"report_id": comment_id, **form.model_dump()},
        refused=refused,
    )
