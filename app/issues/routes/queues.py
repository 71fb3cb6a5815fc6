"""The chair's queues: issues waiting for review (/halls/1/review), comments reported
(/halls/1/moderation), where the chair hides a reported comment or dismisses its reports
without leaving the queue (`on_queue`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from app.core import clock
from app.halls.action import HallAction
from app.halls.deps import AccessDep, HallDep
from app.issues import policies, queries
from app.issues.routes.common import page_router, require
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep
from app.web.forms import Refusals
from app.web.htmx import is_partial, render
from app.web.links import url

router = page_router()


@router.get("/halls/{hall_id}/review", name="issues.review_queue")
def review_queue(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep
) -> Response:
    require(policies.can_view_queues(access))
    rows = queries.list_review_queue(session, hall_id=access.hall_id)
    context = {"hall": hall, "access": access, "rows": rows, "now": clock.now()}
    return render(request, "issues/review.html", context)


@router.get("/halls/{hall_id}/moderation", name="issues.moderation")
def moderation(request: Request, session: SessionDep, hall: HallDep, access: AccessDep) -> Response:
    require(policies.can_view_queues(access))
    context = {
        "hall": hall,
        "access": access,
        "rows": queries.list_reported(session, hall_id=access.hall_id),
        "can_moderate": policies.can_moderate(access),
        "errors": {},
    }
    return render(request, "issues/moderation.html", context)


# --- acting from the queue ------------------------------------------------------------------

# The origin field the queue's forms send: hide and restore then answer in the queue (PRG back
# to it, or the row in place with htmx; a missing reason next to the row's field). Only this
# one value is known, so nothing the client sends can name where it is sent afterwards.
FROM_QUEUE = "queue"


def on_queue(
    act: HallAction,
    comment_id: int,
    run: Callable[[], object],
    *,
    done: str,
    refused: Refusals | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    """Run a moderation action taken in the queue (app/web/actions.py) and answer there."""

    def page(outcome: Outcome[Any]) -> Response:
        return _queue_part(act, comment_id, outcome, form or {})

    to = url("issues.moderation", hall_id=act.hall_id)
    return respond(act.request, act.session, run, to=to, page=page, done=done, refused=refused)


def _queue_part(
    act: HallAction, comment_id: int, outcome: Outcome[Any], form: dict[str, Any]
) -> Response:
    """htmx: the row again (the form with its message, or the notice where it was); without
    JS, a field's error: the whole queue, the message next to that row's reason (422)."""
    request, access = act.request, act.access
    rows = queries.list_reported(act.session, hall_id=access.hall_id)
    context: dict[str, Any] = {
        "hall": act.hall,
        "access": access,
        "can_moderate": policies.can_moderate(access),
        "errors": {comment_id: outcome.errors} if outcome.errors else {},
        "form": {comment_id: form},
        "notice": outcome.notice,
    }
    if not is_partial(request):
        page = context | {"rows": rows}
        return render(request, "issues/moderation.html", page, status_code=outcome.status)
    row = next((r for r in rows if r.comment.id == comment_id), None)
    context |= {"row": row, "gone": comment_id if row is None else None}
    return render(request, "issues/_report_row.html", context, status_code=outcome.status)
