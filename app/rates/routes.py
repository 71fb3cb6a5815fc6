"""三率 pages: a street's report per hall / department / property company with its monthly chart,
the street's weights, and a hall's own 三率 for its chair."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from sqlmodel import Session

from app.accounts.deps import CurrentUser
from app.core import clock, fields
from app.core.errors import NotFound
from app.halls.deps import AccessDep, HallDep, StreetDep, StreetView
from app.rates import labels, policies, schemas, service
from app.rates.period import Period, parse
from app.rates.queries import By
from app.web.actions import Outcome, respond
from app.web.deps import SessionDep
from app.web.forms import FormRoute, Refused
from app.web.htmx import field_errors, render
from app.web.i18n import _
from app.web.links import url

router = APIRouter(tags=["rates"], route_class=FormRoute)

ByQuery = Annotated[fields.Text, Query(max_length=20)]
DateQuery = Annotated[fields.Text, Query(max_length=20)]
FromQuery = Annotated[fields.Text, Query(alias="from", max_length=20)]


def _ask(by: str, raw_from: str, raw_to: str) -> tuple[By, Period, dict[str, str]]:
    """What the report is asked for: the grouping and the period, and error codes per field."""
    period, errors = parse(raw_from, raw_to, clock.now())
    choice = By.HALL
    if by:
        try:
            choice = By(by)
        except ValueError:
            errors["by"] = "choice_required"
    return choice, period, errors


def _street_page(
    request: Request, session: Session, view: StreetView, by: str, raw_from: str, raw_to: str
) -> Response:
    choice, period, errors = _ask(by, raw_from, raw_to)
    report = service.street_report(
        session=session,
        access=view.access,
        street=view.street,
        by=choice,
        period=period,
        now=clock.now(),
    )
    context = labels.page_context(report, street=view.street, asked=(by, raw_from, raw_to))
    context.update(
        errors=field_errors(errors), can_edit=policies.can_edit_rate_settings(view.access)
    )
    return render(request, "rates/street.html", context, status_code=422 if errors else 200)


@router.get("/streets/{street_id}/rates", name="rates.street")
def street_rates(
    request: Request,
    view: StreetDep,
    session: SessionDep,
    by: ByQuery = "",
    date_from: FromQuery = "",
    to: DateQuery = "",
) -> Response:
    return _street_page(request, session, view, by, date_from, to)


@router.get("/halls/{hall_id}/rates", name="rates.hall")
def hall_rates(
    request: Request,
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    date_from: FromQuery = "",
    to: DateQuery = "",
) -> Response:
    if not policies.can_read_hall_rates(access):
        raise NotFound("not_found")
    _, period, errors = _ask("", date_from, to)
    report = service.hall_report(
        session=session, access=access, hall=hall, period=period, now=clock.now()
    )
    context = labels.page_context(report, hall=hall, asked=("", date_from, to))
    context["errors"] = field_errors(errors)
    return render(request, "rates/hall.html", context, status_code=422 if errors else 200)


# --- the street's weights ------------------------------------------------------------------


def _settings_values(view: StreetView) -> dict[str, Any]:
    return {name: getattr(view.street, name) for name in schemas.SETTING_BOUNDS}


@router.get("/streets/{street_id}/rates/settings", name="rates.settings")
def settings_page(request: Request, view: StreetDep) -> Response:
    if not policies.can_edit_rate_settings(view.access):
        raise NotFound("not_found")
    context = {"street": view.street, "form": _settings_values(view), "errors": {}}
    return render(request, "rates/settings.html", context)


@router.post("/streets/{street_id}/rates/settings", name="rates.settings_post")
def update_settings(
    request: Request,
    view: StreetDep,
    session: SessionDep,
    user: CurrentUser,
    refused: Refused,
    form: Annotated[schemas.RateSettingsForm, Form()],
) -> Response:
    return respond(
        request,
        session,
        lambda: service.update_rate_settings(
            session=session, access=view.access, actor=user, street=view.street, form=form
        ),
        refused=refused,
        to=url("rates.street", street_id=view.street.id),
        page=partial(_settings_again, request, view, form),
        done=_("三率权重已保存"),
        htmx="redirect",
    )


def _settings_again(
    request: Request, view: StreetView, form: schemas.RateSettingsForm, outcome: Outcome[Any]
) -> Response:
    context = {"street": view.street, "form": form.model_dump(), "errors": outcome.errors}
    return render(request, "rates/settings.html", context, status_code=outcome.status)
