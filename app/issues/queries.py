"""Reads for issues. Every query takes the hall id; each page costs a fixed number of queries.

The statements of the busiest pages (the issue list, the issue page, the bell) are built once,
at import, with bound parameters (`sa.bindparam`). Building a SQLAlchemy statement and its cache
key costs about as much as running the small query on SQLite (~150 µs of ~250 µs, measured for
issue #3), and a built statement is immutable, so one object serves every request.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.core.fields import ID_MAX, parse_id
from app.escalations.models import Department, DepartmentMember
from app.halls.models import Entrance, Hall, Household, Membership, StreetAdmin
from app.issues import notices, search
from app.issues.lifecycle import MERGE_TARGETS, TERMINAL, Stage, VoteState
from app.issues.models import (
    STANCE_COUNT_COLUMN,
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
from app.voting import queries as voting_queries

COMMENT_PAGE = 20
ISSUE_PAGE = 30


# --- search ---------------------------------------------------------------------------------


def _match(
    session: Session, text: str, *, every: bool = True
) -> sa.ColumnElement[bool] | sa.TextClause | None:
    """A condition on Issue.id for full-text `text` (all of its terms, or with `every=False`
    any of them); None when the text has no terms.

    The terms are bound as one parameter, never formatted into the SQL.
    """
    return _match_terms(session, search.query_terms(text), every=every)


def _match_terms(
    session: Session, terms: list[str], *, every: bool = True
) -> sa.ColumnElement[bool] | sa.TextClause | None:
    """`_match` for terms already made (search.tokens), as many as given."""
    if not terms:
        return None
    if session.get_bind().dialect.name == "postgresql":
        # Terms are CJK characters or [a-z0-9]+ only (search.tokens), so no tsquery syntax.
        query = (" & " if every else " | ").join(terms)
        return sa.text(
            "to_tsvector('simple', issue.search_text) @@ to_tsquery('simple', :fts_query)"
        ).bindparams(fts_query=query)
    # FTS5: each term a quoted phrase (inner quotes doubled), all required.
    match = (" AND " if every else " OR ").join(
        '"' + term.replace('"', '""') + '"' for term in terms
    )
    ids = sa.text("SELECT rowid FROM issue_fts WHERE issue_fts MATCH :fts_query").bindparams(
        fts_query=match
    )
    return col(Issue.id).in_(ids.columns(sa.column("rowid", sa.Integer)))


# --- issues ---------------------------------------------------------------------------------


def _param(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name)


def _cursor() -> sa.BindParameter[int]:
    """`before`: a BIGINT, like every id column."""
    return sa.bindparam("before", type_=sa.BigInteger())


_ISSUE = select(Issue).where(
    col(Issue.id) == _param("issue_id"), col(Issue.hall_id) == _param("hall_id")
)


def get_issue(session: Session, *, hall_id: int, issue_id: int) -> Issue | None:
    return session.exec(_ISSUE, params={"hall_id": hall_id, "issue_id": issue_id}).first()


@dataclass(frozen=True)
class IssueRow:
    issue: Issue
    proposer_name: str


# Every id is below this (the largest a BIGINT holds): "no cursor" is a cursor too, so the
# first page and the next ones run the same statement.
NO_CURSOR = ID_MAX

_ISSUES = (
    select(Issue, User.name)
    .join(User, col(User.id) == Issue.proposer_id)
    .where(col(Issue.hall_id) == _param("hall_id"), col(Issue.id) < _cursor())
    .order_by(col(Issue.id).desc())
    .limit(_param("limit"))
)


@dataclass(frozen=True)
class IssueFilters:
    stage: Stage | None = None
    category: Category | None = None
    building_id: int | None = None
    q: str = ""
    open_only: bool = False
    vote: VoteState | None = None  # in 表决中, how far its vote is (implies that stage)


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
    query = _ISSUES  # filters, when given, are added to the built statement
    if f.stage is not None:
        query = query.where(Issue.stage == f.stage)
    if f.open_only:
        query = query.where(col(Issue.stage).not_in(list(TERMINAL)))
    if f.vote is not None:
        query = query.where(voting_queries.vote_state_is(f.vote))
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
    params = {"hall_id": hall_id, "before": before or NO_CURSOR, "limit": limit}
    return [IssueRow(issue, name) for issue, name in session.exec(query, params=params).all()]


def list_similar(session: Session, *, hall_id: int, title: str, limit: int = 5) -> list[IssueRow]:
    """Open issues (still collecting, in review or deliberating) that share the title's terms."""
    if not search.query_terms(title):
        return []
    rows = list_issues(
        session, hall_id=hall_id, filters=IssueFilters(q=title, open_only=True), limit=limit
    )
    return rows


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


