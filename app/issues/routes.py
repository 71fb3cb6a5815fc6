"""Issue pages: list and search, propose, the issue page, review, deliberation, notifications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from sqlmodel import Session

from app.accounts.deps import CurrentUser
from app.core import clock, fields
from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.halls import queries as hall_queries
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues import labels, lifecycle, policies, queries, schemas, service
from app.issues.deps import CommentDep, Id, IssueDep
from app.issues.lifecycle import PHASE_OF, Action, Phase, Stage
from app.issues.models import (
    Category,
    Comment,
    ConsultationOpinion,
    Issue,
    Scope,
    Source,
    Stance,
)
from app.voting.publicity_routes import issue_decision_context
from app.web.deps import SessionDep
from app.web.forms import FormRoute, Refusals, Refused
from app.web.htmx import field_errors, is_partial, redirect, render
from app.web.i18n import N_, _
from app.web.messages import message
from app.web.templating import env

router = APIRouter(tags=["issues"], route_class=FormRoute)

env.globals.update(
    stage_labels=labels.STAGE_LABELS,
    phase_labels=labels.PHASE_LABELS,
    category_labels=labels.CATEGORY_LABELS,
    scope_labels=labels.SCOPE_LABELS,
    source_labels=labels.SOURCE_LABELS,
    stance_labels=labels.STANCE_LABELS,
    notification_label=labels.notification_label,
)
env.filters["yuan"] = lambda fen: "" if fen is None else f"{fen // 100}.{fen % 100:02d}"

PHASES = list(Phase)
MAX_PHOTO_READ = 5 * 1024 * 1024 + 1


def _require(allowed: bool) -> None:
    # Inside a hall the caller can see, what they may not do is reported as missing (AUTHZ-03).
    if not allowed:
        raise NotFound("not_found")


def _issue_url(issue: Issue | int, hall_id: int) -> str:
    issue_id = issue if isinstance(issue, int) else issue.id
    return f"/halls/{hall_id}/issues/{issue_id}"


# --- list and search ------------------------------------------------------------------------


def _filters(stage: str, category: str, building_id: str, q: str) -> queries.IssueFilters:
    return queries.IssueFilters(
        stage=Stage(stage) if stage in Stage.__members__.values() else None,
        category=Category(category) if category in Category.__members__.values() else None,
        building_id=fields.parse_id(building_id),
        q=q[:100],
    )


@router.get("/halls/{hall_id}/issues", name="issues.list")
def list_page(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    stage: fields.Text = "",
    category: fields.Text = "",
    building_id: fields.Text = "",
    q: Annotated[fields.Text, Query(max_length=200)] = "",
    before: Annotated[fields.Id | None, Query()] = None,
) -> Response:
    f = _filters(stage, category, building_id, q)
    rows = queries.list_issues(
        session, hall_id=access.hall_id, filters=f, before=before, limit=queries.ISSUE_PAGE + 1
    )
    page = rows[: queries.ISSUE_PAGE]
    params = {
        "stage": f.stage or "",
        "category": f.category or "",
        "building_id": f.building_id or "",
        "q": f.q,
    }
    next_url = (
        f"/halls/{hall.id}/issues?{urlencode({**params, 'before': page[-1].issue.id})}"
        if len(rows) > queries.ISSUE_PAGE
        else None
    )
    context = {
        "hall": hall,
        "access": access,
        "rows": page,
        "filters": f,
        "next_url": next_url,
        "can_propose": policies.can_propose(access),
        "can_review": policies.can_review(access),
        # Translated once here, not once per row.
        "stage_names": labels.translated(labels.STAGE_LABELS),
        "category_names": labels.translated(labels.CATEGORY_LABELS),
        "counts_text": _("附议 %(n)s · 评论 %(c)s"),
    }
    if is_partial(request):
        return render(request, "issues/_results.html", context)
    context |= {
        "buildings": hall_queries.list_buildings(session, hall_id=access.hall_id),
        "stages": list(Stage),
        "categories": list(Category),
    }
    return render(request, "issues/list.html", context)


@router.get("/halls/{hall_id}/issues/similar", name="issues.similar")
def similar(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    title: Annotated[fields.Text, Query(max_length=200)] = "",
) -> Response:
    rows = queries.list_similar(session, hall_id=access.hall_id, title=title)
    return render(request, "issues/_similar.html", {"hall": hall, "similar": rows})


# --- proposing ------------------------------------------------------------------------------


def _form_context(
    session: Session, hall: Hall, access: HallAccess, form: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    buildings = hall_queries.list_buildings(session, hall_id=access.hall_id)
    entrances = [
        (b, e)
        for b in buildings
        for e in hall_queries.list_entrances(session, hall_id=access.hall_id, building_id=b.id or 0)
    ]
    return {
        "hall": hall,
        "access": access,
        "form": form,
        "errors": errors,
        "categories": list(Category),
        "scopes": list(Scope),
        "sources": [s for s in Source if s != Source.RESIDENT],
        "buildings": buildings,
        "entrances": entrances,
        "max_photos": schemas.MAX_PHOTOS,
    }


@router.get("/halls/{hall_id}/issues/new", name="issues.new")
def new_page(request: Request, session: SessionDep, hall: HallDep, access: AccessDep) -> Response:
    _require(policies.can_propose(access))
    return render(request, "issues/new.html", _form_context(session, hall, access, {}, {}))


async def _read_photos(photos: list[UploadFile] | None) -> list[bytes]:
    out = []
    for upload in photos or []:
        if not upload.filename:
            continue  # the empty part a browser sends when no file was chosen
        data = await upload.read(MAX_PHOTO_READ)
        if data:
            out.append(data)
    return out


@router.post("/halls/{hall_id}/issues", name="issues.create")
async def create(
    request: Request,
    session: SessionDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    form: Annotated[schemas.ProposeForm, Form()],
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    _require(policies.can_propose(access))
    uploads = await _read_photos(photos)
    try:
        refused.check()
        issue = service.propose_issue(
            session=session, access=access, actor=user, form=form, uploads=uploads
        )
    except ValidationFailed as exc:
        context = _form_context(session, hall, access, form.model_dump(), field_errors(exc.errors))
        return render(request, "issues/new.html", context, status_code=422)
    return redirect(
        request,
        _issue_url(issue, access.hall_id),
        flash_text=_("议题已发布，邀请邻居们来附议吧"),
    )


@router.get("/halls/{hall_id}/issues/enter", name="issues.enter")
def enter_page(request: Request, session: SessionDep, hall: HallDep, access: AccessDep) -> Response:
    _require(policies.can_review(access))
    return render(
        request, "issues/enter.html", _form_context(session, hall, access, {"source": "paper"}, {})
    )


@router.post("/halls/{hall_id}/issues/enter", name="issues.enter_post")
async def enter(
    request: Request,
    session: SessionDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    form: Annotated[schemas.OnBehalfIssueForm, Form()],
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    _require(policies.can_review(access))
    uploads = await _read_photos(photos)
    try:
        refused.check()
        issue = service.enter_issue_on_behalf(
            session=session, access=access, actor=user, form=form, uploads=uploads
        )
    except ValidationFailed as exc:
        context = _form_context(session, hall, access, form.model_dump(), field_errors(exc.errors))
        return render(request, "issues/enter.html", context, status_code=422)
    return redirect(
        request, _issue_url(issue, access.hall_id), flash_text=_("已代为登记议题，进入审核")
    )


# --- the chair's queues ---------------------------------------------------------------------


@router.get("/halls/{hall_id}/review", name="issues.review_queue")
def review_queue(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep
) -> Response:
    _require(policies.can_view_queues(access))
    return render(
        request,
        "issues/review.html",
        {
            "hall": hall,
            "access": access,
            "rows": queries.list_review_queue(session, hall_id=access.hall_id),
            "now": clock.now(),
        },
    )


@router.get("/halls/{hall_id}/moderation", name="issues.moderation")
def moderation(request: Request, session: SessionDep, hall: HallDep, access: AccessDep) -> Response:
    _require(policies.can_view_queues(access))
    return render(
        request,
        "issues/moderation.html",
        {
            "hall": hall,
            "access": access,
            "rows": queries.list_reported(session, hall_id=access.hall_id),
            "can_moderate": policies.can_moderate(access),
            "errors": {},
        },
    )


# --- the issue page -------------------------------------------------------------------------


def _comment_flags(access: HallAccess, issue: Issue) -> dict[str, Any]:
    take_part = policies.can_take_part(access)
    return {
        "can_comment": take_part and lifecycle.is_allowed(issue.stage, Action.COMMENT),
        "can_report": take_part,
        "can_moderate": policies.can_moderate(access),
        "stance_names": labels.translated(labels.STANCE_LABELS),
        "error_thread": None,
        "thread_errors": [],
        "open_form": None,
    }


def _created(comment: Comment) -> datetime:
    created = comment.created_at
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def _editable(access: HallAccess, rows: list[queries.CommentRow]) -> set[int]:
    """Comments the caller may still correct (their own, within 10 minutes)."""
    now = clock.now()
    found: set[int] = set()
    for row in rows:
        for item in [row, *row.replies]:
            c = item.comment
            if c.id and policies.can_edit_comment(
                access, author_id=c.author_id, created_at=_created(c), now=now
            ):
                found.add(c.id)
    return found


def _stage_context(
    session: Session, hall: Hall, access: HallAccess, issue_id: int
) -> dict[str, Any]:
    """Everything the stage panel shows: timeline, co-sign progress, the buttons that work;
    and the 协商意见, read by the same query."""
    page = queries.get_issue_page(
        session,
        hall_id=access.hall_id,
        issue_id=issue_id,
        user_id=access.user_id,
        membership_id=access.membership_id,
    )
    if page is None:
        raise NotFound("not_found")
    issue = page.issue
    cosigned = page.cosigned
    in_scope = queries.in_scope(issue, page.place)
    allows = lifecycle.is_allowed
    review = policies.can_review(access) and allows(issue.stage, Action.REVIEW)
    phase = PHASE_OF[issue.stage]
    return {
        "hall": hall,
        "access": access,
        "issue": issue,
        "proposer_name": page.proposer_name,
        "merged_into": page.merged_into,
        "opinion": page.opinion,
        "events": queries.list_events(session, hall_id=access.hall_id, issue_id=issue_id),
        "phases": PHASES,
        "phase_index": PHASES.index(phase),
        "terminal": issue.stage in lifecycle.TERMINAL,
        "threshold": hall.cosign_threshold,
        "progress": min(issue.cosign_count, hall.cosign_threshold),
        "collecting": allows(issue.stage, Action.COSIGN),
        "cosigned": cosigned,
        "in_scope": in_scope,
        "can_cosign": policies.can_cosign(
            access,
            stage_allows=allows(issue.stage, Action.COSIGN),
            is_proposer=issue.proposer_id == access.user_id,
            in_scope=in_scope,
            cosigned=cosigned,
        ),
        "can_withdraw_cosign": cosigned and allows(issue.stage, Action.WITHDRAW_COSIGN),
        "can_withdraw": policies.can_withdraw_issue(
            access, proposer_id=issue.proposer_id, stage_allows=allows(issue.stage, Action.WITHDRAW)
        ),
        "can_review": review,
        "merge_targets": queries.list_merge_targets(
            session, hall_id=access.hall_id, exclude_id=issue_id
        )
        if review
        else [],
        "can_close": policies.can_review(access) and allows(issue.stage, Action.CLOSE_DELIBERATION),
        "see_contact": False,
        "overdue": issue.stage == Stage.UNDER_REVIEW
        and issue.review_due_at is not None
        and issue.review_due_at < clock.now(),
        "stage_errors": {},
        "stage_form": {},
    }


def _comments_context(
    session: Session, access: HallAccess, issue: Issue, *, before: int | None = None
) -> dict[str, Any]:
    page = queries.list_comments(
        session,
        hall_id=access.hall_id,
        issue_id=issue.id or 0,
        before=before,
        with_reports=policies.can_moderate(access),
    )
    return {
        "comments": page.rows,
        "next_before": page.next_before,
        "stances": list(Stance),
        "stance_counts": queries.stance_counts(issue),
        "comment_errors": {},
        "comment_form": {},
        "editable": _editable(access, page.rows),
        **_comment_flags(access, issue),
    }


def _solutions_context(
    session: Session, access: HallAccess, issue: Issue, opinion: ConsultationOpinion | None
) -> dict[str, Any]:
    return {
        "solutions": queries.list_solutions(
            session, hall_id=access.hall_id, issue_id=issue.id or 0
        ),
        "opinion": opinion,
        "can_add_solution": policies.can_take_part(access)
        and lifecycle.is_allowed(issue.stage, Action.ADD_SOLUTION),
        "solution_errors": {},
        "solution_form": {},
    }


def _page_context(
    session: Session, hall: Hall, access: HallAccess, issue_id: int, *, before: int | None = None
) -> dict[str, Any]:
    """The whole issue page: a fixed number of queries, whatever the number of comments."""
    context = _stage_context(session, hall, access, issue_id)
    issue = context["issue"]
    context |= _comments_context(session, access, issue, before=before)
    context |= _solutions_context(session, access, issue, context["opinion"])
    context["photo_ids"] = queries.list_photo_ids(
        session, hall_id=access.hall_id, issue_id=issue_id
    )
    context |= _decision_context(session, access, issue, context["events"])
    return context


def _decision_context(
    session: Session, access: HallAccess, issue: Issue, events: list[queries.EventRow]
) -> dict[str, Any]:
    """The 民决 card (voting/_issue_decision.html), once an issue has reached 民决 (an issue
    sent back to 民议 keeps showing its earlier ballots); its timeline says whether it has."""
    if not any(PHASE_OF[row.event.to_stage] == Phase.DECIDE for row in events):
        return {"ballots": [], "resolution": None, "can_manage": False}
    return issue_decision_context(session, access, issue)


@router.get("/halls/{hall_id}/issues/{issue_id}", name="issues.detail")
def detail(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    issue_id: Id,
    before: Annotated[fields.Id | None, Query()] = None,
) -> Response:
    if before is not None and is_partial(request):
        # "更多评论": the next page of comments, appended by htmx.
        issue = queries.get_issue(session, hall_id=access.hall_id, issue_id=issue_id)
        if issue is None:
            raise NotFound("not_found")
        context = {"hall": hall, "access": access, "issue": issue}
        context |= _comments_context(session, access, issue, before=before)
        return render(request, "issues/_comment_page.html", context)
    # The issue is read with its header (not by IssueDep): one query fewer on the busiest page.
    context = _page_context(session, hall, access, issue_id, before=before)
    return render(request, "issues/detail.html", context)


@router.get("/halls/{hall_id}/issues/{issue_id}/photos/{photo_id}", name="issues.photo")
def photo(session: SessionDep, access: AccessDep, issue: IssueDep, photo_id: Id) -> Response:
    found = queries.get_photo(
        session, hall_id=access.hall_id, issue_id=issue.id or 0, photo_id=photo_id
    )
    if found is None:
        raise NotFound("not_found")
    return Response(found.data, media_type=found.content_type)


# --- actions on the issue -------------------------------------------------------------------


def _respond(
    request: Request,
    session: Session,
    hall: Hall,
    access: HallAccess,
    issue_id: int,
    *,
    run: Callable[[], object],
    done: str,
    part: str,
    form: dict[str, Any] | None = None,
    thread_id: int | None = None,
    refused: Refusals | None = None,
) -> Response:
    """Run one service call; answer with the partial (htmx) or PRG to the issue page.

    ValidationFailed → 422 and the message next to the field; Conflict / NotAllowed → the
    friendly message, 409 (htmx) or a warning flash on the issue page.
    """
    errors: dict[str, str] = {}
    status = 200
    try:
        if refused is not None:
            refused.check()
        run()
    except ValidationFailed as exc:
        session.rollback()
        errors, status = field_errors(exc.errors), 422
    except (Conflict, NotAllowed) as exc:
        session.rollback()
        errors, status = {"_": message(exc.code)}, 409
    url = _issue_url(issue_id, access.hall_id)
    if not is_partial(request) and status == 409:
        return redirect(request, url, flash_text=errors["_"], kind="warn")
    if not is_partial(request) and status == 200:
        return redirect(request, url + _ANCHORS.get(part, ""), flash_text=done)
    issue = queries.get_issue(session, hall_id=access.hall_id, issue_id=issue_id)
    if issue is None:
        raise NotFound("not_found")
    if not is_partial(request):  # a plain form with a field error: the whole page, 422
        context = _page_context(session, hall, access, issue_id)
        _put_errors(context, part, errors, form, thread_id)
        return render(request, "issues/detail.html", context, status_code=422)
    context = {
        "hall": hall,
        "access": access,
        "issue": issue,
        "notice": done if not errors else None,
    }
    if part == "stage":
        context |= _stage_context(session, hall, access, issue_id)
        template = "issues/_stage_panel.html"
    elif part == "solutions":
        opinion = queries.get_opinion(session, hall_id=access.hall_id, issue_id=issue_id)
        context |= _solutions_context(session, access, issue, opinion)
        template = "issues/_solutions.html"
    elif part == "thread" and thread_id is not None:
        row = queries.get_thread(session, hall_id=access.hall_id, comment_id=thread_id)
        if row is None:
            raise NotFound("not_found")
        context |= _comment_flags(access, issue) | {
            "row": row,
            "editable": _editable(access, [row]),
            "comment_errors": {},
            "comment_form": {},
            "partial_thread": True,
        }
        template = "issues/_comment.html"
    else:
        context |= _comments_context(session, access, issue)
        template = "issues/_comments.html"
    _put_errors(context, part, errors, form, thread_id)
    context["oob"] = True
    return render(request, template, context, status_code=status)


_ANCHORS = {
    "stage": "#stage",
    "comments": "#comments",
    "thread": "#comments",
    "solutions": "#solutions",
}


# The field each per-comment form sends (and where its error is shown).
_ACTION_FIELD = {"reply": "body", "edit": "body", "report": "reason", "hide": "reason"}


def _comment_form_of(form: dict[str, Any]) -> tuple[str, int | None]:
    """Which per-comment form was sent, and for which comment."""
    for kind in ("edit", "report", "hide"):
        if form.get(f"{kind}_id"):
            return kind, form[f"{kind}_id"]
    return "reply", form.get("parent_id")


def _put_errors(
    context: dict[str, Any],
    part: str,
    errors: dict[str, str],
    form: dict[str, Any] | None,
    thread_id: int | None,
) -> None:
    if not errors:
        return
    if part == "solutions":
        context["solution_errors"], context["solution_form"] = errors, form or {}
    elif part in {"comments", "thread"}:
        context["comment_errors"], context["comment_form"] = errors, form or {}
        context["error_thread"] = thread_id
        if thread_id is None:
            return  # the comment form at the top shows its own errors
        kind, comment_id = _comment_form_of(form or {})
        field = _ACTION_FIELD[kind]
        shown = field if field in errors else None
        if shown:  # the form opens again in its comment, the message next to the field
            context["open_form"] = {
                "kind": kind,
                "id": comment_id,
                "errors": errors,
                "value": (form or {}).get(field) or "",
            }
        context["thread_errors"] = [text for key, text in errors.items() if key != shown]
    else:
        context["stage_errors"], context["stage_form"] = errors, form or {}


@router.post("/halls/{hall_id}/issues/{issue_id}/cosign", name="issues.cosign")
def cosign(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
) -> Response:
    _require(policies.can_take_part(access) and access.is_verified)
    issue_id = issue.id or 0
    return _respond(
        request,
        session,
        hall,
        access,
        issue_id,
        run=lambda: service.cosign_issue(
            session=session, access=access, actor=user, issue_id=issue_id
        ),
        done=_("附议成功，谢谢您的支持"),
        part="stage",
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/cosign/withdraw", name="issues.withdraw_cosign")
def withdraw_cosign(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
) -> Response:
    _require(access.is_verified)
    issue_id = issue.id or 0
    return _respond(
        request,
        session,
        hall,
        access,
        issue_id,
        run=lambda: service.withdraw_cosign(
            session=session, access=access, actor=user, issue_id=issue_id
        ),
        done=_("已撤回附议"),
        part="stage",
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/withdraw", name="issues.withdraw")
def withdraw(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
) -> Response:
    _require(policies.can_withdraw_issue(access, proposer_id=issue.proposer_id, stage_allows=True))
    issue_id = issue.id or 0
    return _respond(
        request,
        session,
        hall,
        access,
        issue_id,
        run=lambda: service.withdraw_issue(
            session=session, access=access, actor=user, issue_id=issue_id
        ),
        done=_("议题已撤回"),
        part="stage",
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/accept", name="issues.accept")
def accept(
    request: Request,
    session: SessionDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
    form: Annotated[schemas.AcceptForm, Form()],
) -> Response:
    _require(policies.can_review(access))
    issue_id = issue.id or 0
    return _respond(
        request,
        session,
        hall,
        access,
        issue_id,
        run=lambda: service.accept_issue(
            session=session, access=access, actor=user, issue_id=issue_id, form=form
        ),
        refused=refused,
        done=_("已受理，议题进入协商"),
        part="stage",
        form=form.model_dump(),
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/reject", name="issues.reject")
def reject(
    request: Request,
    session: SessionDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
    form: Annotated[schemas.ReasonForm, Form()],
) -> Response:
    _require(policies.can_review(access))
    issue_id = issue.id or 0
    return _respond(
        request,
        session,
        hall,
        access,
        issue_id,
        run=lambda: service.reject_issue(
            session=session, access=access, actor=user, issue_id=issue_id, form=form
        ),
        refused=refused,
        done=_("已答复不予受理"),
        part="stage",
        form=form.model_dump(),
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/merge", name="issues.merge")
def merge(
    request: Request,
    session: SessionDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
    target_id: Annotated[fields.Text, Form()] = "",
) -> Response:
    _require(policies.can_review(access))
    issue_id = issue.id or 0
    form = schemas.MergeForm(target_id=fields.parse_id(target_id))
    return _respond(
        request,
        session,
        hall,
        access,
        issue_id,
        run=lambda: service.merge_issue(
            session=session, access=access, actor=user, issue_id=issue_id, form=form
        ),
        refused=refused,
        done=_("已合并到另一个议题"),
        part="stage",
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/comments", name="issues.comment")
def comment(
    request: Request,
    session: SessionDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
    form: Annotated[schemas.CommentForm, Form()],
) -> Response:
    _require(policies.can_take_part(access))
    issue_id = issue.id or 0
    return _respond(
        request,
        session,
        hall,
        access,
        issue_id,
        run=lambda: service.add_comment(
            session=session, access=access, actor=user, issue_id=issue_id, form=form
        ),
        refused=refused,
        done=_("回复已发布") if form.parent_id else _("评论已发布"),
        part="thread" if form.parent_id else "comments",
        form=form.model_dump(),
        thread_id=_thread_of(session, access, form.parent_id),
    )


def _thread_of(session: Session, access: HallAccess, comment_id: int | None) -> int | None:
    """The top-level comment a reply belongs to (replies are one level deep)."""
    if comment_id is None:
        return None
    row = queries.get_comment(session, hall_id=access.hall_id, comment_id=comment_id)
    if row is None:
        return None
    return row.comment.parent_id or row.comment.id


@router.post("/halls/{hall_id}/issues/{issue_id}/solutions", name="issues.solution")
def solution(
    request: Request,
    session: SessionDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
    form: Annotated[schemas.SolutionForm, Form()],
) -> Response:
    _require(policies.can_take_part(access))
    issue_id = issue.id or 0
    return _respond(
        request,
        session,
        hall,
        access,
        issue_id,
        run=lambda: service.add_solution(
            session=session, access=access, actor=user, issue_id=issue_id, form=form
        ),
        refused=refused,
        done=_("方案已添加"),
        part="solutions",
        form=form.model_dump(),
    )


# --- comments -------------------------------------------------------------------------------

_ACTION_HEADINGS = {
    "reply": N_("回复评论"),
    "edit": N_("修改评论"),
    "report": N_("举报评论"),
    "hide": N_("隐藏评论"),
}


def _issue_of(session: Session, access: HallAccess, row: queries.CommentRow) -> Issue:
    issue = queries.get_issue(session, hall_id=access.hall_id, issue_id=row.comment.issue_id)
    if issue is None:
        raise NotFound("not_found")
    return issue


def _action_page(
    request: Request,
    hall: Hall,
    access: HallAccess,
    issue: Issue,
    row: queries.CommentRow,
    kind: str,
    closed: str | None = None,
) -> Response:
    """The form for one action on one comment: loaded into the comment by htmx, or a page of
    its own without JavaScript. `closed` says why the action cannot be taken any more."""
    context = {
        "hall": hall,
        "access": access,
        "issue": issue,
        "item": row,
        "kind": kind,
        "thread_id": row.comment.parent_id or row.comment.id,
        "heading": _(_ACTION_HEADINGS[kind]),
        "stance_names": labels.translated(labels.STANCE_LABELS),
        "closed": closed,
    }
    if is_partial(request):
        return render(request, "issues/_comment_action.html", context)
    return render(request, "issues/comment_action.html", context)


@router.get("/halls/{hall_id}/comments/{comment_id}/reply", name="issues.reply_form")
def reply_form(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, row: CommentDep
) -> Response:
    _require(policies.can_take_part(access) and row.comment.hidden_at is None)
    issue = _issue_of(session, access, row)
    closed = (
        None
        if lifecycle.is_allowed(issue.stage, Action.COMMENT)
        else message("stage_action_not_allowed")
    )
    return _action_page(request, hall, access, issue, row, "reply", closed)


@router.get("/halls/{hall_id}/comments/{comment_id}/edit", name="issues.edit_comment_form")
def edit_comment_form(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, row: CommentDep
) -> Response:
    c = row.comment
    _require(access.user_id == c.author_id and c.hidden_at is None)
    still = policies.can_edit_comment(
        access, author_id=c.author_id, created_at=_created(c), now=clock.now()
    )
    closed = None if still else message("edit_window_over")
    return _action_page(request, hall, access, _issue_of(session, access, row), row, "edit", closed)


@router.get("/halls/{hall_id}/comments/{comment_id}/report", name="issues.report_comment_form")
def report_comment_form(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, row: CommentDep
) -> Response:
    c = row.comment
    _require(
        policies.can_take_part(access) and c.author_id != access.user_id and c.hidden_at is None
    )
    return _action_page(request, hall, access, _issue_of(session, access, row), row, "report")


@router.get("/halls/{hall_id}/comments/{comment_id}/hide", name="issues.hide_comment_form")
def hide_comment_form(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, row: CommentDep
) -> Response:
    _require(policies.can_moderate(access) and row.comment.hidden_at is None)
    return _action_page(request, hall, access, _issue_of(session, access, row), row, "hide")


def _comment_action(
    request: Request,
    session: Session,
    hall: Hall,
    access: HallAccess,
    row: queries.CommentRow,
    run: Callable[[], object],
    done: str,
    form: dict[str, Any] | None = None,
    refused: Refusals | None = None,
) -> Response:
    return _respond(
        request,
        session,
        hall,
        access,
        row.comment.issue_id,
        run=run,
        done=done,
        part="thread",
        form=form,
        refused=refused,
        thread_id=row.comment.parent_id or row.comment.id,
    )


@router.post("/halls/{hall_id}/comments/{comment_id}/edit", name="issues.edit_comment")
def edit_comment(
    request: Request,
    session: SessionDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    row: CommentDep,
    form: Annotated[schemas.EditCommentForm, Form()],
) -> Response:
    _require(access.user_id == row.comment.author_id)
    comment_id = row.comment.id or 0
    return _comment_action(
        request,
        session,
        hall,
        access,
        row,
        lambda: service.edit_comment(
            session=session, access=access, actor=user, comment_id=comment_id, form=form
        ),
        _("评论已修改"),
        {"edit_id": comment_id, **form.model_dump()},
        refused=refused,
    )


@router.post("/halls/{hall_id}/comments/{comment_id}/report", name="issues.report_comment")
def report_comment(
    request: Request,
    session: SessionDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    row: CommentDep,
    form: Annotated[schemas.ReasonForm, Form()],
) -> Response:
    _require(policies.can_take_part(access))
    comment_id = row.comment.id or 0
    return _comment_action(
        request,
        session,
        hall,
        access,
        row,
        lambda: service.report_comment(
            session=session, access=access, actor=user, comment_id=comment_id, form=form
        ),
        _("已举报，居委会会尽快处理"),
        {"report_id": comment_id, **form.model_dump()},
        refused=refused,
    )


@router.post("/halls/{hall_id}/comments/{comment_id}/hide", name="issues.hide_comment")
def hide_comment(
    request: Request,
    session: SessionDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    row: CommentDep,
    form: Annotated[schemas.ReasonForm, Form()],
) -> Response:
    _require(policies.can_moderate(access))
    comment_id = row.comment.id or 0
    return _comment_action(
        request,
        session,
        hall,
        access,
        row,
        lambda: service.hide_comment(
            session=session, access=access, actor=user, comment_id=comment_id, form=form
        ),
        _("评论已隐藏"),
        {"hide_id": comment_id, **form.model_dump()},
        refused=refused,
    )


@router.post("/halls/{hall_id}/comments/{comment_id}/restore", name="issues.restore_comment")
def restore_comment(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    row: CommentDep,
) -> Response:
    _require(policies.can_moderate(access))
    comment_id = row.comment.id or 0
    return _comment_action(
        request,
        session,
        hall,
        access,
        row,
        lambda: service.restore_comment(
            session=session, access=access, actor=user, comment_id=comment_id
        ),
        _("评论已恢复显示"),
    )


# --- closing deliberation -------------------------------------------------------------------


def _close_context(
    session: Session,
    hall: Hall,
    access: HallAccess,
    issue: Issue,
    form: dict[str, Any],
    errors: dict[str, str],
) -> dict[str, Any]:
    return {
        "hall": hall,
        "access": access,
        "issue": issue,
        "solutions": queries.list_solutions(
            session, hall_id=access.hall_id, issue_id=issue.id or 0
        ),
        "open": lifecycle.is_allowed(issue.stage, Action.CLOSE_DELIBERATION),
        "form": form,
        "errors": errors,
    }


@router.get("/halls/{hall_id}/issues/{issue_id}/close", name="issues.close")
def close_page(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, issue: IssueDep
) -> Response:
    _require(policies.can_review(access))
    return render(
        request, "issues/close.html", _close_context(session, hall, access, issue, {}, {})
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/close", name="issues.close_post")
def close(
    request: Request,
    session: SessionDep,
    refused: Refused,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    issue: IssueDep,
    form: Annotated[schemas.CloseForm, Form()],
) -> Response:
    _require(policies.can_review(access))
    issue_id = issue.id or 0
    try:
        refused.check()
        service.close_deliberation(
            session=session, access=access, actor=user, issue_id=issue_id, form=form
        )
    except ValidationFailed as exc:
        session.rollback()
        context = _close_context(
            session, hall, access, issue, form.model_dump(), field_errors(exc.errors)
        )
        return render(request, "issues/close.html", context, status_code=422)
    except (Conflict, NotAllowed) as exc:
        session.rollback()
        return redirect(
            request, _issue_url(issue_id, access.hall_id), flash_text=message(exc.code), kind="warn"
        )
    return redirect(
        request, _issue_url(issue_id, access.hall_id), flash_text=_("协商已结束，方案进入表决")
    )


# --- notifications --------------------------------------------------------------------------


@router.get("/notifications", name="issues.notifications")
def notifications(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    user_id = user.id or 0
    return render(
        request,
        "issues/notifications.html",
        {
            "rows": queries.list_notifications(session, user_id=user_id),
        },
    )


@router.post("/notifications/read", name="issues.notifications_read")
def notifications_read(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    service.mark_notifications_read(session=session, user=user)
    if is_partial(request):
        return render(request, "shared/_bell.html", {"unread": 0, "oob": False})
    return redirect(request, "/notifications", flash_text=_("已全部标为已读"))
