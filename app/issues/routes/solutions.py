"""Solutions on the issue page (民议): a neighbour adds one, with its cost if known."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Response

from app.halls.action import ActionDep
from app.issues import policies, schemas, service
from app.issues.deps import IssueDep
from app.issues.routes.common import page_router, require
from app.issues.routes.issue_page import on_issue_page
from app.web.forms import Refused
from app.web.i18n import _

router = page_router()


@router.post("/halls/{hall_id}/issues/{issue_id}/solutions", name="issues.solution")
def solution(
    act: ActionDep, refused: Refused, issue: IssueDep, form: Annotated[schemas.SolutionForm, Form()]
) -> Response:
    require(policies.can_take_part(act.access))
    issue_id = issue.id or 0
    return on_issue_page(
        act,
        issue_id,
        lambda: service.add_solution(**act.who, issue_id=issue_id, form=form),
        refused=refused,
        done=_("方案已添加"),
        part="solutions",
        form=form.model_dump(),
    )
