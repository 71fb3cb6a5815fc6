"""JSON API for issues: the same services as the pages, answered as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import CurrentUser
from app.core import fields
from app.core.errors import NotFound
from app.halls.deps import AccessDep
from app.halls.policies import HallAccess
from app.issues import policies, queries, schemas, service
from app.issues.deps import IssueDep
from app.issues.lifecycle import PHASE_OF, Phase, Stage, VoteState
from app.issues.models import Category, Comment, Issue, Scope, Solution, Source, Stance
from app.voting import policies as voting_policies
from app.voting import queries as voting_queries
from app.web.deps import SessionDep
from app.web.openapi import errors, session_cookie
from app.web.routing import GuardedRoute

# Every operation is in a hall; writes may also answer 409 (the issue's stage does not allow it).
router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1/halls/{hall_id}",
    tags=["api"],
    dependencies=[Depends(session_cookie)],
    responses=errors(401, 403, 404, 422),
)

IdPath = Annotated[fields.Id, Path()]


def _participant(access: HallAccess) -> None:
    # As on the pages: a route someone may not use does not exist for them (AUTHZ-03).
    if not policies.can_take_part(access):
        raise NotFound("not_found")


def _chair(access: HallAccess) -> None:
    if not policies.can_review(access):
        raise NotFound("not_found")


class IssuePublic(BaseModel):
    id: int
    hall_id: int
    title: str
    description: str
    category: Category
    scope: Scope
    location: str
    stage: Stage
    phase: Phase
    # In `deciding` only, how far its vote is (as the pages say it, issue #14): `waiting` for
    # the chair to open a ballot, a ballot `open`, or one `closed` awaiting the chair's next
    # step; null in every other stage.
    vote: Literal["waiting", "open", "closed"] | None
    source: Source
    cosign_count: int
    comment_count: int
    created_at: datetime
    review_due_at: datetime | None
    merged_into_id: int | None

    @classmethod
    def of(cls, issue: Issue, votes: Mapping[int, str] | None = None) -> IssuePublic:
        """`votes`: voting.queries.vote_states of the issues (absent in `deciding`: waiting)."""
        deciding = issue.stage == Stage.DECIDING
        vote = (votes or {}).get(issue.id or 0, "waiting") if deciding else None
        return cls(
            id=issue.id or 0,
            hall_id=issue.hall_id,
            title=issue.title,
            description=issue.description,
            category=issue.category,
            scope=issue.scope,
            location=issue.location,
            stage=issue.stage,
            phase=PHASE_OF[issue.stage],
            vote=vote,
            source=issue.source,
            cosign_count=issue.cosign_count,
            comment_count=issue.comment_count,
            created_at=issue.created_at,
            review_due_at=issue.review_due_at,
            merged_into_id=issue.merged_into_id,
        )


class CommentPublic(BaseModel):
    id: int
    issue_id: int
    parent_id: int | None
    stance: Stance | None  # None for a reply: it answers a comment and takes no stance
    body: str | None  # None when hidden
    hidden_reason: str | None
    created_at: datetime
    edited: bool

    @classmethod
    def of(cls, comment: Comment) -> CommentPublic:
        hidden = comment.hidden_at is not None
        return cls(
            id=comment.id or 0,
            issue_id=comment.issue_id,
            parent_id=comment.parent_id,
            stance=None if comment.parent_id is not None else comment.stance,
            body=None if hidden else comment.body,
            hidden_reason=comment.hidden_reason if hidden else None,
            created_at=comment.created_at,
            edited=comment.edited_at is not None,
        )


class SolutionPublic(BaseModel):
    id: int
    issue_id: int
    title: str
    description: str
    estimated_cost_fen: fields.Fen | None
    selected: bool

    @classmethod
    def of(cls, solution: Solution) -> SolutionPublic:
        return cls(
            id=solution.id or 0,
            issue_id=solution.issue_id,
            title=solution.title,
            description=solution.description,
            estimated_cost_fen=solution.estimated_cost_fen,
            selected=solution.selected,
        )


class IssueListPublic(BaseModel):
    issues: list[IssuePublic]
    next_before: int | None


class IssueDetailPublic(BaseModel):
    issue: IssuePublic
    proposer_name: str
    solutions: list[SolutionPublic]
    comments: list[CommentPublic]
    next_comments_before: int | None
    ballot_ids: list[int]  # its ballots, oldest first: GET /api/v1/halls/{hall_id}/ballots/{id}


@router.get("/issues", name="api.issues", response_model=IssueListPublic)
def list_issues(
    session: SessionDep,
    access: AccessDep,
    stage: Annotated[Stage | None, Query()] = None,
    category: Annotated[Category | None, Query()] = None,
    q: Annotated[fields.Text, Query(max_length=60)] = "",
    before: Annotated[fields.Id | None, Query()] = None,
    vote: Annotated[VoteState | None, Query()] = None,
) -> IssueListPublic:
    """The hall's issues, newest first (cursor `before`), filtered by stage, category, text and
    `vote`: those in `deciding` whose vote is `waiting`, `open` or `closed` (as each item's
    `vote` says; with another `stage`, none)."""
    filters = queries.IssueFilters(stage=stage, category=category, q=q, vote=vote)
    return _issue_page(session, access.hall_id, filters, before)


def _issue_page(
    session: Session, hall_id: int, filters: queries.IssueFilters, before: int | None
) -> IssueListPublic:
    rows = queries.list_issues(
        session, hall_id=hall_id, filters=filters, before=before, limit=queries.ISSUE_PAGE + 1
    )
    page = rows[: queries.ISSUE_PAGE]
    more = len(rows) > queries.ISSUE_PAGE and page
    votes = voting_queries.vote_states(session, hall_id=hall_id, issues=[r.issue for r in page])
    return IssueListPublic(
        issues=[IssuePublic.of(r.issue, votes) for r in page],
        next_before=page[-1].issue.id if more else None,
    )


@router.get("/issues/{issue_id}", name="api.issue", response_model=IssueDetailPublic)
def issue_detail(
    session: SessionDep,
    access: AccessDep,
    issue: IssueDep,
    comments_before: Annotated[fields.Id | None, Query()] = None,
) -> IssueDetailPublic:
    """One issue with its 方案 and a page of comments (replies included, each after the comment
    it answers; hidden ones blanked)."""
    return _detail(session, access, issue, comments_before)


def _detail(
    session: Session, access: HallAccess, issue: Issue, before: int | None
) -> IssueDetailPublic:
    hall_id, issue_id = access.hall_id, issue.id or 0
    page = queries.list_comments(session, hall_id=hall_id, issue_id=issue_id, before=before)
    header = queries.get_issue_header(session, hall_id=hall_id, issue_id=issue_id)
    solutions = queries.list_solutions(session, hall_id=hall_id, issue_id=issue_id)
    drafts = voting_policies.can_manage(access)  # a draft ballot is the chair's to see
    return IssueDetailPublic(
        issue=IssuePublic.of(
            issue, voting_queries.vote_states(session, hall_id=hall_id, issues=[issue])
        ),
        proposer_name=header.proposer_name if header else "",
        solutions=[SolutionPublic.of(r.solution) for r in solutions],
        comments=[CommentPublic.of(c.comment) for row in page.rows for c in [row, *row.replies]],
        next_comments_before=page.next_before,
        ballot_ids=voting_queries.ballot_ids(
            session, hall_id=hall_id, issue_id=issue_id, include_drafts=drafts
        ),
    )


@router.post(
    "/issues",
    name="api.propose_issue",
    response_model=IssuePublic,
    status_code=201,
    responses=errors(409),
)
async def propose(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    form: Annotated[schemas.ProposeForm, Form()],
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> IssuePublic:
    """Propose an issue (multipart form, up to 6 photos); it starts collecting co-signatures."""
    _participant(access)
    uploads = [await p.read(5 * 1024 * 1024 + 1) for p in photos or [] if p.filename]
    issue = await run_in_threadpool(  # photos re-encoded and the write: one hop, off the loop
        partial(service.propose_issue, session=session, access=access, actor=user, form=form),
        uploads=uploads,
    )
    return IssuePublic.of(issue)


@router.post(
    "/issues/{issue_id}/cosign",
    name="api.cosign",
    response_model=IssuePublic,
    responses=errors(409),
)
def cosign(
    session: SessionDep, access: AccessDep, user: CurrentUser, issue_id: IdPath
) -> IssuePublic:
    """附议 (co-sign) an issue that is collecting co-signatures."""
    _participant(access)
    return IssuePublic.of(
        service.cosign_issue(session=session, access=access, actor=user, issue_id=issue_id)
    )


@router.post(
    "/issues/{issue_id}/cosign/withdraw",
    name="api.withdraw_cosign",
    response_model=IssuePublic,
    responses=errors(409),
)
def withdraw_cosign(
    session: SessionDep, access: AccessDep, user: CurrentUser, issue_id: IdPath
) -> IssuePublic:
    """Take one's co-signature back while the issue is collecting."""
    _participant(access)
    return IssuePublic.of(
        service.withdraw_cosign(session=session, access=access, actor=user, issue_id=issue_id)
    )


