"""附议: a verified neighbour supports an issue while it collects co-signatures, or takes it back."""

from __future__ import annotations

from fastapi import Response

from app.halls.action import ActionDep
from app.issues import policies, service
from app.issues.deps import IssueDep
from app.issues.routes.common import page_router, require
from app.issues.routes.issue_page import on_issue_page
from app.web.i18n import _

router = page_router()


@router.post("/halls/{hall_id}/issues/{issue_id}/cosign", name="issues.cosign")
def cosign(act: ActionDep, issue: IssueDep) -> Response:
    require(policies.can_take_part(act.access) and act.access.is_verified)
    issue_id = issue.id or 0
    return on_issue_page(
        act,
        issue_id,
        lambda: service.cosign_issue(**act.who, issue_id=issue_id),
        done=_("附议成功，谢谢您的支持"),
        part="stage",
        beside="cosign",
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/cosign/withdraw", name="issues.withdraw_cosign")
def withdraw_cosign(act: ActionDep, issue: IssueDep) -> Response:
    require(act.access.is_verified)
    issue_id = issue.id or 0
    return on_issue_page(
        act,
        issue_id,
        lambda: service.withdraw_cosign(**act.who, issue_id=issue_id),
        done=_("已撤回附议"),
        part="stage",
        beside="withdraw_cosign",
    )
