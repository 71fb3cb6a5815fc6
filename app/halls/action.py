"""A form post in a hall, as one parameter: who posts it, in which hall, on which request and
session. Form routes take `ActionDep` (and what their path and form add) instead of restating
five dependencies, and hand it to their responder (app/web/actions.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypedDict

from fastapi import Depends, Request
from sqlmodel import Session

from app.accounts.deps import CurrentUser
from app.accounts.models import User
from app.db import Database
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Hall
from app.halls.policies import HallAccess
from app.web.deps import SessionDep


class Who(TypedDict):
    """The first arguments of every hall service call: service.x(**act.who, ...)."""

    session: Session
    access: HallAccess
    actor: User


@dataclass(frozen=True)
class HallAction:
    request: Request
    session: Session
    hall: Hall
    access: HallAccess
    user: User  # the actor: logged in, with a standing in the hall

    @property
    def hall_id(self) -> int:
        return self.access.hall_id

    def reading(self) -> Session:
        """A read session of its own, for what the route checks before its use case: the
        request's session writes, and its write transaction begins in the use case
        (tests/web/test_write_transactions.py)."""
        db: Database = self.request.app.state.db
        return db.session(read_only=True)

    @property
    def who(self) -> Who:
        return {"session": self.session, "access": self.access, "actor": self.user}


async def hall_action(
    request: Request, session: SessionDep, hall: HallDep, access: AccessDep, user: CurrentUser
) -> HallAction:
    # async: it only gathers what its dependencies resolved, so it costs no thread hop.
    return HallAction(request, session, hall, access, user)


ActionDep = Annotated[HallAction, Depends(hall_action)]
