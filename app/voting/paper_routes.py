"""The channels besides the phone: the frozen roll with in-person votes, attendance and voids
(the chair), and paper ballots — print them (the chair), enter them (计票人), confirm them
(a different 监票人), and reconcile them before the close.

Every form works as a plain POST with Post/Redirect/Get; with htmx it swaps its own card and
refreshes the counts out of band. A field error is 422 with the message next to the field; a
conflict is said under the button pressed (409, with htmx and without JS): on the roll, in the
row's card or the attendance card; on the paper desk, in the entry's row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from sqlmodel import Session

from app.core import fields
from app.core.errors import NotFound, ValidationFailed
from app.halls.action import ActionDep, HallAction
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.issues.deps import Id
from app.voting import policies, queries, schemas, service
from app.voting.deps import BallotDep
from app.voting.models import Ballot, BallotStatus, Duty, PaperBallot, PaperResult, RollEntry
from app.voting.pages import paper_url, roll_url
from app.web import qr
from app.web.actions import Outcome, answer, attempt, respond
from app.web.deps import SessionDep, SettingsDep
from app.web.forms import FormRoute, Refused
from app.web.htmx import is_partial, render
from app.web.i18n import _
from app.web.links import print_context, public_url
from app.web.messages import message

router = APIRouter(tags=["voting"], route_class=FormRoute)

SEARCH_MAX = 40  # the roll's search box
# Cards refreshed out of band after an action on another card.
ROLL_SUMMARY = "voting/_roll_summary.html"
PAPER_COUNTS = "voting/_paper_counts.html"
PAPER_PENDING = "voting/_paper_pending.html"


def _new_submission_id() -> str:
    return str(uuid.uuid4())


def _digits(raw: str) -> int | None:
    raw = raw.strip()
    return fields.parse_id(raw)


def _clean_code(raw: str) -> str:
    """A code from the query string (the QR on the paper) to prefill the entry form."""
    return "".join(c for c in raw.upper() if c.isascii() and (c.isalnum() or c == "-"))[:16]


def _fresh(session: Session, hall: Hall, ballot: Ballot) -> Ballot:
    current = queries.get_ballot(session, hall_id=hall.id or 0, ballot_id=ballot.id or 0)
    if current is None:
        raise NotFound("not_found")
    return current


# --- the roll (the chair) ---------------------------------------------------------------------


def _roll_context(
    session: Session, hall: Hall, access: HallAccess, ballot: Ballot, *, q: str = ""
) -> dict[str, Any]:
    rows = queries.roll_rows(session, ballot)
    options = queries.option_codes(session, ballot.id or 0)
    needle = q.strip().upper()
    shown = (
        [r for r in rows if needle in r.entry.label.upper() or needle in (r.paper_code or "")]
        if needle
        else rows
    )
    return {
        "hall": hall,
        "access": access,
        "ballot": ballot,
        "rows": shown,
        "all_rows": rows,
        "q": q,
        "summary": queries.summarise_roll(rows),
        "options": options,
        "option_labels": dict(options),
        "by_area": ballot.voter_unit == "owner",
        "meeting_rule": ballot.rule in service.MEETING_RULES,
        "meeting": queries.held_at(session, ballot),
        "can_record": ballot.status == BallotStatus.OPEN,
        "frozen": ballot.status != BallotStatus.DRAFT,
        "new_submission_id": _new_submission_id,
        "row_errors": {},
        "row_pressed": {},  # a row's refused button: said under it (_roll_answer)
        "attendance_errors": {},
        "page_error": None,
        "notice": None,
        "oob": False,
        "oob_parts": (),
    }


@router.get("/halls/{hall_id}/ballots/{ballot_id}/roll", name="ballots.roll")
def roll(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    ballot: BallotDep,
    q: fields.Text = "",
) -> Response:
    """The frozen roll as cards: each voter's current vote, channel and paper code."""
    policies.require(policies.can_manage(access))
    context = _roll_context(session, hall, access, ballot, q=q[:SEARCH_MAX])
    return render(request, "voting/roll.html", context)


