"""The hall in the path, and the caller's standing in it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from app.core.errors import NotFound
from app.halls import policies, queries
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.web.deps import CurrentUser, SessionDep


def get_hall(session: SessionDep, hall_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Hall:
    hall = queries.get_hall(session, hall_id)
    if hall is None:
        raise NotFound("not_found")
    return hall


HallDep = Annotated[Hall, Depends(get_hall)]


def hall_access(session: SessionDep, hall: HallDep, user: CurrentUser) -> HallAccess:
    """The caller's standing in the hall; a hall they cannot see does not exist for them (404)."""
    access = queries.hall_access(session, user=user, hall=hall)
    if not policies.can_view_hall(access):
        raise NotFound("not_found")
    return access


AccessDep = Annotated[HallAccess, Depends(hall_access)]
