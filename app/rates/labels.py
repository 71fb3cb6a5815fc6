"""Words and the page's display model for 三率, marked for translation."""

from __future__ import annotations

from typing import Any

from app.halls.models import Hall, Street
from app.rates import chart
from app.rates.queries import By
from app.rates.rules import Rates, coefficient, percent, points
from app.rates.service import Report
from app.web.i18n import N_, gettext
from app.web.links import url

# The chart's months (period.Month.label in Chinese), for the catalog.
MONTH_LABELS = (
    N_("1月"), N_("2月"), N_("3月"), N_("4月"), N_("5月"), N_("6月"),
    N_("7月"), N_("8月"), N_("9月"), N_("10月"), N_("11月"), N_("12月"),
)  # fmt: skip
BY_LABELS = {
    By.HALL: N_("社区议事厅"),
    By.DEPARTMENT: N_("部门"),
    By.COMPANY: N_("物业公司"),
}
# What 响应率 counts for each kind of row (the formula shown beside the rate).
RESPONSE_FORMULA = {
    By.HALL: N_(
        "审核按时的议题 ÷ 已审核或已超过审核期限的议题（期限内答复即按时，逾期未答复的算作不按时）"
    ),
    By.DEPARTMENT: N_("按时报到的派单 ÷ 已报到或已超过报到时限的派单（时限内尚未报到的不计）"),
    By.COMPANY: N_("按期办结的任务 ÷ 本期已到期或已办结的任务（办结时间不晚于期限即按期）"),
}
RESPONSE_COUNTS = {
    By.HALL: N_("按时 %(n)s / 应审核 %(d)s"),
    By.DEPARTMENT: N_("按时报到 %(n)s / 应报到 %(d)s"),
    By.COMPANY: N_("按期办结 %(n)s / 应办结 %(d)s"),
}
SERIES = (
    ("response", N_("响应率")),
    ("resolution", N_("解决率")),
    ("satisfaction", N_("满意率")),
)


def _series(rows: tuple[Rates, ...]) -> dict[str, list[Any]]:
    return {
        "response": [r.response for r in rows],
        "resolution": [r.resolution for r in rows],
        "satisfaction": [r.satisfaction for r in rows],
    }


def page_context(
    report: Report,
    *,
    street: Street | None = None,
    hall: Hall | None = None,
    asked: tuple[str, str, str] = ("", "", ""),
) -> dict[str, Any]:
    """What rates/street.html and rates/hall.html show: rows, formulas, the chart, the form."""
    months = [(m.key, gettext(MONTH_LABELS[int(m.key[5:7]) - 1])) for m in report.months]
    graph = chart.build(months, _series(report.total.months))
    by, raw_from, raw_to = asked
    first, last = report.period.first.isoformat(), report.period.last.isoformat()
    tabs = []
    if street is not None:
        for choice in By:
            link = url("rates.street", street_id=street.id)
            tabs.append((choice, BY_LABELS[choice], f"{link}?by={choice}&from={first}&to={last}"))
    return {
        "street": street,
        "hall": hall,
        "report": report,
        "by": report.by,
        "by_label": BY_LABELS[report.by],
        "tabs": tabs,
        "response_formula": RESPONSE_FORMULA[report.by],
        "response_counts": RESPONSE_COUNTS[report.by],
        "series": SERIES,
        "chart": graph,
        "months": months,
        "basic": coefficient(report.weights.basic),
        "weights": report.weights,
        "form": {"by": by or report.by.value, "from": raw_from or first, "to": raw_to or last},
        "first": first,
        "last": last,
        "percent": percent,
        "points": points,
    }
