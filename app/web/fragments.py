"""Parts of pages that every reader sees alike, rendered once and kept (issue #11).

The issue list's results are the same HTML for every member of a hall who asks for the same
filters and page in the same language; rendering them (and the query behind them) cost most
of the list page. `shared` keeps a rendered part, `kept` the plain data a page reads, in memos
of the database (app/db.Memo):

- emptied after every commit in this process that writes one of the part's `tables`, so a
  reader never sees an older part after a write they or anyone else made through this
  process; another app process sees it after at most `Settings.fragment_cache_seconds`;
- read through the request's own session (one connection per request, app/web/turns.py),
  and kept only if no memo it depends on was emptied since the request noted the memos'
  generation, before its first query (app/web/deps.guard): a part read from a snapshot older
  than a write is never kept;
- at most `SIZE` parts per memo: a flood of distinct filters cannot grow memory without bound;
- a page whose parts are all kept can be answered on the event loop: called without a session,
  `shared` and `kept` raise `NeedsDatabase` at the first part that is not kept, and the route
  tries again in a worker thread with its session (the issue list and the issue page).

Only what carries nothing of the reader goes in a shared part: no name, no per-person button.
A form's CSRF token is a hole (`holes`): the part is rendered with a stand-in, and each
reader's own token is put in its place when the part is used.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

from fastapi import Request, Response
from markupsafe import Markup, escape
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.db import Database, Memo
from app.web.htmx import kept_unread
from app.web.i18n import get_locale
from app.web.templating import env

T = TypeVar("T")

SIZE = 512


class NeedsDatabase(Exception):
    """A part is not kept, and the caller passed no session: it tried the page on the event
    loop first (everything kept: no thread hop, no query) and must now read in a worker
    thread with its session."""


def needs(session: Session | None) -> Session:
    """`session`, or NeedsDatabase when there is none (the event loop's try)."""
    if session is None:
        raise NeedsDatabase
    return session


def _hole(name: str) -> str:
    """A stand-in that autoescaping leaves as it is and no text contains."""
    return f"\ue000{name}\ue001"


async def answer(request: Request, page: Callable[..., Response], *args: Any) -> Response:
    """`page(request, None, *args)` here on the event loop, when everything it shows is kept
    (no thread hop, no session, no query); else `page(request, session, *args)` in a worker
    thread, with a read session of its own (the request's one connection, app/web/turns.py),
    which the bell reads through too."""
    try:
        return page(request, None, *args)
    except NeedsDatabase:
        return await run_in_threadpool(_with_session, request, page, *args)


def bell(request: Request, session: Session | None) -> dict[str, int]:
    """The bell's count for a page tried without a session: kept, or NeedsDatabase (else
    render() would read it here on the event loop). With a session, render() reads it."""
    if session is not None:
        return {}
    unread = kept_unread(request)
    if unread is None:
        raise NeedsDatabase
    return {"unread": unread}


def _with_session(request: Request, page: Callable[..., Response], *args: Any) -> Response:
    db: Database = request.app.state.db
    with db.session(read_only=True) as session:
        request.state.db_session = session
        try:
            return page(request, session, *args)
        finally:
            request.state.db_session = None


def shared(
    request: Request,
    session: Session | None,
    template: str,
    *,
    tables: Iterable[str],
    key: Hashable,
    context: Callable[[Session], Mapping[str, Any]],
    holes: Mapping[str, str] | None = None,
) -> Markup:
    """`template` rendered with `context(session)`, or as kept for (`key`, the language);
    each of `holes` (name → this reader's value) filled in."""
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    memo: Memo[Hashable, str] = db.memo(
        f"fragment:{template}", tables, settings.fragment_cache_seconds, size=SIZE
    )
    full_key = (key, get_locale())
    found, html = memo.get(full_key)
    if not found or html is None:
        values = dict(context(needs(session)))
        values.update({name: Markup(_hole(name)) for name in holes or {}})  # noqa: S704
        html = env.get_template(template).render(values)
        _keep(request, memo, full_key, html)
    for name, value in (holes or {}).items():
        html = html.replace(_hole(name), str(escape(value)))
    # The output of an autoescaping template, with escaped values in its holes.
    return Markup(html)  # noqa: S704


def kept(
    request: Request,
    session: Session | None,
    name: str,
    *,
    tables: Iterable[str],
    key: Hashable,
    read: Callable[[Session], T],
    size: int = SIZE,
) -> T:
    """What `read(session)` answers (plain data, read-only once kept), kept like a part."""
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    memo: Memo[Hashable, T] = db.memo(
        f"kept:{name}", tables, settings.fragment_cache_seconds, size=size
    )
    found, value = memo.get(key)
    if found:
        return value  # type: ignore[return-value]
    value = read(needs(session))
    _keep(request, memo, key, value)
    return value


def _keep(request: Request, memo: Memo[Hashable, Any], key: Hashable, value: Any) -> None:
    generation = getattr(request.state, "generation", None)
    if generation is not None:  # noted by the guard before the request's first query
        memo.put(key, value, generation=generation)
