"""The chair's view of the hall's audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.audit import queries
from app.core import fields
from app.core.errors import NotFound
from app.halls import policies
from app.halls.deps import AccessDep, HallDep
from app.web.deps import SessionDep
from app.web.forms import FormRoute
from app.web.htmx import render
from app.web.i18n import N_

router = APIRouter(tags=["audit"], route_class=FormRoute)

ACTION_LABELS = {
    "halls.create_hall": N_("创建议事厅"),
    "halls.join_hall": N_("申请加入"),
    "halls.verify_member": N_("审核通过"),
    "halls.reject_member": N_("退回申请"),
    "halls.add_member_on_behalf": N_("代录居民"),
    "halls.import_roster": N_("导入住户名册"),
    "halls.update_hall_settings": N_("修改议事规则"),
    "halls.set_member_roles": N_("调整成员身份"),
    "halls.rotate_invite": N_("更换邀请链接"),
    "halls.appoint_chair": N_("任命主持人"),
    "halls.create_street": N_("创建街道"),
    "halls.add_street_admin": N_("设置街道管理员"),
}
PAGE = 50


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
            "labels": ACTION_LABELS,
        },
    )
