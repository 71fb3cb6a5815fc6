"""提议: a resident proposes an issue (/halls/1/issues/new), the chair enters one from paper, a
phone call or a 12345 work order (/halls/1/issues/enter); the proposer withdraws it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import File, Form, Request, Response, UploadFile
from sqlmodel import Session

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
from app.web.forms import Refused
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
    uploads = await _read_photos(photos)
    return respond(
        request,
        session,
        lambda: service.propose_issue(
            session=session, access=access, actor=user, form=form, uploads=uploads
        ),
        refused=refused,
        to=_issue_page,
        htmx="redirect",
        page=_form_again(request, session, hall, access, "issues/new.html", form),
        done=_("议题已发布，邀请邻居们来附议吧"),
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
    uploads = await _read_photos(photos)
    return respond(
        request,
        session,
        lambda: service.enter_issue_on_behalf(
            session=session, access=access, actor=user, form=form, uploads=uploads
        ),
        refused=refused,
        to=_issue_page,
        htmx="redirect",
        page=_form_again(request, session, hall, access, "issues/enter.html", form),
        done=_("已代为登记议题，进入审核"),
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
    )
