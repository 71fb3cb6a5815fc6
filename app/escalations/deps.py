"""The department in the path (/departments/{department_id}/…): its members only.

Like app.halls.deps.StreetDep: nobody logged in is sent to log in; anyone who is not a member
of the department (a street official included: they use the street's pages) gets 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from app.accounts.models import User
from app.core import fields
from app.core.errors import NotFound
from app.db import Database
from app.escalations import queries
from app.escalations.policies import DepartmentAccess
from app.web.deps import Auth, NotAuthenticated


def _read(db: Database, department_id: int, user: User) -> DepartmentAccess | None:
    with db.session(read_only=True) as session:
        return queries.department_access(session, user_id=user.id or 0, department_id=department_id)


async def load_department(
    request: Request, department_id: Annotated[fields.Id, Path()]
) -> DepartmentAccess:
    auth: Auth = request.state.auth
    if auth.user is None:
        raise NotAuthenticated("not_logged_in")
    access = await run_in_threadpool(_read, request.app.state.db, department_id, auth.user)
    if access is None:
        raise NotFound("not_found")
    return access


DepartmentDep = Annotated[DepartmentAccess, Depends(load_department)]
