"""Hall pages: join by invite, hall home, members and verification, 代录, roster, settings, invite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import CurrentUser, OptionalUser
from app.accounts.models import User
from app.config import Settings
from app.core import clock, fields
from app.core.errors import NotFound, ValidationFailed
from app.escalations import queries as escalation_queries
from app.evaluations import queries as evaluation_queries
from app.halls import labels, policies, queries, roster, schemas, service
from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall, MembershipStatus, Role
from app.halls.policies import HallAccess
from app.issues import labels as issue_labels
from app.issues import policies as issue_policies
from app.issues import queries as issue_queries
from app.issues.lifecycle import Stage, VoteState
from app.tasks import queries as task_queries
from app.voting import queries as voting_queries
from app.web import pdf, qr
from app.web.actions import Outcome, answer, attempt, respond
from app.web.deps import SessionDep, SettingsDep
from app.web.forms import FormRoute, Refusals, Refused
from app.web.htmx import field_errors, is_partial, redirect, render
from app.web.i18n import _
from app.web.links import print_context, public_url, url

router = APIRouter(tags=["halls"], route_class=FormRoute)


def _require(allowed: bool) -> None:
    # Inside a hall the caller can see, a forbidden page is reported as missing (AUTHZ-03).
    if not allowed:
        raise NotFound("not_found")


def _picker(
    session: Session, hall_id: int, building_id: int | None, entrance_id: int | None
) -> dict[str, Any]:
    """Building → entrance → room choices, one step at a time (works without JavaScript)."""
    buildings = queries.list_buildings(session, hall_id=hall_id)
    building_ids = {b.id for b in buildings}
    building_id = building_id if building_id in building_ids else None
    entrances = (
        queries.list_entrances(session, hall_id=hall_id, building_id=building_id)
        if building_id
        else []
    )
    entrance_id = entrance_id if entrance_id in {e.id for e in entrances} else None
    households = (
        queries.list_households(session, hall_id=hall_id, entrance_id=entrance_id)
        if entrance_id
        else []
    )
    return {
        "buildings": buildings,
        "entrances": entrances,
        "households": households,
        "building_id": building_id,
        "entrance_id": entrance_id,
    }


# --- joining ------------------------------------------------------------------------------


@router.get("/join/{token}", name="halls.join")
def join_page(
    request: Request,
    token: Annotated[fields.Text, Path(max_length=100)],
    session: SessionDep,
    user: OptionalUser,
    building_id: Annotated[fields.Id | None, Query()] = None,
    entrance_id: Annotated[fields.Id | None, Query()] = None,
) -> Response:
    hall = service.hall_for_invite(session, token)
    assert hall.id is not None
    context: dict[str, Any] = {"hall": hall, "token": token, "errors": {}, "form": {}}
    context["building_id"] = building_id  # a building's poster: kept through registering
    if user is not None:
        access = queries.hall_access(session, user=user, hall=hall)
        context["access"] = access
        context.update(_picker(session, hall.id, building_id, entrance_id))
    template = "halls/_join_form.html" if is_partial(request) else "halls/join.html"
    return render(request, template, context)


@router.post("/join/{token}", name="halls.join_post")
def join(
    request: Request,
    token: Annotated[fields.Text, Path(max_length=100)],
    session: SessionDep,
    refused: Refused,
    user: CurrentUser,
    form: Annotated[schemas.JoinForm, Form()],
    building_id: Annotated[fields.Id | None, Form()] = None,
    entrance_id: Annotated[fields.Id | None, Form()] = None,
) -> Response:
    outcome = attempt(
        session,
        lambda: service.join_hall(session=session, user=user, token=token, form=form),
        refused=refused,
        done=_("申请已提交，请等待居委会审核"),
    )
    if outcome.conflict:  # e.g. already a member: said on the home page, whatever the request
        return redirect(request, url("home"), flash_text=outcome.conflict, kind="warn")
    page = partial(_join_again, request, session, user, token, form, building_id, entrance_id)
    return answer(request, outcome, to=url("home"), page=page, htmx="redirect")


def _join_again(
    request: Request,
    session: Session,
    user: User,
    token: str,
    form: schemas.JoinForm,
    building_id: int | None,
    entrance_id: int | None,
    outcome: Outcome[Any],
) -> Response:
    """The join form again, with the household chosen so far and the messages."""
    hall = service.hall_for_invite(session, token)
    context = {
        "hall": hall,
        "token": token,
        "errors": outcome.errors,
        "form": form.model_dump(),
        "access": queries.hall_access(session, user=user, hall=hall),
        **_picker(session, hall.id or 0, building_id, entrance_id),
    }
    return render(request, "halls/join.html", context, status_code=422)


# --- hall home ----------------------------------------------------------------------------


def _flags(access: HallAccess) -> dict[str, bool]:
    return {
        "can_manage": policies.can_manage_members(access),
        "can_edit_settings": policies.can_edit_settings(access),
        "can_view_members": policies.can_view_members(access),
        "can_view_audit": policies.can_view_audit(access),
    }


@router.get("/halls/{hall_id}", name="halls.detail")
def hall_home(request: Request, session: SessionDep, hall: HallDep, access: AccessDep) -> Response:
    context = {
        "hall": hall,
        "street": queries.get_street(session, hall.street_id),
        "access": access,
        **_my_household(session, access),
        "stats": queries.hall_stats(session, hall_id=hall.id or 0),
        **_issue_summary(session, access),
        **_flags(access),
        "implementing": task_queries.implementing_progress(session, hall_id=hall.id or 0),
    }
    return render(request, "halls/detail.html", context)


def _my_household(session: Session, access: HallAccess) -> dict[str, Any]:
    """The caller's membership in the hall and the address of their household, if any."""
    membership = (
        queries.get_membership(session, hall_id=access.hall_id, membership_id=access.membership_id)
        if access.membership_id
        else None
    )
    address = (
        queries.household_address(
            session, hall_id=access.hall_id, household_id=membership.household_id
        )
        if membership and membership.household_id
        else None
    )
    return {"membership": membership, "address": address}


