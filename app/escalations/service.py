"""吹哨报到 use cases. Each public function owns its transaction (commit) and writes its audit
event and its trail step (EscalationStep) in it.

- The street's officials: create and rename departments, add and remove their members (by the
  phone they registered with), set the windows of an urgency class, dispatch (派单).
- The hall's chair: raise (吹哨) on an issue 办理中, withdraw before dispatch.
- A department's members: 报到, reply (答复 / 进展), ask another department for help (协办),
  办结. A helper department replies; the rest is the lead department's.
- The periodic job: notify once per deadline when a response or resolution is overdue (the
  department, the street, the chair who blew the whistle and the hall's chairs).

Concurrency: every status change reads the escalation FOR UPDATE (PostgreSQL; SQLite's write
transactions are BEGIN IMMEDIATE) and checks the move against the status it holds
(app.escalations.deadlines.refusal): two members pressing 报到 at once record one 报到; the
second is told it was done already (409).

Withdrawing deletes the escalation and its trail (the table's CHECK keeps every status past
已吹哨 tied to a department); the audit event keeps what was withdrawn, by whom and when.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.db import locked
from app.escalations import deadlines, policies, queries, schemas
from app.escalations.deadlines import EscalationStatus, Move, StepKind, Window
from app.escalations.models import (
    Department,
    DepartmentMember,
    Escalation,
    EscalationHelper,
    EscalationStep,
    StreetDeadline,
)
from app.escalations.policies import DepartmentAccess, Part
from app.halls import queries as hall_queries
from app.halls.models import (
    Hall,
    StreetAdmin,
)
from app.halls.policies import HallAccess, StreetAccess
from app.issues import lifecycle, notices
from app.issues.lifecycle import Action, InvalidTransition
from app.issues.models import Issue
from app.tasks.models import Task

WORK_ORDER = re.compile(r"[0-9A-Za-z]{1,40}")
PHONE = re.compile(r"1\d{10}")
NUMBER = re.compile(r"\d{1,7}")


def _text(value: str, maximum: int, *, required: bool = True) -> str | None:
    value = value.strip()
    if not value:
        return "required" if required else None
    return "too_long" if len(value) > maximum else None


def _check(problems: dict[str, str | None]) -> None:
    found = {k: v for k, v in problems.items() if v is not None}
    if found:
        raise ValidationFailed(found)


def _step(
    session: Session,
    escalation: Escalation,
    kind: StepKind,
    *,
    actor_id: int | None,
    department_id: int | None = None,
    text: str = "",
    at: datetime | None = None,
) -> None:
    session.add(
        EscalationStep(
            escalation_id=escalation.id or 0,
            kind=kind,
            actor_id=actor_id,
            department_id=department_id,
            text=text,
            at=at or clock.now(),
        )
    )


def _audit(
    session: Session, action: str, actor_id: int | None, escalation: Escalation, **data: object
) -> None:
    audit.record(
        session,
        action=f"escalations.{action}",
        actor_id=actor_id,
        hall_id=escalation.hall_id,
        subject_type="escalation",
        subject_id=escalation.id,
        data={"issue_id": escalation.issue_id, "status": escalation.status.value, **data},
    )


def _notify(
    session: Session,
    escalation: Escalation,
    user_ids: Iterable[int],
    kind: str,
    *,
    link_issue: bool,
    actor_id: int | None = None,
) -> set[int]:
    """The notice to these people but the actor; `link_issue` for readers of the hall's issue
    (a department's members see the escalation in their 部门待办, not the issue page: a notice
    that names no issue is how notices.link knows to send its reader there)."""
    return notices.send(
        session,
        hall_id=escalation.hall_id,
        user_ids=user_ids,
        kind=kind,
        text=escalation.summary.strip().replace("\n", " "),
        issue_id=escalation.issue_id if link_issue else None,
        actor_id=actor_id,
    )


def _department_members(session: Session, department_id: int | None) -> list[int]:
    if department_id is None:
        return []
    return list(
        session.exec(
            select(DepartmentMember.user_id).where(DepartmentMember.department_id == department_id)
        ).all()
    )


def _street_admins(session: Session, street_id: int) -> list[int]:
    return list(
        session.exec(select(StreetAdmin.user_id).where(StreetAdmin.street_id == street_id)).all()
    )


def _refuse(move: Move, escalation: Escalation) -> None:
    code = deadlines.refusal(move, EscalationStatus(escalation.status))
    if code is not None:
        raise Conflict(code)


# --- the street: departments and deadlines ------------------------------------------------------


def _department(
    session: Session, street_id: int, department_id: int, *, lock: bool = False
) -> Department:
    query = select(Department).where(
        Department.id == department_id, Department.street_id == street_id
    )
    department = session.exec(locked(query) if lock else query).first()
    if department is None:
        raise NotFound("not_found")
    return department


def _street_audit(
    session: Session,
    action: str,
    access: StreetAccess,
    actor: User,
    subject: str,
    sid: int | None,
    **data: object,
) -> None:
    audit.record(
        session,
        action=f"escalations.{action}",
        actor_id=actor.id,
        hall_id=None,
        subject_type=subject,
        subject_id=sid,
        data={"street_id": access.street_id, **data},
    )


def _name_taken(session: Session, street_id: int, name: str, *, other_than: int | None) -> bool:
    found = session.exec(
        select(Department.id).where(Department.street_id == street_id, Department.name == name)
    ).first()
    return found is not None and found != other_than


def create_department(
    *, session: Session, access: StreetAccess, actor: User, form: schemas.DepartmentForm
) -> Department:
    policies.require(_manages(access))
    name = form.name.strip()
    _check({"name": _text(name, schemas.NAME_MAX)})
    if _name_taken(session, access.street_id, name, other_than=None):
        raise ValidationFailed({"name": "department_name_taken"})
    department = Department(street_id=access.street_id, name=name)
    session.add(department)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ValidationFailed({"name": "department_name_taken"}) from None
    _street_audit(
        session, "create_department", access, actor, "department", department.id, name=name
    )
    session.commit()
    return department


def rename_department(
    *,
    session: Session,
    access: StreetAccess,
    actor: User,
    department_id: int,
    form: schemas.DepartmentForm,
) -> Department:
    policies.require(_manages(access))
    department = _department(session, access.street_id, department_id, lock=True)
    name = form.name.strip()
    _check({"name": _text(name, schemas.NAME_MAX)})
    if _name_taken(session, access.street_id, name, other_than=department_id):
        raise ValidationFailed({"name": "department_name_taken"})
    before = department.name
    department.name = name
    session.add(department)
    _street_audit(
        session,
        "rename_department",
        access,
        actor,
        "department",
        department.id,
        before=before,
        name=name,
    )
    session.commit()
    return department


def add_department_member(
    *,
    session: Session,
    access: StreetAccess,
    actor: User,
    department_id: int,
    form: schemas.MemberForm,
) -> DepartmentMember:
    """The person must have registered: departments are accounts of people who log in."""
    policies.require(_manages(access))
    department = _department(session, access.street_id, department_id, lock=True)
    phone = form.phone.strip().replace(" ", "").replace("-", "")
    if not PHONE.fullmatch(phone):
        raise ValidationFailed({"phone": "phone_invalid"})
    user = session.exec(select(User).where(User.phone == phone)).first()
    if user is None:
        raise ValidationFailed({"phone": "department_user_unknown"})
    exists = session.exec(
        select(DepartmentMember.id).where(
            DepartmentMember.department_id == department_id, DepartmentMember.user_id == user.id
        )
    ).first()
    if exists is not None:
        raise ValidationFailed({"phone": "department_member_exists"})
    member = DepartmentMember(department_id=department.id or 0, user_id=user.id or 0)
    session.add(member)
    _street_audit(
        session,
        "add_department_member",
        access,
        actor,
        "department",
        department.id,
        user_id=user.id,
    )
    session.commit()
    return member


def remove_department_member(
    *, session: Session, access: StreetAccess, actor: User, department_id: int, member_id: int
) -> None:
    policies.require(_manages(access))
    _department(session, access.street_id, department_id, lock=True)
    member = session.exec(
        select(DepartmentMember).where(
            DepartmentMember.id == member_id, DepartmentMember.department_id == department_id
        )
    ).first()
    if member is None:
        raise NotFound("not_found")
    user_id = member.user_id
    session.delete(member)
    _street_audit(
        session,
        "remove_department_member",
        access,
        actor,
        "department",
        department_id,
        user_id=user_id,
    )
    session.commit()


def _minutes(raw: str, unit: schemas.Unit) -> tuple[int | None, str | None]:
    raw = raw.strip()
    if not raw:
        return None, "required"
    if not NUMBER.fullmatch(raw):
        return None, "integer_required"
    return int(raw) * schemas.UNIT_MINUTES[unit], None


def set_deadline(
    *, session: Session, access: StreetAccess, actor: User, form: schemas.DeadlineForm
) -> StreetDeadline:
    """One class's windows: positive, 办结 no shorter than 报到, at most a year."""
    policies.require(_manages(access))
    if form.urgency is None:
        raise ValidationFailed({"urgency": "required"})
    respond, respond_problem = _minutes(form.respond, form.respond_unit)
    resolve, resolve_problem = _minutes(form.resolve, form.resolve_unit)
    _check({"respond": respond_problem, "resolve": resolve_problem})
    assert respond is not None
    assert resolve is not None
    window = Window(respond_minutes=respond, resolve_minutes=resolve)
    problems = deadlines.window_problem(window)
    if problems:
        raise ValidationFailed(problems)
    row = session.exec(
        locked(
            select(StreetDeadline).where(
                StreetDeadline.street_id == access.street_id,
                StreetDeadline.urgency == form.urgency,
            )
        )
    ).first()
    if row is None:
        row = StreetDeadline(
            street_id=access.street_id, urgency=form.urgency, respond_minutes=0, resolve_minutes=0
        )
    row.respond_minutes, row.resolve_minutes = respond, resolve
    session.add(row)
    _street_audit(
        session,
        "set_deadline",
        access,
        actor,
        "street",
        access.street_id,
        urgency=form.urgency.value,
        respond_minutes=respond,
        resolve_minutes=resolve,
    )
    session.commit()
    return row


