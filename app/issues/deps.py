"""The issue (and comment) in the path, scoped to the hall in the path: 404 otherwise."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from app.core import fields
from app.core.errors import NotFound
from app.halls.deps import AccessDep
from app.issues import queries
from app.issues.models import Issue
from app.web.deps import SessionDep

Id = Annotated[fields.Id, Path()]


def get_issue_or_404(session: SessionDep, access: AccessDep, issue_id: Id) -> Issue:
    issue = queries.get_issue(session, hall_id=access.hall_id, issue_id=issue_id)
    if issue is None:
        raise NotFound("not_found")
    return issue


IssueDep = Annotated[Issue, Depends(get_issue_or_404)]


def get_comment_or_404(
    session: SessionDep, access: AccessDep, comment_id: Id
) -> queries.CommentRow:
    row = queries.get_comment(session, hall_id=access.hall_id, comment_id=comment_id)
    if row is None:
        raise NotFound("not_found")
    return row


CommentDep = Annotated[queries.CommentRow, Depends(get_comment_or_404)]