# Issues that ended without being taken up (不予受理, 已合并, 已撤回): counted behind a fold on
# the hall page, after the stages the hall is working on.
ENDED_UNTAKEN = frozenset({Stage.REJECTED, Stage.MERGED, Stage.WITHDRAWN})


@dataclass(frozen=True)
class StageTile:
    """One count on the hall page: its stage and, in 表决中, its vote (the list it links to),
    its words, how many."""

    stage: Stage
    vote: VoteState | None  # in 表决中 only
    label: str  # untranslated msgid
    count: int

    @property
    def query(self) -> str:
        """The issue list's filters for this count: ?stage=deciding&vote=open."""
        return urlencode({"stage": self.stage, **({"vote": self.vote} if self.vote else {})})


# Within 表决中, the order of the tiles: waiting for the chair first, then a vote under way.
VOTE_ORDER = (None, "open", "closed")


def _stage_tiles(by_state: dict[tuple[Stage, str | None], int], *, chair: bool) -> list[StageTile]:
    """The counts in the stages' order, 表决中 split as the issue page says it (issue #14), in
    words short enough for a half-width tile: 待发起表决 (to the chair: 请您发起表决) until a
    ballot is open, 表决中, 表决已截止; each links to the list of its own issues."""
    return [
        StageTile(
            stage,
            VoteState(vote or VoteState.WAITING) if stage == Stage.DECIDING else None,
            issue_labels.tile_label(stage, vote, chair=chair),
            n,
        )
        for (stage, vote), n in sorted(
            by_state.items(),
            key=lambda item: (list(Stage).index(item[0][0]), VOTE_ORDER.index(item[0][1])),
        )
        if n
    ]


