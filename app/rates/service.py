"""三率 use cases: a street's report (per hall, department or company), a hall's own, and the
street's weights. The arithmetic is app.rates.rules; the counts come from app.rates.queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from functools import cached_property

from sqlmodel import Session

from app.accounts.models import User
from app.audit import service as audit
from app.core.errors import NotAllowed, NotFound, ValidationFailed
from app.halls.models import Hall, Street
from app.halls.policies import HallAccess, StreetAccess
from app.rates import policies, schemas
from app.rates.period import Month, Period
from app.rates.queries import By, Tallies, tallies
from app.rates.rules import Rates, Tally, Weights, rates, total


@dataclass(frozen=True)
class ReportRow:
    id: int  # 0 for the total
    name: str
    rates: Rates  # over the whole period
    tallies: tuple[Tally, ...]  # per month
    weights: Weights

    @cached_property
    def months(self) -> tuple[Rates, ...]:
        """The rates month by month, worked out when asked for (the page charts only the
        total's; the API gives every row's)."""
        return tuple(rates(t, self.weights) for t in self.tallies)


@dataclass(frozen=True)
class Report:
    by: By
    period: Period
    months: tuple[Month, ...]
    weights: Weights
    rows: tuple[ReportRow, ...]
    total: ReportRow  # the street's: the rows' counts added up, each evaluation round once


def weights_of(street: Street) -> Weights:
    return Weights(
        street.rate_weight_response,
        street.rate_weight_resolution,
        street.rate_weight_satisfaction,
        Fraction(street.basic_satisfied_weight_num, street.basic_satisfied_weight_den),
    )


def _report(by: By, period: Period, weights: Weights, found: Tallies) -> Report:
    months = tuple(period.months())
    rows = tuple(
        ReportRow(row.id, row.name, rates(total(list(row.months)), weights), row.months, weights)
        for row in found.rows
    )
    per_month = found.total
    whole = ReportRow(0, "", rates(total(list(per_month)), weights), per_month, weights)
    return Report(by, period, months, weights, rows, whole)


def street_report(
    *, session: Session, access: StreetAccess, street: Street, by: By, period: Period, now: datetime
) -> Report:
    """The 三率 of every hall, department or property company of the street over the period.

    Raises: NotFound for anyone but the street's officials."""
    if not policies.can_read_street_rates(access) or access.street_id != street.id:
        raise NotFound("not_found")
    found = tallies(session, by=by, street_id=street.id or 0, period=period, now=now)
    return _report(by, period, weights_of(street), found)


def hall_report(
    *, session: Session, access: HallAccess, hall: Hall, period: Period, now: datetime
) -> Report:
    """The hall's own 三率 (the same figures as its row on the street's page).

    Raises: NotFound for anyone but the hall's chair and the street's officials."""
    if not policies.can_read_hall_rates(access) or access.hall_id != hall.id:
        raise NotFound("not_found")
    street = session.get(Street, hall.street_id)
    if street is None:
        raise NotFound("not_found")
    found = tallies(
        session, by=By.HALL, street_id=street.id or 0, period=period, now=now, hall_id=hall.id
    )
    return _report(By.HALL, period, weights_of(street), found)


def update_rate_settings(
    *,
    session: Session,
    access: StreetAccess,
    actor: User,
    street: Street,
    form: schemas.RateSettingsForm,
) -> Street:
    """A street official sets the 三率 weights (whole percent, summing to 100) and the 基本满意
    coefficient of the street's 满意率.

    Raises: NotAllowed, ValidationFailed with a code per field; nothing is saved on error."""
    if not policies.can_edit_rate_settings(access) or access.street_id != street.id:
        raise NotAllowed("not_allowed")
    values, errors = schemas.parse_settings(form)
    if errors:
        weights = [values.get(name, 0) for name in schemas.WEIGHT_FIELDS]
        raise ValidationFailed(errors, total=sum(weights))
    row = session.get(Street, street.id)
    if row is None:
        raise NotFound("not_found")
    changed = {k: [getattr(row, k), v] for k, v in values.items() if getattr(row, k) != v}
    for key, value in values.items():
        setattr(row, key, value)
    audit.record(
        session,
        action="rates.update_rate_settings",
        actor_id=actor.id,
        hall_id=None,
        subject_type="street",
        subject_id=row.id,
        data={"changed": changed},
    )
    session.commit()
    return row
