"""吹哨报到 pages.

- The street's officials (/streets/{street_id}/…, StreetDep): the dispatch inbox with its
  filters, one escalation with 派单, the departments and their members, the deadlines.
- A department's members (/departments/{department_id}/…, DepartmentDep): the inbox of what was
  dispatched to it or it helps with, one escalation with 报到, 答复, 请求协办, 办结.
- The hall's chair (/halls/{hall_id}/issues/{issue_id}/escalations…): 吹哨 and withdraw; the
  trail is a card on the issue page (app.escalations.issue_card).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, Response
from sqlmodel import Session

from app.accounts.deps import CurrentUser
from app.accounts.models import User
from app.core import fields
from app.core.errors import NotFound
from app.db import Database
from app.escalations import labels, policies, queries, schemas, service
from app.escalations.deps import DepartmentDep
from app.escalations.models import Urgency, WhistleCategory
from app.escalations.policies import DepartmentAccess
from app.halls.action import ActionDep, HallAction
from app.halls.deps import StreetDep, StreetView
from app.issues import queries as issue_queries
from app.issues.page import page_context
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep
from app.web.forms import FormRoute, Refusals, Refused
from app.web.htmx import is_partial, render
from app.web.i18n import _
from app.web.links import url
from app.web.templating import env

router = APIRouter(tags=["escalations"], route_class=FormRoute)

env.globals.update(
    urgency_labels=labels.URGENCY_LABELS,
    urgency_explained=labels.URGENCY_EXPLAINED,
    whistle_labels=labels.CATEGORY_LABELS,
    escalation_status_labels=labels.STATUS_LABELS,
    escalation_step_labels=labels.STEP_LABELS,
    deadline_state_labels=labels.STATE_LABELS,
    escalation_part_labels=labels.PART_LABELS,
    escalation_filter_labels=labels.FILTER_LABELS,
    window_unit_labels=labels.UNIT_LABELS,
    window_span=labels.span,
    window_delta=labels.delta,
)

EscalationId = Annotated[fields.Id, Path()]
DepartmentId = Annotated[fields.Id, Path()]
MemberId = Annotated[fields.Id, Path()]
IssueId = Annotated[fields.Id, Path()]


@dataclass(frozen=True)
class Act:
    """A form post by a street official or a department member: who, on which request."""

    request: Request
    session: Session
    user: User

    def reading(self) -> Session:
        db: Database = self.request.app.state.db
        return db.session(read_only=True)

    def who(self, access: object) -> dict[str, Any]:
        return {"session": self.session, "access": access, "actor": self.user}


async def _act(request: Request, session: SessionDep, user: CurrentUser) -> Act:
    return Act(request, session, user)


ActDep = Annotated[Act, Depends(_act)]
Build = Callable[[Session], dict[str, Any]]


def _page(
    act: Act | HallAction, build: Build, template: str, beside: str | None, outcome: Outcome[Any]
) -> Response:
    """The page again with the messages next to the fields (422), or the refusal under the
    button pressed (409: `refused` names its form, shown even where it is no longer offered)."""
    with act.reading() as session:
        context = build(session)
    context["errors"] = outcome.errors
    context["refused"] = beside if outcome.conflict else None
    return render(act.request, template, context, status_code=outcome.status)


def _post(
    act: Act | HallAction,
    refused: Refusals | None,
    run: Callable[[], object],
    *,
    to: str,
    build: Build,
    template: str,
    done: str,
    beside: str | None = None,
) -> Response:
    """Every form here: PRG on success (htmx follows the 303), the page again on a refusal,
    said under the button `beside` names (409, with htmx and without JS)."""
    return respond(
        act.request,
        act.session,
        run,
        refused=refused,
        to=to,
        page=partial(_page, act, build, template, beside),
        done=done,
        htmx="redirect",
        beside=beside is not None,
    )


# --- the street: the dispatch inbox and 派单 ------------------------------------------------------


def _inbox_context(session: Session, street: StreetView, status: str) -> dict[str, Any]:
    inbox = queries.street_inbox(session, street_id=street.street.id or 0, status=status)
    return {
        "street": street.street,
        "rows": inbox.rows,
        "more": inbox.cut_at,
        "status": status,
        "filters": queries.InboxFilter.CHOICES,
        "side": "street",
    }


@router.get("/streets/{street_id}/escalations", name="escalations.street_inbox")
def street_inbox(
    request: Request, session: SessionDep, street: StreetDep, status: fields.Text = ""
) -> Response:
    context = _inbox_context(session, street, queries.InboxFilter.parse(status))
    partial_rows = is_partial(request)
    template = "escalations/_rows.html" if partial_rows else "escalations/street_inbox.html"
    return render(request, template, context)


def _street_detail(session: Session, street: StreetView, escalation_id: int) -> dict[str, Any]:
    detail = queries.escalation_detail(session, escalation_id=escalation_id)
    street_id = street.street.id or 0
    if detail is None or detail.row.escalation.street_id != street_id:
        raise NotFound("not_found")
    return {
        "street": street.street,
        "detail": detail,
        "departments": queries.department_names(session, street_id=street_id),
        "side": "street",
        "errors": {},
        "form": {},
    }


def _street_url(street_id: int, escalation_id: int) -> str:
    return url("escalations.street_detail", street_id=street_id, escalation_id=escalation_id)


@router.get("/streets/{street_id}/escalations/{escalation_id}", name="escalations.street_detail")
def street_detail(
    request: Request, session: SessionDep, street: StreetDep, escalation_id: EscalationId
) -> Response:
    context = _street_detail(session, street, escalation_id)
    return render(request, "escalations/street_detail.html", context)


@router.post(
    "/streets/{street_id}/escalations/{escalation_id}/dispatch", name="escalations.dispatch"
)
def dispatch(
    act: ActDep,
    street: StreetDep,
    escalation_id: EscalationId,
    refused: Refused,
    form: Annotated[schemas.DispatchForm, Form()],
) -> Response:
    return _post(
        act,
        refused,
        lambda: service.dispatch(**act.who(street.access), escalation_id=escalation_id, form=form),
        to=_street_url(street.access.street_id, escalation_id),
        build=lambda s: _street_detail(s, street, escalation_id) | {"form": form.model_dump()},
        template="escalations/street_detail.html",
        done=_("已派单，部门报到计时开始"),
        beside="dispatch",
    )


# --- the street: departments and their members ---------------------------------------------------


def _departments_context(session: Session, street: StreetView) -> dict[str, Any]:
    return {
        "street": street.street,
        "viewer_id": street.access.user_id,
        "departments": queries.list_departments(session, street_id=street.street.id or 0),
        "errors": {},
        "form": {},
    }


def _departments_url(street: StreetView) -> str:
    return url("escalations.departments", street_id=street.access.street_id)


@router.get("/streets/{street_id}/departments", name="escalations.departments")
def departments(request: Request, session: SessionDep, street: StreetDep) -> Response:
    context = _departments_context(session, street)
    return render(request, "escalations/departments.html", context)


def _departments_again(street: StreetView, form: dict[str, Any], target: int | None) -> Build:
    """The departments page with what was typed, the message next to the field of the form
    that was sent (`target`: the department, or None for the new one)."""
    return lambda s: _departments_context(s, street) | {"form": form, "target": target}


@router.post("/streets/{street_id}/departments", name="escalations.create_department")
def create_department(
    act: ActDep,
    street: StreetDep,
    refused: Refused,
    form: Annotated[schemas.DepartmentForm, Form()],
) -> Response:
    return _post(
        act,
        refused,
        lambda: service.create_department(**act.who(street.access), form=form),
        to=_departments_url(street),
        build=_departments_again(street, form.model_dump(), None),
        template="escalations/departments.html",
        done=_("部门已添加"),
    )


@router.post(
    "/streets/{street_id}/departments/{department_id}", name="escalations.rename_department"
)
def rename_department(
    act: ActDep,
    street: StreetDep,
    department_id: DepartmentId,
    refused: Refused,
    form: Annotated[schemas.DepartmentForm, Form()],
) -> Response:
    return _post(
        act,
        refused,
        lambda: service.rename_department(
            **act.who(street.access), department_id=department_id, form=form
        ),
        to=_departments_url(street),
        build=_departments_again(street, form.model_dump(), department_id),
        template="escalations/departments.html",
        done=_("部门名称已修改"),
    )


@router.post(
    "/streets/{street_id}/departments/{department_id}/members", name="escalations.add_member"
)
def add_member(
    act: ActDep,
    street: StreetDep,
    department_id: DepartmentId,
    refused: Refused,
    form: Annotated[schemas.MemberForm, Form()],
) -> Response:
    return _post(
        act,
        refused,
        lambda: service.add_department_member(
            **act.who(street.access), department_id=department_id, form=form
        ),
        to=_departments_url(street),
        build=_departments_again(street, form.model_dump(), department_id),
        template="escalations/departments.html",
        done=_("成员已加入部门"),
    )


@router.post(
    "/streets/{street_id}/departments/{department_id}/members/{member_id}/remove",
    name="escalations.remove_member",
)
def remove_member(
    act: ActDep, street: StreetDep, department_id: DepartmentId, member_id: MemberId
) -> Response:
    return _post(
        act,
        None,
        lambda: service.remove_department_member(
            **act.who(street.access), department_id=department_id, member_id=member_id
        ),
        to=_departments_url(street),
        build=lambda s: _departments_context(s, street),
        template="escalations/departments.html",
        done=_("成员已移出部门"),
    )


# --- the street: deadlines per urgency class -----------------------------------------------------


def _deadlines_context(session: Session, street: StreetView) -> dict[str, Any]:
    street_id = street.street.id or 0
    windows = queries.street_windows(session, street_id=street_id)
    return {
        "street": street.street,
        "urgencies": list(Urgency),
        "windows": windows,
        "typed": {
            u: (labels.as_typed(w.respond_minutes), labels.as_typed(w.resolve_minutes))
            for u, w in windows.items()
        },
        "own": queries.street_own_windows(session, street_id=street_id),
        "defaults": labels.DEFAULT_WINDOWS,
        "units": list(schemas.Unit),
        "errors": {},
        "form": {},
    }


@router.get("/streets/{street_id}/deadlines", name="escalations.deadlines")
def deadlines_page(request: Request, session: SessionDep, street: StreetDep) -> Response:
    context = _deadlines_context(session, street)
    return render(request, "escalations/deadlines.html", context)


@router.post("/streets/{street_id}/deadlines", name="escalations.set_deadline")
def set_deadline(
    act: ActDep, street: StreetDep, refused: Refused, form: Annotated[schemas.DeadlineForm, Form()]
) -> Response:
    typed = form.model_dump(mode="json")
    return _post(
        act,
        refused,
        lambda: service.set_deadline(**act.who(street.access), form=form),
        to=url("escalations.deadlines", street_id=street.access.street_id),
        build=lambda s: _deadlines_context(s, street) | {"form": typed},
        template="escalations/deadlines.html",
        done=_("时限已保存，之后的吹哨按新时限计算"),
    )


# --- the department: its inbox and one escalation -------------------------------------------------


@router.get("/departments/{department_id}/escalations", name="escalations.department_inbox")
def department_inbox(request: Request, session: SessionDep, access: DepartmentDep) -> Response:
    inbox = queries.department_inbox(session, department_id=access.department_id)
    context = {"department": access, "rows": inbox.rows, "side": "department"}
    context["more"] = inbox.cut_at
    template = (
        "escalations/_rows.html" if is_partial(request) else "escalations/department_inbox.html"
    )
    return render(request, template, context)


def _department_detail(
    session: Session, access: DepartmentAccess, escalation_id: int
) -> dict[str, Any]:
    detail = queries.escalation_detail(session, escalation_id=escalation_id)
    helpers = [d for d, _name in detail.helpers] if detail else []
    part = (
        queries.part_of(detail.row.escalation, department_id=access.department_id, helpers=helpers)
        if detail is not None and detail.row.escalation.street_id == access.street_id
        else None
    )
    if detail is None or part is None:
        raise NotFound("not_found")
    others = queries.department_names(session, street_id=access.street_id)
    return {
        "department": access,
        "detail": detail,
        "part": part,
        "others": [(d, n) for d, n in others if d != access.department_id and d not in helpers],
        "side": "department",
        "errors": {},
        "form": {},
    }


def _department_url(access: DepartmentAccess, escalation_id: int) -> str:
    return url(
        "escalations.department_detail",
        department_id=access.department_id,
        escalation_id=escalation_id,
    )


def _again(access: DepartmentAccess, escalation_id: int, form: dict[str, Any]) -> Build:
    return lambda s: _department_detail(s, access, escalation_id) | {"form": form}


DETAIL = "escalations/department_detail.html"


@router.get(
    "/departments/{department_id}/escalations/{escalation_id}",
    name="escalations.department_detail",
)
def department_detail(
    request: Request, session: SessionDep, access: DepartmentDep, escalation_id: EscalationId
) -> Response:
    context = _department_detail(session, access, escalation_id)
    return render(request, DETAIL, context)


@router.post(
    "/departments/{department_id}/escalations/{escalation_id}/acknowledge",
    name="escalations.acknowledge",
)
def acknowledge(act: ActDep, access: DepartmentDep, escalation_id: EscalationId) -> Response:
    return _post(
        act,
        None,
        lambda: service.acknowledge(**act.who(access), escalation_id=escalation_id),
        to=_department_url(access, escalation_id),
        build=_again(access, escalation_id, {}),
        template=DETAIL,
        done=_("已报到"),
        beside="acknowledge",
    )


@router.post(
    "/departments/{department_id}/escalations/{escalation_id}/replies", name="escalations.reply"
)
def reply(
    act: ActDep,
    access: DepartmentDep,
    escalation_id: EscalationId,
    refused: Refused,
    form: Annotated[schemas.TextForm, Form()],
) -> Response:
    return _post(
        act,
        refused,
        lambda: service.reply(**act.who(access), escalation_id=escalation_id, form=form),
        to=_department_url(access, escalation_id),
        build=_again(access, escalation_id, {"reply": form.text}),
        template=DETAIL,
        done=_("答复已记录，社区可以看到"),
        beside="reply",
    )


@router.post(
    "/departments/{department_id}/escalations/{escalation_id}/helpers", name="escalations.ask_help"
)
def ask_help(
    act: ActDep,
    access: DepartmentDep,
    escalation_id: EscalationId,
    refused: Refused,
    form: Annotated[schemas.HelpForm, Form()],
) -> Response:
    return _post(
        act,
        refused,
        lambda: service.ask_help(**act.who(access), escalation_id=escalation_id, form=form),
        to=_department_url(access, escalation_id),
        build=_again(access, escalation_id, {"help": form.text}),
        template=DETAIL,
        done=_("已请求协办"),
        beside="ask_help",
    )


@router.post(
    "/departments/{department_id}/escalations/{escalation_id}/resolve",
    name="escalations.resolve",
)
def resolve(
    act: ActDep,
    access: DepartmentDep,
    escalation_id: EscalationId,
    refused: Refused,
    form: Annotated[schemas.TextForm, Form()],
) -> Response:
    return _post(
        act,
        refused,
        lambda: service.resolve(**act.who(access), escalation_id=escalation_id, form=form),
        to=_department_url(access, escalation_id),
        build=_again(access, escalation_id, {"resolve": form.text}),
        template=DETAIL,
        done=_("已办结，社区会收到通知"),
        beside="resolve",
    )


# --- the hall: 吹哨 and withdraw ---------------------------------------------------------------


def _new_context(act: HallAction, session: Session, issue_id: int) -> dict[str, Any]:
    policies.require(policies.can_raise(act.access))
    issue = issue_queries.get_issue(session, hall_id=act.hall_id, issue_id=issue_id)
    if issue is None:
        raise NotFound("not_found")
    return {
        "hall": act.hall,
        "issue": issue,
        "categories": list(WhistleCategory),
        "urgencies": list(Urgency),
        "windows": queries.street_windows(session, street_id=act.hall.street_id),
        "tasks": queries.issue_tasks(session, hall_id=act.hall_id, issue_id=issue_id),
        "errors": {},
        "form": {},
    }


@router.get("/halls/{hall_id}/issues/{issue_id}/escalations/new", name="escalations.new")
def new_escalation(act: ActionDep, issue_id: IssueId, task_id: fields.Text = "") -> Response:
    context = _new_context(act, act.session, issue_id)
    context["form"] = {"task_id": task_id}
    return render(act.request, "escalations/new.html", context)


def _issue_url(hall_id: int, issue_id: int) -> str:
    return url("issues.detail", hall_id=hall_id, issue_id=issue_id)


@router.post("/halls/{hall_id}/issues/{issue_id}/escalations", name="escalations.raise")
def raise_escalation(
    act: ActionDep,
    issue_id: IssueId,
    refused: Refused,
    form: Annotated[schemas.EscalationForm, Form()],
) -> Response:
    policies.require(policies.can_raise(act.access))
    typed = form.model_dump(mode="json")
    return _post(
        act,
        refused,
        lambda: service.raise_escalation(**act.who, issue_id=issue_id, form=form),
        to=_issue_url(act.hall_id, issue_id),
        build=lambda s: _new_context(act, s, issue_id) | {"form": typed},
        template="escalations/new.html",
        done=_("已吹哨，等待街道派单"),
        beside="raise",
    )


@router.post(
    "/halls/{hall_id}/issues/{issue_id}/escalations/{escalation_id}/withdraw",
    name="escalations.withdraw",
)
def withdraw(act: ActionDep, issue_id: IssueId, escalation_id: EscalationId) -> Response:
    policies.require(policies.can_raise(act.access))
    return _post(
        act,
        None,
        lambda: service.withdraw_escalation(
            **act.who, issue_id=issue_id, escalation_id=escalation_id
        ),
        to=_issue_url(act.hall_id, issue_id),
        build=lambda s: (
            page_context(s, act.hall, act.access, issue_id) | {"withdrawn_id": escalation_id}
        ),  # the issue page again, the refusal under its 撤回
        template="issues/detail.html",
        done=_("吹哨已撤回"),
        beside="withdraw",
    )
