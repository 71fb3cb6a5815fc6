"""附议: a verified neighbour supports an issue while it collects co-signatures, or takes it back."""

from __future__ import annotations

from fastapi import Request, Response

from app.halls.deps import AccessDep, HallDep
from app.issues import policies, service
from app.issues.deps import IssueDep
from app.issues.routes.common import page_router, require
from app.issues.routes.issue_page import on_issue_page
from app.web.deps import CurrentUser, SessionDep
from app.web.i18n import _

router = page_router()


@router.post("/halls/{hall_id}/issues/{issue_id}/cosign", name="issues.cosign")
def cosign(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
) -> Response:
    require(policies.can_take_part(access) and access.is_verified)
    issue_id = issue.id or 0
    return on_issue_page(
        request,
        session,
        hall,
        access,
        issue_id,
        lambda: service.cosign_issue(session=session, access=access, actor=user, issue_id=issue_id),
        done=_("附议成功，谢谢您的支持"),
        part="stage",
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/cosign/withdraw", name="issues.withdraw_cosign")
def withdraw_cosign(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
) -> Response:
    require(access.is_verified)
    issue_id = issue.id or 0
    return on_issue_page(
        request,
        session,
        hall,
        access,
        issue_id,
        lambda: service.withdraw_cosign(
            session=session, access=access, actor=user, issue_id=issue_id
        ),
        done=_("已撤回附议"),
        part="stage",
    )
