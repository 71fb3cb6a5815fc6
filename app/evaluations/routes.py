"""民评 pages: the round's page with the answer form, the chair's open / close, the paper desk
(the chair or a 记录员 enters printed forms per member), the printable evaluation form and the
结果公示 (A4 views and PDFs).

Every form works as a plain POST with Post/Redirect/Get (htmx follows the redirect); a field
error is 422 with the message next to the field, a conflict a warning (409 with htmx).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from sqlmodel import Session

from app.core import fields
from app.core.errors import NotFound
from app.core.privacy import mask_room
from app.evaluations import policies, queries, schemas, service, views
from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.labels import issuer_of
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues.deps import IssueDep
from app.issues.models import Issue
from app.voting import queries as voting_queries
from app.web import pdf
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep
from app.web.forms import FormRoute, Refusals, Refused
from app.web.htmx import render
from app.web.i18n import _
from app.web.links import url

router = APIRouter(tags=["evaluations"], route_class=FormRoute)

SEARCH_MAX = 40


@router.get("/halls/{hall_id}/issues/{issue_id}/evaluation", name="evaluations.page")
def page(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, issue: IssueDep
) -> Response:
    """民评: the round's summary (exact rates and the reopen check), the answer form for a
    resident in scope and their own answer after, the chair's buttons, earlier rounds."""
    policies.require(policies.can_see(access))
    context = views.page_context(session, hall, access, issue)
    return render(request, "evaluations/page.html", context)


def _act(
    act: HallAction,
    issue: Issue,
    run: Callable[[], object],
    *,
    done: str,
    typed: dict[str, str] | None = None,
    paper: bool = False,
    refused: Refusals | None = None,
    button: str | None = None,
) -> Response:
    """PRG to the page (or the paper desk); a field error renders it again (422), a conflict
    is a warning flash (409 and the page with htmx). The chair's buttons (`button`: "open",
    "close") have no field: their conflict is the page again (409), the reason under the
    button that was pressed."""
    to = views.page_url(act.hall_id, issue.id or 0)
    if paper:
        to = url("evaluations.paper", hall_id=act.hall_id, issue_id=issue.id)

    def again(outcome: Outcome[Any]) -> Response:
        fresh = _issue(act, issue)
        if paper:
            context = _paper_context(act.session, act.hall, act.access, fresh, q="")
        else:
            context = views.page_context(act.session, act.hall, act.access, fresh)
        context |= {"form": typed or {}, "errors": outcome.errors}
        if button is None:
            context["page_error"] = outcome.conflict
        else:
            context |= {"manage_errors": outcome.errors, "manage_pressed": button}
        template = "evaluations/paper.html" if paper else "evaluations/page.html"
        return render(act.request, template, context, status_code=outcome.status)

    return respond(
        act.request,
        act.session,
        run,
        to=to,
        page=again,
        done=done,
        refused=refused,
        htmx="redirect",
        beside=button is not None,
    )


def _issue(act: HallAction, issue: Issue) -> Issue:
    act.session.rollback()
    fresh = act.session.get(Issue, issue.id)
    if fresh is None or fresh.hall_id != act.hall_id:
        raise NotFound("not_found")
    return fresh


def _answer_form(satisfaction: str, resolved: str, comment: str) -> schemas.AnswerForm:
    return schemas.AnswerForm(satisfaction=satisfaction, resolved=resolved, comment=comment)


Choice = Annotated[fields.Text, Form()]


@router.post("/halls/{hall_id}/issues/{issue_id}/evaluation/answer", name="evaluations.answer")
def answer(
    act: ActionDep,
    refused: Refused,
    issue: IssueDep,
    satisfaction: Choice = "",
    resolved: Choice = "",
    comment: Choice = "",
) -> Response:
    """A resident in scope evaluates: 满意 / 基本满意 / 不满意, 是否解决, a comment (≤ 500)."""
    policies.require(policies.can_answer(act.access))
    form = _answer_form(satisfaction, resolved, comment)
    typed = {"satisfaction": satisfaction, "resolved": resolved, "comment": comment[:600]}
    run = partial(service.answer, **act.who, issue_id=issue.id or 0, form=form)
    done = _("感谢您的评价！评价期内可以修改")
    return _act(act, issue, run, done=done, typed=typed, refused=refused)