# The chair's merge list: this many choices at most (a search finds the others).
MERGE_CHOICES = 15


def _title_words(title: str) -> list[str]:
    """The terms two titles are compared by, each once in the order of the title: character
    pairs and words, not a lone character or digit (the 3 of 3号楼 makes no two issues alike)."""
    return list(dict.fromkeys(t for t in search.tokens(title) if len(t) > 1))


def _title_likeness(words: list[str]) -> sa.ColumnElement[int]:
    """How many of `words` an issue's title contains (SQL): a word of the index is a run of
    CJK characters or of [a-z0-9] (search.tokens), so it holds no LIKE wildcard."""
    title = sa.func.lower(col(Issue.title))
    return sum(
        (sa.case((title.contains(w, autoescape=True), 1), else_=0) for w in words),
        start=sa.literal(0),
    )


def list_merge_targets(
    session: Session, *, hall_id: int, issue: Issue, q: str = "", limit: int = MERGE_CHOICES
) -> list[Issue]:
    """What the chair may merge `issue` into, most relevant first, at most `limit`: the hall's
    others in a stage that takes a merge (lifecycle.MERGE_TARGETS, the rule merge_issue
    enforces). With a search `q`, those it finds (by number, #12 or 12, or by all of its
    words), newest first; without, those whose titles share the most words (character pairs)
    with the issue's title, ranked in SQL among every such issue of the hall (not among the
    newest that mention a word anywhere), then the newest. One query with a search, two
    without, whatever the hall's size."""
    targets = (
        select(Issue)
        .where(
            Issue.hall_id == hall_id,
            col(Issue.id) != issue.id,
            col(Issue.stage).in_(sorted(MERGE_TARGETS)),
        )
        .order_by(col(Issue.id).desc())
    )
    if q.strip():
        found: list[sa.ColumnElement[bool] | sa.TextClause] = []
        number = parse_id(q.strip().lstrip("#＃"))
        if number is not None:
            found.append(col(Issue.id) == number)
        words = _match(session, q)
        if words is not None:
            found.append(words)
        if not found:
            return []
        return list(session.exec(targets.where(sa.or_(*found)).limit(limit)).all())
    title = _title_words(issue.title)
    shared = _match_terms(session, title, every=False)  # the index narrows; the title decides
    closest: list[Issue] = []
    if shared is not None:
        likeness = _title_likeness(title)
        closest = list(
            session.exec(
                targets.where(shared, likeness > 0)
                .order_by(None)
                .order_by(likeness.desc(), col(Issue.id).desc())
                .limit(limit)
            ).all()
        )
    chosen = {t.id for t in closest}
    newest = session.exec(targets.limit(limit)).all()
    return (closest + [t for t in newest if t.id not in chosen])[:limit]


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


def scope_includes(place: Place) -> sa.ColumnElement[bool]:
    """Issues whose scope takes in someone living at `place` (SQL for in_scope)."""
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
    return sa.or_(*scope)


