"""任务分工 pages (民办): an issue's tasks with the chair's add form, one task with its
progress updates (进展, photos) and the chair's edit form, 认领 / 退出认领 (htmx: the volunteers'
block), the photos, and the printable 任务分工表 (A4 view and PDF)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.core import clock
from app.core.errors import NotFound
from app.halls import queries as hall_queries
from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.labels import issuer_of
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues import lifecycle
from app.issues.deps import IssueDep
from app.issues.lifecycle import Action
from app.issues.models import Issue
from app.issues.page import page_context
from app.tasks import labels, policies, queries, schemas, service
from app.tasks.deps import Id, TaskDep
from app.tasks.issue_card import issue_task_card, task_view
from app.tasks.models import PartyType, Task, TaskStatus
from app.web import pdf
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep, SettingsDep
from app.web.forms import FormRoute, Refusals, Refused
from app.web.htmx import is_partial, render
from app.web.i18n import _
from app.web.links import print_context, url
from app.web.templating import env

router = APIRouter(tags=["tasks"], route_class=FormRoute)

env.globals.update(
    task_party_labels=labels.PARTY_LABELS,
    task_status_labels=labels.STATUS_LABELS,
    task_parties=list(PartyType),
    task_statuses=list(TaskStatus),
)
env.filters["due"] = schemas.shown_due

MAX_PHOTO_READ = 5 * 1024 * 1024 + 1


def _list_url(hall_id: int, issue_id: int) -> str:
    return url("tasks.list", hall_id=hall_id, issue_id=issue_id)


def _task_url(task: Task) -> str:
    return url("tasks.detail", hall_id=task.hall_id, issue_id=task.issue_id, task_id=task.id)


# --- an issue's tasks ------------------------------------------------------------------------


def _list_context(session: Session, hall: Hall, access: HallAccess, issue: Issue) -> dict[str, Any]:
    return {
        "hall": hall,
        "access": access,
        "issue": issue,
        "task_card": issue_task_card(session, access, issue),
        "people": hall_queries.list_pickable_people(session, hall_id=access.hall_id),
        "form": {"weight": 1},
        "errors": {},
    }


@router.get("/halls/{hall_id}/issues/{issue_id}/tasks", name="tasks.list")
def task_list(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, issue: IssueDep
) -> Response:
    """The 任务分工 page: the tasks, the issue's progress, the timeline; the chair's add form."""
    policies.require(policies.can_see(access))
    return render(request, "tasks/list.html", _list_context(session, hall, access, issue))


@router.post("/halls/{hall_id}/issues/{issue_id}/tasks", name="tasks.create")
def create_task(
    act: ActionDep,
    refused: Refused,
    issue: IssueDep,
    form: Annotated[schemas.TaskPageForm, Form()],
) -> Response:
    policies.require(policies.can_manage(act.access))
    return respond(
        act.request,
        act.session,
        lambda: service.add_task(**act.who, issue_id=issue.id or 0, form=form),
        refused=refused,
        to=_list_url(act.hall_id, issue.id or 0),
        page=partial(_list_again, act, issue, form.model_dump(mode="json")),
        done=_("任务已添加"),
        htmx="redirect",
    )


def _list_again(
    act: HallAction, issue: Issue, form: dict[str, Any], outcome: Outcome[Any]
) -> Response:
    """The 任务分工 page again, the add form as typed with the messages next to the fields."""
    with act.reading() as session:
        context = _list_context(session, act.hall, act.access, issue)
    context["form"], context["errors"] = form, outcome.errors
    return render(act.request, "tasks/list.html", context, status_code=outcome.status)


# --- photos and the printed 任务分工表 ---------------------------------------------------------


@router.get("/halls/{hall_id}/issues/{issue_id}/tasks/photos/{photo_id}", name="tasks.photo")
def photo(session: SessionDep, access: AccessDep, issue: IssueDep, photo_id: Id) -> Response:
    """A progress update's photo, to whoever sees the hall (re-encoded without EXIF)."""
    policies.require(policies.can_see(access))
    found = queries.get_photo(
        session, hall_id=access.hall_id, issue_id=issue.id or 0, photo_id=photo_id
    )
    if found is None:
        raise NotFound("not_found")
    return Response(found.data, media_type=found.content_type)


def _print_context(
    request: Request,
    settings: Settings,
    session: Session,
    hall: Hall,
    access: HallAccess,
    issue: Issue,
) -> dict[str, Any]:
    return {
        "hall": hall,
        "issue": issue,
        "task_card": issue_task_card(session, access, issue),
        "issuer": issuer_of(hall),
        "printed_at": clock.now(),
        "pdf_url": url("tasks.print_pdf", hall_id=hall.id, issue_id=issue.id),
        **print_context(request, settings),
    }


