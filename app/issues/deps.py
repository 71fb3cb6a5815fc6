"""The issue (and comment) in the path, scoped to the hall in the path: 404 otherwise."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from app.core import fields
from app.core.errors import NotFound
from app.halls.deps import AccessDep
from app.issues import queries
from app.issues.models import Issue
from app.web.deps import DbDep

Id = Annotated[fields.Id, Path()]


# These read through a read session of their own, closed before the route's session takes a
# connection: a POST's write transaction (BEGIN IMMEDIATE on SQLite) begins in its use case,
# not here (tests/web/test_write_transactions.py). The use case reads the row again, locked.


def get_issue_or_404(db: DbDep, access: AccessDep, issue_id: Id) -> Issue:
    with db.session(read_only=True) as session:
        issue = queries.get_issue(session, hall_id=access.hall_id, issue_id=issue_id)
    if issue is None:
        raise NotFound("not_found")
    return issue


IssueDep = Annotated[Issue, Depends(get_issue_or_404)]


def get_comment_or_404(db: DbDep, access: AccessDep, comment_id: Id) -> queries.CommentRow:
    with db.session(read_only=True) as session:
        row = queries.get_comment(session, hall_id=access.hall_id, comment_id=comment_id)
    if row is None:
        raise NotFound("not_found")
    return row


CommentDep = Annotated[queries.CommentRow, Depends(get_comment_or_404)]
