"""吹哨报到 for the tests (and a story the demo can tell): a street official, departments with
members, and escalations raised, dispatched and acknowledged through the real services."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.accounts.models import User
from app.db import Database
from app.escalations import queries, schemas, service
from app.escalations.models import Department, Escalation, Urgency, WhistleCategory
from app.escalations.policies import DepartmentAccess
from app.halls import service as hall_service
from app.halls.policies import StreetAccess
from app.issues.models import Issue
from tests import factories as f
from tests.implementation_helpers import implementing_issue


def street_admin(db: Database, world: f.HallWorld, *, name: str = "街道干部") -> User:
    user = f.make_user(db, name=name)
    with db.session() as s:
        hall_service.add_street_admin(
            session=s, street=world.street, user=user, actor_id=world.admin.id
        )
    return user


def street_access(world: f.HallWorld, user: User) -> StreetAccess:
    return StreetAccess(user_id=user.id or 0, street_id=world.street.id or 0, is_street_admin=True)


def department(
    db: Database, world: f.HallWorld, admin: User, name: str, members: tuple[User, ...] = ()
) -> Department:
    access = street_access(world, admin)
    with db.session() as s:
        dep = service.create_department(
            session=s, access=access, actor=admin, form=schemas.DepartmentForm(name=name)
        )
    for member in members:
        with db.session() as s:
            service.add_department_member(
                session=s,
                access=access,
                actor=admin,
                department_id=dep.id or 0,
                form=schemas.MemberForm(phone=member.phone or ""),
            )
    return dep


def dept_access(db: Database, user: User, dep: Department) -> DepartmentAccess:
    with db.session(read_only=True) as s:
        access = queries.department_access(s, user_id=user.id or 0, department_id=dep.id or 0)
    assert access is not None
    return access


def raise_on(
    db: Database,
    world: f.HallWorld,
    chair: User,
    issue: Issue,
    *,
    urgency: Urgency = Urgency.GENERAL,
    summary: str = "小区北门路面塌陷，请街道协调市政修复",
    work_order_no: str = "",
) -> Escalation:
    with db.session() as s:
        return service.raise_escalation(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            issue_id=issue.id or 0,
            form=schemas.EscalationForm(
                category=WhistleCategory.DEMAND,
                urgency=urgency,
                summary=summary,
                work_order_no=work_order_no,
            ),
        )


def dispatch(
    db: Database, world: f.HallWorld, admin: User, escalation: Escalation, dep: Department
) -> Escalation:
    with db.session() as s:
        return service.dispatch(
            session=s,
            access=street_access(world, admin),
            actor=admin,
            escalation_id=escalation.id or 0,
            form=schemas.DispatchForm(department_id=dep.id),
        )


def acknowledge(db: Database, user: User, dep: Department, escalation: Escalation) -> Escalation:
    with db.session() as s:
        return service.acknowledge(
            session=s,
            access=dept_access(db, user, dep),
            actor=user,
            escalation_id=escalation.id or 0,
        )


@dataclass
class Story:
    """A hall with an issue 办理中, a street official, two departments with a member each."""

    world: f.HallWorld
    chair: User
    admin: User
    issue: Issue
    lead: Department
    helper: Department
    lead_user: User
    helper_user: User
    escalations: list[Escalation] = field(default_factory=list)


def story(db: Database) -> Story:
    """The whole 吹哨报到 setting through the services (the demo may call this too)."""
    world = f.make_hall(db)
    chair = f.make_chair(db, world)
    admin = street_admin(db, world)
    lead_user = f.make_user(db, name="城管科李科长")
    helper_user = f.make_user(db, name="市政所王所长")
    lead = department(db, world, admin, f.unique("城管科"), (lead_user,))
    helper = department(db, world, admin, f.unique("市政所"), (helper_user,))
    issue = implementing_issue(db, world, chair)
    return Story(world, chair, admin, issue, lead, helper, lead_user, helper_user)
