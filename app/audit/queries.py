"""Reads of the audit trail, one hall at a time."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.escalations.models import Escalation
from app.evaluations.models import EvaluationRound
from app.halls.models import Membership
from app.issues.models import Comment, Issue, Solution
from app.meetings.models import Meeting
from app.tasks.models import Task
from app.voting.models import Ballot, Objection
from app.web.links import url


@dataclass(frozen=True)
class Link:
    """Something an event was about, as a chair names it: “议题《…》” with a link."""

    kind: str  # a key of app.audit.labels.SUBJECT_LABELS
    name: str
    url: str | None


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
    links: tuple[Link, ...] = ()


def list_hall_events(
    session: Session, *, hall_id: int, before: int | None = None, limit: int = 50
) -> list[EventRow]:
    """Newest first, keyset-paginated by height; one query with the actor's name joined, then
    one per kind of subject on the page for what each event was about (`links`)."""
    query = (
        select(AuditEvent, User.name)
        .join(User, col(User.id) == AuditEvent.actor_id, isouter=True)
        .where(AuditEvent.hall_id == hall_id)
        .order_by(col(AuditEvent.id).desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(col(AuditEvent.id) < before)
    rows = [
        EventRow(
            e.id, e.at, e.action, name, e.subject_type, e.subject_id, json.loads(e.data), e.hash
        )
        for e, name in session.exec(query).all()
    ]
    links = _subject_links(session, hall_id=hall_id, events=rows)
    return [replace(r, links=tuple(links.get(r.id, ()))) for r in rows]


def _rows(session: Session, query: Any) -> list[Any]:
    return list(session.exec(query).all())


def _subject_links(
    session: Session, *, hall_id: int, events: list[EventRow]
) -> dict[int, list[Link]]:
    """For each event (by id): its subject, then the issue it belongs to when that is not the
    subject itself; one query per kind of subject on the page, all within the hall."""
    wanted: dict[str, set[int]] = {}
    for e in events:
        if e.subject_id is not None:
            wanted.setdefault(e.subject_type, set()).add(e.subject_id)
    own: dict[tuple[str, int], tuple[str, str | None, int | None]] = {}  # name, url, issue id

    def ids(kind: str) -> list[int]:
        return sorted(wanted.get(kind, ()))

    for bid, title, issue_id in _rows(
        session,
        select(Ballot.id, Ballot.title, Ballot.issue_id).where(
            col(Ballot.id).in_(ids("ballot")), Ballot.hall_id == hall_id
        ),
    ):
        own["ballot", bid] = (
            title,
            url("ballots.detail", hall_id=hall_id, ballot_id=bid),
            issue_id,
        )
    for mid, title in _rows(
        session,
        select(Meeting.id, Meeting.title).where(
            col(Meeting.id).in_(ids("meeting")), Meeting.hall_id == hall_id
        ),
    ):
        own["meeting", mid] = (title, url("meetings.detail", hall_id=hall_id, meeting_id=mid), None)
    for tid, title, issue_id in _rows(
        session,
        select(Task.id, Task.title, Task.issue_id).where(
            col(Task.id).in_(ids("task")), Task.hall_id == hall_id
        ),
    ):
        own["task", tid] = (
            title,
            url("tasks.detail", hall_id=hall_id, issue_id=issue_id, task_id=tid),
            issue_id,
        )
    for sid, title, issue_id in _rows(
        session,
        select(Solution.id, Solution.title, Solution.issue_id).where(
            col(Solution.id).in_(ids("solution")), Solution.hall_id == hall_id
        ),
    ):
        own["solution", sid] = (title, None, issue_id)
    for kind, model in (
        ("comment", Comment),
        ("objection", Objection),
        ("escalation", Escalation),
        ("evaluation_round", EvaluationRound),
    ):
        for oid, issue_id in _rows(
            session,
            select(model.id, model.issue_id).where(
                col(model.id).in_(ids(kind)),
                model.hall_id == hall_id,
            ),
        ):
            own[kind, oid] = ("", None, issue_id)
    for msid, name in _rows(
        session,
        select(Membership.id, User.name)
        .join(User, col(User.id) == Membership.user_id)
        .where(col(Membership.id).in_(ids("membership")), Membership.hall_id == hall_id),
    ):
        own["membership", msid] = (
            name,
            url("halls.member", hall_id=hall_id, membership_id=msid),
            None,
        )
    issue_ids = set(ids("issue")) | {v[2] for v in own.values() if v[2] is not None}
    issues = dict(
        _rows(
            session,
            select(Issue.id, Issue.title).where(
                col(Issue.id).in_(sorted(issue_ids)), Issue.hall_id == hall_id
            ),
        )
    )

    def issue_link(iid: int) -> Link | None:
        if iid not in issues:
            return None
        return Link("issue", issues[iid], url("issues.detail", hall_id=hall_id, issue_id=iid))

    out: dict[int, list[Link]] = {}
    for e in events:
        if e.subject_id is None:
            continue
        links: list[Link] = []
        if e.subject_type == "issue":
            link = issue_link(e.subject_id)
            links = [link] if link else []
        elif (e.subject_type, e.subject_id) in own:
            name, href, issue_id = own[e.subject_type, e.subject_id]
            if name:
                links.append(Link(e.subject_type, name, href))
            if issue_id is not None and (link := issue_link(issue_id)):
                links.append(link)
        out[e.id] = links
    return out
