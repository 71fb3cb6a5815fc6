"""决议 and 公示: the online 公示 with its 异议 and answers, the printable A4 notice (DOMAIN.md
§6.2), and the 民决 card of the issue page.

Personal data on a 公示 is masked (DOMAIN.md §8): the proposer and the objectors by name (张**)
except for the chair and the objector themselves, the chair's phone always on the printed
notice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from sqlmodel import Session

from app.config import Settings
from app.core import clock, fields
from app.core.errors import NotFound
from app.core.privacy import mask_name
from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.labels import issuer_of
from app.halls.models import Hall
from app.halls.policies import HallAccess, can_see_contact
from app.issues import queries as issue_queries
from app.issues.deps import Id, IssueDep
from app.issues.lifecycle import Stage
from app.issues.models import Issue, Source
from app.voting import policies, queries, schemas, service
from app.voting.deps import BallotDep
from app.voting.models import Ballot, Resolution, VoterUnit
from app.voting.pages import publicity_url
from app.voting.rules import RuleKind
from app.web import pdf, qr
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep, SettingsDep
from app.web.forms import FormRoute, Refusals, Refused
from app.web.htmx import is_partial, render
from app.web.i18n import _
from app.web.links import print_context, public_url, url

router = APIRouter(tags=["voting"], route_class=FormRoute)


# Stages an issue can be in once its 决议 went to 公示 (and after).
_AFTER_PUBLICITY = frozenset({Stage.IMPLEMENTING, Stage.EVALUATING, Stage.CLOSED})


def card_id(issue: Issue) -> str:
    return f"issue-{issue.id}-objections"


# --- the 公示 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectionView:
    row: queries.ObjectionRow
    author: str  # the full name for the chair and the objector, else 张**
    mine: bool


def _publicized(
    session: Session, access: HallAccess, issue: Issue, ballot_id: int | None = None
) -> tuple[Resolution, Ballot]:
    resolution = queries.get_publicized_resolution(
        session, hall_id=access.hall_id, issue_id=issue.id or 0, ballot_id=ballot_id
    )
    if resolution is None:
        raise NotFound("not_found")
    ballot = queries.get_ballot(session, hall_id=access.hall_id, ballot_id=resolution.ballot_id)
    assert ballot is not None  # a composite foreign key holds it in the hall
    return resolution, ballot


def _state(issue: Issue, resolution: Resolution, *, now: datetime, upheld: bool) -> str:
    ends = resolution.publicity_ends_at
    if issue.stage == Stage.PUBLICIZING:
        if ends is not None and now >= ends:
            return _("公示期已满，等待居委会处理")
        return _("公示中")
    if issue.stage in _AFTER_PUBLICITY:
        return _("公示期满，已转入办理")
    return _("异议被采纳，已退回协商") if upheld else _("公示已结束")


def _proposer(issue: Issue, proposer_name: str) -> str:
    """How the topic arose, without naming anyone: 居民张**提出 / 12345 热线工单."""
    if issue.source == Source.RESIDENT:
        return _("居民%(name)s提出") % {"name": mask_name(proposer_name)}
    return {
        Source.PAPER: _("居民书面反映，由居委会登记"),
        Source.PHONE: _("居民电话反映，由居委会登记"),
        Source.HOTLINE: _("12345 热线工单转办，由居委会登记"),
    }[issue.source]


def _publicity_context(
    session: Session, hall: Hall, access: HallAccess, issue: Issue, ballot_id: int | None = None
) -> dict[str, Any]:
    """The 公示 of the issue's latest 决议 in 公示, or of `ballot_id`'s (404 if it has none)."""
    resolution, ballot = _publicized(session, access, issue, ballot_id)
    now = clock.now()
    header = issue_queries.get_issue_header(session, hall_id=access.hall_id, issue_id=issue.id or 0)
    assert header is not None
    result = queries.stored_result(ballot) or {}
    labels = dict(queries.option_codes(session, ballot.id or 0))
    frozen_counts: dict[str, int] = result.get("counts") or {}
    rows = queries.list_objections(
        session, hall_id=access.hall_id, resolution_id=resolution.id or 0
    )
    objections = [
        ObjectionView(
            row=row,
            author=row.author_name
            if can_see_contact(access, owner_user_id=row.objection.author_id)
            else mask_name(row.author_name),
            mine=access.user_id == row.objection.author_id,
        )
        for row in rows
    ]
    upheld = any(o.row.objection.upheld for o in objections)
    unanswered = sum(1 for o in objections if o.row.objection.answered_at is None)
    publicizing = issue.stage == Stage.PUBLICIZING
    ends = resolution.publicity_ends_at
    period_over = ends is not None and now >= ends
    can_manage = policies.can_manage(access)
    contact = queries.publicity_contact(
        session, hall_id=access.hall_id, prefer_user_id=ballot.created_by_id
    )
    return {
        "hall": hall,
        "access": access,
        "issue": issue,
        "resolution": resolution,
        "ballot": ballot,
        "meeting": queries.held_at(session, ballot),
        "result": result,
        "counts": [(label, frozen_counts.get(code, 0)) for code, label in labels.items()],
        "winner": labels.get(result.get("winner") or "", result.get("winner")),
        "voted": ballot.rule != RuleKind.CONSENSUS,
        "owners": ballot.voter_unit == VoterUnit.OWNER,
        "attendance": queries.attendance(session, ballot),
        "proposer": _proposer(issue, header.proposer_name),
        "issuer": issuer_of(hall),
        "contact": contact,
        "state": _state(issue, resolution, now=now, upheld=upheld),
        "publicizing": publicizing,
        "objections": objections,
        "unanswered": unanswered,
        "upheld": upheld,
        "period_over": period_over,
        # The chair answers 异议 rather than raising them: no form for them (the route allows it).
        "can_object": policies.can_object(access)
        and not can_manage
        and publicizing
        and not period_over,
        "can_answer": can_manage and publicizing,
        "can_end": can_manage and publicizing,
        "card_id": card_id(issue),
        "publicity_url": publicity_url(access.hall_id, issue.id or 0),
        "board_url": url("ballots.board", hall_id=access.hall_id, ballot_id=ballot.id),
        "ballot_url": url("ballots.detail", hall_id=access.hall_id, ballot_id=ballot.id),
        # Filled in when an action comes back with a problem:
        "objection_form": {},
        "objection_errors": {},
        "answer_for": None,
        "answer_form": {},
        "answer_errors": {},
        "objection_error": None,  # a refusal, said under the button pressed
        "answer_error": None,
        "end_error": None,
        "notice": None,
        "oob": False,
    }


@router.get("/halls/{hall_id}/issues/{issue_id}/publicity", name="publicity.detail")
def detail(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, issue: IssueDep
) -> Response:
    """The online 公示: how the topic arose, the vote and every check, the 决议, the period,
    how to object, and the 异议 with the chair's answers."""
    return render(
        request, "voting/publicity.html", _publicity_context(session, hall, access, issue)
    )


