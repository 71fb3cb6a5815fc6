"""Reads for issues. Every query takes the hall id; each page costs a fixed number of queries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.halls.models import Entrance, Hall, Household, Membership
from app.issues import search
from app.issues.lifecycle import TERMINAL, Stage
from app.issues.models import (
    Category,
    Comment,
    CommentReport,
    ConsultationOpinion,
    Cosign,
    Issue,
    IssuePhoto,
    Notification,
    Scope,
    Solution,
    StageEvent,
    Stance,
)

COMMENT_PAGE = 20
ISSUE_PAGE = 30


# --- search ---------------------------------------------------------------------------------


def _match(session: Session, text: str) -> sa.ColumnElement[bool] | sa.TextClause | None:
    """A condition on Issue.id for full-text `text`; None when the text has no terms.

    The terms are bound as one parameter, never formatted into the SQL.
    """
    terms = search.query_terms(text)
    if not terms:
        return None
    if session.get_bind().dialect.name == "postgresql":
        # Terms are CJK characters or [a-z0-9]+ only (search.tokens), so no tsquery syntax.
        query = " & ".join(terms)
        return sa.text(
            "to_tsvector('simple', issue.search_text) @@ to_tsquery('simple', :fts_query)"
        ).bindparams(fts_query=query)
    # FTS5: each term a quoted phrase (inner quotes doubled), all required.
    match = " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)
    ids = sa.text("SELECT rowid FROM issue_fts WHERE issue_fts MATCH :fts_query").bindparams(
        fts_query=match
    )
    return col(Issue.id).in_(ids.columns(sa.column("rowid", sa.Integer)))


# --- issues ---------------------------------------------------------------------------------


def get_issue(session: Session, *, hall_id: int, issue_id: int) -> Issue | None:
    return session.exec(select(Issue).where(Issue.id == issue_id, Issue.hall_id == hall_id)).first()


@dataclass(frozen=True)
class IssueRow:
    issue: Issue
    proposer_name: str


@dataclass(frozen=True)
class IssueFilters:
    stage: Stage | None = None
    category: Category | None = None
    building_id: int | None = None
    q: str = ""
    open_only: bool = False


def list_issues(
    session: Session,
    *,
    hall_id: int,
    filters: IssueFilters | None = None,
    before: int | None = None,
    limit: int = ISSUE_PAGE,
) -> list[IssueRow]:
    """Newest first, cursor-paginated on id (`before`), with the proposer's name: one query."""
    f = filters or IssueFilters()
    query = (
        select(Issue, User.name)
        .join(User, col(User.id) == Issue.proposer_id)
        .where(Issue.hall_id == hall_id)
        .order_by(col(Issue.id).desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(col(Issue.id) < before)
    if f.stage is not None:
        query = query.where(Issue.stage == f.stage)
    if f.open_only:
        query = query.where(col(Issue.stage).not_in(list(TERMINAL)))
    if f.category is not None:
        query = query.where(Issue.category == f.category)
    if f.building_id is not None:
        entrances = select(Entrance.id).where(
            Entrance.hall_id == hall_id, Entrance.building_id == f.building_id
        )
        query = query.where(
            sa.or_(
                col(Issue.scope_building_id) == f.building_id,
                col(Issue.scope_entrance_id).in_(entrances),
            )
        )
    if f.q.strip():
        condition = _match(session, f.q)
        if condition is not None:
            query = query.where(condition)
    return [IssueRow(issue, name) for issue, name in session.exec(query).all()]


def list_similar(session: Session, *, hall_id: int, title: str, limit: int = 5) -> list[IssueRow]:
    """Open issues (still collecting, in review or deliberating) that share the title's terms."""
    if not search.query_terms(title):
        return []
    rows = list_issues(
        session, hall_id=hall_id, filters=IssueFilters(q=title, open_only=True), limit=limit
    )
    return rows


def count_by_stage(session: Session, *, hall_id: int) -> dict[Stage, int]:
    rows = session.exec(
        select(Issue.stage, func.count()).where(Issue.hall_id == hall_id).group_by(col(Issue.stage))
    ).all()
    counts = dict.fromkeys(Stage, 0)
    for stage, count in rows:
        counts[Stage(stage)] = count
    return counts


def list_review_queue(session: Session, *, hall_id: int, limit: int = 200) -> list[IssueRow]:
    """Issues awaiting the chair's review, oldest deadline first."""
    return [
        IssueRow(issue, name)
        for issue, name in session.exec(
            select(Issue, User.name)
            .join(User, col(User.id) == Issue.proposer_id)
            .where(Issue.hall_id == hall_id, Issue.stage == Stage.UNDER_REVIEW)
            .order_by(col(Issue.review_due_at), col(Issue.id))
            .limit(limit)
        ).all()
    ]


def count_overdue_reviews(session: Session, *, hall_id: int, now: datetime) -> int:
    return session.exec(
        select(func.count())
        .select_from(Issue)
        .where(
            Issue.hall_id == hall_id,
            Issue.stage == Stage.UNDER_REVIEW,
            col(Issue.review_due_at) < now,
        )
    ).one()


def list_merge_targets(
    session: Session, *, hall_id: int, exclude_id: int, limit: int = 50
) -> list[Issue]:
    return list(
        session.exec(
            select(Issue)
            .where(
                Issue.hall_id == hall_id,
                Issue.id != exclude_id,
                col(Issue.stage).not_in(list(TERMINAL)),
            )
            .order_by(col(Issue.id).desc())
            .limit(limit)
        ).all()
    )


@dataclass(frozen=True)
class Place:
    """Where a member lives, for the co-signing scope."""

    building_id: int | None
    entrance_id: int | None


def member_place(session: Session, *, hall_id: int, membership_id: int | None) -> Place:
    if membership_id is None:
        return Place(None, None)
    row = session.exec(
        select(Household.entrance_id, Entrance.building_id)
        .join(Membership, col(Membership.household_id) == Household.id)
        .join(Entrance, col(Entrance.id) == Household.entrance_id)
        .where(Membership.id == membership_id, Membership.hall_id == hall_id)
    ).first()
    return Place(row[1], row[0]) if row else Place(None, None)


def in_scope(issue: Issue, place: Place) -> bool:
    if issue.scope == Scope.HALL:
        return True
    if issue.scope == Scope.BUILDING:
        return place.building_id is not None and place.building_id == issue.scope_building_id
    return place.entrance_id is not None and place.entrance_id == issue.scope_entrance_id


def list_cosignable(
    session: Session, *, hall_id: int, user_id: int, place: Place, limit: int = 10
) -> list[Issue]:
    """Collecting issues in my scope that I have neither proposed nor co-signed."""
    mine = select(Cosign.issue_id).where(Cosign.hall_id == hall_id, Cosign.user_id == user_id)
    scope = [col(Issue.scope) == Scope.HALL]
    if place.building_id is not None:
        scope.append(
            sa.and_(
                col(Issue.scope) == Scope.BUILDING,
                col(Issue.scope_building_id) == place.building_id,
            )
        )
    if place.entrance_id is not None:
        scope.append(
            sa.and_(
                col(Issue.scope) == Scope.ENTRANCE,
                col(Issue.scope_entrance_id) == place.entrance_id,
            )
        )
    return list(
        session.exec(
            select(Issue)
            .where(
                Issue.hall_id == hall_id,
                Issue.stage == Stage.COLLECTING,
                Issue.proposer_id != user_id,
                col(Issue.id).not_in(mine),
                sa.or_(*scope),
            )
            .order_by(col(Issue.id).desc())
            .limit(limit)
        ).all()
    )


# --- the issue page -------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    event: StageEvent
    actor_name: str | None


@dataclass(frozen=True)
class SolutionRow:
    solution: Solution
    author_name: str


@dataclass
class CommentRow:
    comment: Comment
    author_name: str
    open_reports: int = 0
    replies: list[CommentRow] = field(default_factory=list)


@dataclass(frozen=True)
class IssueHeader:
    issue: Issue
    proposer_name: str
    merged_into: Issue | None


# Made once: a fresh alias per call rebuilds its column proxies and defeats the SQL cache.
_MERGE_TARGET = aliased(Issue, name="merge_target")


def get_issue_header(session: Session, *, hall_id: int, issue_id: int) -> IssueHeader | None:
    target = _MERGE_TARGET
    row = session.exec(
        select(Issue, User.name, target)
        .join(User, col(User.id) == Issue.proposer_id)
        .outerjoin(target, col(target.id) == Issue.merged_into_id)
        .where(Issue.id == issue_id, Issue.hall_id == hall_id)
    ).first()
    if row is None:
        return None
    issue, name, merged = row
    return IssueHeader(issue, name, merged)


def list_events(session: Session, *, hall_id: int, issue_id: int) -> list[EventRow]:
    return [
        EventRow(event, name)
        for event, name in session.exec(
            select(StageEvent, User.name)
            .outerjoin(User, col(User.id) == StageEvent.actor_id)
            .where(StageEvent.hall_id == hall_id, StageEvent.issue_id == issue_id)
            .order_by(col(StageEvent.at), col(StageEvent.id))
        ).all()
    ]


def list_photo_ids(session: Session, *, hall_id: int, issue_id: int) -> list[int]:
    """Only ids: the bytes are fetched by the photo route."""
    return [
        i
        for i in session.exec(
            select(IssuePhoto.id)
            .where(IssuePhoto.hall_id == hall_id, IssuePhoto.issue_id == issue_id)
            .order_by(col(IssuePhoto.id))
        ).all()
        if i is not None
    ]


def get_photo(session: Session, *, hall_id: int, issue_id: int, photo_id: int) -> IssuePhoto | None:
    return session.exec(
        select(IssuePhoto).where(
            IssuePhoto.id == photo_id,
            IssuePhoto.hall_id == hall_id,
            IssuePhoto.issue_id == issue_id,
        )
    ).first()


def list_solutions(session: Session, *, hall_id: int, issue_id: int) -> list[SolutionRow]:
    return [
        SolutionRow(solution, name)
        for solution, name in session.exec(
            select(Solution, User.name)
            .join(User, col(User.id) == Solution.author_id)
            .where(Solution.hall_id == hall_id, Solution.issue_id == issue_id)
            .order_by(col(Solution.id))
        ).all()
    ]


def get_opinion(session: Session, *, hall_id: int, issue_id: int) -> ConsultationOpinion | None:
    return session.exec(
        select(ConsultationOpinion).where(
            ConsultationOpinion.issue_id == issue_id, ConsultationOpinion.hall_id == hall_id
        )
    ).first()


def has_cosigned(session: Session, *, hall_id: int, issue_id: int, user_id: int | None) -> bool:
    if user_id is None:
        return False
    return (
        session.exec(
            select(Cosign.id).where(
                Cosign.hall_id == hall_id, Cosign.issue_id == issue_id, Cosign.user_id == user_id
            )
        ).first()
        is not None
    )


def stance_counts(session: Session, *, hall_id: int, issue_id: int) -> dict[Stance, int]:
    """Visible comments per stance (hidden ones are not counted)."""
    rows = session.exec(
        select(Comment.stance, func.count())
        .where(
            Comment.hall_id == hall_id,
            Comment.issue_id == issue_id,
            col(Comment.hidden_at).is_(None),
        )
        .group_by(col(Comment.stance))
    ).all()
    counts = dict.fromkeys(Stance, 0)
    for stance, count in rows:
        counts[Stance(stance)] = count
    return counts


@dataclass(frozen=True)
class CommentPage:
    rows: list[CommentRow]
    next_before: int | None


def list_comments(
    session: Session,
    *,
    hall_id: int,
    issue_id: int,
    before: int | None = None,
    limit: int = COMMENT_PAGE,
    with_reports: bool = False,
) -> CommentPage:
    """A page of top-level comments (newest first, cursor `before`) with all their replies
    (oldest first) and, for the chair, open report counts: at most 3 queries."""
    query = (
        select(Comment, User.name)
        .join(User, col(User.id) == Comment.author_id)
        .where(
            Comment.hall_id == hall_id,
            Comment.issue_id == issue_id,
            col(Comment.parent_id).is_(None),
        )
        .order_by(col(Comment.id).desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(col(Comment.id) < before)
    found = session.exec(query).all()
    top = [CommentRow(c, name) for c, name in found[:limit]]
    next_before = top[-1].comment.id if len(found) > limit and top else None
    ids = [r.comment.id for r in top]
    by_id = {r.comment.id: r for r in top}
    if ids:
        for reply, name in session.exec(
            select(Comment, User.name)
            .join(User, col(User.id) == Comment.author_id)
            .where(Comment.hall_id == hall_id, col(Comment.parent_id).in_(ids))
            .order_by(col(Comment.id))
        ).all():
            row = CommentRow(reply, name)
            by_id[reply.id] = row
            parent = by_id.get(reply.parent_id)
            if parent is not None:
                parent.replies.append(row)
        if with_reports:
            counts = Counter(
                dict(
                    session.exec(
                        select(CommentReport.comment_id, func.count())
                        .where(
                            CommentReport.hall_id == hall_id,
                            col(CommentReport.comment_id).in_(list(by_id)),
                            col(CommentReport.resolved_at).is_(None),
                        )
                        .group_by(col(CommentReport.comment_id))
                    ).all()
                )
            )
            for comment_id, row in by_id.items():
                row.open_reports = counts.get(comment_id or 0, 0)
    return CommentPage(top, next_before)


def get_comment(session: Session, *, hall_id: int, comment_id: int) -> CommentRow | None:
    row = session.exec(
        select(Comment, User.name)
        .join(User, col(User.id) == Comment.author_id)
        .where(Comment.id == comment_id, Comment.hall_id == hall_id)
    ).first()
    return CommentRow(row[0], row[1]) if row else None


def get_thread(session: Session, *, hall_id: int, comment_id: int) -> CommentRow | None:
    """One top-level comment with its replies (for re-rendering it after an action)."""
    head = get_comment(session, hall_id=hall_id, comment_id=comment_id)
    if head is None:
        return None
    for reply, name in session.exec(
        select(Comment, User.name)
        .join(User, col(User.id) == Comment.author_id)
        .where(Comment.hall_id == hall_id, Comment.parent_id == comment_id)
        .order_by(col(Comment.id))
    ).all():
        head.replies.append(CommentRow(reply, name))
    return head


# --- moderation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportedComment:
    comment: Comment
    author_name: str
    issue_title: str
    reasons: list[str]


def list_reported(session: Session, *, hall_id: int, limit: int = 100) -> list[ReportedComment]:
    """Comments with open reports, oldest report first: two queries."""
    rows = session.exec(
        select(CommentReport.comment_id, CommentReport.reason)
        .where(CommentReport.hall_id == hall_id, col(CommentReport.resolved_at).is_(None))
        .order_by(col(CommentReport.id))
    ).all()
    reasons: dict[int, list[str]] = {}
    for comment_id, reason in rows:
        reasons.setdefault(comment_id, []).append(reason)
    if not reasons:
        return []
    ids = list(reasons)[:limit]
    found = {
        c.id: (c, name, title)
        for c, name, title in session.exec(
            select(Comment, User.name, Issue.title)
            .join(User, col(User.id) == Comment.author_id)
            .join(Issue, col(Issue.id) == Comment.issue_id)
            .where(Comment.hall_id == hall_id, col(Comment.id).in_(ids))
        ).all()
    }
    return [
        ReportedComment(found[i][0], found[i][1], found[i][2], reasons[i])
        for i in ids
        if i in found
    ]


def count_open_reports(session: Session, *, hall_id: int) -> int:
    return session.exec(
        select(func.count(func.distinct(CommentReport.comment_id))).where(
            CommentReport.hall_id == hall_id, col(CommentReport.resolved_at).is_(None)
        )
    ).one()


# --- notifications --------------------------------------------------------------------------


def count_unread(session: Session, *, user_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, col(Notification.read_at).is_(None))
    ).one()


@dataclass(frozen=True)
class NotificationRow:
    notification: Notification
    hall_name: str


def list_notifications(session: Session, *, user_id: int, limit: int = 50) -> list[NotificationRow]:
    return [
        NotificationRow(n, hall_name)
        for n, hall_name in session.exec(
            select(Notification, Hall.name)
            .join(Hall, col(Hall.id) == Notification.hall_id)
            .where(Notification.user_id == user_id)
            .order_by(col(Notification.id).desc())
            .limit(limit)
        ).all()
    ]