def list_cosignable(
    session: Session, *, hall_id: int, user_id: int, place: Place, limit: int = 10
) -> list[Issue]:
    """Collecting issues in my scope that I have neither proposed nor co-signed."""
    mine = select(Cosign.issue_id).where(Cosign.hall_id == hall_id, Cosign.user_id == user_id)
    return list(
        session.exec(
            select(Issue)
            .where(
                Issue.hall_id == hall_id,
                Issue.stage == Stage.COLLECTING,
                Issue.proposer_id != user_id,
                col(Issue.id).not_in(mine),
                scope_includes(place),
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
_LATER_OPINION = aliased(ConsultationOpinion, name="later_opinion")
# The issue's current 协商意见: its latest round's (an issue back in 民议 closes it again).
_CURRENT_OPINION = sa.and_(
    col(ConsultationOpinion.issue_id) == Issue.id,
    ~sa.exists().where(
        col(_LATER_OPINION.issue_id) == col(ConsultationOpinion.issue_id),
        col(_LATER_OPINION.id) > col(ConsultationOpinion.id),
    ),
)


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


@dataclass(frozen=True)
class IssuePage:
    """The issue page's header and the caller's standing towards the issue."""

    issue: Issue
    proposer_name: str
    merged_into: Issue | None
    opinion: ConsultationOpinion | None
    cosigned: bool
    place: Place


_PAGE_COLUMNS: tuple[Any, ...] = (
    Issue,
    User.name,
    _MERGE_TARGET,
    ConsultationOpinion,
    Cosign.id,
    Household.entrance_id,
    Entrance.building_id,
)
_ISSUE_PAGE = (
    select(*_PAGE_COLUMNS)
    .join(User, col(User.id) == Issue.proposer_id)
    .outerjoin(_MERGE_TARGET, col(_MERGE_TARGET.id) == Issue.merged_into_id)
    .outerjoin(ConsultationOpinion, _CURRENT_OPINION)
    .outerjoin(
        Cosign, sa.and_(col(Cosign.issue_id) == Issue.id, col(Cosign.user_id) == _param("user_id"))
    )
    .outerjoin(
        Membership,
        sa.and_(
            col(Membership.id) == _param("membership_id"),
            col(Membership.hall_id) == Issue.hall_id,
        ),
    )
    .outerjoin(Household, col(Household.id) == Membership.household_id)
    .outerjoin(Entrance, col(Entrance.id) == Household.entrance_id)
    .where(col(Issue.id) == _param("issue_id"), col(Issue.hall_id) == _param("hall_id"))
)


@dataclass(frozen=True)
class IssueShown:
    """What every reader of the issue page sees alike at its top (kept per issue)."""

    issue: Issue
    proposer_name: str
    merged_into: Issue | None
    opinion: ConsultationOpinion | None


_ISSUE_SHOWN = (
    select(Issue, User.name, _MERGE_TARGET, ConsultationOpinion)
    .join(User, col(User.id) == Issue.proposer_id)
    .outerjoin(_MERGE_TARGET, col(_MERGE_TARGET.id) == Issue.merged_into_id)
    .outerjoin(ConsultationOpinion, _CURRENT_OPINION)
    .where(col(Issue.id) == _param("issue_id"), col(Issue.hall_id) == _param("hall_id"))
)


def get_issue_shown(session: Session, *, hall_id: int, issue_id: int) -> IssueShown | None:
    row = session.exec(_ISSUE_SHOWN, params={"hall_id": hall_id, "issue_id": issue_id}).first()
    return IssueShown(*row) if row is not None else None


_COSIGNERS = select(Cosign.user_id).where(
    col(Cosign.hall_id) == _param("hall_id"), col(Cosign.issue_id) == _param("issue_id")
)


def cosigner_ids(session: Session, *, hall_id: int, issue_id: int) -> frozenset[int]:
    """Who co-signed the issue (a few hundred at most: the hall's households)."""
    params = {"hall_id": hall_id, "issue_id": issue_id}
    return frozenset(session.exec(_COSIGNERS, params=params).all())


def get_issue_page(
    session: Session,
    *,
    hall_id: int,
    issue_id: int,
    user_id: int | None,
    membership_id: int | None,
) -> IssuePage | None:
    """The issue with its proposer's name, the issue it was merged into, its 协商意见, whether
    the caller co-signed it and where the caller lives (for the co-signing scope): one query.
    Every outer join matches at most one row (primary keys and unique constraints)."""
    params = {
        "hall_id": hall_id,
        "issue_id": issue_id,
        "user_id": user_id,  # None compares as SQL NULL: no co-signature, no home
        "membership_id": membership_id,
    }
    row = session.exec(_ISSUE_PAGE, params=params).first()
    if row is None:
        return None
    issue, name, merged, opinion, cosign_id, entrance_id, building_id = row
    return IssuePage(
        issue=issue,
        proposer_name=name,
        merged_into=merged,
        opinion=opinion,
        cosigned=cosign_id is not None,
        place=Place(building_id, entrance_id),
    )


_EVENTS = (
    select(StageEvent, User.name)
    .outerjoin(User, col(User.id) == StageEvent.actor_id)
    .where(
        col(StageEvent.hall_id) == _param("hall_id"), col(StageEvent.issue_id) == _param("issue_id")
    )
    .order_by(col(StageEvent.at), col(StageEvent.id))
)


def list_events(session: Session, *, hall_id: int, issue_id: int) -> list[EventRow]:
    params = {"hall_id": hall_id, "issue_id": issue_id}
    return [EventRow(event, name) for event, name in session.exec(_EVENTS, params=params).all()]


_PHOTO_IDS = (
    select(IssuePhoto.id)
    .where(
        col(IssuePhoto.hall_id) == _param("hall_id"), col(IssuePhoto.issue_id) == _param("issue_id")
    )
    .order_by(col(IssuePhoto.id))
)


def list_photo_ids(session: Session, *, hall_id: int, issue_id: int) -> list[int]:
    """Only ids: the bytes are fetched by the photo route."""
    params = {"hall_id": hall_id, "issue_id": issue_id}
    return [i for i in session.exec(_PHOTO_IDS, params=params).all() if i is not None]


def get_photo(session: Session, *, hall_id: int, issue_id: int, photo_id: int) -> IssuePhoto | None:
    return session.exec(
        select(IssuePhoto).where(
            IssuePhoto.id == photo_id,
            IssuePhoto.hall_id == hall_id,
            IssuePhoto.issue_id == issue_id,
        )
    ).first()


_SOLUTIONS = (
    select(Solution, User.name)
    .join(User, col(User.id) == Solution.author_id)
    .where(col(Solution.hall_id) == _param("hall_id"), col(Solution.issue_id) == _param("issue_id"))
    .order_by(col(Solution.id))
)


def list_solutions(session: Session, *, hall_id: int, issue_id: int) -> list[SolutionRow]:
    params = {"hall_id": hall_id, "issue_id": issue_id}
    return [SolutionRow(sol, name) for sol, name in session.exec(_SOLUTIONS, params=params).all()]


def get_opinion(session: Session, *, hall_id: int, issue_id: int) -> ConsultationOpinion | None:
    return session.exec(
        select(ConsultationOpinion)
        .where(ConsultationOpinion.issue_id == issue_id, ConsultationOpinion.hall_id == hall_id)
        .order_by(col(ConsultationOpinion.id).desc())
    ).first()


def stance_counts(issue: Issue) -> dict[Stance, int]:
    """Visible top comments per stance (hidden ones and replies are not counted): kept on the issue row by
    the comment service, so no query."""
    return {stance: getattr(issue, column) for stance, column in STANCE_COUNT_COLUMN.items()}


@dataclass(frozen=True)
class CommentPage:
    rows: list[CommentRow]
    next_before: int | None

    @property
    def authors(self) -> frozenset[int]:
        """Who wrote the comments and replies of the page."""
        return frozenset(i.comment.author_id for r in self.rows for i in (r, *r.replies))


_TOP_COMMENTS = (
    select(Comment, User.name)
    .join(User, col(User.id) == Comment.author_id)
    .where(
        col(Comment.hall_id) == _param("hall_id"),
        col(Comment.issue_id) == _param("issue_id"),
        col(Comment.parent_id).is_(None),
        col(Comment.id) < _cursor(),
    )
    .order_by(col(Comment.id).desc())
    .limit(_param("limit"))
)
_REPLIES = (
    select(Comment, User.name)
    .join(User, col(User.id) == Comment.author_id)
    .where(
        col(Comment.hall_id) == _param("hall_id"),
        col(Comment.issue_id) == _param("issue_id"),
        col(Comment.parent_id).in_(sa.bindparam("ids", expanding=True)),
    )
    # The thread index's own order: SQLite reads it instead of every comment of the hall.
    .order_by(col(Comment.parent_id), col(Comment.id))
)
_OPEN_REPORTS = (
    select(CommentReport.comment_id, func.count())
    .where(
        col(CommentReport.hall_id) == _param("hall_id"),
        col(CommentReport.comment_id).in_(sa.bindparam("ids", expanding=True)),
        col(CommentReport.resolved_at).is_(None),
    )
    .group_by(col(CommentReport.comment_id))
)


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
    params: dict[str, Any] = {"hall_id": hall_id, "issue_id": issue_id}
    found = session.exec(
        _TOP_COMMENTS, params={**params, "before": before or NO_CURSOR, "limit": limit + 1}
    ).all()
    top = [CommentRow(c, name) for c, name in found[:limit]]
    next_before = top[-1].comment.id if len(found) > limit and top else None
    by_id = {r.comment.id: r for r in top}
    if top:
        params["ids"] = list(by_id)
        for reply, name in session.exec(_REPLIES, params=params).all():
            row = CommentRow(reply, name)
            parent = by_id.get(reply.parent_id)
            if parent is not None:
                parent.replies.append(row)
        if with_reports:
            params["ids"] = [r.comment.id for t in top for r in (t, *t.replies)]
            counts = Counter(dict(session.exec(_OPEN_REPORTS, params=params).all()))
            for t in top:
                for r in (t, *t.replies):
                    r.open_reports = counts.get(r.comment.id or 0, 0)
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
        .where(
            Comment.hall_id == hall_id,
            Comment.issue_id == head.comment.issue_id,
            Comment.parent_id == comment_id,
        )
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


_UNREAD = (
    select(func.count())
    .select_from(Notification)
    .where(col(Notification.user_id) == _param("user_id"), col(Notification.read_at).is_(None))
)


UNREAD_TABLES = ("notification",)  # what count_unread reads


def count_unread(session: Session, *, user_id: int) -> int:
    """The bell's count, on every page."""
    return session.exec(_UNREAD, params={"user_id": user_id}).one()


@dataclass(frozen=True)
class NotificationRow:
    notification: Notification
    hall_name: str
    link: str | None  # where the reader does what the notice asks (app.issues.notices)
    action: str  # the link's text (untranslated msgid)


def list_notifications(session: Session, *, user_id: int, limit: int = 50) -> list[NotificationRow]:
    """The person's latest notices, each with the page where its action is: for a 吹哨 notice
    to a department's members their 部门待办 in the hall's street, for one to the hall's side
    that street's 吹哨派单 if they are its official, else the issue (notices.link)."""
    rows = session.exec(
        select(Notification, Hall.name, Hall.street_id)
        .join(Hall, col(Hall.id) == Notification.hall_id)
        .where(Notification.user_id == user_id)
        .order_by(col(Notification.id).desc())
        .limit(limit)
    ).all()
    departments: dict[int, int] = {}
    admin_of: set[int] = set()
    if any(notices.notice_of(n.kind).target in {"escalation", "street"} for n, _, _ in rows):
        for street_id, department_id, count in session.exec(
            select(
                Department.street_id,
                func.min(Department.id),
                func.count(func.distinct(Department.id)),
            )
            .join(DepartmentMember, col(DepartmentMember.department_id) == Department.id)
            .where(DepartmentMember.user_id == user_id)
            .group_by(col(Department.street_id))
        ).all():
            if department_id is not None:
                # In two departments of the street, which inbox holds it is not known here:
                # the home page lists both (notices.SEVERAL).
                departments[street_id] = department_id if count == 1 else notices.SEVERAL
        admin_of = set(
            session.exec(select(StreetAdmin.street_id).where(StreetAdmin.user_id == user_id)).all()
        )
    return [
        NotificationRow(
            n,
            hall_name,
            notices.link(
                n,
                department_id=departments.get(street_id),
                street_id=street_id if street_id in admin_of else None,
            ),
            notices.notice_of(n.kind).action,
        )
        for n, hall_name, street_id in rows
    ]
