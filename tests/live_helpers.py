"""Builders for the meeting as it is held, through app.meetings.service (audited for real)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.accounts.models import User
from app.db import Database
from app.halls import queries as hall_queries
from app.halls.policies import HallAccess
from app.meetings import schemas, service
from app.meetings.models import Meeting, Speaker, Speech
from tests import meeting_helpers as mh
from tests.factories import HallWorld, make_member


def access_of(db: Database, world: HallWorld, user: User) -> HallAccess:
    with db.session(read_only=True) as session:
        return hall_queries.hall_access(session, user=user, hall=world.hall)


def call(db: Database, world: HallWorld, user: User, use_case: Any, **kwargs: Any) -> Any:
    """Run one use case as `user` in a session of its own."""
    access = access_of(db, world, user)
    with db.session() as session:
        return use_case(session=session, access=access, actor=user, **kwargs)


def members(
    db: Database, world: HallWorld, chair: User, n: int, *, first: int = 0, role: str = "council"
) -> list[User]:
    people = []
    for i in range(first, first + n):
        user, _ = make_member(db, world, household_index=i, chair=chair, name=f"委员{i}")
        mh.give_roles(db, world, chair, user, role)
        people.append(user)
    return people


def started(db: Database, world: HallWorld, chair: User, **form: Any) -> Meeting:
    """A 议事会 whose sign-in is open now, opened by the chair."""
    meeting_form = mh.form(starts_in=timedelta(minutes=30), short_notice_reason="情况紧急", **form)
    meeting = mh.schedule(db, world, chair, meeting_form)
    return call(db, world, chair, service.start_meeting, meeting_id=meeting.id or 0)  # type: ignore[no-any-return]


def signed_in_hand(
    db: Database, world: HallWorld, chair: User, meeting: Meeting, user: User
) -> Speaker:
    mh.tick(db, world, chair, meeting, user)
    hand = call(db, world, user, service.raise_hand, meeting_id=meeting.id or 0)
    return hand.speaker  # type: ignore[no-any-return]


def speech(db: Database, world: HallWorld, user: User, meeting: Meeting, **form: Any) -> Speech:
    values = {"speaker_name": "张三", "identity": "居民", "summary": "同意加装电梯。"} | form
    return call(  # type: ignore[no-any-return]
        db,
        world,
        user,
        service.record_speech,
        meeting_id=meeting.id or 0,
        form=schemas.SpeechForm(**values),
    )
