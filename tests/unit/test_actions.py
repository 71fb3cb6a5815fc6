"""The one action responder (app/web/actions.py): what each outcome of a service call answers,
for a plain form and for htmx."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import Response
from starlette.requests import Request

from app.config import Settings
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.web.actions import Outcome, attempt, respond
from app.web.forms import Refusals


class FakeSession:
    def __init__(self) -> None:
        self.rollbacks = 0

    def rollback(self) -> None:
        self.rollbacks += 1


def fake_session() -> Any:
    return FakeSession()


def request(*, htmx: bool = False) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(settings=Settings(secret_key="k" * 32)))
    headers = [(b"hx-request", b"true")] if htmx else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "app": app})


def page(outcome: Outcome[Any]) -> Response:
    return Response(f"page {sorted(outcome.errors)} {outcome.notice}", status_code=outcome.status)


def fails(exc: Exception) -> Any:
    def run() -> None:
        raise exc

    return run


def test_attempt_reads_each_refusal_and_rolls_it_back() -> None:
    session = fake_session()
    ok = attempt(session, lambda: 7, done=lambda n: f"done {n}")
    assert (ok.status, ok.result, ok.notice, session.rollbacks) == (200, 7, "done 7", 0)
    field = attempt(session, fails(ValidationFailed({"title": "too_long"})))
    assert field.status == 422
    assert set(field.errors) == {"title"}
    assert field.errors["title"]
    for exc in (Conflict("already_member"), NotAllowed("not_allowed")):
        conflict = attempt(session, fails(exc))
        assert conflict.status == 409
        assert conflict.conflict == conflict.errors["_"]
    assert session.rollbacks == 3


def test_refused_values_fail_before_the_service_runs() -> None:
    ran = []
    outcome = attempt(
        fake_session(), lambda: ran.append(1), refused=Refusals(title="text_unstorable")
    )
    assert outcome.status == 422
    assert "title" in outcome.errors
    assert not ran


@pytest.mark.parametrize(
    ("htmx", "on_htmx", "run", "status", "where"),
    [
        # a plain form: success and conflicts go back with PRG, a field error is the page again
        (False, "partial", lambda: None, 303, "/done"),
        (False, "partial", fails(Conflict("x")), 303, "/back"),
        (False, "partial", fails(ValidationFailed({"f": "required"})), 422, None),
        # htmx: the partial (with its notice), unless the success leaves or redirects
        (True, "partial", lambda: None, 200, None),
        (True, "partial", fails(Conflict("x")), 409, None),
        (True, "partial", fails(ValidationFailed({"f": "required"})), 422, None),
        (True, "redirect", lambda: None, 303, "/done"),
        (True, "leave", lambda: None, 200, "HX:/done"),
    ],
)
def test_the_answer_for_each_outcome(
    htmx: bool, on_htmx: Any, run: Any, status: int, where: str | None
) -> None:
    response = respond(
        request(htmx=htmx),
        fake_session(),
        run,
        to="/done",
        conflict_to="/back",
        page=page,
        done="saved",
        htmx=on_htmx,
    )
    assert response.status_code == status
    if where is None:
        assert bytes(response.body).startswith(b"page")
    elif where.startswith("HX:"):
        assert response.headers["HX-Redirect"] == where[3:]
        assert "set-cookie" in response.headers  # the notice, as a flash for the next page
    else:
        assert response.headers["location"] == where


def test_a_destination_worked_out_from_the_result() -> None:
    response = respond(
        request(),
        fake_session(),
        lambda: 42,
        to=lambda n: f"/things/{n}",
        page=page,
    )
    assert response.headers["location"] == "/things/42"
    conflict = respond(
        request(),
        fake_session(),
        fails(Conflict("x")),
        to=lambda n: f"/things/{n}",
        page=page,
    )
    assert conflict.status_code == 409  # nowhere to go back to: the page says it