def _roll_answer(
    act: HallAction,
    ballot: Ballot,
    outcome: Outcome[Any],
    *,
    roll_id: int | None,
    done: Callable[[queries.RollRow, dict[str, str]], str],
    pressed: dict[str, Any],
    typed: dict[str, str] | None = None,
) -> Response:
    """The row's card (htmx, with the summary out of band) or PRG back to the row; a refusal
    is said under the button pressed (`pressed`: {"button": "in_person"} or {"button": "void",
    "vote_id": …}), in the row's card (htmx) or on the roll narrowed to that row (409)."""
    context = _roll_context(
        act.session, act.hall, act.access, _fresh(act.session, act.hall, ballot)
    )
    row = next((r for r in context["all_rows"] if r.entry.id == roll_id), None)
    if outcome.ok and row is not None:
        outcome.notice = done(row, context["option_labels"])
    anchor = f"#roll-{roll_id}" if row is not None else ""

    def page(outcome: Outcome[Any]) -> Response:
        if outcome.conflict and roll_id is not None:
            context["row_pressed"] = {roll_id: pressed}
        return _roll_page(act.request, context, outcome, row, roll_id, typed)

    return answer(act.request, outcome, to=roll_url(ballot) + anchor, page=page, beside=True)


def _roll_page(
    request: Request,
    context: dict[str, Any],
    outcome: Outcome[Any],
    row: queries.RollRow | None,
    roll_id: int | None,
    typed: dict[str, str] | None,
) -> Response:
    """The row's card again (htmx) or the roll narrowed to that row (422 / 409: the messages
    are in sight, not somewhere in a roll of hundreds), with the messages."""
    notice = outcome.notice
    if row is None:
        # Not a voter of this roll: nothing to show in place; say so where the page shows news.
        problem = outcome.errors.get("roll_id") or next(iter(outcome.errors.values()), "")
        context["page_error"] = problem or message("roll_entry_required")
        status = outcome.status if outcome.status != 200 else 422
        if not is_partial(request):
            return render(request, "voting/roll.html", context, status_code=status)
        response = render(request, "voting/_paper_flash.html", context, status_code=status)
        response.headers["HX-Reswap"] = "none"
        return response
    context["row_errors"] = {roll_id: outcome.errors}
    context["row_form"] = {roll_id: typed or {}}  # what was typed, to correct it
    if not is_partial(request):
        context |= {"rows": [row], "q": row.entry.label}  # 找到 1 位 · 显示全部
        return render(request, "voting/roll.html", context, status_code=outcome.status)
    context |= {"row": row, "notice": notice, "oob_parts": (ROLL_SUMMARY,)}
    return render(request, "voting/_roll_row.html", context, status_code=outcome.status)


@router.post("/halls/{hall_id}/ballots/{ballot_id}/in-person", name="ballots.in_person")
def in_person(
    act: ActionDep,
    refused: Refused,
    ballot: BallotDep,
    roll_id: Annotated[fields.Text, Form()] = "",
    option: Annotated[fields.Text, Form()] = "",
    submission_id: Annotated[fields.Text, Form()] = "",
) -> Response:
    """The chair records one voter's vote given at the meeting (a show of hands, a spoken vote)."""
    policies.require(policies.can_manage(act.access))
    form = schemas.InPersonForm(
        roll_id=_digits(roll_id), option=option, submission_id=submission_id
    )
    outcome = attempt(
        act.session,
        lambda: service.record_in_person(**act.who, ballot_id=ballot.id or 0, form=form),
        refused=refused,
    )
    done = partial(_recorded, option, getattr(outcome.result, "receipt", ""))
    pressed, typed = {"button": "in_person"}, {"option": option}
    return _roll_answer(
        act, ballot, outcome, roll_id=form.roll_id, done=done, pressed=pressed, typed=typed
    )


def _recorded(option: str, receipt: str, row: queries.RollRow, labels: dict[str, str]) -> str:
    return _("已记录 %(label)s 的现场表决：%(choice)s，回执码 %(code)s") % {
        "label": row.entry.label,
        "choice": labels.get(option, option),
        "code": receipt,
    }