def _manages(access: StreetAccess) -> bool:
    return access.is_street_admin or access.is_platform_admin


# --- the hall: raise and withdraw -------------------------------------------------------------


def raise_escalation(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    issue_id: int,
    form: schemas.EscalationForm,
) -> Escalation:
    """吹哨: the windows are copied from the street's settings now; the resolution clock
    starts now, the response clock at dispatch."""
    policies.require(policies.can_raise(access))
    issue = session.exec(
        locked(select(Issue).where(Issue.id == issue_id, Issue.hall_id == access.hall_id))
    ).first()
    if issue is None:
        raise NotFound("not_found")
    try:
        lifecycle.require_action(issue.stage, Action.ESCALATE)
    except InvalidTransition as exc:
        raise Conflict(exc.reason.value) from None
    work_order = form.work_order_no.strip()
    problems: dict[str, str | None] = {
        "category": "required" if form.category is None else None,
        "urgency": "required" if form.urgency is None else None,
        "summary": _text(form.summary, schemas.SUMMARY_MAX),
        "work_order_no": "work_order_invalid"
        if work_order and not WORK_ORDER.fullmatch(work_order)
        else None,
    }
    if form.task_id is not None:
        task = session.exec(
            select(Task.id).where(
                Task.id == form.task_id, Task.issue_id == issue_id, Task.hall_id == access.hall_id
            )
        ).first()
        problems["task_id"] = "task_unknown" if task is None else None
    _check(problems)
    assert form.category is not None
    assert form.urgency is not None
    hall = session.get(Hall, access.hall_id)
    assert hall is not None
    window = queries.street_windows(session, street_id=hall.street_id)[form.urgency]
    now = clock.now()
    escalation = Escalation(
        hall_id=access.hall_id,
        street_id=hall.street_id,
        issue_id=issue_id,
        task_id=form.task_id,
        category=form.category,
        urgency=form.urgency,
        summary=form.summary.strip(),
        work_order_no=work_order or None,
        raised_by_id=actor.id or 0,
        raised_at=now,
        respond_minutes=window.respond_minutes,
        resolve_minutes=window.resolve_minutes,
        resolve_due_at=deadlines.resolve_due(now, window),
    )
    session.add(escalation)
    session.flush()
    _step(session, escalation, StepKind.RAISED, actor_id=actor.id, text=escalation.summary, at=now)
    _notify(
        session,
        escalation,
        _street_admins(session, hall.street_id),
        "escalation_raised",
        link_issue=True,
        actor_id=actor.id,
    )
    _audit(
        session,
        "raise_escalation",
        actor.id,
        escalation,
        urgency=form.urgency.value,
        category=form.category.value,
        resolve_minutes=window.resolve_minutes,
    )
    session.commit()
    return escalation


