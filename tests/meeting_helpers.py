"""Builders for meetings, through app.meetings.service (so the audit trail is real too)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select

from app.accounts.models import User
from app.core import clock
from app.db import Database
from app.halls import queries
from app.halls import schemas as hall_schemas
from app.halls import service as halls
from app.halls.models import Membership
from app.meetings import schemas, service
from app.meetings.models import Meeting
from app.meetings.rules import MeetingKind
from tests.factories import HallWorld, unique

BEIJING = schemas.BEIJING


def local(at: datetime) -> str:
    """A time as the page's datetime-local input sends it (Beijing time, no offset)."""
    return at.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")


def form(
    kind: MeetingKind = MeetingKind.COUNCIL,
    *,
    starts_in: timedelta = timedelta(days=4),
    hours: int = 2,
    **values: Any,
) -> schemas.MeetingForm:
    starts = clock.now() + starts_in
    fields: dict[str, Any] = {
        "kind": kind,
        "title": unique("议事会"),
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=hours)).isoformat(),
        "place": "社区议事厅",
        "free_items": ["楼道堆物清理"],
        **values,
    }
    return schemas.MeetingForm(**fields)


def schedule(
    db: Database, world: HallWorld, chair: User, meeting_form: schemas.MeetingForm | None = None
) -> Meeting:
    with db.session() as session:
        access = queries.hall_access(session, user=chair, hall=world.hall)
        return service.schedule_meeting(
            session=session, access=access, actor=chair, form=meeting_form or form()
        )


def now_meeting(
    db: Database, world: HallWorld, chair: User, kind: MeetingKind = MeetingKind.COUNCIL
) -> Meeting:
    """A meeting whose sign-in is open now (short notice, with its reason)."""
    return schedule(
        db,
        world,
        chair,
        form(kind, starts_in=timedelta(minutes=30), short_notice_reason="情况紧急"),
    )


def membership(db: Database, world: HallWorld, user: User) -> Membership:
    with db.session(read_only=True) as session:
        row = session.exec(
            select(Membership).where(
                Membership.hall_id == world.hall.id, Membership.user_id == user.id
            )
        ).one()
    return row


def give_roles(db: Database, world: HallWorld, chair: User, user: User, *roles: str) -> None:
    member = membership(db, world, user)
    with db.session() as session:
        access = queries.hall_access(session, user=chair, hall=world.hall)
        halls.set_member_roles(
            session=session,
            access=access,
            actor=chair,
            membership_id=member.id or 0,
            form=hall_schemas.RolesForm(roles=list(roles)),
        )


def tick(db: Database, world: HallWorld, chair: User, meeting: Meeting, member: User) -> None:
    """The chair signs a member in (a resident without a phone)."""
    with db.session() as session:
        access = queries.hall_access(session, user=chair, hall=world.hall)
        service.sign_in_by_chair(
            session=session,
            access=access,
            actor=chair,
            meeting_id=meeting.id or 0,
            form=schemas.SignInForm(membership_id=membership(db, world, member).id),
        )


def cancel(db: Database, world: HallWorld, chair: User, meeting: Meeting) -> Meeting:
    with db.session() as session:
        access = queries.hall_access(session, user=chair, hall=world.hall)
        return service.cancel_meeting(
            session=session,
            access=access,
            actor=chair,
            meeting_id=meeting.id or 0,
            form=schemas.CancelForm(reason="场地临时不能使用"),
        )


def reschedule(
    db: Database, world: HallWorld, chair: User, meeting: Meeting, **values: Any
) -> Meeting:
    """The chair moves a meeting (values as schemas.RescheduleForm takes them; a datetime is
    sent as ISO 8601)."""
    typed = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
    with db.session() as session:
        access = queries.hall_access(session, user=chair, hall=world.hall)
        return service.reschedule_meeting(
            session=session,
            access=access,
            actor=chair,
            meeting_id=meeting.id or 0,
            form=schemas.RescheduleForm(**{"reason": "场地冲突", **typed}),
        )
