"""A 吹哨报到 story for the demo (app/demo.py may call `seed_story`): three departments of the
street, and three escalations on one issue 办理中, dated back from `now` with the clock frozen
step by step, so every state shows: one 办结 in time with help (协办) and replies, one 紧急
dispatched but overdue for 报到 and 办结, one still waiting for dispatch. Through the real use
cases (each commits in the session given), so the trail and the audit chain are as in life."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlmodel import Session

from app.accounts.models import User
from app.core import clock
from app.escalations import queries, schemas, service
from app.escalations.models import Department, Escalation, Urgency, WhistleCategory
from app.escalations.policies import DepartmentAccess
from app.halls import queries as hall_queries
from app.halls.models import Hall

DEPARTMENTS = ("城管科", "市政所", "房管所")


def _member(session: Session, user: User, department: Department) -> DepartmentAccess:
    access = queries.department_access(
        session, user_id=user.id or 0, department_id=department.id or 0
    )
    assert access is not None
    return access


def seed_story(
    session: Session,
    *,
    hall: Hall,
    chair: User,
    street_admin: User,
    members: Mapping[str, User],
    issue_id: int,
    now: datetime,
) -> list[Escalation]:
    """`members`: one user per name of DEPARTMENTS (they log in to see 部门待办); the street
    admin must be an official of the hall's street, the chair the hall's chair, the issue 办理中."""
    street = hall_queries.street_access(session, user=street_admin, street_id=hall.street_id)
    hall_access = hall_queries.hall_access(session, user=chair, hall=hall)
    try:
        clock.freeze(now - timedelta(days=4))
        deps = {}
        for name in DEPARTMENTS:
            deps[name] = service.create_department(
                session=session,
                access=street,
                actor=street_admin,
                form=schemas.DepartmentForm(name=name),
            )
            service.add_department_member(
                session=session,
                access=street,
                actor=street_admin,
                department_id=deps[name].id or 0,
                form=schemas.MemberForm(phone=members[name].phone or ""),
            )

        def whistle(at: datetime, urgency: Urgency, category: WhistleCategory, text: str) -> int:
            clock.freeze(at)
            return (
                service.raise_escalation(
                    session=session,
                    access=hall_access,
                    actor=chair,
                    issue_id=issue_id,
                    form=schemas.EscalationForm(category=category, urgency=urgency, summary=text),
                ).id
                or 0
            )

        def dispatch(at: datetime, escalation_id: int, name: str) -> None:
            clock.freeze(at)
            service.dispatch(
                session=session,
                access=street,
                actor=street_admin,
                escalation_id=escalation_id,
                form=schemas.DispatchForm(department_id=deps[name].id),
            )

        lead, helper = members["城管科"], members["市政所"]
        start = now - timedelta(days=3)
        done = whistle(
            start,
            Urgency.GENERAL,
            WhistleCategory.ENFORCEMENT,
            "北门外违规占道经营，影响加装电梯施工车辆进出，请街道协调城管执法",
        )
        dispatch(start + timedelta(hours=1), done, "城管科")
        clock.freeze(start + timedelta(hours=2))
        service.acknowledge(
            session=session,
            access=_member(session, lead, deps["城管科"]),
            actor=lead,
            escalation_id=done,
        )
        clock.freeze(start + timedelta(hours=5))
        service.ask_help(
            session=session,
            access=_member(session, lead, deps["城管科"]),
            actor=lead,
            escalation_id=done,
            form=schemas.HelpForm(department_id=deps["市政所"].id, text="需市政所恢复路面"),
        )
        clock.freeze(start + timedelta(days=1))
        service.reply(
            session=session,
            access=_member(session, helper, deps["市政所"]),
            actor=helper,
            escalation_id=done,
            form=schemas.TextForm(text="已安排周三修复北门外人行道"),
        )
        clock.freeze(start + timedelta(days=2))
        service.resolve(
            session=session,
            access=_member(session, lead, deps["城管科"]),
            actor=lead,
            escalation_id=done,
            form=schemas.TextForm(text="占道摊位已清理，路面已修复，施工车辆可正常进出"),
        )
        late = whistle(
            now - timedelta(hours=5),
            Urgency.EMERGENCY,
            WhistleCategory.EMERGENCY,
            "3号楼地下供水管爆裂，楼道积水，请街道协调抢修",
        )
        dispatch(now - timedelta(hours=4, minutes=50), late, "房管所")
        waiting = whistle(
            now - timedelta(hours=1),
            Urgency.UTILITIES,
            WhistleCategory.DEMAND,
            "2号楼停电两天，供电公司未答复，请街道协调",
        )
    finally:
        clock.freeze(None)
    return [e for e in (session.get(Escalation, i) for i in (done, late, waiting)) if e]