@router.get("/halls/{hall_id}/issues/{issue_id}/tasks/print", name="tasks.print")
def print_sheet(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    issue: IssueDep,
) -> Response:
    """The 任务分工表, A4 (whoever sees the hall: it is posted on the 居务公开栏)."""
    policies.require(policies.can_see(access))
    context = _print_context(request, settings, session, hall, access, issue)
    return render(request, "tasks/print.html", context)


@router.get("/halls/{hall_id}/issues/{issue_id}/tasks/print.pdf", name="tasks.print_pdf")
def print_pdf(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    issue: IssueDep,
) -> Response:
    policies.require(policies.can_see(access))
    context = _print_context(request, settings, session, hall, access, issue)
    name = _("任务分工表-%(title)s.pdf") % {"title": issue.title}
    return pdf.document(request, "tasks/print.html", context, filename=name)


# --- one task --------------------------------------------------------------------------------


def _detail_context(
    session: Session, hall: Hall, access: HallAccess, issue: Issue, task: Task
) -> dict[str, Any]:
    card = issue_task_card(session, access, issue)
    found = [v for v in card.tasks if v.task.id == task.id]
    if not found:
        raise NotFound("not_found")
    view = found[0]
    return {
        "hall": hall,
        "access": access,
        "issue": issue,
        "task_card": card,
        "view": view,
        "updates": queries.list_updates(
            session, hall_id=access.hall_id, issue_id=issue.id or 0, task_id=task.id
        ),
        "people": hall_queries.list_pickable_people(session, hall_id=access.hall_id),
        "form": _edit_values(view.task),
        "errors": {},
        "update_form": {},
        "update_errors": {},
    }


def _edit_values(task: Task) -> dict[str, Any]:
    values = task.model_dump(mode="json")
    values["due_at"] = schemas.typed_due(task.due_at)
    return values


@router.get("/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}", name="tasks.detail")
def task_page(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    issue: IssueDep,
    task: TaskDep,
) -> Response:
    policies.require(policies.can_see(access))
    context = _detail_context(session, hall, access, issue, task)
    return render(request, "tasks/detail.html", context)


@router.post("/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}", name="tasks.edit")
def edit_task(
    act: ActionDep,
    refused: Refused,
    issue: IssueDep,
    task: TaskDep,
    form: Annotated[schemas.TaskPageForm, Form()],
) -> Response:
    """The chair's edit, made on the version the page showed; a stale one comes back (409)."""
    policies.require(policies.can_manage(act.access))
    run = partial(service.edit_task, **act.who, issue_id=issue.id or 0, task_id=task.id or 0)
    return respond(
        act.request,
        act.session,
        lambda: run(form=form),
        refused=refused,
        to=lambda _task: _task_url(task),  # a stale edit: the form again, as typed (409)
        page=partial(_task_again, act, issue, task, {"form": form.model_dump(mode="json")}),
        done=_("任务已修改"),
        htmx="redirect",
    )


def _task_again(
    act: HallAction, issue: Issue, task: Task, typed: dict[str, Any], outcome: Outcome[Any]
) -> Response:
    """The task page again: what was typed in the form it was typed in, its messages next to
    the fields (a stale edit: the task as it is now above, the typed values kept, the version
    now current so that sending again applies them)."""
    with act.reading() as session:
        context = _detail_context(session, act.hall, act.access, issue, task)
    if "form" in typed:
        current = context["form"]["version"]
        context["form"] = typed["form"] | {"version": current}
        context["errors"] = outcome.errors
    else:
        context["update_form"], context["update_errors"] = typed["update_form"], outcome.errors
        context["report_refused"] = outcome.conflict is not None  # said under 发布进展
    return render(act.request, "tasks/detail.html", context, status_code=outcome.status)


async def _read_photos(photos: list[UploadFile] | None) -> list[bytes]:
    out = []
    for upload in photos or []:
        if not upload.filename:
            continue  # the empty part a browser sends when no file was chosen
        data = await upload.read(MAX_PHOTO_READ)
        if data:
            out.append(data)
    return out


