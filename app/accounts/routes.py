"""Register, log in, log out, change password: pages and their form posts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response

from app.accounts import schemas, service
from app.accounts.deps import AuthDep, CurrentUser, OptionalUser
from app.accounts.schemas import PRIVACY_VERSION
from app.config import Settings
from app.core import fields
from app.core.errors import TooManyAttempts, ValidationFailed
from app.web.deps import SessionDep, SettingsDep
from app.web.forms import FormRoute, Refused
from app.web.htmx import field_errors, redirect, render
from app.web.i18n import LOCALES, _

router = APIRouter(tags=["accounts"], route_class=FormRoute)


def safe_next(value: str | None) -> str:
    """Only local paths: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        settings.session_cookie,
        token,
        max_age=settings.resident_absolute_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.https,
        path="/",
    )


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/register", name="accounts.register")
def register_page(
    request: Request, next: Annotated[fields.Text | None, Query(max_length=300)] = None
) -> Response:
    return render(
        request, "accounts/register.html", {"form": {}, "errors": {}, "next": safe_next(next)}
    )


@router.post("/register", name="accounts.register_post")
def register(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[schemas.RegisterForm, Form()],
    refused: Refused,
    next: Annotated[fields.Text, Form(max_length=300)] = "/",
) -> Response:
    try:
        refused.check()
        result = service.register_user(session=session, form=form)
    except ValidationFailed as exc:
        values = {"phone": form.phone, "name": form.name, "consent": form.consent}
        return render(
            request,
            "accounts/register.html",
            {
                "form": values,
                "errors": _shown(exc.errors, {"phone", "name", "password", "consent"}, "phone"),
                "next": safe_next(next),
            },
            status_code=422,
        )
    response = redirect(request, safe_next(next), flash_text=_("注册成功，欢迎使用议事厅"))
    _set_session_cookie(response, settings, result.token)
    return response


def _shown(
    errors: dict[str, str], visible: set[str], first: str, **params: object
) -> dict[str, str]:
    """Errors by field, a field the page has no place for (next…) shown on `first`."""
    shown: dict[str, str] = {}
    for name, code in errors.items():
        shown.setdefault(name if name in visible else first, code)
    return field_errors(shown, **params)


@router.get("/login", name="accounts.login")
def login_page(
    request: Request, next: Annotated[fields.Text | None, Query(max_length=300)] = None
) -> Response:
    return render(
        request, "accounts/login.html", {"form": {}, "errors": {}, "next": safe_next(next)}
    )


@router.post("/login", name="accounts.login_post")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    auth: AuthDep,
    form: Annotated[schemas.LoginForm, Form()],
    refused: Refused,
    next: Annotated[fields.Text, Form(max_length=300)] = "/",
) -> Response:
    try:
        refused.check()
        result = service.log_in(
            session=session,
            settings=settings,
            form=form,
            client_ip=_client_ip(request),
            replacing=auth.user_session,
        )
    except (ValidationFailed, TooManyAttempts) as exc:
        errors = exc.errors if isinstance(exc, ValidationFailed) else {"phone": exc.code}
        status = 422 if isinstance(exc, ValidationFailed) else 429
        return render(
            request,
            "accounts/login.html",
            {
                "form": {"phone": form.phone},
                "errors": _shown(errors, {"phone", "password"}, "phone", **exc.params),
                "next": safe_next(next),
            },
            status_code=status,
        )
    target = "/account/password" if result.user.must_change_password else safe_next(next)
    response = redirect(request, target)
    _set_session_cookie(response, settings, result.token)
    return response


@router.post("/logout", name="accounts.logout")
def logout(request: Request, session: SessionDep, settings: SettingsDep, auth: AuthDep) -> Response:
    if auth.user_session is not None:
        service.log_out(session=session, user_session=auth.user_session)
    response = redirect(request, "/", flash_text=_("您已安全退出"))
    response.delete_cookie(settings.session_cookie, path="/")
    return response


@router.get("/account/password", name="accounts.password")
def password_page(request: Request, _user: CurrentUser) -> Response:
    return render(request, "accounts/password.html", {"errors": {}})


@router.post("/account/password", name="accounts.password_post")
def change_password(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    refused: Refused,
    current_password: Annotated[fields.Text, Form(max_length=200)] = "",
    new_password: Annotated[fields.Text, Form(max_length=200)] = "",
) -> Response:
    try:
        refused.check()
        service.change_password(
            session=session, user=user, current_password=current_password, new_password=new_password
        )
    except ValidationFailed as exc:
        return render(
            request, "accounts/password.html", {"errors": field_errors(exc.errors)}, status_code=422
        )
    return redirect(request, "/", flash_text=_("密码已修改"))


# --- the privacy notice and preferences ---------------------------------------------------


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
        service.set_preferences(session=session, user=user, elder_mode=enabled)
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
        service.set_preferences(session=session, user=user, locale=locale)
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
