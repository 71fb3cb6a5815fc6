"""任务分工 use cases. Each public function owns its transaction and writes the audit event.

- add_task / edit_task: the chair lays down who does what by when (办理中 only). An edit names
  the version it was made on: an edit made on a stale page is refused (Conflict
  "task_changed"), the other person's change is kept and the form comes back as typed. A new
  deadline clears `overdue_notified_at`, so the overdue job tells the chairs again if it is
  missed too.
- report_progress: a 进展 by the chair or the task's responsible member — text, optionally a
  new progress and status, up to 6 photos re-encoded without EXIF (app.issues.photos).
  受阻 needs a reason; 已完成 means 100%, and 100% means 已完成.
- claim_task / withdraw_claim: 认领 a place on a 居民志愿者 task. The place is taken by
  `UPDATE task SET volunteer_count = volunteer_count + 1` in the same transaction as the
  TaskVolunteer row: the CHECK volunteers_within_cap refuses the one too many and
  UNIQUE(task_id, user_id) a second claim, on both databases, whatever the interleaving.
- notify_overdue: the periodic job (app/jobs/registry.py "tasks.overdue") tells the hall's
  chairs and the street's officials once per task and deadline that a task is overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from app.accounts.models import User
from app.audit import service as audit
from app.core import clock
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.db import shared_lock
from app.halls import queries as hall_queries
from app.halls.models import (
    Hall,
    Membership,
    MembershipStatus,
    PropertyCompany,
    StreetAdmin,
)
from app.halls.policies import HallAccess
from app.issues import lifecycle, photos
from app.issues import service as issues
from app.issues.lifecycle import Action
from app.issues.models import Issue
from app.tasks import policies, queries, schemas
from app.tasks.models import PartyType, Task, TaskPhoto, TaskStatus, TaskUpdate, TaskVolunteer

MAX_AHEAD = timedelta(days=3 * 366)


def _issue(session: Session, hall_id: int, issue_id: int, *, action: Action) -> Issue:
    """The issue, held FOR SHARE until the use case commits: 开启民评 locks it FOR UPDATE
    before counting the open tasks, so a task added or set back meanwhile waits for it (and
    then finds the issue 评价中) instead of leaving an issue in 民评 with a task open."""
    issue = session.exec(
        shared_lock(select(Issue).where(Issue.id == issue_id, Issue.hall_id == hall_id))
    ).first()
    if issue is None:
        raise NotFound("not_found")
    if not lifecycle.is_allowed(issue.stage, action):
        raise Conflict("stage_action_not_allowed")
    return issue


def _task(session: Session, hall_id: int, issue_id: int, task_id: int) -> Task:
    task = queries.get_task(session, hall_id=hall_id, issue_id=issue_id, task_id=task_id, lock=True)
    if task is None:
        raise NotFound("not_found")
    return task


def _text(errors: dict[str, str], name: str, value: str, maximum: int, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        errors[name] = "required"
    elif len(value) > maximum:
        errors[name] = "too_long"
    return value


def _is_member(session: Session, hall_id: int, user_id: int) -> bool:
    return (
        session.exec(
            select(Membership.id).where(
                Membership.hall_id == hall_id,
                Membership.user_id == user_id,
                Membership.status == MembershipStatus.VERIFIED,
            )
        ).first()
        is not None
    )


def _check_task(
    session: Session, access: HallAccess, form: schemas.TaskForm, *, due_changed: bool
) -> tuple[dict[str, object], dict[str, str]]:
    """The task's values as typed, checked; the errors by field."""
    errors: dict[str, str] = {}
    now = clock.now()
    values: dict[str, object] = {
        "title": _text(errors, "title", form.title, schemas.TITLE_MAX, required=True),
        "party_name": _text(
            errors, "party_name", form.party_name, schemas.PARTY_NAME_MAX, required=False
        ),
        "helpers": _text(errors, "helpers", form.helpers, schemas.HELPERS_MAX, required=False),
        "is_milestone": form.is_milestone,
    }
    if form.party_type is None:
        errors["party_type"] = "party_type_required"
    values["party_type"] = form.party_type
    due = schemas.parse_due(form.due_at)
    if due is None:
        errors["due_at"] = "required" if not form.due_at.strip() else "due_invalid"
    elif due_changed and not now < due <= now + MAX_AHEAD:
        errors["due_at"] = "due_in_past" if due <= now else "due_too_far"
    values["due_at"] = due
    weight = 1 if form.weight is None else form.weight
    if not 1 <= weight <= schemas.WEIGHT_MAX:
        errors["weight"] = "weight_invalid"
    values["weight"] = weight
    cap = form.volunteer_cap if form.party_type == PartyType.VOLUNTEERS else None
    if cap is not None and not 1 <= cap <= schemas.CAP_MAX:
        errors["volunteer_cap"] = "cap_invalid"
    values["volunteer_cap"] = cap
    user_id = form.responsible_user_id
    if user_id is not None and not _is_member(session, access.hall_id, user_id):
        errors["responsible_user_id"] = "responsible_not_member"
    values["responsible_user_id"] = user_id
    return values, errors