def withdraw_escalation(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, escalation_id: int
) -> Escalation:
    policies.require(policies.can_raise(access))
    escalation = session.exec(
        locked(
            select(Escalation).where(
                Escalation.id == escalation_id,
                Escalation.hall_id == access.hall_id,
                Escalation.issue_id == issue_id,
            )
        )
    ).first()
    if escalation is None:
        raise NotFound("not_found")
    _refuse(Move.WITHDRAW, escalation)
    _audit(session, "withdraw_escalation", actor.id, escalation, summary=escalation.summary[:200])
    # The street's officials were asked to dispatch it: they hear it is no longer to dispatch.
    _notify(
        session,
        escalation,
        _street_admins(session, escalation.street_id),
        "escalation_withdrawn",
        link_issue=True,
        actor_id=actor.id,
    )
    session.execute(
        delete(EscalationStep).where(col(EscalationStep.escalation_id) == escalation_id)
    )
    session.delete(escalation)
    session.commit()
    return escalation


# --- the street dispatches ----------------------------------------------------------------------


def dispatch(
    *,
    session: Session,
    access: StreetAccess,
    actor: User,
    escalation_id: int,
    form: schemas.DispatchForm,
) -> Escalation:
    """派单: to a department of the street; its response clock starts now."""
    policies.require(_manages(access))
    escalation = session.exec(
        locked(
            select(Escalation).where(
                Escalation.id == escalation_id, Escalation.street_id == access.street_id
            )
        )
    ).first()
    if escalation is None:
        raise NotFound("not_found")
    if form.department_id is None:
        raise ValidationFailed({"department_id": "required"})
    department = session.exec(
        select(Department).where(
            Department.id == form.department_id, Department.street_id == access.street_id
        )
    ).first()
    if department is None:
        raise ValidationFailed({"department_id": "department_unknown"})
    _refuse(Move.DISPATCH, escalation)
    now = clock.now()
    window = Window(escalation.respond_minutes, escalation.resolve_minutes)
    escalation.status = EscalationStatus.DISPATCHED
    escalation.department_id = department.id
    escalation.dispatched_at = now
    escalation.dispatched_by_id = actor.id
    escalation.respond_due_at = deadlines.respond_due(now, window)
    escalation.version += 1
    session.add(escalation)
    _step(
        session,
        escalation,
        StepKind.DISPATCHED,
        actor_id=actor.id,
        department_id=department.id,
        at=now,
    )
    members = _department_members(session, department.id)
    _notify(
        session, escalation, members, "escalation_dispatched", link_issue=False, actor_id=actor.id
    )
    _audit(session, "dispatch", actor.id, escalation, department_id=department.id)
    session.commit()
    return escalation


