"""The chair's review of a proposed issue (on the issue page's stage panel): accept it into
民议, answer that it is not taken up, or merge it into another issue."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Response

from app.core import fields
from app.halls.action import ActionDep
from app.issues import policies, schemas, service
from app.issues.deps import IssueDep
from app.issues.routes.common import page_router, require
from app.issues.routes.issue_page import on_issue_page
from app.web.forms import Refused
from app.web.i18n import _

router = page_router()


@router.post("/halls/{hall_id}/issues/{issue_id}/accept", name="issues.accept")
def accept(
    act: ActionDep, refused: Refused, issue: IssueDep, form: Annotated[schemas.AcceptForm, Form()]
) -> Response:
    require(policies.can_review(act.access))
    issue_id = issue.id or 0
    return on_issue_page(
        act,
        issue_id,
        lambda: service.accept_issue(**act.who, issue_id=issue_id, form=form),
        refused=refused,
        done=_("已受理，议题进入协商"),
        part="stage",
        form=form.model_dump(),
        beside="accept",
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/reject", name="issues.reject")
def reject(
    act: ActionDep, refused: Refused, issue: IssueDep, form: Annotated[schemas.ReasonForm, Form()]
) -> Response:
    require(policies.can_review(act.access))
    issue_id = issue.id or 0
    return on_issue_page(
        act,
        issue_id,
        lambda: service.reject_issue(**act.who, issue_id=issue_id, form=form),
        refused=refused,
        done=_("已答复不予受理"),
        part="stage",
        form=form.model_dump(),
        beside="reject",
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/merge", name="issues.merge")
def merge(
    act: ActionDep,
    refused: Refused,
    issue: IssueDep,
    target_id: Annotated[fields.Text, Form()] = "",
) -> Response:
    require(policies.can_review(act.access))
    issue_id = issue.id or 0
    form = schemas.MergeForm(target_id=fields.parse_id(target_id))
    return on_issue_page(
        act,
        issue_id,
        lambda: service.merge_issue(**act.who, issue_id=issue_id, form=form),
        refused=refused,
        done=_("已合并到另一个议题"),
        part="stage",
        form=form.model_dump(),
        beside="merge",
    )
