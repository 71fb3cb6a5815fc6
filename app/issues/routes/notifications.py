"""The bell's page (/notifications): what happened to the issues one takes part in."""

from __future__ import annotations

from fastapi import Request, Response

from app.accounts.deps import CurrentUser
from app.issues import queries, service
from app.issues.routes.common import page_router
from app.web.deps import SessionDep
from app.web.htmx import is_partial, redirect, render
from app.web.i18n import _
from app.web.links import url

router = page_router()


@router.get("/notifications", name="issues.notifications")
def notifications(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    user_id = user.id or 0
    return render(
        request,
        "issues/notifications.html",
        {
            "rows": queries.list_notifications(session, user_id=user_id),
        },
    )


@router.post("/notifications/read", name="issues.notifications_read")
def notifications_read(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    service.mark_notifications_read(session=session, user=user)
    if is_partial(request):
        return render(request, "shared/_bell.html", {"unread": 0, "oob": False})
    return redirect(request, url("issues.notifications"), flash_text=_("已全部标为已读"))