# --- the department: 报到, reply, help, 办结 -------------------------------------------------------


def _as_department(
    session: Session, access: DepartmentAccess, escalation_id: int
) -> tuple[Escalation, Part]:
    """The escalation, locked, as the department sees it: 404 if it is not its own."""
    escalation = session.exec(
        locked(
            select(Escalation).where(
                Escalation.id == escalation_id, Escalation.street_id == access.street_id
            )
        )
    ).first()
    if escalation is None:
        raise NotFound("not_found")
    helpers = list(
        session.exec(
            select(EscalationHelper.department_id).where(
                EscalationHelper.escalation_id == escalation_id
            )
        ).all()
    )
    part = queries.part_of(escalation, department_id=access.department_id, helpers=helpers)
    if part is None:
        raise NotFound("not_found")
    return escalation, part


def acknowledge(
    *, session: Session, access: DepartmentAccess, actor: User, escalation_id: int
) -> Escalation:
    """报到: once; a second member pressing it at the same moment is told it was done."""
    escalation, part = _as_department(session, access, escalation_id)
    policies.require(policies.can_acknowledge(part))
    _refuse(Move.ACKNOWLEDGE, escalation)
    now = clock.now()
    escalation.status = EscalationStatus.ACKNOWLEDGED
    escalation.acknowledged_at = now
    escalation.acknowledged_by_id = actor.id
    escalation.version += 1
    session.add(escalation)
    _step(
        session,
        escalation,
        StepKind.ACKNOWLEDGED,
        actor_id=actor.id,
        department_id=access.department_id,
        at=now,
    )
    assert escalation.respond_due_at is not None
    _audit(
        session,
        "acknowledge",
        actor.id,
        escalation,
        department_id=access.department_id,
        in_time=deadlines.in_time(now, escalation.respond_due_at),
    )
    _notify(
        session,
        escalation,
        _hall_side(session, escalation),
        "escalation_acknowledged",
        link_issue=True,
        actor_id=actor.id,
    )
    session.commit()
    return escalation


