"""Issues in 民办 (办理中) for the tests of tasks, escalations and evaluations (issue #13)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from app.accounts.models import User
from app.core import clock
from app.db import Database
from app.issues.lifecycle import Stage
from app.issues.models import Issue
from app.voting import service as voting
from tests import factories as f
from tests.jobs_helpers import publicizing_issue


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    clock.freeze(at)
    try:
        yield
    finally:
        clock.freeze(None)


def implementing_issue(db: Database, world: f.HallWorld, chair: User, **form: object) -> Issue:
    """An issue whose 协商一致 passed and whose 公示 ended unopposed: it is 办理中 (民办).

    The chair ends the 公示 as the button would, with the clock one second past its end;
    the clock is released afterwards (the issue is 办理中 from then on whatever the time).
    `form` overrides the issue's fields (its title, say)."""
    issue, resolution = publicizing_issue(db, world, chair, **form)
    assert resolution.publicity_ends_at is not None
    with frozen(resolution.publicity_ends_at + timedelta(seconds=1)), db.session() as s:
        moved = voting.end_publicity(
            session=s,
            access=f.chair_access(db, world, chair),
            actor=chair,
            issue_id=issue.id or 0,
        )
    assert moved.stage == Stage.IMPLEMENTING
    return moved
