"""The one action responder: every form route runs its service call through it.

A form route parses its form model, then hands `respond` the service call and what to do with
each outcome. `respond` knows no domain; it owns the block every form route used to write:

- the edge's refusals first (`Refused`, app/web/forms.py): a refused value is a field error;
- the service call; a `ValidationFailed` rolls back and becomes 422 with a message per field,
  a `Conflict` / `NotAllowed` rolls back and becomes 409 with one message (key "_");
- the answer: a plain form (no htmx) goes back with Post/Redirect/Get — success with a flash,
  a conflict with a warning flash (303) — and only a field error renders the page again (422);
  an htmx request gets `page(outcome)`: the partial with its notice, or the form again with
  its messages (200 / 409 / 422). A route whose refusals are said under the button pressed
  (`beside`: the action has no field of its own, and the page it goes back to may no longer
  show the button) answers a plain form's conflict with `page` too (409), not a warning flash. A partial that does not itself say the notice (or the
  conflict) gets it out of band in #flash (`said_in_place`): every htmx action answers.

`htmx` says what an htmx success gets instead of the partial: "redirect" (303; htmx follows it
and swaps the page it lands on) or "leave" (HX-Redirect: the browser loads `to`, e.g. when the
page the form was on is out of date). `attempt` and `answer` are the two halves, for a route
whose notice or page needs the service's result first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from fastapi import Request, Response
from markupsafe import escape
from sqlmodel import Session

from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.web import flash
from app.web.forms import Refusals
from app.web.htmx import field_errors, is_partial, redirect
from app.web.messages import message
from app.web.templating import templates

T = TypeVar("T")
OnHtmxSuccess = Literal["partial", "redirect", "leave"]


@dataclass
class Outcome(Generic[T]):
    """What one service call came to: 200 with its result, 422 per field or 409 ("_")."""

    status: int
    errors: dict[str, str] = field(default_factory=dict)
    result: T | None = None
    notice: str | None = None  # the success message (flash without htmx, in the partial with)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def conflict(self) -> str | None:
        return self.errors.get("_") if self.status == 409 else None


def attempt(
    session: Session,
    run: Callable[[], T],
    *,
    refused: Refusals | None = None,
    done: str | Callable[[T], str] | None = None,
) -> Outcome[T]:
    """Run one service call; a refusal rolls back and becomes messages for the page."""
    try:
        if refused is not None:
            refused.check()
        result = run()
    except ValidationFailed as exc:
        session.rollback()
        return Outcome(422, field_errors(exc.errors, **exc.params))
    except (Conflict, NotAllowed) as exc:
        session.rollback()
        return Outcome(409, {"_": message(exc.code, **exc.params)})
    notice = done(result) if callable(done) else done
    return Outcome(200, result=result, notice=notice)


def answer(
    request: Request,
    outcome: Outcome[T],
    *,
    to: str | Callable[[T], str],
    page: Callable[[Outcome[Any]], Response],
    conflict_to: str | None = None,
    htmx: OnHtmxSuccess = "partial",
    beside: bool = False,
) -> Response:
    """PRG for a plain form (success, conflict), `page` for a field error and for htmx.

    `to` may be worked out from the service's result (the new issue's page); a conflict then
    goes to `conflict_to`, or, without one, gets `page` like a field error. With `beside` a
    conflict always gets `page`: the form again, the reason under its button (409)."""
    partial = is_partial(request)
    if outcome.ok:
        target = to(outcome.result) if callable(to) else to  # type: ignore[arg-type]
        if partial and htmx == "leave":
            response = Response(status_code=200, headers={"HX-Redirect": target})
            if outcome.notice:
                flash.set_flash(response, request.app.state.settings, outcome.notice)
            return response
        if not partial or htmx == "redirect":
            return redirect(request, target, flash_text=outcome.notice)
    elif outcome.status == 409 and not partial and not beside:
        back = conflict_to or (None if callable(to) else to)
        if back is not None:
            return redirect(request, back, flash_text=outcome.errors["_"], kind="warn")
    response = page(outcome)
    if not partial:
        return response
    if outcome.ok and outcome.notice:
        return said_in_place(response, outcome.notice)
    if outcome.conflict:
        return said_in_place(response, outcome.conflict, kind="warn")
    return response


def said_in_place(response: Response, text: str, kind: str = "ok") -> Response:
    """An htmx answer that shows `text`: as it is when its partial already says it (an element
    of its own next to the control), else with the message swapped out of band into #flash."""
    said = getattr(response, "body", None)
    if not isinstance(said, bytes) or f">{escape(text)}<".encode() in said:
        return response  # a stream or a file says nothing more; the partial said it itself
    body = said
    oob = templates.get_template("shared/_flash_oob.html").render(text=text, kind=kind)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    answered = Response(
        body + oob.encode(), status_code=response.status_code, media_type=response.media_type
    )
    for key, value in headers.items():
        if key.lower() != "set-cookie":
            answered.headers[key] = value
    for value in response.headers.getlist("set-cookie"):
        answered.headers.append("set-cookie", value)
    return answered


def respond(
    request: Request,
    session: Session,
    run: Callable[[], T],
    *,
    to: str | Callable[[T], str],
    page: Callable[[Outcome[Any]], Response],
    done: str | Callable[[T], str] | None = None,
    refused: Refusals | None = None,
    conflict_to: str | None = None,
    htmx: OnHtmxSuccess = "partial",
    beside: bool = False,
) -> Response:
    """`attempt` then `answer`: the whole of a form route after it has parsed its form."""
    outcome = attempt(session, run, refused=refused, done=done)
    return answer(
        request, outcome, to=to, page=page, conflict_to=conflict_to, htmx=htmx, beside=beside
    )