@router.post("/halls/{hall_id}/ballots/{ballot_id}/votes/{vote_id}/void", name="ballots.void")
def void(
    act: ActionDep,
    refused: Refused,
    ballot: BallotDep,
    vote_id: Id,
    reason: Annotated[fields.Text, Form()] = "",
) -> Response:
    """The chair voids a current vote entered in error, with the reason; the voter may vote
    again. The vote stays in the ledger, marked void."""
    policies.require(policies.can_manage(act.access))
    with act.reading() as read:
        roll_id = queries.vote_roll_id(read, ballot.id or 0, vote_id)
    policies.require(roll_id is not None)
    form = schemas.VoidForm(reason=reason)
    outcome = attempt(
        act.session,
        lambda: service.void_vote(**act.who, ballot_id=ballot.id or 0, vote_id=vote_id, form=form),
        refused=refused,
    )
    pressed, typed = {"button": "void", "vote_id": vote_id}, {"reason": reason}
    return _roll_answer(
        act, ballot, outcome, roll_id=roll_id, done=_voided, pressed=pressed, typed=typed
    )


def _voided(row: queries.RollRow, labels: dict[str, str]) -> str:
    del labels
    return _("已作废 %(label)s 的投票，可重新投票") % {"label": row.entry.label}


@router.post("/halls/{hall_id}/ballots/{ballot_id}/attendance", name="ballots.attendance")
def attendance(
    act: ActionDep,
    ballot: BallotDep,
    present_ids: Annotated[list[fields.Text] | None, Form()] = None,
) -> Response:
    """The chair records who is at the meeting (实到); voters who voted count as present."""
    policies.require(policies.can_manage(act.access))
    ids = [n for n in (_digits(raw) for raw in present_ids or []) if n is not None]
    form = schemas.AttendanceForm(present_ids=ids)
    return respond(
        act.request,
        act.session,
        lambda: service.record_attendance(**act.who, ballot_id=ballot.id or 0, form=form),
        to=roll_url(ballot) + f"#ballot-{ballot.id}-attendance",
        page=partial(_attendance_card, act, ballot),
        done=lambda n: _("出席已保存：实到 %(n)s 人") % {"n": n},
        beside=True,
    )


def _attendance_card(act: HallAction, ballot: Ballot, outcome: Outcome[Any]) -> Response:
    fresh = _fresh(act.session, act.hall, ballot)
    context = _roll_context(act.session, act.hall, act.access, fresh)
    context |= {"attendance_errors": outcome.errors, "notice": outcome.notice}
    context["oob_parts"] = (ROLL_SUMMARY,)
    template = "voting/_roll_attendance.html" if is_partial(act.request) else "voting/roll.html"
    return render(act.request, template, context, status_code=outcome.status)


# --- paper ballots (the chair, 计票人, 监票人) ----------------------------------------------------


def _paper_context(
    session: Session,
    hall: Hall,
    access: HallAccess,
    ballot: Ballot,
    duties: frozenset[Duty],
    *,
    code: str = "",
    also: int | None = None,
) -> dict[str, Any]:
    """The paper desk; `also`: an entry to list though no longer pending (a refused 确认)."""
    is_open = ballot.status == BallotStatus.OPEN
    options = queries.option_codes(session, ballot.id or 0)
    entries = queries.pending_entries(
        session,
        ballot.id or 0,
        full_labels=policies.sees_full_roll(access),
        secret=ballot.secret,
        also=also,
    )
    return {
        "hall": hall,
        "access": access,
        "ballot": ballot,
        "duties": duties,
        "recon": queries.reconciliation(session, ballot.id or 0),
        "entries": entries,
        "confirmable": {
            row.entry.id
            for row in entries
            if is_open
            and policies.can_confirm_paper(access, duties, entered_by=row.entry.entered_by_id)
        },
        "can_issue": is_open and policies.can_manage(access),
        "can_print": policies.can_manage(access),
        "can_enter": is_open and policies.can_enter_paper(access, duties),
        "is_open": is_open,
        "options": options,
        "option_labels": dict(options),
        "results": list(PaperResult),
        "officers": queries.officers(session, ballot.id or 0),
        "form": {"code": code, "result": PaperResult.VOTE.value, "option": ""},
        "submission_id": _new_submission_id(),
        "entry_errors": {},
        "pending_errors": {},
        "counts_errors": {},
        "entry_notice": None,
        "pending_notice": None,
        "counts_notice": None,
        "oob": False,
        "oob_parts": (),
    }


def _duties(session: Session, access: HallAccess, ballot: Ballot) -> frozenset[Duty]:
    return queries.duties(session, ballot.id or 0, access.user_id)


