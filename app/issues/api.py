"""JSON API for issues: the same services as the pages, answered as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, UploadFile
from pydantic import BaseModel

from app.accounts.api import session_cookie
from app.halls.deps import AccessDep
from app.issues import schemas, service
from app.issues.lifecycle import PHASE_OF, Phase, Stage
from app.issues.models import Category, Comment, Issue, Scope, Solution, Source, Stance
from app.web.deps import CurrentUser, SessionDep

router = APIRouter(
    prefix="/api/v1/halls/{hall_id}", tags=["api"], dependencies=[Depends(session_cookie)]
)

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


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
    source: Source
    cosign_count: int
    comment_count: int
    created_at: datetime
    review_due_at: datetime | None
    merged_into_id: int | None

    @classmethod
    def of(cls, issue: Issue) -> IssuePublic:
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
    stance: Stance
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
            stance=comment.stance,
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
    estimated_cost_fen: int | None
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


@router.post("/issues", name="api.propose_issue", response_model=IssuePublic, status_code=201)
async def propose(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    form: Annotated[schemas.ProposeForm, Form()],
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> IssuePublic:
    """Propose an issue (multipart form, up to 6 photos); it starts collecting co-signatures."""
    uploads = [await p.read(5 * 1024 * 1024 + 1) for p in photos or [] if p.filename]
    issue = service.propose_issue(
        session=session, access=access, actor=user, form=form, uploads=uploads
    )
    return IssuePublic.of(issue)


@router.post("/issues/{issue_id}/cosign", name="api.cosign", response_model=IssuePublic)
def cosign(
    session: SessionDep, access: AccessDep, user: CurrentUser, issue_id: IdPath
) -> IssuePublic:
    """附议 (co-sign) an issue that is collecting co-signatures."""
    return IssuePublic.of(
        service.cosign_issue(session=session, access=access, actor=user, issue_id=issue_id)
    )


@router.post(
    "/issues/{issue_id}/cosign/withdraw", name="api.withdraw_cosign", response_model=IssuePublic
)
def withdraw_cosign(
    session: SessionDep, access: AccessDep, user: CurrentUser, issue_id: IdPath
) -> IssuePublic:
    """Take one's co-signature back while the issue is collecting."""
    return IssuePublic.of(
        service.withdraw_cosign(session=session, access=access, actor=user, issue_id=issue_id)
    )


@router.post("/issues/{issue_id}/withdraw", name="api.withdraw_issue", response_model=IssuePublic)
def withdraw(
    session: SessionDep, access: AccessDep, user: CurrentUser, issue_id: IdPath
) -> IssuePublic:
    """The proposer withdraws their issue."""
    return IssuePublic.of(
        service.withdraw_issue(session=session, access=access, actor=user, issue_id=issue_id)
    )


@router.post("/issues/{issue_id}/accept", name="api.accept_issue", response_model=IssuePublic)
def accept(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.AcceptForm,
) -> IssuePublic:
    """The chair accepts an issue into 民议."""
    return IssuePublic.of(
        service.accept_issue(
            session=session, access=access, actor=user, issue_id=issue_id, form=body
        )
    )


@router.post("/issues/{issue_id}/reject", name="api.reject_issue", response_model=IssuePublic)
def reject(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.ReasonForm,
) -> IssuePublic:
    """The chair declines an issue, with a reason."""
    return IssuePublic.of(
        service.reject_issue(
            session=session, access=access, actor=user, issue_id=issue_id, form=body
        )
    )


@router.post("/issues/{issue_id}/merge", name="api.merge_issue", response_model=IssuePublic)
def merge(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.MergeForm,
) -> IssuePublic:
    """The chair merges a duplicate into another issue; co-signers are carried over."""
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
)
def add_comment(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.CommentForm,
) -> CommentPublic:
    """Comment with a stance, or reply to a comment."""
    return CommentPublic.of(
        service.add_comment(
            session=session, access=access, actor=user, issue_id=issue_id, form=body
        )
    )


@router.post("/comments/{comment_id}/report", name="api.report_comment", status_code=204)
def report_comment(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    comment_id: IdPath,
    body: schemas.ReasonForm,
) -> None:
    """Report a comment to the chair."""
    service.report_comment(
        session=session, access=access, actor=user, comment_id=comment_id, form=body
    )


@router.post("/comments/{comment_id}/hide", name="api.hide_comment", response_model=CommentPublic)
def hide_comment(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    comment_id: IdPath,
    body: schemas.ReasonForm,
) -> CommentPublic:
    """The chair hides a comment, with a reason shown in its place."""
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
)
def add_solution(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.SolutionForm,
) -> SolutionPublic:
    """Propose a 方案 (cost in 元 as text, stored exactly in 分)."""
    return SolutionPublic.of(
        service.add_solution(
            session=session, access=access, actor=user, issue_id=issue_id, form=body
        )
    )


@router.post("/issues/{issue_id}/close", name="api.close_deliberation", response_model=IssuePublic)
def close(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    issue_id: IdPath,
    body: schemas.CloseForm,
) -> IssuePublic:
    """The chair closes 民议 with a 协商意见 and the 方案 that go to the decision."""
    return IssuePublic.of(
        service.close_deliberation(
            session=session, access=access, actor=user, issue_id=issue_id, form=body
        )
    )