@router.get("/halls/{hall_id}/issues/{issue_id}/publicity/print", name="publicity.print")
def print_notice(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    hall: HallDep,
    access: AccessDep,
    issue: IssueDep,
) -> Response:
    """The A4 notice for the 居务公开栏 (DOMAIN.md §6.2): the chair's phone masked, the online
    link as text and as a QR code, a seal box, the ledger head printed in full."""
    context = _notice_context(request, settings, session, hall, access, issue)
    return render(request, "voting/publicity_print.html", context)


@router.get("/halls/{hall_id}/ballots/{ballot_id}/print/publicity.pdf", name="publicity.pdf")
def notice_pdf(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    hall: HallDep,
    access: AccessDep,
    ballot: BallotDep,
) -> Response:
    """The same notice as a PDF, for the ballot whose 决议 it publishes (404 before that)."""
    issue = issue_queries.get_issue(session, hall_id=access.hall_id, issue_id=ballot.issue_id)
    if issue is None:
        raise NotFound("not_found")
    context = _notice_context(request, settings, session, hall, access, issue, ballot.id)
    name = _("公示-%(title)s.pdf") % {"title": issue.title}
    return pdf.document(request, "voting/publicity_print.html", context, filename=name)


def _notice_context(
    request: Request,
    settings: Settings,
    session: Session,
    hall: Hall,
    access: HallAccess,
    issue: Issue,
    ballot_id: int | None = None,
) -> dict[str, Any]:
    """The printed notice's context: the 公示's, and its links on the public origin."""
    context = _publicity_context(session, hall, access, issue, ballot_id)
    link = public_url(request, settings, context["publicity_url"])
    ballot = context["ballot"]
    return context | {
        "online_url": link,
        "qr_src": qr.data_uri(link),
        "pdf_url": url("publicity.pdf", hall_id=access.hall_id, ballot_id=ballot.id),
        **print_context(request, settings),
    }


# --- actions ----------------------------------------------------------------------------------