def _company(session: Session, hall_id: int, party: PartyType | None) -> PropertyCompany | None:
    """The hall's 物业公司, for a 物业 task."""
    if party != PartyType.PROPERTY:
        return None
    hall = session.get(Hall, hall_id)
    if hall is None or hall.property_company_id is None:
        return None
    return session.get(PropertyCompany, hall.property_company_id)


def _shown(task: Task) -> dict[str, object]:
    return {
        "title": task.title,
        "party_type": task.party_type.value,
        "party_name": task.party_name,
        "responsible_user_id": task.responsible_user_id,
        "company_id": task.company_id,
        "helpers": task.helpers,
        "due_at": task.due_at.isoformat(),
        "weight": task.weight,
        "is_milestone": task.is_milestone,
        "volunteer_cap": task.volunteer_cap,
    }


def add_task(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, form: schemas.TaskForm
) -> Task:
    """The chair adds a task to an issue 办理中. A 物业 task is the hall's 物业公司's (its name
    when none is typed). Raises NotFound (not the chair), Conflict ("stage_action_not_allowed"),
    ValidationFailed."""
    policies.require(policies.can_manage(access))
    issue = _issue(session, access.hall_id, issue_id, action=Action.ADD_TASK)
    values, errors = _check_task(session, access, form, due_changed=True)
    if errors:
        raise ValidationFailed(errors, maximum=schemas.WEIGHT_MAX, cap=schemas.CAP_MAX)
    company = _company(session, access.hall_id, form.party_type)
    if company is not None and not values["party_name"]:
        values["party_name"] = company.name
    task = Task(
        hall_id=access.hall_id,
        issue_id=issue.id or 0,
        company_id=company.id if company else None,
        created_by_id=actor.id or 0,
        **values,  # type: ignore[arg-type]
    )
    session.add(task)
    session.flush()
    audit.record(
        session,
        action="tasks.add_task",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="task",
        subject_id=task.id,
        data={"issue_id": issue.id, **_shown(task)},
    )
    _tell_responsible(session, issue, task, actor)
    session.commit()
    return task


def edit_task(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    issue_id: int,
    task_id: int,
    form: schemas.TaskForm,
) -> Task:
    """The chair edits a task, on the version the page showed (`form.version`): a stale one is
    refused with Conflict("task_changed") and nothing is written. A deadline may stay in the
    past if it is not changed; a new one must be ahead, and clears the overdue notice."""
    policies.require(policies.can_manage(access))
    issue = _issue(session, access.hall_id, issue_id, action=Action.ADD_TASK)
    task = _task(session, access.hall_id, issue_id, task_id)
    if form.version != task.version:
        raise Conflict("task_changed")
    due = schemas.parse_due(form.due_at)
    due_changed = due is None or due != task.due_at
    values, errors = _check_task(session, access, form, due_changed=due_changed)
    cap = form.volunteer_cap if form.party_type == PartyType.VOLUNTEERS else None
    if cap is not None and "volunteer_cap" not in errors and cap < task.volunteer_count:
        errors["volunteer_cap"] = "cap_below_count"
    elif task.volunteer_count and form.party_type != PartyType.VOLUNTEERS:
        errors["party_type"] = "task_has_volunteers"
    if errors:
        raise ValidationFailed(
            errors, maximum=schemas.WEIGHT_MAX, cap=schemas.CAP_MAX, count=task.volunteer_count
        )
    before = _shown(task)
    responsible_before = task.responsible_user_id
    company = _company(session, access.hall_id, form.party_type)
    if form.party_type != task.party_type:
        task.company_id = company.id if company else None
    if company is not None and not values["party_name"]:
        values["party_name"] = company.name
    for name, value in values.items():
        setattr(task, name, value)
    if due_changed:
        task.overdue_notified_at = None
    task.version += 1
    session.add(task)
    audit.record(
        session,
        action="tasks.edit_task",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="task",
        subject_id=task.id,
        data={"issue_id": issue_id, "from": before, "to": _shown(task), "version": task.version},
    )
    if task.responsible_user_id != responsible_before:
        _tell_responsible(session, issue, task, actor)
    session.commit()
    return task


def _tell_responsible(session: Session, issue: Issue, task: Task, actor: User) -> None:
    """The member made responsible for a task hears of it (unless they made themselves so)."""
    if task.responsible_user_id is not None:
        issues.notify_users(
            session,
            issue,
            {task.responsible_user_id},
            kind="task_assigned",
            text=task.title,
            exclude=actor.id,
        )


