"""提议: a resident proposes an issue (/halls/1/issues/new), the chair enters one from paper, a
phone call or a 12345 work order (/halls/1/issues/enter); the proposer withdraws it."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import File, Form, Request, Response, UploadFile
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import CurrentUser
from app.halls import queries as hall_queries
from app.halls.action import ActionDep
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues import policies, schemas, service
from app.issues.deps import IssueDep
from app.issues.models import Category, Issue, Scope, Source
from app.issues.routes.common import page_router, require
from app.issues.routes.issue_page import on_issue_page
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep
from app.web.forms import Refusals, Refused
from app.web.htmx import render
from app.web.i18n import _
from app.web.links import url

router = page_router()

MAX_PHOTO_READ = 5 * 1024 * 1024 + 1


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


def _form_again(
    request: Request,
    session: Session,
    hall: Hall,
    access: HallAccess,
    template: str,
    form: schemas.ProposeForm,
) -> Callable[[Outcome[Issue]], Response]:
    """The form again with what was typed and the messages next to the fields (422)."""

    def page(outcome: Outcome[Issue]) -> Response:
        context = _form_context(session, hall, access, form.model_dump(), outcome.errors)
        return render(request, template, context, status_code=outcome.status)

    return page


def _issue_page(issue: Issue) -> str:
    return url("issues.detail", hall_id=issue.hall_id, issue_id=issue.id)


@router.get("/halls/{hall_id}/issues/new", name="issues.new")
def new_page(request: Request, session: SessionDep, hall: HallDep, access: AccessDep) -> Response:
    require(policies.can_propose(access))
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
    require(policies.can_propose(access))
    uploads = await _read_photos(photos)  # awaited; the rest is one hop to a worker thread
    run = partial(service.propose_issue, session=session, access=access, actor=user, form=form)
    page = ("issues/new.html", form, _("议题已发布，邀请邻居们来附议吧"))
    return await run_in_threadpool(
        _post_issue, request, session, refused, hall, access, page, run, uploads
    )


@router.get("/halls/{hall_id}/issues/enter", name="issues.enter")
def enter_page(request: Request, session: SessionDep, hall: HallDep, access: AccessDep) -> Response:
    require(policies.can_review(access))
    context = _form_context(session, hall, access, {"source": "paper"}, {})
    return render(request, "issues/enter.html", context)


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
    require(policies.can_review(access))
    uploads = await _read_photos(photos)  # awaited; the rest is one hop to a worker thread
    run = partial(
        service.enter_issue_on_behalf, session=session, access=access, actor=user, form=form
    )
    page = ("issues/enter.html", form, _("已代为登记议题，进入审核"))
    return await run_in_threadpool(
        _post_issue, request, session, refused, hall, access, page, run, uploads
    )


def _post_issue(
    request: Request,
    session: Session,
    refused: Refusals,
    hall: Hall,
    access: HallAccess,
    page: tuple[str, Any, str],
    run: Callable[..., Issue],
    uploads: list[bytes],
) -> Response:
    """Propose or enter an issue and answer (in a worker thread: photos are re-encoded and
    the write transaction runs here, not on the event loop)."""
    template, form, done = page
    return respond(
        request,
        session,
        lambda: run(uploads=uploads),
        refused=refused,
        to=_issue_page,
        htmx="redirect",
        page=_form_again(request, session, hall, access, template, form),
        done=done,
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/withdraw", name="issues.withdraw")
def withdraw(act: ActionDep, issue: IssueDep) -> Response:
    proposer_id = issue.proposer_id
    require(policies.can_withdraw_issue(act.access, proposer_id=proposer_id, stage_allows=True))
    issue_id = issue.id or 0
    return on_issue_page(
        act,
        issue_id,
        lambda: service.withdraw_issue(**act.who, issue_id=issue_id),
        done=_("议题已撤回"),
        part="stage",
        beside="withdraw",
    )