@router.post(
    "/halls/{hall_id}/issues/{issue_id}/evaluation/answer/change", name="evaluations.change"
)
def change(
    act: ActionDep,
    refused: Refused,
    issue: IssueDep,
    satisfaction: Choice = "",
    resolved: Choice = "",
    comment: Choice = "",
) -> Response:
    """A resident changes their own answer while the round is open."""
    policies.require(policies.can_answer(act.access))
    form = _answer_form(satisfaction, resolved, comment)
    typed = {"satisfaction": satisfaction, "resolved": resolved, "comment": comment[:600]}
    run = partial(service.change_answer, **act.who, issue_id=issue.id or 0, form=form)
    return _act(act, issue, run, done=_("您的评价已修改"), typed=typed, refused=refused)


@router.post("/halls/{hall_id}/issues/{issue_id}/evaluation/open", name="evaluations.open")
def open_round(act: ActionDep, issue: IssueDep) -> Response:
    """开启民评 (the chair): every task done; the round runs for the hall's window."""
    policies.require(policies.can_manage(act.access))
    run = partial(service.open_round, **act.who, issue_id=issue.id or 0)
    return _act(act, issue, run, done=_("民评已开启，已通知相关居民"), button="open")


@router.post("/halls/{hall_id}/issues/{issue_id}/evaluation/close", name="evaluations.close")
def close_round(act: ActionDep, issue: IssueDep) -> Response:
    """结束民评 (the chair), once the window is over: 已办结 or back to 办理中."""
    policies.require(policies.can_manage(act.access))
    run = partial(service.close_round, **act.who, issue_id=issue.id or 0)
    return _act(act, issue, run, done=_("民评已结束"), button="close")


# --- paper ------------------------------------------------------------------------------------


def _paper_context(
    session: Session, hall: Hall, access: HallAccess, issue: Issue, *, q: str
) -> dict[str, Any]:
    """The page's context, and the members in scope found by name (rooms masked but for the
    chair), each marked when they have answered this round."""
    context = views.page_context(session, hall, access, issue)
    live = context["current"]
    rows = (
        queries.search_members(session, issue, round_id=live.row.id or 0, q=q)
        if live is not None and live.is_open
        else []
    )
    rooms = {r.membership_id: r.room if access.is_chair else mask_room(r.room or "") for r in rows}
    return context | {"q": q, "members": rows, "rooms": rooms}


@router.get("/halls/{hall_id}/issues/{issue_id}/evaluation/paper", name="evaluations.paper")
def paper(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    issue: IssueDep,
    q: fields.Text = "",
) -> Response:
    """The paper desk (the chair or a 记录员): find a member by name, enter their form."""
    policies.require(policies.can_enter_paper(access))
    context = _paper_context(session, hall, access, issue, q=q.strip()[:SEARCH_MAX])
    return render(request, "evaluations/paper.html", context)


def _paper_form(
    membership_id: str, satisfaction: str, resolved: str, comment: str
) -> tuple[schemas.PaperAnswerForm, dict[str, str]]:
    """The form for the service, and what was typed to show again after a refusal."""
    form = schemas.PaperAnswerForm(
        membership_id=fields.parse_id(membership_id.strip()),
        satisfaction=satisfaction,
        resolved=resolved,
        comment=comment,
    )
    typed = {"membership_id": membership_id, "satisfaction": satisfaction, "resolved": resolved}
    return form, typed | {"comment": comment[:600]}