def _next_state(
    task: Task, form: schemas.UpdateForm, errors: dict[str, str]
) -> tuple[TaskStatus, int]:
    """The status and progress after an update (see the module docstring)."""
    if form.progress is not None and not 0 <= form.progress <= 100:
        errors["progress"] = "progress_invalid"
        return task.status, task.progress
    status = form.status
    if status == TaskStatus.DONE:
        if form.progress is not None and form.progress != 100:
            errors["progress"] = "done_is_full"
        return status, 100
    value = task.progress if form.progress is None else form.progress
    if status is None:
        if value == 100:
            return TaskStatus.DONE, 100
        if task.status == TaskStatus.DONE or (task.status == TaskStatus.NOT_STARTED and value):
            return TaskStatus.IN_PROGRESS, value
        return task.status, value
    if value == 100:
        errors["progress"] = "full_is_done"
    if status == TaskStatus.BLOCKED and not form.blocked_reason.strip():
        errors["blocked_reason"] = "blocked_reason_required"
    return status, value


def report_progress(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    issue_id: int,
    task_id: int,
    form: schemas.UpdateForm,
    uploads: Sequence[bytes] = (),
) -> TaskUpdate:
    """A 进展 on a task by the chair or its responsible member (see the module docstring).
    Raises NotFound (anyone else), Conflict ("stage_action_not_allowed"), ValidationFailed."""
    issue = _issue(session, access.hall_id, issue_id, action=Action.REPORT_PROGRESS)
    task = _task(session, access.hall_id, issue_id, task_id)
    policies.require(policies.can_report(access, responsible_user_id=task.responsible_user_id))
    errors: dict[str, str] = {}
    text = _text(errors, "text", form.text, schemas.TEXT_MAX, required=True)
    reason = form.blocked_reason.strip()
    if len(reason) > schemas.REASON_MAX:
        errors["blocked_reason"] = "too_long"
    status, value = _next_state(task, form, errors)
    encoded = _photos(uploads, errors)
    if errors:
        raise ValidationFailed(errors, maximum=schemas.REASON_MAX)
    now = clock.now()
    changed = (status, value) != (task.status, task.progress)
    before = {"status": task.status.value, "progress": task.progress}
    was_done = task.status == TaskStatus.DONE
    task.status, task.progress = status, value
    # 受阻 stays 受阻 with its reason until a new reason or another status is given
    task.blocked_reason = (reason or task.blocked_reason) if status == TaskStatus.BLOCKED else ""
    if task.started_at is None and (value or status != TaskStatus.NOT_STARTED):
        task.started_at = now
    # Done when it became done: a later note on a finished task keeps the date (三率's 按期办结
    # and the 结果公示 read it); leaving 已完成 clears it.
    if status != TaskStatus.DONE:
        task.done_at = None
    elif not was_done or task.done_at is None:
        task.done_at = now
    task.version += 1
    session.add(task)
    row = TaskUpdate(
        hall_id=access.hall_id,
        issue_id=issue.id or 0,
        task_id=task.id or 0,
        author_id=actor.id or 0,
        text=text,
        progress=value if changed or form.progress is not None else None,
        status=status if changed or form.status is not None else None,
        created_at=now,
    )
    session.add(row)
    session.flush()
    for photo in encoded:
        session.add(
            TaskPhoto(
                hall_id=access.hall_id,
                update_id=row.id or 0,
                content_type=photo.content_type,
                data=photo.data,
                width=photo.width,
                height=photo.height,
            )
        )
    audit.record(
        session,
        action="tasks.report_progress",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="task",
        subject_id=task.id,
        data={
            "issue_id": issue_id,
            "update_id": row.id,
            "from": before,
            "to": {"status": status.value, "progress": value},
            "photos": len(encoded),
        },
    )
    session.commit()
    return row


def _photos(uploads: Sequence[bytes], errors: dict[str, str]) -> list[photos.Photo]:
    if len(uploads) > schemas.MAX_PHOTOS:
        errors["photos"] = "too_many_photos"
        return []
    encoded: list[photos.Photo] = []
    for raw in uploads:
        try:
            encoded.append(photos.reencode(raw))
        except photos.PhotoRejected as exc:
            errors["photos"] = exc.code
            return []
    return encoded


# --- 认领 ------------------------------------------------------------------------------------


