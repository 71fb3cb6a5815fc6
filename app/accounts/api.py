"""JSON API for accounts: the same services as the pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.accounts.deps import AuthDep, CurrentUser
from app.core.privacy import mask_phone
from app.web import csrf
from app.web.deps import SettingsDep
from app.web.openapi import errors, session_cookie
from app.web.routing import GuardedRoute

# Every operation needs a login; any may answer 403 (CSRF on writes, a one-time password).
router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1",
    tags=["api"],
    dependencies=[Depends(session_cookie)],
    responses=errors(401, 403),
)


class MePublic(BaseModel):
    id: int
    name: str
    phone: str | None
    phone_masked: str | None
    elder_mode: bool
    locale: str | None
    is_platform_admin: bool
    csrf_token: str


@router.get("/me", name="api.me", response_model=MePublic)
def me(user: CurrentUser, auth: AuthDep, settings: SettingsDep) -> MePublic:
    """The logged-in person (their own full phone number) and the CSRF token for writes."""
    return MePublic(
        id=user.id or 0,
        name=user.name,
        phone=user.phone,
        phone_masked=mask_phone(user.phone) if user.phone else None,
        elder_mode=user.elder_mode,
        locale=user.locale,
        is_platform_admin=user.is_platform_admin,
        csrf_token=csrf.token_for(settings, sid=auth.sid, anon=auth.anon),
    )
