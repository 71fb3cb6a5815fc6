"""Closing 民议 (/halls/1/issues/2/close): the chair writes the 协商意见 and picks the solutions
that go to the vote (民决)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import Form, Request, Response
from sqlmodel import Session

from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues import lifecycle, policies, queries, schemas, service
from app.issues.deps import IssueDep
from app.issues.lifecycle import Action
from app.issues.models import Issue
from app.issues.routes.common import page_router, require
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep
from app.web.forms import Refused
from app.web.htmx import render
from app.web.i18n import _
from app.web.links import url

router = page_router()


def _close_context(
    session: Session,
    hall: Hall,
    access: HallAccess,
    issue: Issue,
    form: dict[str, Any],
    errors: dict[str, str],
) -> dict[str, Any]:
    return {
        "hall": hall,
        "access": access,
        "issue": issue,
        "solutions": queries.list_solutions(
            session, hall_id=access.hall_id, issue_id=issue.id or 0
        ),
        "open": lifecycle.is_allowed(issue.stage, Action.CLOSE_DELIBERATION),
        "form": form,
        "errors": errors,
    }


@router.get("/halls/{hall_id}/issues/{issue_id}/close", name="issues.close")
def close_page(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, issue: IssueDep
) -> Response:
    require(policies.can_review(access))
    return render(
        request, "issues/close.html", _close_context(session, hall, access, issue, {}, {})
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/close", name="issues.close_post")
def close(
    act: ActionDep, refused: Refused, issue: IssueDep, form: Annotated[schemas.CloseForm, Form()]
) -> Response:
    require(policies.can_review(act.access))
    return respond(
        act.request,
        act.session,
        lambda: service.close_deliberation(**act.who, issue_id=issue.id or 0, form=form),
        refused=refused,
        to=url("issues.detail", hall_id=act.hall_id, issue_id=issue.id),
        page=partial(_close_again, act, issue, form),
        htmx="redirect",
        beside=True,
        done=_("协商已结束，方案进入表决"),
    )


def _close_again(
    act: HallAction, issue: Issue, form: schemas.CloseForm, outcome: Outcome[Any]
) -> Response:
    context = _close_context(
        act.session, act.hall, act.access, issue, form.model_dump(), outcome.errors
    )
    return render(act.request, "issues/close.html", context, status_code=outcome.status)