def _act(
    act: HallAction,
    issue_id: int,
    run: Callable[[], object],
    *,
    done: str | Callable[[Any], str],
    errors_at: Callable[[dict[str, str]], dict[str, Any]],
    leave_to: str | None = None,
    conflict_at: str,
    typed: dict[str, Any] | None = None,
    refused: Refusals | None = None,
) -> Response:
    """Run one service call (app/web/actions.py). Without JS: PRG to the 公示 (or `leave_to`),
    a 422 or 409 as the whole page with the message next to the field (`errors_at` says
    where) or under the button pressed (`conflict_at`, the form shown again with what was
    `typed`). With htmx: the 异议 card again (200, 409 or 422), or a full redirect when the
    issue has moved on."""
    here = publicity_url(act.hall_id, issue_id) + f"#issue-{issue_id}-objections"

    def page(outcome: Outcome[Any]) -> Response:
        issue = issue_queries.get_issue(act.session, hall_id=act.hall_id, issue_id=issue_id)
        if issue is None:
            raise NotFound("not_found")
        context = _publicity_context(act.session, act.hall, act.access, issue)
        if outcome.conflict is not None:
            context |= (typed or {}) | {conflict_at: outcome.conflict}
        elif outcome.errors:
            context |= errors_at(outcome.errors)
        else:
            context["notice"] = outcome.notice
        if not is_partial(act.request):  # a plain form with a field error: the whole page, 422
            return render(act.request, "voting/publicity.html", context, status_code=outcome.status)
        context["oob"] = True
        return render(act.request, "voting/_objections.html", context, status_code=outcome.status)

    return respond(
        act.request,
        act.session,
        run,
        to=leave_to or here,
        conflict_to=here,
        page=page,
        done=done,
        refused=refused,
        htmx="leave" if leave_to else "partial",
        beside=True,
    )


@router.post("/halls/{hall_id}/issues/{issue_id}/objections", name="publicity.object")
def file_objection(
    act: ActionDep, refused: Refused, issue: IssueDep, body: Annotated[fields.Text, Form()] = ""
) -> Response:
    """A verified member raises an 异议 during the 公示 period."""
    policies.require(policies.can_object(act.access))
    form, issue_id = schemas.ObjectionForm(body=body), issue.id or 0
    return _act(
        act,
        issue_id,
        lambda: service.file_objection(**act.who, issue_id=issue_id, form=form),
        done=_("异议已提交，居委会将在公示期内答复"),
        errors_at=lambda errors: {"objection_errors": errors, "objection_form": {"body": body}},
        conflict_at="objection_error",
        typed={"objection_form": {"body": body}},
        refused=refused,
    )


@router.post("/halls/{hall_id}/objections/{objection_id}/answer", name="publicity.answer")
def answer_objection(
    act: ActionDep,
    refused: Refused,
    objection_id: Id,
    answer: Annotated[fields.Text, Form()] = "",
    upheld: Annotated[fields.Text, Form()] = "",
) -> Response:
    """The chair answers an 异议; 采纳 (upheld) sends the issue back to 民议 at the end."""
    policies.require(policies.can_manage(act.access))
    with act.reading() as read:
        objection = queries.get_objection(read, hall_id=act.hall_id, objection_id=objection_id)
    policies.require(objection is not None)
    form = schemas.AnswerForm(answer=answer, upheld=upheld in ("on", "true", "1"))
    return _act(
        act,
        objection.issue_id if objection else 0,
        lambda: service.answer_objection(**act.who, objection_id=objection_id, form=form),
        done=_("已答复异议"),
        errors_at=partial(_answer_errors, objection_id, form),
        conflict_at="answer_error",
        typed=_answer_errors(objection_id, form, {}),
        refused=refused,
    )


def _answer_errors(
    objection_id: int, form: schemas.AnswerForm, errors: dict[str, str]
) -> dict[str, Any]:
    """The answer form opens again under its 异议, with what was typed."""
    typed = {"answer": form.answer, "upheld": form.upheld}
    return {"answer_for": objection_id, "answer_errors": errors, "answer_form": typed}


@router.post("/halls/{hall_id}/issues/{issue_id}/publicity/end", name="publicity.end")
def end_publicity(act: ActionDep, issue: IssueDep) -> Response:
    """The chair ends the 公示: to 民办, or back to 民议 when an 异议 was upheld. Refused (409)
    before the period is over or while an 异议 is unanswered."""
    policies.require(policies.can_manage(act.access))
    issue_id = issue.id or 0
    return _act(
        act,
        issue_id,
        lambda: service.end_publicity(**act.who, issue_id=issue_id),
        done=_moved_on,
        errors_at=lambda errors: {"end_error": next(iter(errors.values()))},
        leave_to=url("issues.detail", hall_id=act.hall_id, issue_id=issue_id),
        conflict_at="end_error",
    )


def _moved_on(moved: Any) -> str:
    if isinstance(moved, Issue) and moved.stage == Stage.IMPLEMENTING:
        return _("公示期满，议题已转入办理")
    return _("异议已被采纳，议题退回协商")
