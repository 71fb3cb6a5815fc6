"""Reads of the audit trail, one hall at a time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.models import AuditEvent


@dataclass(frozen=True)
class EventRow:
    id: int
    at: datetime
    action: str
    actor_name: str | None
    subject_type: str
    subject_id: int | None
    data: dict[str, object]
    hash: str


def list_hall_events(
    session: Session, *, hall_id: int, before: int | None = None, limit: int = 50
) -> list[EventRow]:
    """Newest first, keyset-paginated by height; one query with the actor's name joined."""
    query = (
        select(AuditEvent, User.name)
        .join(User, col(User.id) == AuditEvent.actor_id, isouter=True)
        .where(AuditEvent.hall_id == hall_id)
        .order_by(col(AuditEvent.id).desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(col(AuditEvent.id) < before)
    return [
        EventRow(
            e.id, e.at, e.action, name, e.subject_type, e.subject_id, json.loads(e.data), e.hash
        )
        for e, name in session.exec(query).all()
    ]
