"""Moderation on the issue page: the chair hides a comment (with the reason) or shows it again.
The queue of reported comments is in `queues`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response

from app.halls.action import ActionDep
from app.halls.deps import AccessDep, HallDep
from app.issues import policies, schemas, service
from app.issues.deps import CommentDep
from app.issues.routes.comments import action_page, comment_action, issue_of
from app.issues.routes.common import page_router, require
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
    act: ActionDep, refused: Refused, row: CommentDep, form: Annotated[schemas.ReasonForm, Form()]
) -> Response:
    require(policies.can_moderate(act.access))
    comment_id = row.comment.id or 0
    return comment_action(
        act,
        row,
        lambda: service.hide_comment(**act.who, comment_id=comment_id, form=form),
        _("评论已隐藏"),
        {"hide_id": comment_id, **form.model_dump()},
        refused=refused,
    )


@router.post("/halls/{hall_id}/comments/{comment_id}/restore", name="issues.restore_comment")
def restore_comment(act: ActionDep, row: CommentDep) -> Response:
    require(policies.can_moderate(act.access))
    comment_id = row.comment.id or 0
    return comment_action(
        act,
        row,
        lambda: service.restore_comment(**act.who, comment_id=comment_id),
        _("评论已恢复显示"),
    )
