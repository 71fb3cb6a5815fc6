"""The one Jinja2 environment: autoescape on, gettext installed, filters for our data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from app.core.privacy import mask_phone, mask_room
from app.web.i18n import gettext, ngettext
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


def cn_date(value: datetime | None) -> str:
    """2026年11月25日, in Beijing time (the date printed on a notice or a poster)."""
    if value is None:
        return ""
    return value.astimezone(BEIJING).strftime("%Y年%m月%d日")


env.filters["area"] = _area
env.filters["cn_date"] = cn_date
env.filters["dt"] = _datetime
env.filters["date"] = _date
env.filters["mask_phone"] = mask_phone
env.filters["mask_room"] = mask_room
# The domains' labels and the masking rule are registered by the app (app/web/shell.py).

# Every link by route name: {{ url("issues.detail", hall_id=hall.id, issue_id=issue.id) }}.
env.globals["url"] = url