@router.post("/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/updates", name="tasks.report")
async def report_progress(
    act: ActionDep,
    refused: Refused,
    issue: IssueDep,
    task: TaskDep,
    form: Annotated[schemas.UpdatePageForm, Form()],
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """A 进展 with up to 6 photos (re-encoded in a worker thread, as issue photos are)."""
    uploads = await _read_photos(photos)
    return await run_in_threadpool(_report, act, refused, issue, task, form, uploads)


def _report(
    act: HallAction,
    refused: Refusals,
    issue: Issue,
    task: Task,
    form: schemas.UpdateForm,
    uploads: list[bytes],
) -> Response:
    run = partial(service.report_progress, **act.who, issue_id=issue.id or 0, task_id=task.id or 0)
    typed = {"update_form": form.model_dump(mode="json")}
    return respond(
        act.request,
        act.session,
        lambda: run(form=form, uploads=uploads),
        refused=refused,
        to=_task_url(task),
        page=partial(_task_again, act, issue, task, typed),
        done=_("进展已发布"),
        htmx="redirect",
        beside=True,
    )


# --- 认领 ------------------------------------------------------------------------------------


@router.post("/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/claim", name="tasks.claim")
def claim_task(act: ActionDep, issue: IssueDep, task: TaskDep) -> Response:
    """认领: a place on a 居民志愿者 task (htmx: the volunteers' block; else back to the task)."""
    run = partial(service.claim_task, **act.who, issue_id=issue.id or 0, task_id=task.id or 0)
    return _volunteer_answer(act, issue, task, run, _("认领成功，感谢您参与"), "claim")


@router.post("/halls/{hall_id}/issues/{issue_id}/tasks/{task_id}/withdraw", name="tasks.withdraw")
def withdraw_claim(act: ActionDep, issue: IssueDep, task: TaskDep) -> Response:
    run = partial(service.withdraw_claim, **act.who, issue_id=issue.id or 0, task_id=task.id or 0)
    return _volunteer_answer(act, issue, task, run, _("已退出认领"), "withdraw")


def _volunteer_answer(
    act: HallAction, issue: Issue, task: Task, run: Callable[[], object], done: str, button: str
) -> Response:
    """PRG back to the page it was sent from; a refusal is said under the button pressed
    (`button`: "claim" or "withdraw"), in the volunteers' block (htmx) or on that page again
    (409)."""
    return respond(
        act.request,
        act.session,
        run,
        to=_back(act, issue),
        page=partial(_volunteers_part, act, issue, task, button),
        done=done,
        beside=True,
    )


def _back(act: HallAction, issue: Issue) -> str:
    """Where a plain form's 认领 returns: the task pages it was sent from (the path of the
    Referer, only when it is one of this issue's task pages), else the issue page's card."""
    page = url("issues.detail", hall_id=act.hall_id, issue_id=issue.id)
    path = urlsplit(act.request.headers.get("referer", "")).path
    return path if path.startswith(page + "/tasks") else page + "#tasks"


def _volunteers_part(
    act: HallAction, issue: Issue, task: Task, button: str, outcome: Outcome[Any]
) -> Response:
    """The task's volunteers block (htmx), with the notice or the reason it was refused under
    the button pressed; without JS (a refusal) the page it was sent from again, likewise."""
    pressed = {"claim_refused": (task.id, button) if outcome.conflict else None}
    if not is_partial(act.request):
        return _sent_from_again(act, issue, task, outcome, pressed)
    with act.reading() as session:
        fresh = queries.get_task(
            session, hall_id=act.hall_id, issue_id=issue.id or 0, task_id=task.id or 0
        )
        volunteers = queries.list_volunteers(session, hall_id=act.hall_id, issue_id=issue.id or 0)
    if fresh is None:
        raise NotFound("not_found")
    open_ = lifecycle.is_allowed(issue.stage, Action.REPORT_PROGRESS)
    view = task_view(act.access, queries.TaskRow(fresh, None), volunteers, open_=open_)
    context: dict[str, Any] = {"hall": act.hall, "issue": issue, "view": view, **pressed}
    context |= {"card_open": True, "notice": outcome.notice, "claim_errors": outcome.errors}
    return render(act.request, "tasks/_volunteers.html", context, status_code=outcome.status)


def _sent_from_again(
    act: HallAction, issue: Issue, task: Task, outcome: Outcome[Any], pressed: dict[str, Any]
) -> Response:
    """The page a plain 认领 / 退出认领 was sent from (the task, the task list, the issue),
    the refusal under its button (409)."""
    back = _back(act, issue)
    with act.reading() as session:
        if back.endswith("#tasks"):
            context = page_context(session, act.hall, act.access, issue.id or 0)
            template = "issues/detail.html"
        elif back == _list_url(act.hall_id, issue.id or 0):
            context = _list_context(session, act.hall, act.access, issue)
            template = "tasks/list.html"
        else:
            context = _detail_context(session, act.hall, act.access, issue, task)
            template = "tasks/detail.html"
    context |= pressed | {"claim_errors": outcome.errors}
    return render(act.request, template, context, status_code=outcome.status)
