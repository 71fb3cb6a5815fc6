"""JSON API for 三率: a street's report per hall, department or property company (issue #13).
The same use case as the page; every rate carries its exact numerator and denominator."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from app.core import clock, fields
from app.core.errors import ValidationFailed
from app.evaluations.rules import Ratio
from app.halls.deps import StreetDep
from app.rates import service
from app.rates.period import parse
from app.rates.queries import By
from app.rates.rules import Rates, ratio
from app.rates.service import Report, ReportRow
from app.web.deps import SessionDep
from app.web.openapi import errors, session_cookie
from app.web.routing import GuardedRoute

router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1/streets/{street_id}",
    tags=["api"],
    dependencies=[Depends(session_cookie)],
    responses=errors(401, 403, 404, 422),
)


class RatePublic(BaseModel):
    """An exact rate: the reduced fraction, and its value to 4 places rounded down."""

    numerator: int
    denominator: int
    value: str


class CountsPublic(BaseModel):
    rounds: int  # closed evaluation rounds
    valid: int  # 有效评价
    satisfied: int
    basic: int  # 基本满意
    dissatisfied: int
    resolved_yes: int
    resolved_no: int
    assessed: int  # 响应率's denominator
    in_time: int  # 响应率's numerator


class RatesPublic(BaseModel):
    counts: CountsPublic
    response_rate: RatePublic | None  # null without data, never 0
    resolution_rate: RatePublic | None
    satisfaction_rate: RatePublic | None
    score: RatePublic | None  # 综合得分 in [0, 1]; null unless all three rates exist


class MonthPublic(RatesPublic):
    month: str  # YYYY-MM, Beijing time


class RowPublic(RatesPublic):
    id: int  # the hall, department or company (0 for the total)
    name: str
    months: list[MonthPublic]


class WeightsPublic(BaseModel):
    response: int  # whole percent; the three sum to 100
    resolution: int
    satisfaction: int
    basic_satisfied: RatePublic  # the street's 基本满意 coefficient


class ReportPublic(BaseModel):
    street_id: int
    by: By
    date_from: date  # inclusive, Beijing time
    date_to: date  # inclusive, Beijing time
    weights: WeightsPublic
    rows: list[RowPublic]
    total: RowPublic  # the street: the rows added up, each evaluation round counted once


# The figures come from the use case, exact and of the declared types: the models are
# constructed without validating them again (model_construct), then serialised.


def _any(data: dict[str, int]) -> dict[str, Any]:
    return data


def _rate(r: Ratio | None) -> RatePublic | None:
    return None if r is None else RatePublic.model_construct(None, **r.data())


def _rates(r: Rates) -> dict[str, Any]:
    return {
        "counts": CountsPublic.model_construct(None, **_any(r.tally.data())),
        "response_rate": _rate(r.response),
        "resolution_rate": _rate(r.resolution),
        "satisfaction_rate": _rate(r.satisfaction),
        "score": _rate(r.score),
    }


def _row(report: Report, row: ReportRow) -> RowPublic:
    months = [
        MonthPublic.model_construct(None, month=m.key, **_rates(r))
        for m, r in zip(report.months, row.months, strict=True)
    ]
    return RowPublic.model_construct(
        None, id=row.id, name=row.name, months=months, **_rates(row.rates)
    )


def report_public(street_id: int, report: Report) -> ReportPublic:
    w = report.weights
    return ReportPublic(
        street_id=street_id,
        by=report.by,
        date_from=report.period.first,
        date_to=report.period.last,
        weights=WeightsPublic(
            response=w.response,
            resolution=w.resolution,
            satisfaction=w.satisfaction,
            basic_satisfied=RatePublic(**ratio(w.basic).data()),
        ),
        rows=[_row(report, row) for row in report.rows],
        total=_row(report, report.total),
    )


@router.get(
    "/rates",
    name="api.street_rates",
    response_model=None,
    responses={200: {"model": ReportPublic, "description": "The report"}},
)
def street_rates(
    view: StreetDep,
    session: SessionDep,
    by: Annotated[By, Query()] = By.HALL,
    date_from: Annotated[fields.Text, Query(alias="from", max_length=20)] = "",
    date_to: Annotated[fields.Text, Query(alias="to", max_length=20)] = "",
) -> Response:
    """三率 of every hall, department or property company of the street over [from, to]
    (dates, both inclusive, Beijing time; default the last 12 months), with the raw counts
    and the month-by-month series (the street's officials; 404 to anyone else)."""
    period, problems = parse(date_from, date_to, clock.now())
    if problems:
        raise ValidationFailed(problems)
    report = service.street_report(
        session=session,
        access=view.access,
        street=view.street,
        by=by,
        period=period,
        now=clock.now(),
    )
    # Built from the use case's exact figures, so sent as it is (not validated a second time).
    body = report_public(view.street.id or 0, report).model_dump_json()
    return Response(body, media_type="application/json")
