"""The hall in the path, and the caller's standing in it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from app.accounts.models import User
from app.config import Settings
from app.core import fields
from app.core.errors import NotFound
from app.db import Database, Memo
from app.halls import policies, queries
from app.halls.models import Hall, Street
from app.halls.policies import HallAccess, StreetAccess
from app.web.deps import Auth, NotAuthenticated


@dataclass(frozen=True)
class HallView:
    hall: Hall
    access: HallAccess | None  # None: nobody is logged in


# What load_hall reads: a commit writing any of these empties the memo (app/db.Memo).
TABLES = ("hall", "street", "membership", "membership_role", "street_admin", "user")


def _read(
    db: Database, memo: Memo[Any, Any], hall_id: int, user: User | None, generation: int
) -> HallView | None:
    with db.session(read_only=True) as session:
        hall = queries.get_hall(session, hall_id)
        access = (
            queries.hall_access(session, user=user, hall=hall)
            if hall is not None and user is not None
            else None
        )
    view = HallView(hall, access) if hall is not None else None
    memo.put((hall_id, user.id if user else None), view, generation=generation)
    return view


async def load_hall(request: Request, hall_id: Annotated[fields.Id, Path()]) -> HallView:
    """The hall and the caller's standing in it, kept per process for a few seconds like the
    session (`Settings.auth_cache_seconds`): on the event loop when kept, else one hop to a
    worker thread. HallDep and AccessDep below only pick from this. The route reads the rest
    through its own session, in its own single hop. Who is asking is what the guard found
    (app/web/deps.guard runs in front of every route): read here rather than through three
    more dependencies, which cost FastAPI's resolver more than the lookup."""
    state = request.app.state
    db: Database = state.db
    settings: Settings = state.settings
    auth: Auth = request.state.auth
    user: User | None = auth.user
    memo = db.memo("halls", TABLES, settings.auth_cache_seconds)
    key = (hall_id, user.id if user else None)
    generation = memo.generation
    kept, view = memo.get(key)
    if not kept:
        view = await run_in_threadpool(_read, db, memo, hall_id, user, generation)
    if not isinstance(view, HallView):
        raise NotFound("not_found")
    return view


HallViewDep = Annotated[HallView, Depends(load_hall)]


async def get_hall(view: HallViewDep) -> Hall:
    return view.hall


HallDep = Annotated[Hall, Depends(get_hall)]


async def hall_access(view: HallViewDep) -> HallAccess:
    """The caller's standing in the hall; a hall they cannot see does not exist for them (404)."""
    if view.access is None:
        raise NotAuthenticated("not_logged_in")
    if not policies.can_view_hall(view.access):
        raise NotFound("not_found")
    return view.access


AccessDep = Annotated[HallAccess, Depends(hall_access)]


# --- the street in the path (/streets/{street_id}/…: 吹哨 dispatch, departments, 三率) --------


@dataclass(frozen=True)
class StreetView:
    street: Street
    access: StreetAccess


def _read_street(db: Database, street_id: int, user: User) -> StreetView | None:
    with db.session(read_only=True) as session:
        street = queries.get_street(session, street_id)
        if street is None:
            return None
        return StreetView(street, queries.street_access(session, user=user, street_id=street_id))


async def load_street(request: Request, street_id: Annotated[fields.Id, Path()]) -> StreetView:
    """The street and the caller's standing in it: only its officials (and platform admins)
    may use the street's pages; to anyone else the street does not exist (404)."""
    auth: Auth = request.state.auth
    if auth.user is None:
        raise NotAuthenticated("not_logged_in")
    view = await run_in_threadpool(_read_street, request.app.state.db, street_id, auth.user)
    if view is None or not policies.can_manage_street(view.access):
        raise NotFound("not_found")
    return view


StreetDep = Annotated[StreetView, Depends(load_street)]
