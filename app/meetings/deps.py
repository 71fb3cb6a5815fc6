"""The meeting in the path, scoped to the hall in the path: 404 otherwise."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from app.core import fields
from app.core.errors import NotFound
from app.halls.deps import AccessDep
from app.meetings import queries
from app.meetings.models import Meeting
from app.web.deps import DbDep

Id = Annotated[fields.Id, Path()]


def get_meeting_or_404(db: DbDep, access: AccessDep, meeting_id: Id) -> Meeting:
    """Read through a read session of its own (as app/issues/deps.py): a POST's write
    transaction begins in its use case, which reads the meeting again."""
    with db.session(read_only=True) as session:
        meeting = queries.get_meeting(session, hall_id=access.hall_id, meeting_id=meeting_id)
    if meeting is None:
        raise NotFound("not_found")
    return meeting


MeetingDep = Annotated[Meeting, Depends(get_meeting_or_404)]
