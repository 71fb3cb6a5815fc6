"""Request dependencies: database sessions, the current person, CSRF, the current hall."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, Request
from sqlmodel import Session

from app.config import Settings
from app.core.errors import DomainError
from app.db import Database
from app.web import csrf
from app.web.i18n import DEFAULT_LOCALE, LOCALES, set_locale
from app.web.turns import Held, Turns, give


class NotAuthenticated(DomainError):
    status_code = 401


class PasswordChangeRequired(DomainError):
    """An account with a one-time password may do nothing else until it sets its own (AUTH-06)."""

    status_code = 403


PASSWORD_CHANGE_PATHS = frozenset(
    {"/account/password", "/logout", "/prefs/locale", "/prefs/elder", "/privacy"}
)


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DbDep = Annotated[Database, Depends(get_db)]


async def get_session(request: Request, db: DbDep) -> AsyncIterator[Session]:
    """GET/HEAD read through the DEFERRED engine; everything else writes (BEGIN IMMEDIATE).

    Async only so that FastAPI does not hop to a worker thread to create and close it:
    creating a Session does no I/O, and the route's queries run in the route's own thread.
    Closed when the route returns (scope "function"), not after the response has gone out
    to a slow phone, so its connection is back in the pool before the body is sent.
    """
    read_only = request.method in csrf.SAFE_METHODS
    with db.session(read_only=read_only) as session:
        # The page's bell count reads through it too (htmx._unread), while it is open: one
        # connection per request (a second one from the same pool, taken while holding the
        # first, is how a burst of requests deadlocked the pool). An error page rendered
        # after it closed must not reopen it.
        request.state.db_session = session
        try:
            yield session
        finally:
            request.state.db_session = None


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass
class Auth:
    """Who is asking, as the accounts domain found them (app/accounts/deps.identify)."""

    user: Any  # the domain's user: id, locale, must_change_password; None if nobody
    user_session: Any
    sid: str | None
    anon: str | None


# (request, db, settings, background tasks) -> Auth; registered by the app (app/web/shell.py)
Identify = Callable[[Request, Database, Settings, BackgroundTasks], Awaitable[Auth]]


async def identify(request: Request, background: BackgroundTasks) -> Auth:
    """Who is asking, once per request (request.state.auth), by the registered `identify`."""
    here = request.state
    found: Auth | None = getattr(here, "auth", None)
    if found is None:
        state = request.app.state
        who: Identify = state.identify
        found = await who(request, state.db, state.settings, background)
        here.auth = found
    return found


async def guard(request: Request, background: BackgroundTasks) -> Held:
    """What runs in front of every route (app/web/routing.GuardedRoute), on the event loop:
    the request's turn at the database (app/web/turns.py: taken before its first query,
    returned to the caller, who gives it back when the route has returned; 503 after waiting
    the pool timeout), who is asking, the locale, the CSRF check on every unsafe method, and
    an account's one-time password."""
    state = request.app.state
    turns: Turns = state.turns
    safe = request.method in csrf.SAFE_METHODS
    held = await turns.take(write=not safe)
    # Noted before the request's first query: what its reads find may be kept in the memos
    # unless one of them is emptied meanwhile (app/db.Generations, app/web/fragments.py).
    request.state.generation = state.db.generation
    try:
        auth = await identify(request, background)
        user = auth.user
        locale = (user.locale if user else None) or request.cookies.get("lang") or DEFAULT_LOCALE
        if locale not in LOCALES:
            locale = DEFAULT_LOCALE
        request.state.locale = locale
        set_locale(locale)
        if not safe:
            await csrf.check(request, state.settings, sid=auth.sid, anon=auth.anon)
        if (
            user is not None
            and user.must_change_password
            and request.url.path not in PASSWORD_CHANGE_PATHS
        ):
            raise PasswordChangeRequired("password_change_required")
    except BaseException:
        give(held)
        raise
    return held