@router.post(
    "/issues/{issue_id}/withdraw",
    name="api.withdraw_issue",
    response_model=IssuePublic,
    responses=errors(409),
)
def withdraw(
    session: SessionDep, access: AccessDep, user: CurrentUser, issue_id: IdPath, issue: IssueDep
) -> IssuePublic:
    """The proposer withdraws their issue."""
    if not policies.can_withdraw_issue(access, proposer_id=issue.proposer_id, stage_allows=True):
        raise NotFound("not_found")
    return IssuePublic.of(
        service.withdraw_issue(session=session, access=access, actor=user, issue_id=issue_id)
    )


@router.post(
    "/issues/{issue_id}/accept",
    name="api.accept_issue",
    response_model=IssuePublic,
    responses=errors(409),
)
def accept(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.AcceptForm,
) -> IssuePublic:
    """The chair accepts an issue into 民议."""
    _chair(access)
    return IssuePublic.of(
        service.accept_issue(
            session=session, access=access, actor=user, issue_id=issue_id, form=body
        )
    )


@router.post(
    "/issues/{issue_id}/reject",
    name="api.reject_issue",
    response_model=IssuePublic,
    responses=errors(409),
)
def reject(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.ReasonForm,
) -> IssuePublic:
    """The chair declines an issue, with a reason."""
    _chair(access)
    return IssuePublic.of(
        service.reject_issue(
            session=session, access=access, actor=user, issue_id=issue_id, form=body
        )
    )


