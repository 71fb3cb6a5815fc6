"""Moderation: the chair hides a comment (with the reason) or shows it again, from the issue
page or from the queue of reported comments (`queues`); each answers where it was asked (the
form's `origin`: "queue", or nothing for the issue page)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Form, Request, Response

from app.core import fields
from app.halls.action import ActionDep
from app.halls.deps import AccessDep, HallDep
from app.issues import policies, schemas, service
from app.issues.deps import CommentDep
from app.issues.routes.comments import action_page, comment_action, issue_of
from app.issues.routes.common import page_router, require
from app.issues.routes.queues import FROM_QUEUE, on_queue
from app.web.deps import SessionDep
from app.web.forms import Refused
from app.web.i18n import _

router = page_router()


@router.get("/halls/{hall_id}/comments/{comment_id}/hide", name="issues.hide_comment_form")
def hide_comment_form(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, row: CommentDep
) -> Response:
    require(policies.can_moderate(access) and row.comment.hidden_at is None)
    return action_page(request, hall, access, issue_of(session, access, row), row, "hide")


@router.post("/halls/{hall_id}/comments/{comment_id}/hide", name="issues.hide_comment")
def hide_comment(
    act: ActionDep,
    refused: Refused,
    row: CommentDep,
    form: Annotated[schemas.ReasonForm, Form()],
    origin: Annotated[fields.Text, Form()] = "",
) -> Response:
    """Hide with the reason: answered in the queue when asked from it, else on the issue page."""
    require(policies.can_moderate(act.access))
    comment_id = row.comment.id or 0
    run = partial(service.hide_comment, **act.who, comment_id=comment_id, form=form)
    done, typed = _("评论已隐藏"), form.model_dump()
    if origin == FROM_QUEUE:
        return on_queue(act, comment_id, run, done=done, refused=refused, form=typed)
    return comment_action(act, row, run, done, {"hide_id": comment_id, **typed}, refused=refused)


@router.post("/halls/{hall_id}/comments/{comment_id}/restore", name="issues.restore_comment")
def restore_comment(
    act: ActionDep,
    refused: Refused,
    row: CommentDep,
    origin: Annotated[fields.Text, Form()] = "",
) -> Response:
    """Show a hidden comment again, or dismiss the reports on a visible one (驳回举报)."""
    require(policies.can_moderate(act.access))
    comment_id = row.comment.id or 0
    run = partial(service.restore_comment, **act.who, comment_id=comment_id)
    hidden = row.comment.hidden_at is not None
    done = _("评论已恢复显示") if hidden else _("已驳回举报，评论继续显示")
    if origin == FROM_QUEUE:
        return on_queue(act, comment_id, run, done=done, refused=refused)
    return comment_action(act, row, run, done, refused=refused)
