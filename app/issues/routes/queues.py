"""The chair's queues: issues waiting for review (/halls/1/review), comments reported
(/halls/1/moderation)."""

from __future__ import annotations

from fastapi import Request, Response

from app.core import clock
from app.halls.deps import AccessDep, HallDep
from app.issues import policies, queries
from app.issues.routes.common import page_router, require
from app.web.deps import SessionDep
from app.web.htmx import render

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
