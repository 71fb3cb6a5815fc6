"""The chair's view of the hall's audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.audit import labels, queries
from app.core import fields
from app.core.errors import NotFound
from app.halls import policies
from app.halls.deps import AccessDep, HallDep
from app.issues.labels import STAGE_LABELS
from app.web.deps import SessionDep
from app.web.forms import FormRoute
from app.web.htmx import render

router = APIRouter(tags=["audit"], route_class=FormRoute)

PAGE = 50
WORDS = {
    "labels": labels.ACTION_LABELS,
    "subject_labels": labels.SUBJECT_LABELS,
    "stage_labels": STAGE_LABELS,
}


@router.get("/halls/{hall_id}/audit", name="audit.hall")
def hall_audit(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    before: Annotated[fields.Id | None, Query()] = None,
) -> Response:
    if not policies.can_view_audit(access):
        raise NotFound("not_found")
    events = queries.list_hall_events(session, hall_id=hall.id or 0, before=before, limit=PAGE + 1)
    return render(
        request,
        "audit/hall.html",
        {
            "hall": hall,
            "access": access,
            "events": events[:PAGE],
            "next_before": events[PAGE - 1].id if len(events) > PAGE else None,
        }
        | WORDS,
    )