def _hall_side(session: Session, escalation: Escalation) -> set[int]:
    """The hall's chairs (the issue page's trail). The one who blew the whistle hears of it while
    still a chair, or if a platform admin blew it, or if the hall has no chair just now (so that
    someone on the hall's side always hears)."""
    chairs = hall_queries.chair_ids(session, hall_id=escalation.hall_id)
    raiser = session.get(User, escalation.raised_by_id)
    if not chairs or (raiser is not None and raiser.is_platform_admin):
        return chairs | {escalation.raised_by_id}
    return chairs


def reply(
    *,
    session: Session,
    access: DepartmentAccess,
    actor: User,
    escalation_id: int,
    form: schemas.TextForm,
) -> Escalation:
    """答复 / 进展: the lead department or a helper, once 报到 is made."""
    escalation, part = _as_department(session, access, escalation_id)
    policies.require(policies.can_reply(part))
    _check({"text": _text(form.text, schemas.TEXT_MAX)})
    _refuse(Move.REPLY, escalation)
    _step(
        session,
        escalation,
        StepKind.REPLIED,
        actor_id=actor.id,
        department_id=access.department_id,
        text=form.text.strip(),
    )
    escalation.version += 1
    session.add(escalation)
    _audit(
        session, "reply", actor.id, escalation, department_id=access.department_id, part=part.value
    )
    _notify(
        session,
        escalation,
        _hall_side(session, escalation),
        "escalation_replied",
        link_issue=True,
        actor_id=actor.id,
    )
    session.commit()
    return escalation


def ask_help(
    *,
    session: Session,
    access: DepartmentAccess,
    actor: User,
    escalation_id: int,
    form: schemas.HelpForm,
) -> Escalation:
    """请求协办: another department of the same street sees the escalation and may reply."""
    escalation, part = _as_department(session, access, escalation_id)
    policies.require(policies.can_ask_help(part))
    if form.department_id is None:
        raise ValidationFailed({"department_id": "required"})
    _check({"text": _text(form.text, schemas.TEXT_MAX, required=False)})
    helper = session.exec(
        select(Department).where(
            Department.id == form.department_id, Department.street_id == access.street_id
        )
    ).first()
    if helper is None or helper.id == access.department_id:
        raise ValidationFailed({"department_id": "department_unknown"})
    _refuse(Move.ASK_HELP, escalation)
    asked = session.exec(
        select(EscalationHelper.id).where(
            EscalationHelper.escalation_id == escalation_id,
            EscalationHelper.department_id == helper.id,
        )
    ).first()
    if asked is not None:
        raise Conflict("escalation_help_asked")
    session.add(
        EscalationHelper(
            escalation_id=escalation_id, department_id=helper.id or 0, asked_by_id=actor.id or 0
        )
    )
    _step(
        session,
        escalation,
        StepKind.HELP_ASKED,
        actor_id=actor.id,
        department_id=helper.id,
        text=form.text.strip(),
    )
    escalation.version += 1
    session.add(escalation)
    members = _department_members(session, helper.id)
    _notify(
        session, escalation, members, "escalation_help_asked", link_issue=False, actor_id=actor.id
    )
    _audit(session, "ask_help", actor.id, escalation, department_id=helper.id)
    session.commit()
    return escalation