@router.get("/halls/{hall_id}/ballots/{ballot_id}/paper", name="ballots.paper")
def paper(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    ballot: BallotDep,
    code: fields.Text = "",
) -> Response:
    """The paper desk: the reconciliation, the 计票人's entry form (prefilled from the QR on the
    paper) and the entries waiting for a 监票人."""
    duties = _duties(session, access, ballot)
    policies.require(policies.can_see_paper(access, duties))
    context = _paper_context(session, hall, access, ballot, duties, code=_clean_code(code))
    return render(request, "voting/paper.html", context)


@router.post("/halls/{hall_id}/ballots/{ballot_id}/paper/issue", name="ballots.paper_issue")
def issue_papers(act: ActionDep, ballot: BallotDep) -> Response:
    """The chair issues a coded paper ballot to every voter of the roll who has none yet."""
    policies.require(policies.can_manage(act.access))
    return respond(
        act.request,
        act.session,
        lambda: service.issue_paper_ballots(**act.who, ballot_id=ballot.id or 0),
        to=paper_url(ballot),
        page=partial(_paper_card, act, ballot, "counts"),
        done=_issued,
        beside=True,
    )


def _paper_card(
    act: HallAction,
    ballot: Ballot,
    card: str,
    outcome: Outcome[Any],
    *,
    duties: frozenset[Duty] | None = None,
    typed: dict[str, str] | None = None,
    pressed: tuple[int, str] | None = None,
) -> Response:
    """One card of the paper desk again (htmx, the others it changes out of band), or the desk
    with the card's message: `card` is "counts", "entry" or "pending". A refusal is said
    under the button pressed (`pressed`: the pending entry and "confirm" or "reject")."""
    fresh = _fresh(act.session, act.hall, ballot)
    if duties is None:
        duties = _duties(act.session, act.access, fresh)
    refused = pressed if outcome.conflict else None
    also = refused[0] if refused else None
    context = _paper_context(act.session, act.hall, act.access, fresh, duties, also=also)
    context["refused_entry"] = refused
    context |= {f"{card}_errors": outcome.errors, f"{card}_notice": outcome.notice}
    if typed is not None and not outcome.ok:
        context["form"] = typed  # keep what was typed, to correct it
    # A refused entry (the ballot closed meanwhile): its form again, the reason under its button.
    context["entry_refused"] = card == "entry" and outcome.conflict is not None
    if not is_partial(act.request):
        return render(act.request, "voting/paper.html", context, status_code=outcome.status)
    context["oob_parts"] = _PAPER_OOB[card]
    template = f"voting/_paper_{card}.html"
    return render(act.request, template, context, status_code=outcome.status)


_PAPER_OOB = {"counts": (), "entry": (PAPER_COUNTS, PAPER_PENDING), "pending": (PAPER_COUNTS,)}


def _issued(n: int) -> str:
    if n:
        return _("已生成 %(n)s 张纸质票，请打印后发给投票人") % {"n": n}
    return _("每位投票人都已有纸质票")


@router.get("/halls/{hall_id}/ballots/{ballot_id}/paper/print", name="ballots.paper_print")
def print_papers(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    hall: HallDep,
    access: AccessDep,
    ballot: BallotDep,
) -> Response:
    """Printable A4 ballots, one per voter: the code in big letters and as a QR code that opens
    the entry form with the code filled in. A named (记名) ballot carries its voter and a
    signature line; a 无记名 one only its code (the signature goes on the 领票登记 sheet), in
    the order of that sheet."""
    policies.require(policies.can_manage(access))
    entry_url = public_url(request, settings, paper_url(ballot))
    context = {
        "hall": hall,
        "access": access,
        "ballot": ballot,
        "meeting": queries.held_at(session, ballot),
        "sheets": _sheets(session, ballot, entry_url),
        "options": queries.option_codes(session, ballot.id or 0),
        "by_area": ballot.voter_unit == "owner",
        **print_context(request, settings),
    }
    return render(request, "voting/paper_print.html", context)


def _sheets(
    session: Session, ballot: Ballot, entry_url: str
) -> list[tuple[PaperBallot, RollEntry | None, qr.QrPath]]:
    """One sheet per paper ballot: the paper, its voter (记名 only) and its QR code's path."""
    return [
        (paper, None if ballot.secret else roll, qr.path(f"{entry_url}?code={paper.code}"))
        for paper, roll in queries.paper_ballots(session, ballot.id or 0)
    ]