def _issue_summary(session: Session, access: HallAccess) -> dict[str, Any]:
    """Counts per stage and what needs me: issues I can still co-sign; for chairs, reviews
    and reports waiting."""
    hall_id = access.hall_id
    takes_part = issue_policies.can_propose(access)
    place = (
        issue_queries.member_place(session, hall_id=hall_id, membership_id=access.membership_id)
        if takes_part
        else None
    )
    cosignable = (
        issue_queries.list_cosignable(
            session, hall_id=hall_id, user_id=access.user_id or 0, place=place
        )
        if place is not None
        else []
    )
    to_evaluate = (
        evaluation_queries.awaiting_evaluation(
            session, hall_id=hall_id, user_id=access.user_id or 0, place=place
        )
        if place is not None
        else []
    )
    chair = issue_policies.can_view_queues(access)
    by_state = voting_queries.count_issues_by_state(session, hall_id=hall_id)
    counts = dict.fromkeys(Stage, 0)
    for (stage, _vote), n in by_state.items():
        counts[stage] += n
    tiles = _stage_tiles(by_state, chair=issue_policies.can_review(access))
    return {
        "awaiting_vote": voting_queries.awaiting_vote(
            session, hall_id=hall_id, user_id=access.user_id
        )
        if access.user_id is not None and access.is_verified
        else [],
        # the stages still being worked on first; those that ended in 民提 behind a fold
        "issue_tiles": [t for t in tiles if t.stage not in ENDED_UNTAKEN],
        "ended_tiles": [t for t in tiles if t.stage in ENDED_UNTAKEN],
        "issue_total": sum(counts.values()),
        "cosignable": cosignable,
        "awaiting_evaluation": to_evaluate,
        "can_propose": issue_policies.can_propose(access),
        "show_queues": chair,
        "reviews_waiting": counts[Stage.UNDER_REVIEW] if chair else 0,
        "reviews_overdue": issue_queries.count_overdue_reviews(
            session, hall_id=hall_id, now=clock.now()
        )
        if chair
        else 0,
        "reports_open": issue_queries.count_open_reports(session, hall_id=hall_id) if chair else 0,
    }


# --- members ------------------------------------------------------------------------------


PAGE_SIZE = 50


