"""Request dependencies: database sessions, the current person, CSRF, the current hall."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from sqlmodel import Session

from app.accounts import sessions
from app.accounts.models import User, UserSession
from app.config import Settings
from app.core.errors import DomainError
from app.db import Database
from app.web import csrf
from app.web.i18n import DEFAULT_LOCALE, LOCALES, set_locale
from app.web.turns import Turns


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


async def take_turn(request: Request) -> AsyncIterator[None]:
    """The request's turn at the database (app/web/turns.py), before its first query and
    until its route returns; 503 after waiting the pool timeout. App-level, first."""
    turns: Turns = request.app.state.turns
    async with turns.turn(write=request.method not in csrf.SAFE_METHODS):
        yield


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
    user: User | None
    user_session: UserSession | None
    sid: str | None
    anon: str | None


async def load_auth(
    request: Request, db: DbDep, settings: SettingsDep, background: BackgroundTasks
) -> Auth:
    """Who is asking. Runs for every route (app-level dependency), on the event loop: a
    session read in the last few seconds is answered from memory, a miss is read in one hop
    to a worker thread (app/accounts/sessions.py). A due write of the idle timer runs after
    the response, in its own transaction."""
    sid = request.cookies.get(settings.session_cookie)
    anon = request.cookies.get(settings.anon_cookie)
    found = None
    if sid:
        key, generation, kept, hit = sessions.cached(db, settings, sid)
        if not hit:
            kept = await sessions.read(db, settings, key, generation)
        found = sessions.alive(kept, settings)
        if found is not None and sessions.note_seen(found[1], settings):
            background.add_task(sessions.flush_touches, db)
    auth = Auth(
        user=found[0] if found else None,
        user_session=found[1] if found else None,
        sid=sid if found else None,
        anon=anon,
    )
    request.state.auth = auth
    return auth


AuthDep = Annotated[Auth, Depends(load_auth)]


async def protect(request: Request, auth: AuthDep, settings: SettingsDep) -> None:
    """Locale for this request, then the CSRF check on every unsafe method."""
    locale = (
        (auth.user.locale if auth.user else None) or request.cookies.get("lang") or DEFAULT_LOCALE
    )
    request.state.locale = locale if locale in LOCALES else DEFAULT_LOCALE
    set_locale(request.state.locale)
    await csrf.check(request, settings, sid=auth.sid, anon=auth.anon)
    if (
        auth.user is not None
        and auth.user.must_change_password
        and request.url.path not in PASSWORD_CHANGE_PATHS
    ):
        raise PasswordChangeRequired("password_change_required")


async def optional_user(auth: AuthDep) -> User | None:
    return auth.user


async def current_user(auth: AuthDep) -> User:
    if auth.user is None:
        raise NotAuthenticated("not_logged_in")
    return auth.user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