@router.get("/halls/{hall_id}/ballots/{ballot_id}/paper/sign-sheet", name="ballots.sign_sheet")
def sign_sheet(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    ballot: BallotDep,
) -> Response:
    """领票登记表: the frozen roll in order, one line per voter with a column for the signature
    given when taking a paper ballot. No ballot codes: the sheet records who took a ballot,
    never which one."""
    policies.require(policies.can_manage(access))
    policies.require(ballot.status != BallotStatus.DRAFT)
    context = {
        "hall": hall,
        "access": access,
        "ballot": ballot,
        "rows": queries.roll_labels(session, ballot.id or 0),
        "by_area": ballot.voter_unit == "owner",
    }
    return render(request, "voting/paper_sign_sheet.html", context)


@router.post("/halls/{hall_id}/ballots/{ballot_id}/paper/entries", name="ballots.paper_enter")
def enter_paper(
    act: ActionDep,
    refused: Refused,
    ballot: BallotDep,
    code: Annotated[fields.Text, Form()] = "",
    result: Annotated[fields.Text, Form()] = "",
    option: Annotated[fields.Text, Form()] = "",
    submission_id: Annotated[fields.Text, Form()] = "",
) -> Response:
    """A 计票人 enters a returned paper ballot by its code; it counts once a 监票人 confirms."""
    with act.reading() as read:
        duties = _duties(read, act.access, ballot)
    policies.require(policies.can_enter_paper(act.access, duties))
    typed = {"code": code[:32], "result": result, "option": option}
    form = partial(_entry_form, code, result, option, submission_id)
    return respond(
        act.request,
        act.session,
        lambda: service.enter_paper(**act.who, ballot_id=ballot.id or 0, form=form()),
        refused=refused,
        to=paper_url(ballot) + f"#ballot-{ballot.id}-paper-entry",
        page=partial(_paper_card, act, ballot, "entry", duties=duties, typed=typed),
        done=_("已录入 %(code)s，请另一位监票人确认") % {"code": service.normalise_code(code)},
        beside=True,
    )


def _entry_form(code: str, result: str, option: str, submission_id: str) -> schemas.PaperEntryForm:
    if result not in PaperResult._value2member_map_:
        raise ValidationFailed({"result": "paper_result_required"})
    return schemas.PaperEntryForm(
        code=code, result=PaperResult(result), option=option, submission_id=submission_id
    )


def _decide(act: HallAction, ballot: Ballot, entry_id: int, *, agree: bool) -> Response:
    with act.reading() as read:
        duties = _duties(read, act.access, ballot)
    policies.require(policies.can_see_paper(act.access, duties))
    pressed = (entry_id, "confirm" if agree else "reject")
    return respond(
        act.request,
        act.session,
        lambda: service.confirm_paper(
            **act.who, ballot_id=ballot.id or 0, entry_id=entry_id, agree=agree
        ),
        to=paper_url(ballot) + f"#ballot-{ballot.id}-paper-pending",
        page=partial(_paper_card, act, ballot, "pending", duties=duties, pressed=pressed),
        done=partial(_decided, agree),
        beside=True,
    )


def _decided(agree: bool, vote: Any) -> str:
    if not agree:
        return _("已退回，请计票人重新录入这张票")
    if vote is not None:
        return _("已确认，计入表决，回执码 %(code)s") % {"code": vote.receipt}
    return _("已确认，计入纸质票清点")


@router.post(
    "/halls/{hall_id}/ballots/{ballot_id}/paper/entries/{entry_id}/confirm",
    name="ballots.paper_confirm",
)
def confirm_entry(act: ActionDep, ballot: BallotDep, entry_id: Id) -> Response:
    """A 监票人 (not the one who entered it) confirms a paper entry: a choice becomes a vote."""
    return _decide(act, ballot, entry_id, agree=True)


@router.post(
    "/halls/{hall_id}/ballots/{ballot_id}/paper/entries/{entry_id}/reject",
    name="ballots.paper_reject",
)
def reject_entry(act: ActionDep, ballot: BallotDep, entry_id: Id) -> Response:
    """A 监票人 disagrees with the reading: the paper may be entered again."""
    return _decide(act, ballot, entry_id, agree=False)
