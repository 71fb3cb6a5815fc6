"""Pages that belong to no domain: home, health, privacy notice, preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from app.accounts import service as accounts
from app.accounts.schemas import PRIVACY_VERSION
from app.core import fields
from app.core.errors import ValidationFailed
from app.db import Database
from app.halls import queries as halls
from app.web.deps import DbDep, OptionalUser, SessionDep, SettingsDep
from app.web.forms import FormRoute
from app.web.htmx import redirect, render
from app.web.i18n import LOCALES

HEALTH_SECONDS = 1.0

router = APIRouter(tags=["pages"], route_class=FormRoute)


@router.get("/", name="home")
def home(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    my_halls = halls.list_my_halls(session, user_id=user.id) if user and user.id else []
    return render(request, "home.html", {"my_halls": my_halls})


def _database_answers(db: Database) -> bool:
    try:
        with db.session(read_only=True) as session:
            session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


@router.get("/healthz", name="healthz", tags=["health"])
async def healthz(db: DbDep) -> Response:
    """Up, and the database answered `SELECT 1` within the last second (a monitor polling
    it, or a load balancer, costs the database one query a second, not one each)."""
    memo = db.memo("health", (), HEALTH_SECONDS)
    kept, ok = memo.get("db")
    if not kept:
        generation = memo.generation
        ok = await run_in_threadpool(_database_answers, db)
        memo.put("db", ok, generation=generation)
    if not ok:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "backend": db.write_engine.dialect.name})


@router.get("/privacy", name="privacy")
def privacy(request: Request) -> Response:
    return render(request, "privacy.html", {"version": PRIVACY_VERSION})


def _back(request: Request) -> str:
    referer = request.headers.get("referer", "")
    host = request.headers.get("host", "")
    # Only ever go back to one of our own pages.
    if host and f"//{host}/" in referer:
        return "/" + referer.split(f"//{host}/", 1)[1]
    return "/"


@router.post("/prefs/elder", name="prefs.elder")
def set_elder_mode(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    settings: SettingsDep,
    on: Annotated[fields.Text, Form()] = "",
) -> Response:
    """适老化 mode: remembered on the account, or in a cookie before login."""
    enabled = on == "1"
    if user is not None:
        accounts.set_preferences(session=session, user=user, elder_mode=enabled)
    response = redirect(request, _back(request))
    response.set_cookie(
        "elder",
        "1" if enabled else "0",
        max_age=365 * 24 * 3600,
        samesite="lax",
        secure=settings.https,
        httponly=True,
        path="/",
    )
    return response


@router.post("/prefs/locale", name="prefs.locale")
def set_locale_pref(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    settings: SettingsDep,
    locale: Annotated[fields.Text, Form()] = "",
) -> Response:
    if locale not in LOCALES:
        raise ValidationFailed({"locale": "locale_unknown"})
    if user is not None:
        accounts.set_preferences(session=session, user=user, locale=locale)
    response = redirect(request, _back(request))
    response.set_cookie(
        "lang",
        locale,
        max_age=365 * 24 * 3600,
        samesite="lax",
        secure=settings.https,
        httponly=True,
        path="/",
    )
    return response