@router.post("/halls/{hall_id}/issues/{issue_id}/evaluation/paper", name="evaluations.paper_enter")
def enter_paper(
    act: ActionDep,
    refused: Refused,
    issue: IssueDep,
    membership_id: Choice = "",
    satisfaction: Choice = "",
    resolved: Choice = "",
    comment: Choice = "",
) -> Response:
    """One member's printed form, entered by the chair or a 记录员 (either choice may be blank)."""
    policies.require(policies.can_enter_paper(act.access))
    form, typed = _paper_form(membership_id, satisfaction, resolved, comment)
    run = partial(service.enter_paper, **act.who, issue_id=issue.id or 0, form=form)
    done = _("已录入一份纸质评价")
    return _act(act, issue, run, done=done, typed=typed, paper=True, refused=refused)


# --- print: the evaluation form and the 结果公示 -------------------------------------------------


def _form_context(
    session: Session,
    hall: Hall,
    access: HallAccess,
    issue: Issue,
) -> dict[str, Any]:
    """The page's context, the issuer and the tasks done. The forms print no link or QR code,
    so they need no public origin (and show no warning about it)."""
    context = views.page_context(session, hall, access, issue)
    return context | {
        "issuer": issuer_of(hall),
        "tasks_done": queries.done_tasks(session, hall_id=hall.id or 0, issue_id=issue.id or 0),
        "pdf_url": url("evaluations.form_pdf", hall_id=hall.id, issue_id=issue.id),
    }


@router.get("/halls/{hall_id}/issues/{issue_id}/evaluation/form", name="evaluations.form_print")
def form_print(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    issue: IssueDep,
) -> Response:
    """The printable evaluation form (A4): no names on it; the recorder enters it per member."""
    policies.require(policies.can_enter_paper(access))
    context = _form_context(session, hall, access, issue)
    return render(request, "evaluations/form_print.html", context)


@router.get("/halls/{hall_id}/issues/{issue_id}/evaluation/form.pdf", name="evaluations.form_pdf")
def form_pdf(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    issue: IssueDep,
) -> Response:
    """The same form as a PDF."""
    policies.require(policies.can_enter_paper(access))
    context = _form_context(session, hall, access, issue)
    name = _("民评表-%(title)s.pdf") % {"title": issue.title}
    return pdf.document(request, "evaluations/form_print.html", context, filename=name)


def _result_context(
    session: Session,
    hall: Hall,
    access: HallAccess,
    issue: Issue,
) -> dict[str, Any]:
    """The 结果公示 of the latest closed round (404 before one has closed)."""
    context = _form_context(session, hall, access, issue)
    closed = next(
        (v for v in [context["current"], *context["earlier"]] if v and not v.is_open), None
    )
    if closed is None:
        raise NotFound("not_found")
    resolution = voting_queries.get_publicized_resolution(
        session, hall_id=hall.id or 0, issue_id=issue.id or 0
    )
    return context | {
        "closed": closed,
        "resolution": resolution,
        "pdf_url": url("evaluations.result_pdf", hall_id=hall.id, issue_id=issue.id),
    }


@router.get("/halls/{hall_id}/issues/{issue_id}/evaluation/result", name="evaluations.result_print")
def result_print(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    issue: IssueDep,
) -> Response:
    """结果公示 (A4): the issue, the 决议, the tasks done, the round's counts and exact rates,
    the outcome and the date, a seal box; no names, no comments."""
    policies.require(policies.can_see(access))
    context = _result_context(session, hall, access, issue)
    return render(request, "evaluations/result_print.html", context)


@router.get(
    "/halls/{hall_id}/issues/{issue_id}/evaluation/result.pdf", name="evaluations.result_pdf"
)
def result_pdf(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    issue: IssueDep,
) -> Response:
    """The same 结果公示 as a PDF."""
    policies.require(policies.can_see(access))
    context = _result_context(session, hall, access, issue)
    name = _("民评结果公示-%(title)s.pdf") % {"title": issue.title}
    return pdf.document(request, "evaluations/result_print.html", context, filename=name)