def resolve(
    *,
    session: Session,
    access: DepartmentAccess,
    actor: User,
    escalation_id: int,
    form: schemas.TextForm,
) -> Escalation:
    """办结 with what was done; the hall's chairs are told."""
    escalation, part = _as_department(session, access, escalation_id)
    policies.require(policies.can_resolve(part))
    _check({"text": _text(form.text, schemas.TEXT_MAX)})
    _refuse(Move.RESOLVE, escalation)
    now = clock.now()
    escalation.status = EscalationStatus.RESOLVED
    escalation.resolved_at = now
    escalation.resolved_by_id = actor.id
    escalation.resolution = form.text.strip()
    escalation.version += 1
    session.add(escalation)
    _step(
        session,
        escalation,
        StepKind.RESOLVED,
        actor_id=actor.id,
        department_id=access.department_id,
        text=escalation.resolution,
        at=now,
    )
    # The hall's chairs (who follow it on the issue page; _hall_side) and the street's
    # officials who dispatched it.
    told = _hall_side(session, escalation) | set(_street_admins(session, escalation.street_id))
    _notify(session, escalation, told, "escalation_resolved", link_issue=True, actor_id=actor.id)
    _audit(
        session,
        "resolve",
        actor.id,
        escalation,
        department_id=access.department_id,
        in_time=deadlines.in_time(now, escalation.resolve_due_at),
    )
    session.commit()
    return escalation


# --- the periodic job -----------------------------------------------------------------------------


def notify_overdue(*, session: Session, now: datetime) -> int:
    """Tell the department's members, the street's officials and the hall's current chairs
    (the chair who blew the whistle only while still one: the 吹哨报到 card is the chairs'),
    once per escalation and deadline, that a response (报到) or a resolution (办结) is overdue
    (strictly past due). Each person hears it once (a member in two of these roles: as a
    member, in the 部门待办). No commit: the job runner commits with its bookkeeping
    (app/jobs/registry.py)."""
    respond_late = session.exec(
        locked(
            select(Escalation).where(
                Escalation.status == EscalationStatus.DISPATCHED,
                col(Escalation.respond_due_at) < now,
                col(Escalation.respond_overdue_notified_at).is_(None),
            )
        ).order_by(col(Escalation.id))
    ).all()
    resolve_late = session.exec(
        locked(
            select(Escalation).where(
                Escalation.status != EscalationStatus.RESOLVED,
                col(Escalation.resolve_due_at) < now,
                col(Escalation.resolve_overdue_notified_at).is_(None),
            )
        ).order_by(col(Escalation.id))
    ).all()
    done = 0
    for escalation, kind in [(e, "respond") for e in respond_late] + [
        (e, "resolve") for e in resolve_late
    ]:
        members = set(_department_members(session, escalation.department_id))
        others = set(_street_admins(session, escalation.street_id)) | _hall_side(
            session, escalation
        )
        _notify(session, escalation, members, f"escalation_{kind}_overdue", link_issue=False)
        _notify(
            session, escalation, others - members, f"escalation_{kind}_overdue", link_issue=True
        )
        if kind == "respond":
            escalation.respond_overdue_notified_at = now
        else:
            escalation.resolve_overdue_notified_at = now
        session.add(escalation)
        done += 1
    session.flush()
    return done
