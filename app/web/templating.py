"""The one Jinja2 environment: autoescape on, gettext installed, filters for our data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from app.core.privacy import mask_phone, mask_room
from app.web.i18n import get_locale, gettext, ngettext
from app.web.links import url

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"  # served at /static (app/main.py)

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
env = templates.env
# Templates change only with a new release: no file-system check on every include.
env.auto_reload = False
assert env.autoescape  # Starlette's default; user text is escaped everywhere (XSS-01)
env.add_extension("jinja2.ext.i18n")
env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]


def _area(centi: int | None) -> str:
    """8950 -> '89.50'. Exact: integer arithmetic, no floats."""
    if centi is None:
        return "—"
    return f"{centi // 100}.{centi % 100:02d}"


BEIJING = ZoneInfo("Asia/Shanghai")


def _datetime(value: datetime | None) -> str:
    """Stored in UTC; shown in Beijing time, which is what every resident reads."""
    if value is None:
        return ""
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _date(value: datetime | None) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d") if value else ""


MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def cn_date(value: datetime | None) -> str:
    """2026年11月25日, in Beijing time (the date printed on a notice or a poster); in English
    25 November 2026."""
    if value is None:
        return ""
    local = value.astimezone(BEIJING)
    if get_locale() == "en":
        return f"{local.day} {MONTHS[local.month - 1]} {local.year}"
    return local.strftime("%Y年%m月%d日")


def page_footer() -> tuple[str, str, str]:
    """The running "第 N 页 共 M 页" at the foot of a printed sheet, in the reader's language,
    cut around its two numbers: print.css puts the page counters between the parts."""
    text = gettext("第 {page} 页 共 {pages} 页")
    before, rest = text.split("{page}", 1)
    middle, after = rest.split("{pages}", 1)
    return before, middle, after


def stored(text: str) -> str:
    """A label the server stored in Chinese when it wrote the row (a speaker's 身份 taken from
    their role): shown in the reader's language. Plain text, so autoescape still escapes it
    (unlike `_()` in a template, which would mark it safe)."""
    return gettext(text) if text else text


env.filters["area"] = _area
env.filters["cn_date"] = cn_date
env.filters["dt"] = _datetime
env.filters["date"] = _date
env.filters["mask_phone"] = mask_phone
env.filters["mask_room"] = mask_room
env.filters["stored"] = stored
env.globals["page_footer"] = page_footer
# The domains' labels and the masking rule are registered by the app (app/web/shell.py).

# Every link by route name: {{ url("issues.detail", hall_id=hall.id, issue_id=issue.id) }}.
env.globals["url"] = url