def claim_task(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, task_id: int
) -> TaskVolunteer:
    """A verified resident takes a place on a 居民志愿者 task. Raises NotFound (not a verified
    member), Conflict ("not_volunteer_task", "already_claimed", "volunteers_full",
    "stage_action_not_allowed")."""
    policies.require(policies.can_volunteer(access))
    _issue(session, access.hall_id, issue_id, action=Action.REPORT_PROGRESS)
    task = queries.get_task(session, hall_id=access.hall_id, issue_id=issue_id, task_id=task_id)
    if task is None:
        raise NotFound("not_found")
    if task.party_type != PartyType.VOLUNTEERS:
        raise Conflict("not_volunteer_task")
    if task.status == TaskStatus.DONE:
        raise Conflict("task_done")
    mine = select(TaskVolunteer.id).where(
        TaskVolunteer.task_id == task_id, TaskVolunteer.user_id == actor.id
    )
    if session.exec(mine).first() is not None:
        raise Conflict("already_claimed")
    try:  # the place: the CHECK volunteers_within_cap refuses one too many
        session.exec(
            update(Task)
            .where(col(Task.id) == task_id, col(Task.hall_id) == access.hall_id)
            .values(volunteer_count=col(Task.volunteer_count) + 1)
        )
    except IntegrityError:
        raise Conflict("volunteers_full", cap=task.volunteer_cap or 0) from None
    row = TaskVolunteer(hall_id=access.hall_id, task_id=task_id, user_id=actor.id or 0)
    session.add(row)
    try:  # UNIQUE(task_id, user_id): a double tap takes one place
        session.flush()
    except IntegrityError:
        raise Conflict("already_claimed") from None
    audit.record(
        session,
        action="tasks.claim_task",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="task",
        subject_id=task_id,
        data={"issue_id": issue_id},
    )
    session.commit()
    return row


def withdraw_claim(
    *, session: Session, access: HallAccess, actor: User, issue_id: int, task_id: int
) -> None:
    """A volunteer gives their place back. Raises Conflict ("not_claimed")."""
    policies.require(policies.can_volunteer(access))
    _issue(session, access.hall_id, issue_id, action=Action.REPORT_PROGRESS)
    task = queries.get_task(session, hall_id=access.hall_id, issue_id=issue_id, task_id=task_id)
    if task is None:
        raise NotFound("not_found")
    # One statement: of two 退出认领 at once, the second deletes nothing (PostgreSQL waits for
    # the first, then finds the row gone) and so takes nothing off the count.
    gone = session.exec(
        delete(TaskVolunteer).where(
            col(TaskVolunteer.task_id) == task_id,
            col(TaskVolunteer.user_id) == actor.id,
            col(TaskVolunteer.hall_id) == access.hall_id,
        )
    )
    if gone.rowcount != 1:
        raise Conflict("not_claimed")
    session.exec(
        update(Task)
        .where(col(Task.id) == task_id, col(Task.hall_id) == access.hall_id)
        .values(volunteer_count=col(Task.volunteer_count) - 1)
    )
    audit.record(
        session,
        action="tasks.withdraw_claim",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="task",
        subject_id=task_id,
        data={"issue_id": issue_id},
    )
    session.commit()


# --- the overdue job -------------------------------------------------------------------------


def _readers(session: Session, hall_id: int) -> set[int]:
    """Who is told of an overdue task: the hall's chairs and its street's officials."""
    chairs = hall_queries.chair_ids(session, hall_id=hall_id)
    officials = session.exec(
        select(StreetAdmin.user_id)
        .join(Hall, col(Hall.street_id) == StreetAdmin.street_id)
        .where(Hall.id == hall_id)
    ).all()
    return set(chairs) | set(officials)


def notify_overdue(*, session: Session, now: datetime) -> list[Task]:
    """Tell the hall's chairs and the street's officials about each task that has passed its
    deadline undone, once per task and deadline (`overdue_notified_at`). No commit: the job
    runner commits with its lease (app/jobs/registry.py). Each task is marked with a guarded
    UPDATE (… WHERE overdue_notified_at IS NULL), so a run that raced another marks none twice.
    """
    told: list[Task] = []
    for task in queries.overdue_tasks(session, now=now):
        marked = session.exec(
            update(Task)
            .where(col(Task.id) == task.id, col(Task.overdue_notified_at).is_(None))
            .values(overdue_notified_at=now)
        )
        if marked.rowcount != 1:
            continue
        issue = session.get(Issue, task.issue_id)
        assert issue is not None
        # The chairs and the street's officials, and the member responsible for it.
        readers = _readers(session, task.hall_id) | {
            u for u in (task.responsible_user_id,) if u is not None
        }
        issues.notify_users(session, issue, readers, kind="task_overdue")
        audit.record(
            session,
            action="tasks.notify_overdue",
            actor_id=None,
            hall_id=task.hall_id,
            subject_type="task",
            subject_id=task.id,
            data={
                "issue_id": task.issue_id,
                "due_at": task.due_at.isoformat(),
                "told": len(readers),
            },
        )
        told.append(task)
    return told