@router.post(
    "/issues/{issue_id}/merge",
    name="api.merge_issue",
    response_model=IssuePublic,
    responses=errors(409),
)
def merge(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.MergeForm,
) -> IssuePublic:
    """The chair merges a duplicate into another issue; co-signers are carried over."""
    _chair(access)
    return IssuePublic.of(
        service.merge_issue(
            session=session, access=access, actor=user, issue_id=issue_id, form=body
        )
    )


@router.post(
    "/issues/{issue_id}/comments",
    name="api.add_comment",
    response_model=CommentPublic,
    status_code=201,
    responses=errors(409),
)
def add_comment(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.CommentForm,
) -> CommentPublic:
    """Comment with a stance, or reply to a comment.

    `stance` is one of support / oppose / suggest / neutral and may be left out: a comment
    without one counts as neutral (中立), as on the page, whose form says so ("不选态度即算作中立")
    and whose notice names the stance the comment was counted under. A reply (`parent_id`)
    takes no stance: any sent is ignored, it is in no stance count and reads `stance: null`."""
    _participant(access)
    return CommentPublic.of(
        service.add_comment(
            session=session, access=access, actor=user, issue_id=issue_id, form=body
        )
    )


@router.post(
    "/comments/{comment_id}/report",
    name="api.report_comment",
    status_code=204,
    responses=errors(409),
)
def report_comment(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    comment_id: IdPath,
    body: schemas.ReasonForm,
) -> None:
    """Report a comment to the chair."""
    _participant(access)
    service.report_comment(
        session=session, access=access, actor=user, comment_id=comment_id, form=body
    )


@router.post(
    "/comments/{comment_id}/hide",
    name="api.hide_comment",
    response_model=CommentPublic,
    responses=errors(409),
)
def hide_comment(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    comment_id: IdPath,
    body: schemas.ReasonForm,
) -> CommentPublic:
    """The chair hides a comment, with a reason shown in its place."""
    _chair(access)
    return CommentPublic.of(
        service.hide_comment(
            session=session, access=access, actor=user, comment_id=comment_id, form=body
        )
    )


@router.post(
    "/issues/{issue_id}/solutions",
    name="api.add_solution",
    response_model=SolutionPublic,
    status_code=201,
    responses=errors(409),
)
def add_solution(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.SolutionForm,
) -> SolutionPublic:
    """Propose a 方案 (cost in 元 as text, stored exactly in 分)."""
    _participant(access)
    return SolutionPublic.of(
        service.add_solution(
            session=session, access=access, actor=user, issue_id=issue_id, form=body
        )
    )


@router.post(
    "/issues/{issue_id}/close",
    name="api.close_deliberation",
    response_model=IssuePublic,
    responses=errors(409),
)
def close(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.CloseForm,
) -> IssuePublic:
    """The chair closes 民议 with a 协商意见 and the 方案 that go to the decision."""
    _chair(access)
    issue = service.close_deliberation(
        session=session, access=access, actor=user, issue_id=issue_id, form=body
    )
    votes = voting_queries.vote_states(session, hall_id=access.hall_id, issues=[issue])
    return IssuePublic.of(issue, votes)
