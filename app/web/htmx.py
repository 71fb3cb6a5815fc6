"""Rendering: full page or partial, PRG redirects, flash, the common template context."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.config import Settings
from app.core import security
from app.db import Memo
from app.web import csrf, flash
from app.web.i18n import LOCALES, set_locale
from app.web.messages import message
from app.web.templating import templates


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def is_partial(request: Request) -> bool:
    """An htmx request that targets part of the page (a boosted navigation wants the page)."""
    return is_htmx(request) and request.headers.get("hx-boosted") != "true"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def csrf_token(request: Request) -> str:
    """The token this page's forms carry."""
    settings = _settings(request)
    auth = getattr(request.state, "auth", None)
    sid = auth.sid if auth else None
    # No auth on requests that matched no route (a 404, e.g. the browser's /favicon.ico): keep
    # the visitor's nonce, or minting a new one would void the CSRF token of the page they have
    # open (the first-visit login/register form would fail with csrf_failed).
    anon = auth.anon if auth else request.cookies.get(settings.anon_cookie)
    if not sid and not anon:
        # First visit: mint the anonymous nonce that the login form's CSRF token is bound to.
        anon = security.new_token()
        request.state.new_anon = anon
        if auth:
            auth.anon = anon
    return csrf.token_for(settings, sid=sid, anon=anon)


def base_context(request: Request) -> dict[str, Any]:
    settings = _settings(request)
    auth = getattr(request.state, "auth", None)
    user = auth.user if auth else None
    token = csrf_token(request)
    locale = getattr(request.state, "locale", "zh_CN")
    set_locale(locale)
    # 大字模式 chosen on this phone before logging in or registering stays on afterwards (the
    # toggle writes both the cookie and the account, so switching it off clears both).
    elder = bool(user and user.elder_mode) or request.cookies.get("elder") == "1"
    return {
        "request": request,
        "user": user,
        "csrf_token": token,
        "locale": locale,
        "locales": LOCALES,
        "elder": elder,
        "flash": flash.pop_flash(request, settings),
        "msg": message,
    }


def finish(request: Request, response: Response) -> Response:
    settings = _settings(request)
    new_anon = getattr(request.state, "new_anon", None)
    if new_anon:
        response.set_cookie(
            settings.anon_cookie,
            new_anon,
            httponly=True,
            samesite="lax",
            secure=settings.https,
            path="/",
            max_age=30 * 24 * 3600,
        )
    if getattr(request.state, "flash_consumed", False):
        response.delete_cookie(flash.COOKIE, path="/")
    if (
        request.method != "GET"
        and request.headers.get("hx-boosted") == "true"
        and response.status_code >= 400
    ):
        # A boosted form answered with its page again (422 / 409 …): the address bar stays on
        # the page it was sent from. htmx would push the POST's URL, which a reload would GET.
        response.headers["HX-Push-Url"] = "false"
    return response


class UnreadCounter(Protocol):
    """What the bell counts for a person: registered by the app (the domain that notifies)."""

    def __call__(self, session: Session, *, user_id: int) -> int: ...


def _unread(request: Request, user_id: int | None) -> int:
    """The bell's count on pages whose route did not already count it (one small query).

    Read through the request's own session: never a second connection from the pool the
    request holds one of (app/web/turns.py). On SQLite a writer's session would take the write
    lock again after its commit, so the count reads beside it from the readers' pool, which
    has room for every admitted request and never waits for a lock. An error page rendered by
    an exception handler on the event loop, after the session closed, shows no count: a pool
    checkout must never block the loop."""
    # The shell knows no domain: the app registers what the bell counts (app/main.py).
    count_unread: UnreadCounter | None = getattr(request.app.state, "count_unread", None)
    if user_id is None or count_unread is None:
        return 0
    memo = bell_memo(request)
    kept, count = memo.get(user_id)
    if kept and count is not None:
        return int(count)
    db = request.app.state.db
    try:
        session = getattr(request.state, "db_session", None)
        if session is not None and (session.get_bind() is db.read_engine or not db.is_sqlite):
            count = count_unread(session, user_id=user_id)
        elif session is None and _on_event_loop():
            return 0
        else:
            with db.session(read_only=True) as session:
                count = count_unread(session, user_id=user_id)
    except SQLAlchemyError:  # an error page must still render when the database is down
        return 0
    generation = getattr(request.state, "generation", None)
    if generation is not None:  # noted before the request's first query (app/web/deps.guard)
        memo.put(user_id, count, generation=generation)
    return count


def kept_unread(request: Request) -> int | None:
    """The bell's count if it needs no query (nobody logged in, or kept), else None."""
    auth = getattr(request.state, "auth", None)
    if auth is None or auth.user is None:
        return 0
    kept, count = bell_memo(request).get(auth.user.id)
    return count if kept else None


def bell_memo(request: Request) -> Memo[int, int]:
    """Each person's count, kept like a shared part (app/web/fragments.py): emptied by any
    commit in this process that writes the tables registered with the counter."""
    state = request.app.state
    tables: tuple[str, ...] = getattr(state, "bell_tables", ())
    memo: Memo[int, int] = state.db.memo("bell", tables, state.settings.fragment_cache_seconds)
    return memo


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False  # a worker thread: a sync route without a session of its own
    return True


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    ctx = base_context(request)
    ctx.update(context or {})
    if ctx["user"] is not None and "unread" not in ctx:
        ctx["unread"] = _unread(request, ctx["user"].id)
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    return finish(request, response)


def redirect(
    request: Request, url: str, *, flash_text: str | None = None, kind: str = "ok"
) -> Response:
    """Post/Redirect/Get. htmx follows a 303 by itself and swaps the resulting page."""
    response = RedirectResponse(url, status_code=303)
    if flash_text:
        flash.set_flash(response, _settings(request), flash_text, kind)
    return response


def field_errors(errors: Mapping[str, str], **params: object) -> dict[str, str]:
    return {field: message(code, **params) for field, code in errors.items()}


def html(text: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status_code)
