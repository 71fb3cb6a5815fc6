"""How the domains put what every page shows into the shell (issue #11).

The shell (app/web) knows no domain. The app (app/main.py) registers, through these three
calls, what the domains contribute to every request: names the templates use (labels, the
masking rule), the counter behind the notification bell, and who is asking (the session).
"""

from __future__ import annotations

from fastapi import FastAPI

from app.web.deps import Identify
from app.web.htmx import UnreadCounter
from app.web.templating import env


def register_globals(**values: object) -> None:
    """Names every template can use (labels, a policy every page must apply alike)."""
    env.globals.update(values)


def register_bell(app: FastAPI, count_unread: UnreadCounter, *, tables: tuple[str, ...]) -> None:
    """The unread count on every page's bell (read through the page's own session, kept per
    person until a commit writes one of `tables`, app/web/htmx.bell_memo)."""
    app.state.count_unread = count_unread
    app.state.bell_tables = tables


def register_identify(app: FastAPI, identify: Identify) -> None:
    """Who is asking: called once per request by the shell's guard (app/web/deps.guard)."""
    app.state.identify = identify