@router.get("/halls/{hall_id}/members", name="halls.members")
def members_page(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    status: Annotated[MembershipStatus | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> Response:
    _require(policies.can_view_members(access))
    return render(
        request, "halls/members.html", _members_context(session, hall, access, status, page)
    )


def _members_context(
    session: Session, hall: Hall, access: HallAccess, status: MembershipStatus | None, page: int
) -> dict[str, Any]:
    rows = queries.list_members(
        session,
        hall_id=hall.id or 0,
        status=status,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    return {
        "hall": hall,
        "access": access,
        "rows": rows[:PAGE_SIZE],
        "has_next": len(rows) > PAGE_SIZE,
        "page": page,
        "status": status,
        "counts": queries.count_members(session, hall_id=hall.id or 0),
        "row_errors": {},
        **_flags(access),
    }


def _status_from(request: Request) -> str | None:
    """The tab the chair is on, from htmx's HX-Current-URL (only to mark the current tab)."""
    query = parse_qs(urlsplit(request.headers.get("hx-current-url", "")).query)
    value = query.get("status", [""])[0]
    return value if value in {s.value for s in MembershipStatus} else None


def _member_row_response(
    request: Request,
    session: Session,
    hall: Hall,
    access: HallAccess,
    membership_id: int,
    *,
    flash_text: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    if is_partial(request):
        return render(
            request,
            "halls/_member_row.html",
            {
                "hall": hall,
                "access": access,
                "row": queries.get_member_row(
                    session, hall_id=hall.id or 0, membership_id=membership_id
                ),
                # The tab counts change too: refreshed out of band (htmx hx-swap-oob).
                "oob_counts": queries.count_members(session, hall_id=hall.id or 0),
                "status": _status_from(request),
                "row_errors": errors or {},
                "row_form": form or {},
                "notice": flash_text,
                **_flags(access),
            },
            status_code=status_code,
        )
    if errors and status_code == 422:  # the pending list again, the message in the member's row
        context = _members_context(session, hall, access, MembershipStatus.PENDING, 1)
        context |= {"row_errors": errors, "row_form": form or {}, "error_row": membership_id}
        return render(request, "halls/members.html", context, status_code=422)
    raise AssertionError("a plain form's success and conflicts are redirected (PRG)")


def _decide(
    act: HallAction,
    membership_id: int,
    done: str,
    decision: Callable[[], object],
    refused: Refusals | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    """Run a verify/reject decision and answer with the member's row (or a redirect)."""

    def page(outcome: Outcome[object]) -> Response:
        # A conflict (already decided) is shown in the row's status.
        errors = {"status": outcome.conflict} if outcome.conflict else outcome.errors
        return _member_row_response(
            act.request,
            act.session,
            act.hall,
            act.access,
            membership_id,
            flash_text=outcome.notice,
            errors=errors,
            status_code=outcome.status,
            form=form,
        )

    to = url("halls.members", hall_id=act.hall_id) + "?status=pending"
    return respond(act.request, act.session, decision, to=to, page=page, done=done, refused=refused)


@router.post("/halls/{hall_id}/members/{membership_id}/verify", name="halls.verify_member")
def verify_member(act: ActionDep, membership_id: Annotated[fields.Id, Path()]) -> Response:
    _require(policies.can_manage_members(act.access))
    return _decide(
        act,
        membership_id,
        _("已通过审核"),
        lambda: service.verify_member(**act.who, membership_id=membership_id),
    )


@router.post("/halls/{hall_id}/members/{membership_id}/reject", name="halls.reject_member")
def reject_member(
    act: ActionDep,
    refused: Refused,
    membership_id: Annotated[fields.Id, Path()],
    form: Annotated[schemas.RejectForm, Form()],
) -> Response:
    _require(policies.can_manage_members(act.access))
    return _decide(
        act,
        membership_id,
        _("已退回申请"),
        lambda: service.reject_member(**act.who, membership_id=membership_id, form=form),
        refused,
        form.model_dump(),
    )


@router.get("/halls/{hall_id}/members/new", name="halls.add_member")
def add_member_page(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    building_id: Annotated[fields.Id | None, Query()] = None,
    entrance_id: Annotated[fields.Id | None, Query()] = None,
) -> Response:
    _require(policies.can_manage_members(access))
    context = {
        "hall": hall,
        "access": access,
        "errors": {},
        "form": {},
        **_picker(session, hall.id or 0, building_id, entrance_id),
    }
    template = "halls/_add_member_form.html" if is_partial(request) else "halls/add_member.html"
    return render(request, template, context)


@router.post("/halls/{hall_id}/members/new", name="halls.add_member_post")
def add_member(
    act: ActionDep,
    refused: Refused,
    form: Annotated[schemas.OnBehalfForm, Form()],
    building_id: Annotated[fields.Id | None, Form()] = None,
    entrance_id: Annotated[fields.Id | None, Form()] = None,
) -> Response:
    _require(policies.can_manage_members(act.access))
    outcome = attempt(
        act.session,
        lambda: service.add_member_on_behalf(**act.who, form=form),
        refused=refused,
        done=_("已代为登记，该居民已认证"),
    )
    if outcome.conflict:  # the phone already has an account in the hall: said at the name
        outcome = Outcome(422, {"name": outcome.conflict})
    to = url("halls.members", hall_id=act.hall_id) + "?status=verified"
    page = partial(_add_member_again, act, form, building_id, entrance_id)
    return answer(act.request, outcome, to=to, page=page, htmx="redirect")


def _add_member_again(
    act: HallAction,
    form: schemas.OnBehalfForm,
    building_id: int | None,
    entrance_id: int | None,
    outcome: Outcome[Any],
) -> Response:
    context = {
        "hall": act.hall,
        "access": act.access,
        "errors": outcome.errors,
        "form": form.model_dump(),
        **_picker(act.session, act.hall_id, building_id, entrance_id),
    }
    return render(act.request, "halls/add_member.html", context, status_code=422)


@router.get("/halls/{hall_id}/members/{membership_id}", name="halls.member")
def member_page(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    membership_id: Annotated[fields.Id, Path()],
) -> Response:
    _require(policies.can_manage_members(access))
    row = queries.get_member_row(session, hall_id=hall.id or 0, membership_id=membership_id)
    if row is None:
        raise NotFound("member_unknown")
    context = {"hall": hall, "access": access, "row": row, "all_roles": list(Role), "errors": {}}
    return render(request, "halls/member.html", context | _flags(access))


@router.post("/halls/{hall_id}/members/{membership_id}/roles", name="halls.set_roles")
def set_roles(
    act: ActionDep,
    membership_id: Annotated[fields.Id, Path()],
    roles: Annotated[list[Role] | None, Form()] = None,
) -> Response:
    _require(policies.can_manage_members(act.access))
    form = schemas.RolesForm(roles=roles or [])
    outcome = attempt(
        act.session,
        lambda: service.set_member_roles(**act.who, membership_id=membership_id, form=form),
        done=_("身份已更新"),
    )
    to = url("halls.member", hall_id=act.hall_id, membership_id=membership_id)
    if not outcome.ok:  # any refusal comes back as a warning on the member's page
        warning = next(iter(outcome.errors.values()))
        return redirect(act.request, to, flash_text=warning, kind="warn")
    return redirect(act.request, to, flash_text=outcome.notice)


# --- roster import ------------------------------------------------------------------------


@router.get("/halls/{hall_id}/roster", name="halls.roster")
def roster_page(request: Request, hall: HallDep, access: AccessDep) -> Response:
    _require(policies.can_manage_members(access))
    return render(request, "halls/roster.html", _roster_context(hall, access))


@router.get("/halls/{hall_id}/roster/template.csv", name="halls.roster_template")
def roster_template(access: AccessDep) -> Response:
    _require(policies.can_manage_members(access))
    body = (
        "\ufeff"
        + ",".join(roster.COLUMNS)
        + "\r\n"
        + "1号楼,1单元,101,89.50,张桂芳,13800001234,业主\r\n"
    )
    return Response(
        body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="roster-template.csv"'},
    )


def _roster_context(hall: Hall, access: HallAccess) -> dict[str, Any]:
    return {
        "hall": hall,
        "access": access,
        "report": None,
        "preview": None,
        "token": None,
        "stale": False,
        "result": None,
        "errors": {},
        "columns": roster.COLUMNS,
    }


@router.post("/halls/{hall_id}/roster", name="halls.roster_post")
async def import_roster(
    act: ActionDep, settings: SettingsDep, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    """Upload and check: shows what the import would do; nothing is imported yet."""
    _require(policies.can_manage_members(act.access))
    data = await file.read(settings.upload_max_bytes + 1) if file is not None else b""
    filename, max_bytes = (file.filename or "") if file else "", settings.upload_max_bytes
    # The file is awaited; parsing it and the preview's transaction are one hop to a thread.
    return await run_in_threadpool(_preview_roster, act, filename, data, max_bytes)


def _preview_roster(act: HallAction, filename: str, data: bytes, max_bytes: int) -> Response:
    context = _roster_context(act.hall, act.access)

    def preview() -> service.RosterCheck:
        context["report"] = parsed = service.read_roster(filename, data, max_bytes=max_bytes)
        return service.preview_roster(**act.who, roster=parsed, filename=filename, content=data)

    outcome = attempt(act.session, preview)
    if outcome.result is not None:
        context |= {"preview": outcome.result.preview, "token": outcome.result.token}
    context["errors"] = outcome.errors
    return render(act.request, "halls/roster.html", context, status_code=outcome.status)


@router.post("/halls/{hall_id}/roster/confirm", name="halls.roster_confirm")
def confirm_roster(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
    form: Annotated[schemas.RosterConfirmForm, Form()],
) -> Response:
    """Import the previewed roster; if the hall changed meanwhile, show the new preview."""
    _require(policies.can_manage_members(access))
    context = _roster_context(hall, access)
    try:
        context["result"] = service.confirm_roster(
            session=session, access=access, actor=user, token=form.token
        )
    except service.RosterChanged as exc:
        context.update(preview=exc.preview, token=exc.token, stale=True)
        return render(request, "halls/roster.html", context, status_code=409)
    except ValidationFailed as exc:
        context["errors"] = field_errors(exc.errors)
        return render(request, "halls/roster.html", context, status_code=422)
    return render(request, "halls/roster.html", context)


# --- settings -----------------------------------------------------------------------------


@router.get("/halls/{hall_id}/settings", name="halls.settings")
def settings_page(request: Request, hall: HallDep, access: AccessDep) -> Response:
    _require(policies.can_edit_settings(access))
    values = {field: getattr(hall, field) for field in [*schemas.SETTING_BOUNDS, "office_phone"]}
    return render(
        request,
        "halls/settings.html",
        {
            "hall": hall,
            "access": access,
            "form": values,
            "errors": {},
            "bounds": schemas.SETTING_BOUNDS,
        },
    )


@router.post("/halls/{hall_id}/settings", name="halls.settings_post")
def update_settings(
    act: ActionDep, refused: Refused, form: Annotated[schemas.SettingsForm, Form()]
) -> Response:
    _require(policies.can_edit_settings(act.access))
    return respond(
        act.request,
        act.session,
        lambda: service.update_hall_settings(**act.who, hall=act.hall, form=form),
        refused=refused,
        to=url("halls.settings", hall_id=act.hall_id),
        page=partial(_settings_again, act, form),
        done=_("议事规则已保存"),
        htmx="redirect",
    )


def _settings_again(act: HallAction, form: schemas.SettingsForm, outcome: Outcome[Any]) -> Response:
    context = {
        "hall": act.hall,
        "access": act.access,
        "form": form.model_dump(),
        "errors": outcome.errors,
        "bounds": schemas.SETTING_BOUNDS,
    }
    return render(act.request, "halls/settings.html", context, status_code=outcome.status)


# --- invite -------------------------------------------------------------------------------


def _invite_url(request: Request, settings: Settings, hall: Hall) -> str:
    return public_url(request, settings, url("halls.join", token=hall.invite_token))


@router.get("/halls/{hall_id}/invite", name="halls.invite")
def invite_page(
    request: Request, settings: SettingsDep, session: SessionDep, hall: HallDep, access: AccessDep
) -> Response:
    _require(policies.can_manage_members(access))
    return render(
        request,
        "halls/invite.html",
        {
            "hall": hall,
            "access": access,
            "invite_url": _invite_url(request, settings, hall),
            "buildings": queries.list_buildings(session, hall_id=hall.id or 0),
            **print_context(request, settings),
        },
    )


def _poster_context(
    request: Request,
    settings: Settings,
    session: Session,
    hall: Hall,
    access: HallAccess,
    building_id: int | None = None,
) -> dict[str, Any]:
    """The join poster's: the invite link on the public origin, as text and as a QR code.
    With `building_id`, the poster of one building (for its entrances): its name, and the
    link opens the join form with that building chosen (the picker's `building_id`)."""
    link = _invite_url(request, settings, hall)
    pdf_url = url("halls.poster_pdf", hall_id=hall.id)
    building = None
    if building_id is not None:
        found = [
            b for b in queries.list_buildings(session, hall_id=hall.id or 0) if b.id == building_id
        ]
        _require(bool(found))
        building = found[0]
        link = f"{link}?building_id={building_id}"
        pdf_url = url("halls.building_poster_pdf", hall_id=hall.id, building_id=building_id)
    return {
        "hall": hall,
        "access": access,
        "building": building,
        "join_url": link,
        "qr": qr.path(link),
        "issuer": labels.issuer_of(hall),
        "today": clock.now(),
        "pdf_url": pdf_url,
        **print_context(request, settings),
    }


@router.get("/halls/{hall_id}/print/poster", name="halls.poster")
def poster(
    request: Request, settings: SettingsDep, session: SessionDep, hall: HallDep, access: AccessDep
) -> Response:
    """The join poster, an A4 sheet for the notice boards (chairs only, as the invite)."""
    _require(policies.can_manage_members(access))
    context = _poster_context(request, settings, session, hall, access)
    return render(request, "halls/poster_print.html", context)


@router.get("/halls/{hall_id}/print/poster.pdf", name="halls.poster_pdf")
def poster_pdf(
    request: Request, settings: SettingsDep, session: SessionDep, hall: HallDep, access: AccessDep
) -> Response:
    """The same poster as a PDF."""
    _require(policies.can_manage_members(access))
    context = _poster_context(request, settings, session, hall, access)
    name = _("%(hall)s-加入海报.pdf") % {"hall": hall.name}
    return pdf.document(request, "halls/poster_print.html", context, filename=name)


@router.get("/halls/{hall_id}/buildings/{building_id}/poster", name="halls.building_poster")
def building_poster(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    building_id: Annotated[fields.Id, Path()],
) -> Response:
    """One building's join poster (for its entrances): its name, and a QR to the join form
    with the building chosen."""
    _require(policies.can_manage_members(access))
    context = _poster_context(request, settings, session, hall, access, building_id)
    return render(request, "halls/poster_print.html", context)


@router.get("/halls/{hall_id}/buildings/{building_id}/poster.pdf", name="halls.building_poster_pdf")
def building_poster_pdf(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    building_id: Annotated[fields.Id, Path()],
) -> Response:
    _require(policies.can_manage_members(access))
    context = _poster_context(request, settings, session, hall, access, building_id)
    name = _("%(hall)s-加入海报.pdf") % {"hall": f"{hall.name}{context['building'].name}"}
    return pdf.document(request, "halls/poster_print.html", context, filename=name)


@router.get("/halls/{hall_id}/invite.png", name="halls.invite_qr")
def invite_qr(
    request: Request, settings: SettingsDep, hall: HallDep, access: AccessDep
) -> Response:
    _require(policies.can_manage_members(access))
    return Response(qr.png(_invite_url(request, settings, hall)), media_type="image/png")


@router.post("/halls/{hall_id}/invite/rotate", name="halls.rotate_invite")
def rotate_invite(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    hall: HallDep,
    access: AccessDep,
    user: CurrentUser,
) -> Response:
    _require(policies.can_manage_members(access))
    service.rotate_invite(
        session=session, access=access, actor=user, hall=hall, days=settings.invite_days
    )
    text = _("已生成新的邀请链接，旧链接和二维码已失效")
    return redirect(request, url("halls.invite", hall_id=hall.id), flash_text=text)


# --- home: my halls --------------------------------------------------------------------


@router.get("/", name="home")
def home(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    """The halls I belong to and my desks; a resident with one hall goes straight into it."""
    my_halls = queries.list_my_halls(session, user_id=user.id) if user and user.id else []
    links = escalation_queries.home_links(session, user_id=user.id) if user and user.id else []
    hall_id = policies.straight_into(
        my_halls,
        has_desk=bool(links),
        must_change_password=bool(user and user.must_change_password),
    )
    if hall_id is not None:
        return redirect(request, url("halls.detail", hall_id=hall_id))
    return render(request, "home.html", {"my_halls": my_halls, "work_links": links})
