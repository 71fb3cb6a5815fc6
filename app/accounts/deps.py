"""Who is asking: the session behind the cookie (app/accounts/sessions.py), as dependencies.

`identify` is what the shell's guard calls for every request (registered by app/main.py);
the dependencies below only read what it found (request.state.auth), on the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request

from app.accounts import sessions
from app.accounts.models import User
from app.config import Settings
from app.core import clock
from app.db import Database
from app.web.deps import Auth, NotAuthenticated
from app.web.deps import identify as shell_identify


async def identify(
    request: Request, db: Database, settings: Settings, background: BackgroundTasks
) -> Auth:
    """A session read in the last few seconds is answered from memory; the misses of one turn
    of the event loop are read together, in one hop to a worker thread. A due write of the
    idle timer runs after the response, in its own transaction."""
    cookies = request.cookies
    sid = cookies.get(settings.session_cookie)
    anon = cookies.get(settings.anon_cookie)
    found = None
    if sid:
        key, generation, kept, hit = sessions.cached(db, settings, sid)
        if not hit:
            kept = await sessions.read(db, settings, key, generation)
        now = clock.now()
        found = sessions.alive(kept, settings, now)
        if found is not None and sessions.note_seen(db, found[1], settings, now):
            background.add_task(sessions.flush_touches, db)
    return Auth(
        user=found[0] if found else None,
        user_session=found[1] if found else None,
        sid=sid if found else None,
        anon=anon,
    )


AuthDep = Annotated[Auth, Depends(shell_identify)]


async def optional_user(auth: AuthDep) -> User | None:
    user: User | None = auth.user
    return user


async def current_user(auth: AuthDep) -> User:
    if auth.user is None:
        raise NotAuthenticated("not_logged_in")
    user: User = auth.user
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
