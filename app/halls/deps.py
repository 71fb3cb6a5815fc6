"""The hall in the path, and the caller's standing in it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path

from app.core import fields
from app.core.errors import NotFound
from app.halls import policies, queries
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.web.deps import NotAuthenticated, OptionalUser, SessionDep


@dataclass(frozen=True)
class HallView:
    hall: Hall
    access: HallAccess | None  # None: nobody is logged in


def load_hall(
    session: SessionDep, hall_id: Annotated[fields.Id, Path()], user: OptionalUser
) -> HallView:
    """The hall and the caller's standing in it, read in one trip to the worker thread (each
    sync dependency is one hop; HallDep and AccessDep below only pick from this)."""
    hall = queries.get_hall(session, hall_id)
    if hall is None:
        raise NotFound("not_found")
    access = queries.hall_access(session, user=user, hall=hall) if user is not None else None
    return HallView(hall, access)


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
